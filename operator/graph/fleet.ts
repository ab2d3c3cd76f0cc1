// Who may call whom across a set of profiles (pure): the call graph, references to profiles that are
// not in the set, and one-sided declarations. A call between two profiles works only when both sides
// say so: the callee admits the caller (spec.ingress) and the caller declares egress to the callee
// (spec.egress.to; an omitted egress means DNS only). One side alone is denied at run time.
// The CLI (validate, graph) and the operator (the OneSided condition) use the same functions.
import {
  type HostProtocol,
  hostProtocolOf,
  type IngressRule,
  type Profile,
  type Protocol,
  PROTOCOLS,
  protocolOf,
} from "../api/schema.ts";
import { profileKey } from "../builders/context.ts";
import { serviceAccountName } from "../builders/meta.ts";
import { parseServiceRef } from "../builders/references.ts";
import { closest } from "../api/suggest.ts";

/** A profile with the file it came from ("" in the cluster). */
export interface FleetProfile {
  file: string;
  profile: Profile;
}

export function keyOf(p: Profile): string {
  return profileKey(p.metadata.namespace, p.metadata.name);
}

function resolve(ref: string, from: Profile): string {
  const r = parseServiceRef(ref, from.metadata.namespace);
  return profileKey(r.namespace, r.name);
}

/** How a callee's ingress rule admits a caller profile. */
interface Admission {
  rule: IngressRule;
  via: "service" | "namespace" | "serviceAccount";
}

function admissions(callee: Profile, caller: Profile): Admission[] {
  const callerKey = keyOf(caller);
  const callerSa = serviceAccountName(caller);
  const out: Admission[] = [];
  for (const rule of callee.spec.ingress ?? []) {
    for (const s of rule.from) {
      if (s.service !== undefined && resolve(s.service, callee) === callerKey)
        out.push({ rule, via: "service" });
      else if (s.namespace !== undefined && s.namespace === caller.metadata.namespace)
        out.push({ rule, via: "namespace" });
      else if (
        s.serviceAccount !== undefined &&
        s.serviceAccount.namespace === caller.metadata.namespace &&
        s.serviceAccount.name === callerSa
      )
        out.push({ rule, via: "serviceAccount" });
    }
  }
  return out;
}

/** The ports of one protocol a declaration covers; an empty list means every port of it. */
interface PortSet {
  protocol: Protocol;
  ports: number[];
}

function portSet(entry: {
  protocol?: Protocol | HostProtocol | undefined;
  ports?: number[] | undefined;
}): PortSet {
  return { protocol: protocolOf(entry), ports: entry.ports ?? [] };
}

/** Ports of the caller's egress entries naming the callee, one set per entry. */
function egressPorts(caller: Profile, callee: Profile): PortSet[] {
  const calleeKey = keyOf(callee);
  return (caller.spec.egress?.to ?? [])
    .filter((t) => t.service !== undefined && resolve(t.service, caller) === calleeKey)
    .map(portSet);
}

/** True when some port of `a` is a port of `b` of the same protocol (TCP 514 is not UDP 514). */
function portsOverlap(a: PortSet[], b: PortSet[]): boolean {
  return a.some((x) =>
    b.some(
      (y) =>
        x.protocol === y.protocol &&
        (x.ports.length === 0 || y.ports.length === 0 || x.ports.some((p) => y.ports.includes(p))),
    ),
  );
}

/** "TCP port 8080", "every UDP port", "TCP ports 80, 443 and UDP port 514". */
function portText(sets: PortSet[]): string {
  const byProtocol = new Map<Protocol, number[] | "every">();
  for (const s of sets) {
    const seen = byProtocol.get(s.protocol) ?? [];
    byProtocol.set(s.protocol, seen === "every" || s.ports.length === 0 ? "every" : [...seen, ...s.ports]);
  }
  return [...byProtocol.entries()]
    .sort(([a], [b]) => PROTOCOLS.indexOf(a) - PROTOCOLS.indexOf(b))
    .map(([protocol, ports]) => {
      if (ports === "every") return `every ${protocol} port`;
      const all = [...new Set(ports)].sort((x, y) => x - y);
      return `${protocol} port${all.length === 1 ? "" : "s"} ${all.join(", ")}`;
    })
    .join(" and ");
}

