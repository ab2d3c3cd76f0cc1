// The flows NetworkPolicy rules speak about, as cubes of atoms (space.ts): which rules admit which
// flows, one concrete flow of a cube, and a sentence that describes a cube without claiming more
// than it holds. Pure.
//
// Dimensions: the peer's kind (a pod, or an address outside the pod network), protocol × port, the
// address, every namespace label key and every pod label key the rules name. All rules compared
// here belong to policies of one namespace (the profile's): a peer without namespaceSelector is
// a pod of that namespace.
//
// The model, and where it differs from a cluster:
// - Peers are pods (selected by labels) or addresses (ipBlock); the two never meet. An ipBlock
//   is compared with ipBlocks only, even where a CNI also matches pod IPs against it, and an allow
//   of pods never covers an ipBlock. Errs towards reporting: an ipBlock that only reaches pods
//   meshward already admits by label is reported.
// - The profile's own namespace has the labels it has now; any other namespace may carry any
//   labels (a namespace can be created or relabelled later), so a namespaceSelector on labels no
//   namespace has today still counts as access.
// - A named port is a port whose number is not known here: only an allow of every port of its
//   protocol covers it. Errs towards reporting when the name resolves to a port meshward admits.
import { parseCidr } from "../api/net.ts";
import { PROTOCOLS, type Protocol } from "../api/schema.ts";
import { NAMESPACE_NAME_LABEL } from "../builders/network.ts";
import { selectorKeys } from "./selectors.ts";
import {
  allAtoms,
  atom,
  atomsOf,
  type AtomSet,
  type Cube,
  has,
  IntervalDimension,
  type LabelDimension,
  LabelSpace,
  lowestAtom,
} from "./space.ts";
import type { Direction, FlowPeer, Labels, LabelSelector, NetworkPort, NetworkRule } from "./types.ts";

// Dimension order is split order: a difference is cut by peer first and by port last, so the
// first piece found is "from any pod in any namespace except checkout" rather than "on TCP 1-8079".
const KIND = 0;
const ADDRESS = 1;
const POD_ATOM = 0;
const IP_ATOM = 1;

const MAX_PORT = 65535n;
/** IPv4 addresses are 0..2^32-1 on the address line, IPv6 addresses follow them. */
const V6_OFFSET = 1n << 32n;
const ADDRESS_MAX = V6_OFFSET + (1n << 128n) - 1n;

/** The addresses of a CIDR (host bits ignored, as the API server's parser does), or undefined. */
export function cidrRange(s: string): readonly [bigint, bigint] | undefined {
  const c = parseCidr(s);
  if (!c) return undefined;
  const host = BigInt((c.family === 4 ? 32 : 128) - c.prefix);
  const lo = (c.addr >> host) << host;
  const offset = c.family === 4 ? 0n : V6_OFFSET;
  return [lo + offset, lo + (1n << host) - 1n + offset];
}

