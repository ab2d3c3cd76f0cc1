// Fuzzer, platform policies: "generated ≤ asked" still holds when MeshwardPolicies add baseline
// rules, remove what guardrails forbid and quarantine identities. "Asked" is then what the profile
// asks for plus the governing policies' baseline rules (computed here from the policies, not by
// the engine), or, for a quarantined profile, nothing but DNS. The quarantine NetworkPolicy admits
// nothing in and only DNS out.
//
// With the platform tier (ClusterNetworkPolicies from buildClusterTier, read by the evaluator's
// tiers: Admin, NetworkPolicies, Baseline) and a generated tenant NetworkPolicy in the profile's
// namespace (often "allow everything"), whatever NetworkPolicies are present: (a) no egress to a
// denied range of an Enforce policy that selects the namespace; (b) a quarantined pod gets DNS out
// and nothing in from pods; (c) meshward's own NetworkPolicies (with the namespaced default deny,
// or with Baseline in its place) and the tier allow no more than asked; (d) a pod no NetworkPolicy
// selects gets nothing out (the quarantine's DNS aside) and nothing in from pods. Addresses outside
// the cluster reaching such a pod are counted, not asserted: v1beta1 has no ingress peer for them.
//   FUZZ_RUNS=20000 npx vitest run --project unit test-support/fuzz/policy.test.ts
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { MeshwardPolicy, PolicySpecInput } from "../../operator/api/policy.ts";
import type { Profile } from "../../operator/api/schema.ts";
import { validatePolicy } from "../../operator/api/validate-policy.ts";
import { validateProfile } from "../../operator/api/validate.ts";
import {
  buildNamespaceDefaultDeny,
  buildProfile,
  DEFAULT_PLATFORM,
  type KubeObject,
  makeContext,
} from "../../operator/builders/index.ts";
import { evaluateProfile } from "../../operator/policy/engine.ts";
import { buildClusterTier } from "../../operator/policy/cluster-tier.ts";
import { buildQuarantine } from "../../operator/policy/quarantine.ts";
import { NAMESPACES, NOW, rawProfile, SA_NAMES, validCidr, world } from "./arbitraries.ts";
import {
  authorizationPolicyAllows,
  serviceOf,
  clusterAllowsEgress,
  clusterAllowsIngress,
  type EgressRequest,
  type Labels,
  type NamespaceLabels,
  netContains,
  netEdges,
  networkPolicyAllowsEgress,
  networkPolicyAllowsIngress,
  networkPolicySelects,
  parseNet,
  type Peer,
  type Platform,
  specAllowsEgress,
  specAllowsL4Ingress,
  specAllowsL7,
} from "./evaluator.ts";
import { egressRequests, ingressRequests, prng, type Rand } from "./requests.ts";

const RUNS = Number(process.env.FUZZ_RUNS ?? 1500);
const TRUST_DOMAIN = "cluster.local";