function where(file: string): string {
  return file ? ` (${file})` : "";
}

/** A declaration whose other side is missing. `owner` made the declaration; `peer` did not answer it. */
export interface OneSided {
  /**
   * no-egress: owner (the callee) admits peer, which declares no egress to it.
   * not-admitted: owner (the caller) declares egress to peer, which does not admit it.
   * ports-disjoint: both declare, but on no common port of the same protocol (TCP unless named).
   * namespace-no-egress: owner (the callee) admits a whole namespace, which has profiles, and none
   *   of them declares egress to it (peer: "namespace X").
   */
  kind: "no-egress" | "not-admitted" | "ports-disjoint" | "namespace-no-egress";
  owner: string;
  peer: string;
  ownerFile: string;
  peerFile: string;
  /** The field of the owner's declaration, e.g. spec.ingress[0].from[1].service. */
  path: string;
  message: string;
}

/** Finds a profile by "namespace/name": a map of the set (CLI) or the operator's cache. */
export type Lookup = (key: string) => FleetProfile | undefined;

/** The profiles of a namespace: of the set (CLI) or of the operator's cache. */
export type NamespaceLookup = (namespace: string) => readonly FleetProfile[];

/** How many profiles a message names before it counts the rest. */
const NAMED = 3;

/** "shop/web (web.yaml), shop/api and 2 more". */
function profileList(profiles: readonly FleetProfile[]): string {
  const named = profiles.slice(0, NAMED).map((f) => `${keyOf(f.profile)}${where(f.file)}`);
  const more = profiles.length - named.length;
  return more > 0 ? `${named.join(", ")} and ${more} more` : named.join(", ");
}

/**
 * An ingress entry that admits a whole namespace (`from: - namespace: X`) is one-sided when X has
 * profiles and none of them declares egress to the profile: a profile's pods may call only what it
 * declares, so no pod a profile selects in X can make the call. A namespace without profiles is
 * not judged: meshward does not restrict its pods' egress, and offline it may simply not be among
 * the inputs. (Egress cannot name a whole namespace, so there is no reverse case: ADR 27.)
 */
function namespaceOneSided(me: FleetProfile, inNamespace: NamespaceLookup): OneSided[] {
  const p = me.profile;
  const key = keyOf(p);
  const out: OneSided[] = [];
  (p.spec.ingress ?? []).forEach((rule, i) =>
    rule.from.forEach((s, j) => {
      if (s.namespace === undefined) return;
      const members = inNamespace(s.namespace)
        .filter((f) => keyOf(f.profile) !== key)
        .sort((a, b) => (keyOf(a.profile) < keyOf(b.profile) ? -1 : 1));
      if (members.length === 0 || members.some((f) => egressPorts(f.profile, p).length > 0)) return;
      out.push({
        kind: "namespace-no-egress",
        owner: key,
        peer: `namespace ${s.namespace}`,
        ownerFile: me.file,
        peerFile: members[0]?.file ?? "",
        path: `spec.ingress[${i}].from[${j}].namespace`,
        message: `admits namespace ${s.namespace}, but no profile there (${profileList(members)}) declares egress to ${key}, so no pod of ${s.namespace} that a profile selects can call it: add "- service: ${key}" to the spec.egress.to of the profile in ${s.namespace} that calls it, or remove this entry`,
      });
    }),
  );
  return out;
}

/**
 * The one-sided declarations `me` makes: peers it admits or calls that do not declare the other
 * side; with `inNamespace`, also whole namespaces it admits where no profile calls it.
 */
