// Properties of the NetworkPolicy difference, with the per-flow evaluator (evaluate.ts) as oracle:
// (a) a foreign policy made from meshward's own policy for the profile, narrowed at random, is
//     never reported;
// (b) a foreign policy that admits a random flow meshward's policies do not is always reported, and
//     the example flow is admitted by it and not by meshward's;
// (c) for any foreign policy: a reported example is such a flow, and when nothing is reported no
//     flow of a pool (every peer, port and protocol the generators use) is admitted by it alone.
// Failures are reported unshrunk (endOnFailure): a run of (c) evaluates thousands of flows, and
// shrinking through fc.gen() repeats that many times over.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseCidr } from "../api/net.ts";
import type { Profile, Protocol } from "../api/schema.ts";
import { validateProfile } from "../api/validate.ts";
import { indexProfiles, makeContext } from "../builders/context.ts";
import { profile as fixture } from "../../test-support/fixtures/policy.ts";
import { allows } from "./evaluate.ts";
import { declaredObjects } from "./declared.ts";
import { networkWidening, type ProfileScope } from "./network.ts";
import { matches } from "./selectors.ts";
import type {
  Flow,
  FlowPeer,
  LabelRequirement,
  LabelSelector,
  NetworkPeer,
  NetworkPolicyInput,
  NetworkPort,
  NetworkRule,
  Pod,
  PolicyType,
} from "./types.ts";

const NS = "payments";
const NAMESPACE_LABELS = { team: "pay" };
const NAME = "kubernetes.io/metadata.name";
const OTHERS = [
  fixture("checkout/checkout-api", { selector: { app: "checkout-api" } }),
  fixture("orders/orders-api", { selector: { app: "orders-api" } }),
];

// ---- Profiles ---------------------------------------------------------------------------------

const portList = fc.uniqueArray(fc.constantFrom(53, 443, 5432, 8080, 8081), { maxLength: 3 });
const source = fc.constantFrom(
  { service: "checkout/checkout-api" },
  { service: "payments-api" },
  { namespace: "orders" },
  { namespace: "payments" },
  { serviceAccount: { namespace: "monitoring", name: "prometheus" } },
);
const ingressRule = fc
  .record({
    from: fc.array(source, { minLength: 1, maxLength: 3 }),
    ports: portList,
    protocol: fc.constantFrom<Protocol>("TCP", "TCP", "UDP"),
  })
  .map((r) =>
    r.protocol === "UDP"
      ? { ...r, from: r.from.map((s) => ("serviceAccount" in s ? { namespace: "monitoring" } : s)) }
      : r,
  );
const egressTarget = fc.oneof(
  fc.record({ service: fc.constantFrom("orders/orders-api", "checkout/checkout-api"), ports: portList }),
  fc.record({
    cidr: fc.constantFrom("10.20.0.0/16", "169.254.0.0/16", "10.0.0.0/8"),
    ports: portList,
    protocol: fc.constantFrom<Protocol>("TCP", "UDP"),
  }),
  fc.record({ cidr: fc.constant("10.20.0.0/16"), except: fc.constant(["10.20.5.0/24"]), ports: portList }),
);
const spec = fc.record({
  selector: fc.constantFrom({ app: "payments-api" }, { app: "payments-api", tier: "web" }),
  ingress: fc.array(ingressRule, { maxLength: 3 }),
  egress: fc.record({ dns: fc.boolean(), to: fc.array(egressTarget, { maxLength: 3 }) }),
});

interface Setup {
  profile: Profile;
  declared: NetworkPolicyInput[];
  scope: ProfileScope;
}

const setup: fc.Arbitrary<Setup> = fc
  .tuple(spec, fc.constantFrom("sidecar" as const, "ambient" as const))
  .map(([s, meshMode]) => {
    const r = validateProfile({
      apiVersion: "meshward.io/v1alpha1",
      kind: "ServiceSecurityProfile",
      metadata: { name: "payments-api", namespace: NS },
      spec: s,
    });
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    const ctx = makeContext({ meshMode, profiles: indexProfiles([r.profile, ...OTHERS]) });
    return {
      profile: r.profile,
      declared: declaredObjects(r.profile, ctx).networkPolicies,
      scope: { namespace: NS, selector: r.profile.spec.selector, namespaceLabels: NAMESPACE_LABELS },
    };
  });