const port = fc.constantFrom(80, 8080, 9090, 15090, 4317, 53);
const source = fc.oneof(
  fc.record({
    serviceAccount: fc.record({
      namespace: fc.constantFrom(...NAMESPACES),
      name: fc.constantFrom(...SA_NAMES),
    }),
  }),
  fc.record({ namespace: fc.constantFrom(...NAMESPACES) }),
  fc.record({ service: fc.constantFrom("pay/api", "shop/web", "gw/db", "api") }),
);
const baselineIngress = fc.record(
  {
    from: fc.array(source, { minLength: 1, maxLength: 2 }),
    ports: fc.array(port, { maxLength: 2 }),
    requireToken: fc.boolean(),
  },
  { requiredKeys: ["from"] },
);
const baselineEgress = fc.oneof(
  fc.record({
    service: fc.constantFrom("pay/api", "shop/web", "mon/db"),
    ports: fc.array(port, { maxLength: 2 }),
  }),
  fc.record({ cidr: validCidr, ports: fc.array(port, { maxLength: 2 }) }),
);
const mode = fc.constantFrom("Enforce" as const, "Audit" as const);
const policySpec = fc.record(
  {
    namespaceSelector: fc.constantFrom({}, { team: "pay" }, { team: "shop" }),
    baseline: fc.record({
      ingress: fc.array(baselineIngress, { maxLength: 2 }),
      egress: fc.array(baselineEgress, { maxLength: 2 }),
    }),
    guardrails: fc.record(
      {
        egressCidrs: fc.record(
          {
            mode,
            allowed: fc.array(validCidr, { maxLength: 2 }),
            denied: fc.array(validCidr, { minLength: 1, maxLength: 2 }),
          },
          { requiredKeys: ["mode"] },
        ),
        secrets: fc.record({ mode, stores: fc.constant([{ name: "vault", keys: ["{namespace}/*"] }]) }),
        exceptions: fc.record({ mode }),
      },
      { requiredKeys: [] },
    ),
    quarantine: fc.record({
      identities: fc.array(
        fc.oneof(
          fc.record({ profile: fc.constantFrom("pay/api", "shop/web", "gw/db", "mon/api") }),
          fc.record({
            serviceAccount: fc.record({
              namespace: fc.constantFrom(...NAMESPACES),
              name: fc.constantFrom(...SA_NAMES),
            }),
          }),
          fc.record({ namespace: fc.constantFrom(...NAMESPACES) }),
        ),
        { maxLength: 2 },
      ),
    }),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<PolicySpecInput>;

function parsePolicy(name: string, spec: PolicySpecInput): MeshwardPolicy {
  const r = validatePolicy({
    apiVersion: "meshward.io/v1alpha1",
    kind: "MeshwardPolicy",
    metadata: { name },
    spec,
  });
  if (!r.ok) throw new Error(`generator made an invalid policy: ${JSON.stringify(r.problems)}`);
  return r.policy;
}

const selects = (sel: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(sel).every(([k, v]) => Object.hasOwn(labels, k) && labels[k] === v);

/** Namespaces carry a team label named after them (MeshwardPolicies select by it). */
const NAMESPACE_LABELS: NamespaceLabels = new Map(NAMESPACES.map((n) => [n, { team: n }]));

// A tenant's NetworkPolicy in the profile's namespace: anything the API accepts and a tenant with
// the edit role may write, often "allow everything" in one direction or both.
const tenantSelector = fc.constantFrom(
  {},
  { matchLabels: { app: "api" } },
  { matchLabels: { "k8s-app": "kube-dns" } },
);
const tenantPeer = fc.oneof(
  fc.record({ namespaceSelector: tenantSelector }),
  fc.record({ podSelector: tenantSelector }),
  fc.record({
    namespaceSelector: fc.constantFrom({}, { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }),
    podSelector: tenantSelector,
  }),
  fc.record({ ipBlock: fc.record({ cidr: validCidr }) }),
);
const tenantPorts = fc.array(
  fc.record(
    { protocol: fc.constantFrom("TCP", "UDP", "SCTP"), port: fc.constantFrom(53, 80, 443, 8080, 15008) },
    { requiredKeys: ["protocol"] },
  ),
  { minLength: 1, maxLength: 2 },
);
const tenantPeers = fc.array(tenantPeer, { minLength: 1, maxLength: 3 });
const tenantNetworkPolicy = fc.record({
  pods: fc.constantFrom("all" as const, "profile" as const, "others" as const),
  policyTypes: fc.subarray(["Ingress", "Egress"], { minLength: 1 }),
  ingress: fc.array(
    fc.oneof(fc.constant({}), fc.record({ from: tenantPeers, ports: tenantPorts }, { requiredKeys: [] })),
    { maxLength: 2 },
  ),
  egress: fc.array(
    fc.oneof(fc.constant({}), fc.record({ to: tenantPeers, ports: tenantPorts }, { requiredKeys: [] })),
    { maxLength: 2 },
  ),
});
type TenantSpec = typeof tenantNetworkPolicy extends fc.Arbitrary<infer T> ? T : never;

function tenantPolicy(t: TenantSpec, namespace: string, profileSelector: Record<string, string>) {
  const podSelector =
    t.pods === "all"
      ? {}
      : { matchLabels: t.pods === "profile" ? { ...profileSelector } : { app: "tenant" } };
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "tenant", namespace },
    spec: { podSelector, policyTypes: t.policyTypes, ingress: t.ingress, egress: t.egress },
  };
}

/** An empty rule: every peer, every port. */
function allowsAll(np: ReturnType<typeof tenantPolicy>, direction: "Ingress" | "Egress"): boolean {
  const rules: object[] = direction === "Ingress" ? np.spec.ingress : np.spec.egress;
  return np.spec.policyTypes.includes(direction) && rules.some((r) => Object.keys(r).length === 0);
}

/** What the quarantine isolates, read from the policies (docs/api.md), not from the builders. */
function quarantineOf(policies: MeshwardPolicy[], profiles: Profile[]) {
  const namespaces = new Set<string>();
  const isolated = new Set<Profile>();
  for (const id of policies.flatMap((p) => p.spec.quarantine?.identities ?? [])) {
    if (id.namespace !== undefined) namespaces.add(id.namespace);
    for (const p of profiles) {
      const ref = `${p.metadata.namespace}/${p.metadata.name}`;
      const account = p.spec.serviceAccount?.name ?? p.metadata.name;
      if (
        id.profile === ref ||
        (id.serviceAccount?.namespace === p.metadata.namespace && id.serviceAccount.name === account)
      )
        isolated.add(p);
    }
  }
  return { namespaces, profiles: [...isolated] };
}

/** A DNS query to the cluster's resolver. */
function isDns(req: EgressRequest): boolean {
  const d = req.destination;
  return (
    d.kind === "pod" &&
    d.namespace === DEFAULT_PLATFORM.dns.namespace &&
    selects(DEFAULT_PLATFORM.dns.podSelector, d.labels) &&
    req.port === 53 &&
    (req.protocol === "UDP" || req.protocol === "TCP")
  );
}

/**
 * Egress to the edges of every denied range of every policy (Audit ones, and those selecting other
 * namespaces, are near misses), from the profile's pods and from others of its namespace.
 */
function deniedProbes(c: Case, r: Rand): EgressRequest[] {
  const sel = c.profile.spec.selector;
  const addresses = c.policies.flatMap((p) =>
    (p.spec.guardrails?.egressCidrs?.denied ?? []).flatMap(netEdges),
  );
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const out: EgressRequest[] = [];
  for (let i = 0; i < Math.min(8, addresses.length); i++)
    out.push({
      source: pick([sel, { ...sel, extra: "1" }, { app: "tenant" }]),
      destination: { kind: "ip", ip: pick(addresses) },
      protocol: pick(["TCP", "TCP", "UDP", "SCTP"] as const),
      port: pick([53, 80, 443, 8080]),
    });
  return out;
}

/** What the profile asks for plus what the governing policies add; nothing but DNS when quarantined. */
function asked(
  profile: Profile,
  policies: MeshwardPolicy[],
  labels: Record<string, string>,
  quarantined: boolean,
): Profile {
  const spec = structuredClone(profile.spec);
  if (quarantined) {
    spec.ingress = [];
    spec.egress = { dns: true, to: [] };
    delete spec.exceptions;
    return { ...profile, spec };
  }
  for (const p of policies.filter((x) => selects(x.spec.namespaceSelector ?? {}, labels))) {
    for (const r of p.spec.baseline?.ingress ?? [])
      (spec.ingress ??= []).push({ ...r, requireToken: r.requireToken ?? false });
    for (const t of p.spec.baseline?.egress ?? []) ((spec.egress ??= { dns: true }).to ??= []).push(t);
  }
  return { ...profile, spec };
}

/** Everything one generated case builds, shared by the properties below. */
interface Case {
  profile: Profile;
  profiles: Map<string, Profile>;
  policies: MeshwardPolicy[];
  /** The profile's namespace's labels (MeshwardPolicies select namespaces by them). */
  labels: Record<string, string>;
  baseline: number;
  quarantined: boolean;
  reference: Profile;
  refProfiles: Map<string, Profile>;
  platform: Platform;
  aps: KubeObject[];
  /** The profile's own NetworkPolicy. */
  nps: KubeObject[];
  /** The quarantine's NetworkPolicies in the profile's namespace. */
  quarantine: KubeObject[];
}

function buildCase(
  others: { namespace: string; name: string; spec: unknown }[],
  subject: { raw: unknown },
  specs: PolicySpecInput[],
  meshMode: "sidecar" | "ambient",
): Case | undefined {
  const v = validateProfile(subject.raw);
  if (!v.ok) return undefined;
  const profile = v.profile;
  const profiles = new Map<string, Profile>();
  for (const w of others) {
    const r = validateProfile({
      apiVersion: "meshward.io/v1alpha1",
      kind: "ServiceSecurityProfile",
      metadata: { name: w.name, namespace: w.namespace },
      spec: w.spec,
    });
    if (r.ok) profiles.set(`${w.namespace}/${w.name}`, r.profile);
  }
  const key = `${profile.metadata.namespace}/${profile.metadata.name}`;
  profiles.set(key, profile);
  const policies = specs.map((s, i) => parsePolicy(`p${i}`, s));
  const labels = { team: profile.metadata.namespace };
  const out = evaluateProfile({
    profile,
    namespaceProfiles: [profile],
    policies,
    namespaceLabels: labels,
    now: NOW,
  });
  if (!out.effective) throw new Error("a profile alone in its namespace cannot overlap");
  const quarantined = out.quarantinedBy.length > 0;
  const reference = asked(profile, policies, labels, quarantined);
  const platform: Platform = {
    trustDomain: TRUST_DOMAIN,
    meshMode,
    now: NOW,
    maxExceptionDays: DEFAULT_PLATFORM.maxExceptionDays,
    dns: DEFAULT_PLATFORM.dns,
    istiod: DEFAULT_PLATFORM.istiod,
  };
  const built = buildProfile(
    out.effective,
    makeContext({
      now: NOW,
      meshMode,
      trustDomain: TRUST_DOMAIN,
      profiles: new Map(profiles).set(key, out.effective),
    }),
  );
  return {
    profile,
    profiles,
    policies,
    labels,
    baseline: out.baseline.length,
    quarantined,
    reference,
    refProfiles: new Map(profiles).set(key, reference),
    platform,
    aps: built.objects.filter((o) => o.kind === "AuthorizationPolicy"),
    nps: built.objects.filter((o) => o.kind === "NetworkPolicy"),
    quarantine: buildQuarantine(policies, [...profiles.values()], {
      trustDomain: TRUST_DOMAIN,
      dns: DEFAULT_PLATFORM.dns,
    }).filter((o) => o.kind === "NetworkPolicy" && o.metadata.namespace === profile.metadata.namespace),
  };
}

describe("fuzz: platform policies never give more than asked", () => {
  it(`holds for ${RUNS} profiles under generated policies`, { timeout: 300_000 }, () => {
    const stats = { runs: 0, quarantined: 0, apAllows: 0, npIn: 0, npOut: 0, baseline: 0 };
    fc.assert(
      fc.property(
        world,
        rawProfile(0),
        fc.array(policySpec, { minLength: 1, maxLength: 3 }),
        fc.constantFrom("sidecar" as const, "ambient" as const),
        fc.integer(),
        (others, subject, specs, meshMode, seed) => {
          const c = buildCase(others, subject, specs, meshMode);
          if (!c) return;
          stats.runs++;
          stats.baseline += c.baseline;
          if (c.quarantined) stats.quarantined++;
          const { reference, refProfiles, platform } = c;
          const r = prng(seed);
          for (const req of ingressRequests(reference, refProfiles, platform, r, 24)) {
            for (const ap of c.aps)
              if (authorizationPolicyAllows(ap, req, TRUST_DOMAIN, serviceOf(reference))) {
                stats.apAllows++;
                if (!specAllowsL7(reference, refProfiles, platform, req))
                  throw new Error(
                    `AuthorizationPolicy allows more than asked: ${JSON.stringify({ req, spec: reference.spec, ap: ap.spec })}`,
                  );
              }
            for (const np of c.nps)
              if (networkPolicyAllowsIngress(np, req)) {
                stats.npIn++;
                if (!specAllowsL4Ingress(reference, refProfiles, platform, req))
                  throw new Error(
                    `NetworkPolicy admits more than asked: ${JSON.stringify({ req, spec: reference.spec })}`,
                  );
              }
            for (const np of c.quarantine)
              if (networkPolicyAllowsIngress(np, req))
                throw new Error(`quarantine NetworkPolicy admits ${JSON.stringify(req)}`);
          }
          const dnsOnly: Profile = {
            ...reference,
            spec: { ...reference.spec, ingress: [], egress: { dns: true, to: [] } },
          };
          for (const req of egressRequests(reference, refProfiles, platform, r, 12)) {
            for (const np of c.nps)
              if (networkPolicyAllowsEgress(np, req)) {
                stats.npOut++;
                if (!specAllowsEgress(reference, refProfiles, platform, req))
                  throw new Error(
                    `NetworkPolicy lets out more than asked: ${JSON.stringify({ req, spec: reference.spec })}`,
                  );
              }
            // A quarantined namespace's isolation selects every pod: whatever the source, only DNS.
            const asSubject = { ...req, source: { ...reference.spec.selector } };
            for (const np of c.quarantine)
              if (
                networkPolicyAllowsEgress(np, req) &&
                !(
                  specAllowsEgress(dnsOnly, refProfiles, { ...platform, meshMode: "ambient" }, asSubject) &&
                  req.port === 53
                )
              )
                throw new Error(`quarantine NetworkPolicy lets out more than DNS: ${JSON.stringify(req)}`);
          }
        },
      ),
      { numRuns: RUNS },
    );
    console.error(`policy fuzz: ${JSON.stringify(stats)}`);
    // The property says little unless policies add rules, quarantine happens and objects admit things.
    expect(stats.baseline).toBeGreaterThan(stats.runs / 4);
    expect(stats.quarantined).toBeGreaterThan(stats.runs / 50);
    expect(stats.apAllows).toBeGreaterThan(stats.runs / 10);
    expect(stats.npOut).toBeGreaterThan(stats.runs / 10);
  });

  it(
    `holds for ${RUNS} profiles with the platform tier and a tenant's NetworkPolicy`,
    { timeout: 300_000 },
    () => {
      const stats = {
        runs: 0,
        tenant: 0,
        tenantAllowAllOut: 0,
        tenantAllowAllIn: 0,
        deniedProbes: 0,
        deniedOverruled: 0,
        quarantinedOut: 0,
        quarantineOverruledOut: 0,
        quarantineDns: 0,
        quarantinedIn: 0,
        quarantineOverruledIn: 0,
        tierAllowsOut: 0,
        tierAllowsIn: 0,
        unselected: 0,
        unselectedBesideOthers: 0,
        unselectedOpenToAddresses: 0,
      };
      fc.assert(
        fc.property(
          world,
          rawProfile(0),
          fc.array(policySpec, { minLength: 1, maxLength: 3 }),
          fc.constantFrom("sidecar" as const, "ambient" as const),
          fc.option(tenantNetworkPolicy, { nil: undefined, freq: 4 }),
          fc.integer(),
          (others, subject, specs, meshMode, tenantSpec, seed) => {
            const c = buildCase(others, subject, specs, meshMode);
            if (!c) return;
            stats.runs++;
            const { profile, policies, reference, refProfiles, platform } = c;
            const ns = profile.metadata.namespace;
            const fleet = [...c.profiles.values()];
            const cnps = buildClusterTier(
              policies,
              fleet,
              { trustDomain: TRUST_DOMAIN, dns: DEFAULT_PLATFORM.dns },
              [...new Set(fleet.map((p) => p.metadata.namespace))],
            );
            const tenant = tenantSpec && tenantPolicy(tenantSpec, ns, profile.spec.selector);
            if (tenant) {
              stats.tenant++;
              if (allowsAll(tenant, "Egress")) stats.tenantAllowAllOut++;
              if (allowsAll(tenant, "Ingress")) stats.tenantAllowAllIn++;
            }
            // meshward's own NetworkPolicies, with the namespaced default deny (as today) and
            // without it (the Baseline tier in its place); the tenant's added, or alone, or none.
            const ownNoDeny = [...c.nps, ...c.quarantine];
            const own = [...ownNoDeny, buildNamespaceDefaultDeny(ns)];
            const sets: { name: string; nps: object[]; own?: "deny" | "baseline" }[] = [
              { name: "meshward's", nps: own, own: "deny" },
              { name: "meshward's without the namespaced deny", nps: ownNoDeny, own: "baseline" },
              { name: "none", nps: [] },
            ];
            if (tenant)
              sets.push(
                { name: "meshward's and the tenant's", nps: [...own, tenant] },
                {
                  name: "the tenant's and meshward's without the namespaced deny",
                  nps: [...ownNoDeny, tenant],
                },
                { name: "the tenant's alone", nps: [tenant] },
              );
            const q = quarantineOf(policies, fleet);
            const isolatedPod = (labels: Labels) =>
              q.namespaces.has(ns) ||
              q.profiles.some((p) => p.metadata.namespace === ns && selects(p.spec.selector, labels));
            // The engine and this reading agree on whether the profile is quarantined. (Its pods
            // may also be isolated as another profile's with the same selector: an overlap the
            // engine refuses when it sees both, not here where the profile is alone.)
            const ref = (p: Profile) => `${p.metadata.namespace}/${p.metadata.name}`;
            if (c.quarantined !== (q.namespaces.has(ns) || q.profiles.some((p) => ref(p) === ref(profile))))
              throw new Error(`quarantine readings disagree for ${ns}/${profile.metadata.name}`);
            const denied = policies
              .filter(
                (p) =>
                  p.spec.guardrails?.egressCidrs?.mode === "Enforce" &&
                  selects(p.spec.namespaceSelector ?? {}, c.labels),
              )
              .flatMap((p) => p.spec.guardrails?.egressCidrs?.denied ?? [])
              .map((d) => parseNet(d))
              .filter((n) => n !== undefined);
            const inDenied = (dest: Peer) =>
              dest.kind === "ip" && denied.some((n) => netContains(n, dest.ip));
            const fail = (what: string, set: string, req: object) => {
              throw new Error(
                `${what} (${set} NetworkPolicies): ${JSON.stringify({ req, spec: reference.spec, tenant, cnps })}`,
              );
            };

            const r = prng(seed);
            const outs = [...egressRequests(reference, refProfiles, platform, r, 12), ...deniedProbes(c, r)];
            for (const e of outs) {
              const req = { ...e, namespace: ns };
              const quarantinedPod = isolatedPod(req.source);
              const dns = isDns(req);
              if (inDenied(req.destination)) stats.deniedProbes++;
              if (quarantinedPod) stats.quarantinedOut++;
              for (const set of sets) {
                const allowed = clusterAllowsEgress(cnps, set.nps, req, NAMESPACE_LABELS);
                const selected = set.nps.filter((np) => networkPolicySelects(np, ns, req.source, "Egress"));
                const npAllows = selected.some((np) => networkPolicyAllowsEgress(np, req));
                // (a) A denied range of an Enforce policy that selects the namespace stays closed.
                if (inDenied(req.destination)) {
                  if (allowed) fail("egress to a denied range allowed", set.name, req);
                  if (npAllows) stats.deniedOverruled++;
                }
                // (b) A quarantined pod gets DNS out, nothing else.
                if (quarantinedPod) {
                  if (allowed && !dns) fail("a quarantined pod gets more than DNS out", set.name, req);
                  if (allowed) stats.quarantineDns++;
                  if (npAllows && !dns) stats.quarantineOverruledOut++;
                }
                // (c) meshward's own objects and the tier: no more than asked (and the
                // quarantine's DNS for a pod it isolates).
                if (set.own && allowed) {
                  stats.tierAllowsOut++;
                  if (!specAllowsEgress(reference, refProfiles, platform, req) && !(quarantinedPod && dns))
                    fail("the tier lets out more than asked", set.name, req);
                }
                // (d) No NetworkPolicy selects the pod: Baseline denies (the quarantine's DNS aside).
                if (selected.length === 0) {
                  stats.unselected++;
                  if (set.nps.length > 0) stats.unselectedBesideOthers++;
                  if (allowed && !(quarantinedPod && dns))
                    fail("a pod no NetworkPolicy selects gets out", set.name, req);
                }
              }
            }

            for (const i of ingressRequests(reference, refProfiles, platform, r, 24)) {
              const req = { ...i, namespace: ns };
              const quarantinedPod = isolatedPod(req.destination);
              const fromPod = req.source.kind === "pod";
              if (quarantinedPod && fromPod) stats.quarantinedIn++;
              for (const set of sets) {
                const allowed = clusterAllowsIngress(cnps, set.nps, req, NAMESPACE_LABELS);
                const selected = set.nps.filter((np) =>
                  networkPolicySelects(np, ns, req.destination, "Ingress"),
                );
                // (b) Nothing in from a pod to a quarantined pod.
                if (quarantinedPod && fromPod) {
                  if (allowed) fail("a quarantined pod admits a pod", set.name, req);
                  if (selected.some((np) => networkPolicyAllowsIngress(np, req)))
                    stats.quarantineOverruledIn++;
                }
                // (d) No NetworkPolicy selects the pod: Baseline denies every pod. It has no peer
                // for addresses (v1beta1 standard channel): those are counted, not asserted.
                if (selected.length === 0) {
                  stats.unselected++;
                  if (set.nps.length > 0) stats.unselectedBesideOthers++;
                  if (allowed && fromPod) fail("a pod no NetworkPolicy selects admits a pod", set.name, req);
                  if (allowed && !fromPod && set.own === "baseline") stats.unselectedOpenToAddresses++;
                }
                // (c) As for egress; with the Baseline tier instead of the namespaced deny, an
                // address reaching a pod no NetworkPolicy selects is the gap counted above.
                if (set.own && allowed && !(set.own === "baseline" && !fromPod && selected.length === 0)) {
                  stats.tierAllowsIn++;
                  if (!specAllowsL4Ingress(reference, refProfiles, platform, req))
                    fail("the tier admits more than asked", set.name, req);
                }
              }
            }
          },
        ),
        { numRuns: RUNS },
      );
      console.error(`policy tier fuzz: ${JSON.stringify(stats)}`);
      // Not vacuous: tenants open everything, denied ranges and quarantined pods are probed and the
      // tier overrules a NetworkPolicy that would let them through, and the tier does allow things.
      expect(stats.tenant).toBeGreaterThan(stats.runs / 2);
      expect(stats.tenantAllowAllOut).toBeGreaterThan(stats.runs / 10);
      expect(stats.tenantAllowAllIn).toBeGreaterThan(stats.runs / 10);
      expect(stats.deniedProbes).toBeGreaterThan(stats.runs / 2);
      expect(stats.deniedOverruled).toBeGreaterThan(stats.runs / 10);
      expect(stats.quarantinedOut).toBeGreaterThan(stats.runs / 10);
      expect(stats.quarantineOverruledOut).toBeGreaterThan(stats.runs / 50);
      expect(stats.quarantineDns).toBeGreaterThan(stats.runs / 50);
      expect(stats.quarantineOverruledIn).toBeGreaterThan(stats.runs / 50);
      expect(stats.tierAllowsOut).toBeGreaterThan(stats.runs / 10);
      expect(stats.tierAllowsIn).toBeGreaterThan(stats.runs / 10);
      expect(stats.unselected).toBeGreaterThan(stats.runs);
      // Baseline also decides beside NetworkPolicies that select other pods or the other direction.
      expect(stats.unselectedBesideOthers).toBeGreaterThan(stats.runs);
    },
  );
});