export function oneSidedOf(me: FleetProfile, lookup: Lookup, inNamespace?: NamespaceLookup): OneSided[] {
  const p = me.profile;
  const key = keyOf(p);
  const out: OneSided[] = [];
  (p.spec.ingress ?? []).forEach((rule, i) =>
    rule.from.forEach((s, j) => {
      if (s.service === undefined) return;
      const callerKey = resolve(s.service, p);
      const caller = callerKey === key ? undefined : lookup(callerKey);
      if (!caller || egressPorts(caller.profile, p).length > 0) return;
      out.push({
        kind: "no-egress",
        owner: key,
        peer: callerKey,
        ownerFile: me.file,
        peerFile: caller.file,
        path: `spec.ingress[${i}].from[${j}].service`,
        message: `admits ${callerKey}, but ${callerKey}${where(caller.file)} declares no egress to ${key}, so the call is denied: add "- service: ${key}" to its spec.egress.to, or remove this entry`,
      });
    }),
  );
  (p.spec.egress?.to ?? []).forEach((t, k) => {
    if (t.service === undefined) return;
    const calleeKey = resolve(t.service, p);
    const callee = calleeKey === key ? undefined : lookup(calleeKey);
    if (!callee) return;
    const adm = admissions(callee.profile, p);
    const base = { owner: key, peer: calleeKey, ownerFile: me.file, peerFile: callee.file };
    if (adm.length === 0) {
      out.push({
        ...base,
        kind: "not-admitted",
        path: `spec.egress.to[${k}].service`,
        message: `declares egress to ${calleeKey}, but ${calleeKey}${where(callee.file)} does not admit ${key}, so the call is denied: add "- service: ${key}" to the from list of one of its spec.ingress rules, or remove this entry`,
      });
      return;
    }
    const mine = [portSet(t)];
    const theirs = adm.map((a) => portSet(a.rule));
    if (!portsOverlap(mine, theirs)) {
      out.push({
        ...base,
        kind: "ports-disjoint",
        path: `spec.egress.to[${k}].ports`,
        message: `declares egress to ${calleeKey} on ${portText(mine)}, but ${calleeKey}${where(callee.file)} admits ${key} only on ${portText(theirs)}: make the ports and protocols agree`,
      });
    }
  });
  if (inNamespace) out.push(...namespaceOneSided(me, inNamespace));
  return out;
}

/** The profiles of a set by namespace. */
export function byNamespace(fleet: readonly FleetProfile[]): NamespaceLookup {
  const m = new Map<string, FleetProfile[]>();
  for (const f of fleet) {
    const ns = f.profile.metadata.namespace;
    m.set(ns, [...(m.get(ns) ?? []), f]);
  }
  return (ns) => m.get(ns) ?? [];
}

/** Every one-sided declaration among the given profiles, in input order. */
export function findOneSided(fleet: FleetProfile[]): OneSided[] {
  const byKey = new Map(fleet.map((f) => [keyOf(f.profile), f]));
  const inNamespace = byNamespace(fleet);
  return fleet.flatMap((me) => oneSidedOf(me, (k) => byKey.get(k), inNamespace));
}

/** One-sided declarations made by one profile of a set. */
export function oneSidedFor(key: string, fleet: FleetProfile[]): OneSided[] {
  return findOneSided(fleet).filter((f) => f.owner === key);
}

/** A `service:` reference to a profile that is not in the set. */
export interface MissingReference {
  owner: string;
  file: string;
  path: string;
  target: string;
  suggestion?: string;
  message: string;
}

/**
 * References to profiles not in the set, each with the closest existing profile as a suggestion.
 * `fleet`: the set is the whole fleet, so a missing profile does not exist (the CLI makes it an error).
 */
export function findMissingReferences(fleet: FleetProfile[], opts: { fleet: boolean }): MissingReference[] {
  const keys = fleet.map((f) => keyOf(f.profile));
  const known = new Set(keys);
  const out: MissingReference[] = [];
  for (const me of fleet) {
    const p = me.profile;
    const check = (ref: string | undefined, path: string) => {
      if (ref === undefined) return;
      const target = resolve(ref, p);
      if (known.has(target)) return;
      const suggestion = suggestProfile(target, keys);
      const hint = suggestion ? `did you mean ${suggestion}? ` : "";
      const scope = opts.fleet
        ? "is not in the fleet that was given"
        : "is not among the files given (with the whole fleet as input, --fleet makes this an error)";
      out.push({
        owner: keyOf(p),
        file: me.file,
        path,
        target,
        ...(suggestion && { suggestion }),
        message: `ServiceSecurityProfile ${target} ${scope}; ${hint}this entry allows nothing until it exists`,
      });
    };
    (p.spec.ingress ?? []).forEach((rule, i) =>
      rule.from.forEach((s, j) => check(s.service, `spec.ingress[${i}].from[${j}].service`)),
    );
    (p.spec.egress?.to ?? []).forEach((t, k) => check(t.service, `spec.egress.to[${k}].service`));
  }
  return out;
}