function ipText(v: bigint): string {
  if (v < V6_OFFSET) return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join(".");
  const a = v - V6_OFFSET;
  const groups = Array.from({ length: 8 }, (_, i) => ((a >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  // The longest run of zero groups (two or more) becomes "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return groups.join(":");
  return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLen).join(":")}`;
}

/** The widest CIDR that starts at `lo` and ends by `hi` (both on the address line). */
function cidrAt(lo: bigint, hi: bigint): string {
  const v6 = lo >= V6_OFFSET;
  const bits = v6 ? 128 : 32;
  const base = v6 ? lo - V6_OFFSET : lo;
  let prefix = bits;
  while (prefix > 0) {
    const size = 1n << BigInt(bits - prefix + 1);
    if (base % size !== 0n || lo + size - 1n > hi) break;
    prefix--;
  }
  return `${ipText(lo)}/${prefix}`;
}

/** Numeric port range of an entry, clamped to 1..65535 (endPort below port: the port alone). */
function portRange(p: NetworkPort): readonly [bigint, bigint] | undefined {
  if (typeof p.port !== "number") return undefined;
  const lo = BigInt(Math.max(1, p.port));
  const hi = BigInt(Math.min(65535, p.endPort !== undefined && p.endPort >= p.port ? p.endPort : p.port));
  return lo <= hi ? [lo, hi] : undefined;
}

/** Protocol × port: per protocol, the port intervals the entries cut, then its named ports. */
class PortSpace {
  private readonly parts: {
    protocol: Protocol;
    numbers: IntervalDimension;
    names: string[];
    offset: number;
  }[];
  readonly size: number;
  constructor(entries: readonly NetworkPort[]) {
    let offset = 0;
    this.parts = PROTOCOLS.map((protocol) => {
      const mine = entries.filter((e) => e.protocol === protocol);
      const numbers = new IntervalDimension(
        1n,
        MAX_PORT,
        mine.map(portRange).filter((r) => r !== undefined),
      );
      const names = [
        ...new Set(mine.map((e) => e.port).filter((p): p is string => typeof p === "string")),
      ].sort();
      const part = { protocol, numbers, names, offset };
      offset += numbers.size + names.length;
      return part;
    });
    this.size = offset;
  }

  private part(protocol: Protocol) {
    const p = this.parts.find((x) => x.protocol === protocol);
    if (!p) throw new Error(`unknown protocol ${protocol}`);
    return p;
  }

  ofProtocol(protocol: Protocol): AtomSet {
    const p = this.part(protocol);
    return allAtoms(p.offset + p.numbers.size + p.names.length) & ~allAtoms(p.offset);
  }

  entry(e: NetworkPort): AtomSet {
    const p = this.part(e.protocol);
    if (e.port === undefined) return this.ofProtocol(e.protocol);
    if (typeof e.port === "string") return atom(p.offset + p.numbers.size + p.names.indexOf(e.port));
    const r = portRange(e);
    return r ? p.numbers.range(r[0], r[1]) << BigInt(p.offset) : 0n;
  }

  /** Atom i: a protocol and a port range, or a protocol and a port name. */
  describe(i: number): { protocol: Protocol; lo: number; hi: number } | { protocol: Protocol; name: string } {
    for (const p of this.parts) {
      const j = i - p.offset;
      if (j < 0 || j >= p.numbers.size + p.names.length) continue;
      const range = p.numbers.atoms[j];
      if (range) return { protocol: p.protocol, lo: Number(range[0]), hi: Number(range[1]) };
      return { protocol: p.protocol, name: p.names[j - p.numbers.size] ?? "" };
    }
    throw new Error(`no port atom ${i}`);
  }

  protocols(): Protocol[] {
    return this.parts.map((p) => p.protocol);
  }
}

function addValues(into: Map<string, Set<string>>, selector: LabelSelector | undefined): void {
  if (!selector) return;
  for (const k of selectorKeys(selector)) if (!into.has(k)) into.set(k, new Set());
  for (const [k, v] of Object.entries(selector.matchLabels)) into.get(k)?.add(v);
  for (const r of selector.matchExpressions) for (const v of r.values) into.get(r.key)?.add(v);
}

/** One concrete flow's other end and port (the direction is the caller's). */
export interface FlowPoint {
  peer: FlowPeer;
  protocol: Protocol;
  port: number | string;
}

/** Cubes of flows for the rules of one direction of policies in `namespace`. */
export class FlowSpace {
  private readonly ports: PortSpace;
  private readonly addresses: IntervalDimension;
  private readonly ns: LabelSpace;
  private readonly pods: LabelSpace;
  private readonly port: number;
  private readonly namespace: string;
  private readonly namespaceLabels: Labels;

  constructor(namespace: string, namespaceLabels: Labels, rules: readonly NetworkRule[]) {
    this.namespace = namespace;
    this.namespaceLabels = namespaceLabels;
    const nsValues = new Map<string, Set<string>>([[NAMESPACE_NAME_LABEL, new Set([namespace])]]);
    const podValues = new Map<string, Set<string>>();
    const ranges: (readonly [bigint, bigint])[] = [];
    for (const rule of rules)
      for (const peer of rule.peers) {
        if (peer.ipBlock) {
          for (const c of [peer.ipBlock.cidr, ...peer.ipBlock.except]) {
            const r = cidrRange(c);
            if (r) ranges.push(r);
          }
          continue;
        }
        addValues(nsValues, peer.namespaceSelector);
        addValues(podValues, peer.podSelector);
      }
    // The own namespace's labels are known: each key a rule names takes its value here too.
    for (const [k, set] of nsValues) {
      const v = k === NAMESPACE_NAME_LABEL ? namespace : namespaceLabels[k];
      if (v !== undefined) set.add(v);
    }
    this.ports = new PortSpace(rules.flatMap((r) => r.ports));
    this.addresses = new IntervalDimension(0n, ADDRESS_MAX, ranges);
    this.ns = new LabelSpace(ADDRESS + 1, nsValues, NAMESPACE_NAME_LABEL);
    this.pods = new LabelSpace(ADDRESS + 1 + this.ns.keys.length, podValues);
    this.port = ADDRESS + 1 + this.ns.keys.length + this.pods.keys.length;
  }

  private sizes(): number[] {
    return [2, this.addresses.size, ...this.ns.dims, ...this.pods.dims, this.ports.size].map((d) =>
      typeof d === "number" ? d : d.size,
    );
  }

  /** Every flow. */
  everything(): AtomSet[] {
    return this.sizes().map(allAtoms);
  }

  /** The flows one rule admits: one cube per peer (one for a rule without peers). */
  ruleCubes(rule: NetworkRule): Cube[] {
    const base = this.everything();
    if (rule.ports.length > 0) base[this.port] = rule.ports.reduce((s, p) => s | this.ports.entry(p), 0n);
    if (rule.peers.length === 0) return [base];
    return rule.peers.map((peer) => {
      const c = [...base];
      if (peer.ipBlock) {
        c[KIND] = atom(IP_ATOM);
        const r = cidrRange(peer.ipBlock.cidr);
        let set = r ? this.addresses.range(r[0], r[1]) : 0n;
        for (const e of peer.ipBlock.except) {
          const x = cidrRange(e);
          if (x) set &= ~this.addresses.range(x[0], x[1]);
        }
        c[ADDRESS] = set;
        return c;
      }
      if (!peer.namespaceSelector && !peer.podSelector) return c; // refused by the API server
      c[KIND] = atom(POD_ATOM);
      if (peer.namespaceSelector) this.ns.constrain(c, peer.namespaceSelector);
      else c[this.ns.dimOf(NAMESPACE_NAME_LABEL)] = this.nameDim().equals(this.namespace);
      if (peer.podSelector) this.pods.constrain(c, peer.podSelector);
      return c;
    });
  }

  private nameDim(): LabelDimension {
    return this.ns.dimension(NAMESPACE_NAME_LABEL);
  }

  /** A cube of pods and addresses as two cubes, pods first (no cube mixes them after refine). */
  byKind(c: Cube): Cube[] {
    return [POD_ATOM, IP_ATOM]
      .filter((k) => has(c[KIND] ?? 0n, k))
      .map((k) => c.map((s, i) => (i === KIND ? atom(k) : s)));
  }

  /** The own namespace's labels lie in the cube's namespace dimensions. */
  private ownFits(c: Cube): boolean {
    return this.ns.keys.every((k, i) => {
      const v = k === NAMESPACE_NAME_LABEL ? this.namespace : this.namespaceLabels[k];
      return has(c[this.ns.offset + i] ?? 0n, this.ns.dims[i]?.atomOf(v) ?? 0);
    });
  }

  /**
   * The part of a cube that can exist, or undefined: every namespace has a name, and a pod of the
   * own namespace sees its real labels. Pods are preferred to addresses (one kind per answer).
   */
  refine = (c: Cube): Cube | undefined => {
    const kinds = c[KIND] ?? 0n;
    if (has(kinds, POD_ATOM)) {
      const d = this.ns.dimOf(NAMESPACE_NAME_LABEL);
      let names = (c[d] ?? 0n) & ~atom(0);
      const own = this.nameDim().atomOf(this.namespace);
      if (has(names, own) && !this.ownFits(c)) names &= ~atom(own);
      if (names !== 0n) {
        const out = [...c];
        out[KIND] = atom(POD_ATOM);
        out[d] = names;
        return out;
      }
    }
    if (has(kinds, IP_ATOM)) {
      const out = [...c];
      out[KIND] = atom(IP_ATOM);
      return out;
    }
    return undefined;
  };

  /** One flow of a refined cube. */
  point(c: Cube): FlowPoint {
    const port = this.ports.describe(lowestAtom(c[this.port] ?? 0n) ?? 0);
    const protocol = port.protocol;
    const portValue = "name" in port ? port.name : port.lo;
    if (has(c[KIND] ?? 0n, IP_ATOM) && !has(c[KIND] ?? 0n, POD_ATOM)) {
      const a = this.addresses.atoms[lowestAtom(c[ADDRESS] ?? 0n) ?? 0];
      return { peer: { kind: "ip", ip: ipText(a?.[0] ?? 0n) }, protocol, port: portValue };
    }
    const dim = this.nameDim();
    const names = atomsOf(c[this.ns.dimOf(NAMESPACE_NAME_LABEL)] ?? 0n);
    const own = dim.atomOf(this.namespace);
    // Prefer a namespace no rule names, then another named one, then the own namespace.
    const nameAtom = names.includes(dim.other) ? dim.other : (names.find((a) => a !== own) ?? own);
    const name = dim.valueOf(nameAtom) ?? this.namespace;
    let namespaceLabels: Record<string, string>;
    if (nameAtom === own) namespaceLabels = { ...this.namespaceLabels, [NAMESPACE_NAME_LABEL]: name };
    else namespaceLabels = { ...this.ns.pick(c), [NAMESPACE_NAME_LABEL]: name };
    return {
      peer: { kind: "pod", namespace: name, namespaceLabels, labels: this.pods.pick(c) },
      protocol,
      port: portValue,
    };
  }

  /** "ingress from any pod in any namespace on TCP 8080": a part of the cube, never more. */
  describe(direction: Direction, c: Cube): string {
    const peer = this.describePeer(c);
    return `${direction} ${direction === "ingress" ? "from" : "to"} ${peer} ${this.describePorts(c)}`;
  }

  private describePeer(c: Cube): string {
    const kinds = c[KIND] ?? 0n;
    if (!has(kinds, POD_ATOM)) {
      const set = c[ADDRESS] ?? 0n;
      if (set === allAtoms(this.addresses.size)) return "any address";
      const a = this.addresses.atoms[lowestAtom(set) ?? 0];
      return a ? cidrAt(a[0], a[1]) : "no address";
    }
    const podTerms = this.terms(this.pods, c, () => true);
    const pods = podTerms.length === 0 ? "any pod" : `pods {${podTerms.join(", ")}}`;
    return `${pods} in ${this.describeNamespace(c)}`;
  }

  private describeNamespace(c: Cube): string {
    const dim = this.nameDim();
    const names = c[this.ns.dimOf(NAMESPACE_NAME_LABEL)] ?? 0n;
    const every = allAtoms(dim.size) & ~atom(0);
    const labelTerms = this.terms(this.ns, c, (k) => k !== NAMESPACE_NAME_LABEL);
    const labelled = labelTerms.length > 0 ? ` labelled {${labelTerms.join(", ")}}` : "";
    if (names === every) return `any namespace${labelled}`;
    if (has(names, dim.other)) {
      const excluded = atomsOf(every & ~names).map((a) => dim.valueOf(a) ?? "");
      const shown = excluded.slice(0, 3).join(", ");
      const more = excluded.length > 3 ? ` and ${excluded.length - 3} more` : "";
      return `any namespace except ${shown}${more}${labelled}`;
    }
    const own = dim.atomOf(this.namespace);
    const atoms = atomsOf(names);
    const pick = atoms.find((a) => a !== own) ?? own;
    const name = dim.valueOf(pick) ?? this.namespace;
    return pick === own ? `namespace ${name}` : `namespace ${name}${labelled}`;
  }

  /**
   * Selector terms for the dimensions of `space` the cube narrows (kubectl's syntax). A set that
   * has no short form is narrowed to its lowest atom: the text may say less than the cube, not more.
   */
  private terms(space: LabelSpace, c: Cube, keep: (key: string) => boolean): string[] {
    const out: string[] = [];
    space.keys.forEach((k, i) => {
      const dim = space.dims[i];
      const set = c[space.offset + i] ?? 0n;
      if (!dim || !keep(k) || set === allAtoms(dim.size)) return;
      const absent = has(set, 0);
      const other = has(set, dim.other);
      const named = atomsOf(set).filter((a) => a !== 0 && a !== dim.other);
      const notNamed = dim.values.filter((_, j) => !has(set, j + 1));
      if (!other && !absent) {
        out.push(
          named.length === 1
            ? `${k}=${dim.valueOf(named[0] ?? 1)}`
            : `${k} in (${named.map((a) => dim.valueOf(a)).join(", ")})`,
        );
      } else if (other && absent) {
        out.push(`${k} notin (${notNamed.join(", ")})`);
      } else if (other) {
        out.push(notNamed.length === 0 ? k : `${k}, ${k} notin (${notNamed.join(", ")})`);
      } else {
        out.push(`!${k}`);
      }
    });
    return out;
  }

  private describePorts(c: Cube): string {
    const set = c[this.port] ?? 0n;
    if (set === allAtoms(this.ports.size)) return "on any port";
    for (const protocol of this.ports.protocols()) {
      const mine = this.ports.ofProtocol(protocol);
      if ((set & mine) === 0n) continue;
      if ((set & mine) === mine) return `on any ${protocol} port`;
      const p = this.ports.describe(lowestAtom(set & mine) ?? 0);
      if ("name" in p) return `on ${protocol} port named ${p.name}`;
      return p.lo === p.hi ? `on ${protocol} ${p.lo}` : `on ${protocol} ${p.lo}-${p.hi}`;
    }
    return "on no port";
  }
}