// ---- Flows: a pool of peers, ports and protocols -----------------------------------------------

const NAMESPACES: [string, Record<string, string>][] = [
  [NS, NAMESPACE_LABELS],
  ["checkout", {}],
  ["checkout", { team: "pay" }],
  ["orders", {}],
  ["kube-system", {}],
  ["istio-system", {}],
  ["monitoring", {}],
  ["other", { team: "pay" }],
];
const POD_LABELS: Record<string, string>[] = [
  {},
  { app: "checkout-api" },
  { app: "orders-api" },
  { "k8s-app": "kube-dns" },
  { app: "istiod" },
  { app: "payments-api" },
  { app: "a", tier: "web" },
];
const IPS = [
  "10.20.0.1",
  "10.20.5.7",
  "10.20.255.255",
  "10.21.0.1",
  "169.254.169.254",
  "169.254.7.127",
  "8.8.8.8",
  "0.0.0.0",
  "fd00::1",
  "::1",
];
const PORTS: (number | string)[] = [53, 443, 5432, 8080, 8081, 15008, 15012, 65535, "http"];
const PROTOCOLS: Protocol[] = ["TCP", "UDP", "SCTP"];

const PEERS: FlowPeer[] = [
  ...NAMESPACES.flatMap(([namespace, labels]) =>
    POD_LABELS.map((podLabels): FlowPeer => ({
      kind: "pod",
      namespace,
      namespaceLabels: { ...labels, [NAME]: namespace },
      labels: podLabels,
    })),
  ),
  ...IPS.map((ip): FlowPeer => ({ kind: "ip", ip })),
];
const FLOWS: Flow[] = (["ingress", "egress"] as const).flatMap((direction) =>
  PEERS.flatMap((peer) =>
    PROTOCOLS.flatMap((protocol) => PORTS.map((port): Flow => ({ direction, peer, protocol, port }))),
  ),
);
const flow = fc.constantFrom(...FLOWS);

/** Pods of the profile: its selector plus, maybe, a label of the pool. */
function profilePods(s: Setup): Pod[] {
  const extras: Record<string, string>[] = [{}, { tier: "web" }, { version: "v2" }];
  return extras.map((extra) => ({
    namespace: NS,
    labels: { ...extra, ...s.scope.selector },
  }));
}

// ---- Foreign policies -------------------------------------------------------------------------

const SELECTOR_VALUES = [
  "payments-api",
  "checkout-api",
  "kube-dns",
  "a",
  "web",
  "pay",
  NS,
  "checkout",
  "other",
];
const requirement: fc.Arbitrary<LabelRequirement> = fc.oneof(
  fc.record({
    key: fc.constantFrom("app", "tier", "team", NAME),
    operator: fc.constantFrom("In" as const, "NotIn" as const),
    values: fc.uniqueArray(fc.constantFrom(...SELECTOR_VALUES), { minLength: 1, maxLength: 2 }),
  }),
  fc.record({
    key: fc.constantFrom("app", "tier", "team"),
    operator: fc.constantFrom("Exists" as const, "DoesNotExist" as const),
    values: fc.constant([]),
  }),
);
const labelSelector = (keys: string[]): fc.Arbitrary<LabelSelector> =>
  fc.record({
    matchLabels: fc.dictionary(fc.constantFrom(...keys), fc.constantFrom(...SELECTOR_VALUES), { maxKeys: 2 }),
    matchExpressions: fc.array(requirement, { maxLength: 2 }),
  });