/** The existing profile a misspelt "namespace/name" most likely meant (also: right name, wrong namespace). */
export function suggestProfile(target: string, keys: string[]): string | undefined {
  const name = target.slice(target.indexOf("/") + 1);
  const sameName = keys.filter((k) => k.slice(k.indexOf("/") + 1) === name);
  if (sameName.length === 1) return sameName[0];
  return closest(target, keys);
}

// ---- The call graph -------------------------------------------------------------------------

export type NodeKind = "profile" | "missing" | "namespace" | "serviceAccount" | "cidr" | "host";

export interface GraphNode {
  id: string;
  kind: NodeKind;
  label: string;
  file?: string;
}

/**
 * both: callee admits and caller declares egress. callee-only / caller-only: one side only (denied
 * at run time; callee-only also for a namespace the callee admits whose profiles declare no egress
 * to it). external: the other side is not a profile (a namespace, a service account, a CIDR),
 * or is not in the set, so there is nothing to compare with.
 */
export type EdgeState = "both" | "callee-only" | "caller-only" | "external";

export interface GraphEdge {
  from: string;
  to: string;
  /** Admitted (or, for egress-only edges, declared) ports; empty means every port. */
  ports: number[];
  /** Protocols of those ports (TCP unless a rule says UDP or SCTP). */
  protocols: string[];
  methods: string[];
  paths: string[];
  state: EdgeState;
}

export interface FleetGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

const EDGE_ORDER: EdgeState[] = ["caller-only", "callee-only", "external", "both"];

function sortedUnique<T extends string | number>(xs: T[]): T[] {
  return [...new Set(xs)].sort((a, b) =>
    typeof a === "number" && typeof b === "number"
      ? a - b
      : String(a) < String(b)
        ? -1
        : String(a) > String(b)
          ? 1
          : 0,
  );
}