const CIDRS = [
  "10.20.0.0/16",
  "10.20.0.0/17",
  "10.20.5.0/24",
  "169.254.169.254/32",
  "0.0.0.0/0",
  "10.0.0.0/8",
  "fd00::/8",
];
const peer: fc.Arbitrary<NetworkPeer> = fc.oneof(
  fc.record({
    ipBlock: fc.record({
      cidr: fc.constantFrom(...CIDRS),
      except: fc.uniqueArray(fc.constantFrom("10.20.5.0/24", "10.20.0.0/24", "169.254.169.254/32"), {
        maxLength: 2,
      }),
    }),
  }),
  fc.record(
    {
      namespaceSelector: labelSelector([NAME, "team"]),
      podSelector: labelSelector(["app", "k8s-app", "tier"]),
    },
    { requiredKeys: [] },
  ),
);
const port: fc.Arbitrary<NetworkPort> = fc.oneof(
  fc.record({ protocol: fc.constantFrom(...PROTOCOLS) }),
  fc.record({
    protocol: fc.constantFrom(...PROTOCOLS),
    port: fc.constantFrom(53, 443, 5432, 8080, 8081, "http"),
  }),
  fc.record({
    protocol: fc.constantFrom(...PROTOCOLS),
    port: fc.constantFrom(53, 8080, 8081),
    endPort: fc.constantFrom(8080, 8082, 15012),
  }),
);
const rule: fc.Arbitrary<NetworkRule> = fc.record({
  peers: fc.array(peer, { maxLength: 3 }),
  ports: fc.array(port, { maxLength: 3 }),
});
const anyForeign: fc.Arbitrary<NetworkPolicyInput> = fc.record({
  namespace: fc.constant(NS),
  name: fc.constant("tenant"),
  podSelector: fc.oneof(
    labelSelector(["app", "tier"]),
    fc.constant({ matchLabels: {}, matchExpressions: [] }),
  ),
  policyTypes: fc.constantFrom<PolicyType[]>(["Ingress"], ["Egress"], ["Ingress", "Egress"]),
  ingress: fc.array(rule, { maxLength: 3 }),
  egress: fc.array(rule, { maxLength: 3 }),
});

type Gen = fc.GeneratorValue;

function some<T>(g: Gen, xs: readonly T[], min: number): T[] {
  const kept = xs.filter(() => g(fc.boolean));
  return kept.length >= min ? kept : xs.slice(0, min);
}

/** A CIDR inside `cidr` (IPv4: the generators' declared ranges are IPv4). */
function inside(g: Gen, cidr: string): string {
  const c = parseCidr(cidr);
  if (!c || c.family !== 4 || c.prefix === 32) return cidr;
  const prefix = g(() => fc.integer({ min: c.prefix, max: 32 }));
  const offset = BigInt(g(() => fc.nat(2 ** Math.min(prefix - c.prefix, 30) - 1)));
  const addr = c.addr + (offset << BigInt(32 - prefix));
  const text = [24n, 16n, 8n, 0n].map((s) => String((addr >> s) & 255n)).join(".");
  return `${text}/${prefix}`;
}

function narrowSelector(g: Gen, s: LabelSelector | undefined, keys: string[]): LabelSelector | undefined {
  if (!g(fc.boolean)) return s;
  const base = s ?? { matchLabels: {}, matchExpressions: [] };
  const extra = g(() => labelSelector(keys));
  // Adding requirements only narrows (a key required twice with different values selects nothing).
  const matchLabels = { ...base.matchLabels };
  const matchExpressions = [...base.matchExpressions, ...extra.matchExpressions];
  for (const [k, v] of Object.entries(extra.matchLabels)) {
    if (Object.hasOwn(matchLabels, k)) matchExpressions.push({ key: k, operator: "In", values: [v] });
    else matchLabels[k] = v;
  }
  return { matchLabels, matchExpressions };
}

function narrowPeer(g: Gen, p: NetworkPeer): NetworkPeer {
  if (p.ipBlock) {
    const cidr = inside(g, p.ipBlock.cidr);
    const except = [...p.ipBlock.except, ...(g(fc.boolean) ? [inside(g, cidr)] : [])];
    return { ipBlock: { cidr, except } };
  }
  const out: NetworkPeer = {};
  const namespaceSelector = narrowSelector(g, p.namespaceSelector, [NAME, "team"]);
  const podSelector = narrowSelector(g, p.podSelector, ["app", "tier"]);
  if (namespaceSelector) out.namespaceSelector = namespaceSelector;
  if (podSelector) out.podSelector = podSelector;
  return out;
}