/** The call graph of a set of profiles: nodes sorted by id, one edge per caller and callee. */
export function buildGraph(fleet: FleetProfile[]): FleetGraph {
  const byKey = new Map(fleet.map((f) => [keyOf(f.profile), f]));
  const inNamespace = byNamespace(fleet);
  const nodes = new Map<string, GraphNode>();
  for (const f of fleet) {
    const id = keyOf(f.profile);
    nodes.set(id, { id, kind: "profile", label: id, file: f.file });
  }
  const node = (id: string, kind: NodeKind, label: string) => {
    if (!nodes.has(id)) nodes.set(id, { id, kind, label });
    return id;
  };
  // (from, to) -> accumulated edge; "every port" is kept apart so that it wins over a port list.
  const edges = new Map<string, GraphEdge & { anyPort: boolean }>();
  const add = (
    from: string,
    to: string,
    state: EdgeState,
    ports: number[] | undefined,
    rule?: IngressRule,
    protocol: string = rule?.protocol ?? "TCP",
  ) => {
    const k = `${from}\u0000${to}`;
    const e = edges.get(k) ?? {
      from,
      to,
      ports: [],
      protocols: [],
      methods: [],
      paths: [],
      state,
      anyPort: false,
    };
    e.protocols.push(protocol);
    if (!ports || ports.length === 0) e.anyPort = true;
    else e.ports.push(...ports);
    e.methods.push(...(rule?.http?.methods ?? []));
    e.paths.push(...(rule?.http?.paths ?? []));
    if (EDGE_ORDER.indexOf(state) < EDGE_ORDER.indexOf(e.state)) e.state = state;
    edges.set(k, e);
  };
  const profileBySa = (ns: string, sa: string) =>
    fleet.find((f) => f.profile.metadata.namespace === ns && serviceAccountName(f.profile) === sa);

  for (const f of fleet) {
    const callee = f.profile;
    const to = keyOf(callee);
    for (const rule of callee.spec.ingress ?? []) {
      for (const s of rule.from) {
        if (s.service !== undefined) {
          const from = resolve(s.service, callee);
          const caller = byKey.get(from);
          if (!caller) {
            add(node(from, "missing", from), to, "external", rule.ports, rule);
            continue;
          }
          const declared = egressPorts(caller.profile, callee).length > 0;
          add(from, to, declared ? "both" : "callee-only", rule.ports, rule);
        } else if (s.serviceAccount !== undefined) {
          const sa = s.serviceAccount;
          const caller = profileBySa(sa.namespace, sa.name);
          if (caller) {
            const declared = egressPorts(caller.profile, callee).length > 0;
            add(keyOf(caller.profile), to, declared ? "both" : "callee-only", rule.ports, rule);
          } else {
            const id = node(
              `sa:${sa.namespace}/${sa.name}`,
              "serviceAccount",
              `serviceAccount ${sa.namespace}/${sa.name}`,
            );
            add(id, to, "external", rule.ports, rule);
          }
        } else if (s.namespace !== undefined) {
          // One-sided when the namespace has profiles and none declares egress to the callee.
          const members = inNamespace(s.namespace).filter((m) => keyOf(m.profile) !== to);
          const oneSided =
            members.length > 0 && !members.some((m) => egressPorts(m.profile, callee).length > 0);
          add(
            node(`ns:${s.namespace}`, "namespace", `namespace ${s.namespace}`),
            to,
            oneSided ? "callee-only" : "external",
            rule.ports,
            rule,
          );
        }
      }
    }
  }
  for (const f of fleet) {
    const caller = f.profile;
    const from = keyOf(caller);
    for (const t of caller.spec.egress?.to ?? []) {
      if (t.cidr !== undefined) {
        const label = t.except?.length ? `${t.cidr} except ${t.except.join(", ")}` : t.cidr;
        add(from, node(`cidr:${label}`, "cidr", label), "external", t.ports, undefined, t.protocol);
        continue;
      }
      if (t.host !== undefined) {
        // An external service by name: one node per host, whoever declares it.
        add(from, node(`host:${t.host}`, "host", t.host), "external", t.ports, undefined, hostProtocolOf(t));
        continue;
      }
      if (t.service === undefined) continue;
      const to = resolve(t.service, caller);
      const callee = byKey.get(to);
      if (!callee) {
        add(from, node(to, "missing", to), "external", t.ports, undefined, t.protocol);
        continue;
      }
      const adm = admissions(callee.profile, caller);
      if (adm.length === 0) add(from, to, "caller-only", t.ports, undefined, t.protocol);
      else if (adm.every((a) => a.via === "namespace")) {
        // Admitted through a namespace entry: drawn as a profile edge too, since both sides agree.
        for (const a of adm) add(from, to, "both", a.rule.ports, a.rule);
      }
    }
  }
  return sortedGraph(nodes, edges);
}

/** Nodes by id, edges by caller and callee, each edge's lists sorted and without repeats. */
function sortedGraph(
  nodes: ReadonlyMap<string, GraphNode>,
  edges: ReadonlyMap<string, GraphEdge & { anyPort: boolean }>,
): FleetGraph {
  const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return {
    nodes: [...nodes.values()].sort((a, b) => byId(a.id, b.id)),
    edges: [...edges.values()]
      .map(({ anyPort, ...e }) => ({
        ...e,
        ports: anyPort ? [] : sortedUnique(e.ports),
        protocols: sortedUnique(e.protocols),
        methods: sortedUnique(e.methods),
        paths: sortedUnique(e.paths),
      }))
      .sort((a, b) => byId(a.from, b.from) || byId(a.to, b.to)),
  };
}

/** "8080 · GET, POST /v1/x" for an edge label; "any port" when every port is admitted. */
export function edgeLabel(e: GraphEdge): string {
  const parts = [e.ports.length === 0 ? "any port" : e.ports.join(", ")];
  // TCP goes unsaid; any other protocol is named ("514 UDP").
  if (e.protocols.some((p) => p !== "TCP")) parts.push(e.protocols.join("+"));
  if (e.methods.length > 0) parts.push(e.methods.join(","));
  if (e.paths.length > 0) parts.push(e.paths.join(" "));
  return parts.join(" ");
}

export function isOneSided(e: GraphEdge): boolean {
  return e.state === "callee-only" || e.state === "caller-only";
}

/** What a one-sided edge lacks, for its label. */
export function oneSidedNote(e: GraphEdge): string {
  if (e.state === "callee-only") return "caller declares no egress";
  if (e.state === "caller-only") return "callee does not admit";
  return "";
}