function narrowPort(g: Gen, p: NetworkPort): NetworkPort {
  if (p.port !== undefined || !g(fc.boolean)) return p;
  return g(() =>
    fc.oneof(
      fc.record({ protocol: fc.constant(p.protocol), port: fc.constantFrom(53, 8080, "http") }),
      fc.record({ protocol: fc.constant(p.protocol), port: fc.constant(8080), endPort: fc.constant(8090) }),
    ),
  );
}

function narrowRule(g: Gen, r: NetworkRule): NetworkRule {
  // An empty list means "every": it may become a list, a list may lose entries but never all.
  const peers =
    r.peers.length === 0
      ? g(fc.boolean)
        ? g(() => fc.array(peer, { minLength: 1, maxLength: 2 }))
        : []
      : some(g, r.peers, 1).map((p) => narrowPeer(g, p));
  const ports =
    r.ports.length === 0
      ? g(fc.boolean)
        ? g(() => fc.array(port, { minLength: 1, maxLength: 2 }))
        : []
      : some(g, r.ports, 1).map((p) => narrowPort(g, p));
  return { peers, ports };
}

function narrowed(g: Gen, s: Setup): NetworkPolicyInput {
  const own = s.declared.find((d) => d.name === s.profile.metadata.name);
  if (!own) throw new Error("no policy of the profile");
  return {
    namespace: NS,
    name: "copy",
    podSelector: narrowSelector(g, own.podSelector, ["app", "tier", "version"]) ?? {
      matchLabels: {},
      matchExpressions: [],
    },
    policyTypes: some(g, own.policyTypes, 1),
    ingress: some(g, own.ingress, 0).map((r) => narrowRule(g, r)),
    egress: some(g, own.egress, 0).map((r) => narrowRule(g, r)),
  };
}

/** A rule admitting exactly `f` (its peer and port). */
function ruleFor(f: Flow, ownNamespaceOnly: boolean): NetworkRule {
  const p = f.peer;
  const peer: NetworkPeer =
    p.kind === "ip"
      ? { ipBlock: { cidr: `${p.ip}/${p.ip.includes(":") ? 128 : 32}`, except: [] } }
      : {
          ...(!ownNamespaceOnly && {
            namespaceSelector: { matchLabels: { [NAME]: p.namespace }, matchExpressions: [] },
          }),
          podSelector: {
            matchLabels: p.labels,
            matchExpressions:
              Object.keys(p.labels).length === 0
                ? [{ key: "app", operator: "DoesNotExist", values: [] }]
                : [],
          },
        };
  return { peers: [peer], ports: [{ protocol: f.protocol, port: f.port }] };
}

/** `policy` applies to the pod in the flow's direction and one of its rules admits the flow. */
function admits(policy: NetworkPolicyInput, pod: Pod, f: Flow): boolean {
  const type = f.direction === "ingress" ? "Ingress" : "Egress";
  return (
    policy.policyTypes.includes(type) && matches(policy.podSelector, pod.labels) && allows([policy], pod, f)
  );
}

function checkExample(v: ReturnType<typeof networkWidening>, s: Setup, foreign: NetworkPolicyInput): void {
  if (!v || "tooLarge" in v) throw new Error(`expected an example flow, got ${JSON.stringify(v)}`);
  expect(matches({ matchLabels: s.scope.selector, matchExpressions: [] }, v.pod.labels)).toBe(true);
  expect(allows(s.declared, v.pod, v.flow), v.example).toBe(false);
  expect(admits(foreign, v.pod, v.flow), v.example).toBe(true);
  expect(allows([...s.declared, foreign], v.pod, v.flow), v.example).toBe(true);
}

describe("networkWidening (properties)", () => {
  it("(a) never reports a narrowed copy of meshward's own policy", () => {
    fc.assert(
      fc.property(setup, fc.gen(), (s, g) => {
        const foreign = narrowed(g, s);
        expect(networkWidening(foreign, s.declared, s.scope)).toBeUndefined();
      }),
      { numRuns: 400, endOnFailure: true },
    );
  });

  it("(b) always reports a policy that admits a flow meshward's do not, with such a flow", () => {
    let attempts = 0;
    let reported = 0;
    fc.assert(
      fc.property(
        setup,
        flow,
        fc.constantFrom(0, 1, 2),
        fc.boolean(),
        fc.gen(),
        (s, f, podChoice, withCopy, g) => {
          const pod = profilePods(s)[podChoice] as Pod;
          attempts++;
          fc.pre(!allows(s.declared, pod, f));
          const ownNamespaceOnly = f.peer.kind === "pod" && f.peer.namespace === NS && g(fc.boolean);
          const exact = ruleFor(f, ownNamespaceOnly);
          // Or merged into one of meshward's rules of that direction: its peers and ports plus the flow's
          // (the foreign rule then overlaps meshward's and exceeds it only by the flow's peer or port).
          const own = s.declared.find((d) => d.name === s.profile.metadata.name);
          const ownRules = (f.direction === "ingress" ? own?.ingress : own?.egress) ?? [];
          const merge =
            ownRules.length > 0 && g(fc.boolean) ? ownRules[g(() => fc.nat(ownRules.length - 1))] : undefined;
          const added: NetworkRule =
            merge && merge.peers.length > 0 && merge.ports.length > 0
              ? { peers: [...merge.peers, ...exact.peers], ports: [...merge.ports, ...exact.ports] }
              : exact;
          const base = withCopy ? narrowed(g, s) : undefined;
          const foreign: NetworkPolicyInput = {
            namespace: NS,
            name: "tenant",
            podSelector: g(fc.boolean)
              ? { matchLabels: pod.labels, matchExpressions: [] }
              : { matchLabels: {}, matchExpressions: [] },
            policyTypes: [f.direction === "ingress" ? "Ingress" : "Egress"],
            ingress: [...(base?.ingress ?? []), ...(f.direction === "ingress" ? [added] : [])],
            egress: [...(base?.egress ?? []), ...(f.direction === "egress" ? [added] : [])],
          };
          expect(admits(foreign, pod, f)).toBe(true);
          const v = networkWidening(foreign, s.declared, s.scope);
          checkExample(v, s, foreign);
          reported++;
        },
      ),
      { numRuns: 400, endOnFailure: true },
    );
    expect(reported / attempts, "most generated flows should be outside the declared set").toBeGreaterThan(
      0.5,
    );
  });

  it("(c) agrees with the per-flow evaluator on any foreign policy", () => {
    let silent = 0;
    let loud = 0;
    fc.assert(
      fc.property(setup, anyForeign, fc.gen(), (s, random, g) => {
        // Mixed with meshward's own peers and ports, so that rules overlap meshward's in part.
        const own = s.declared.find((d) => d.name === s.profile.metadata.name);
        const mix = (rules: readonly NetworkRule[], ownRules: readonly NetworkRule[]): NetworkRule[] =>
          rules.map((r) => {
            const donor = ownRules.length > 0 ? ownRules[g(() => fc.nat(ownRules.length - 1))] : undefined;
            if (!donor || !g(fc.boolean)) return r;
            return {
              peers: r.peers.length > 0 ? [...r.peers, ...donor.peers] : r.peers,
              ports: r.ports.length > 0 ? [...r.ports, ...donor.ports] : r.ports,
            };
          });
        const foreign: NetworkPolicyInput = {
          ...random,
          ingress: mix(random.ingress, own?.ingress ?? []),
          egress: mix(random.egress, own?.egress ?? []),
        };
        const v = networkWidening(foreign, s.declared, s.scope);
        if (v) {
          loud++;
          checkExample(v, s, foreign);
          return;
        }
        silent++;
        for (const pod of profilePods(s)) {
          if (!matches(foreign.podSelector, pod.labels)) continue;
          for (const f of FLOWS) {
            if (!admits(foreign, pod, f)) continue;
            expect(
              allows(s.declared, pod, f),
              `${JSON.stringify(f)} is admitted by the foreign policy only`,
            ).toBe(true);
          }
        }
      }),
      { numRuns: 200, endOnFailure: true },
    );
    expect(loud / (loud + silent), "some foreign policies should widen").toBeGreaterThan(0.1);
    expect(silent / (loud + silent), "some foreign policies should not").toBeGreaterThan(0.1);
  });
});
