// Fuzzer, platform policies: "generated ≤ asked" still holds when MeshwardPolicies add baseline
// rules, remove what guardrails forbid and quarantine identities. "Asked" is then what the profile
// asks for plus the governing policies' baseline rules (computed here from the policies, not by
// the engine), or, for a quarantined profile, nothing but DNS. The quarantine NetworkPolicy admits
// nothing in and only DNS out.
//   FUZZ_RUNS=20000 npx vitest run --project unit test-support/fuzz/policy.test.ts
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { MeshwardPolicy, PolicySpecInput } from "../../operator/api/policy.ts";
import type { Profile } from "../../operator/api/schema.ts";
import { validatePolicy } from "../../operator/api/validate-policy.ts";
import { validateProfile } from "../../operator/api/validate.ts";
import { buildProfile, DEFAULT_PLATFORM, makeContext } from "../../operator/builders/index.ts";
import { evaluateProfile } from "../../operator/policy/engine.ts";
import { buildQuarantine } from "../../operator/policy/quarantine.ts";
import { NAMESPACES, NOW, rawProfile, SA_NAMES, validCidr, world } from "./arbitraries.ts";
import {
  authorizationPolicyAllows,
  networkPolicyAllowsEgress,
  networkPolicyAllowsIngress,
  type Platform,
  specAllowsEgress,
  specAllowsL4Ingress,
  specAllowsL7,
} from "./evaluator.ts";
import { egressRequests, ingressRequests, prng } from "./requests.ts";

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
        egressCidrs: fc.record({ mode, allowed: fc.array(validCidr, { maxLength: 2 }) }),
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
          const v = validateProfile(subject.raw);
          if (!v.ok) return;
          stats.runs++;
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
          stats.baseline += out.baseline.length;
          const quarantined = out.quarantinedBy.length > 0;
          if (quarantined) stats.quarantined++;
          const reference = asked(profile, policies, labels, quarantined);
          const refProfiles = new Map(profiles).set(key, reference);
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
          const aps = built.objects.filter((o) => o.kind === "AuthorizationPolicy");
          const nps = built.objects.filter((o) => o.kind === "NetworkPolicy");
          const quarantine = buildQuarantine(policies, [...profiles.values()], {
            trustDomain: TRUST_DOMAIN,
            dns: DEFAULT_PLATFORM.dns,
          }).filter((o) => o.kind === "NetworkPolicy" && o.metadata.namespace === profile.metadata.namespace);
          const r = prng(seed);
          for (const req of ingressRequests(reference, refProfiles, platform, r, 24)) {
            for (const ap of aps)
              if (authorizationPolicyAllows(ap, req, TRUST_DOMAIN)) {
                stats.apAllows++;
                if (!specAllowsL7(reference, refProfiles, platform, req))
                  throw new Error(
                    `AuthorizationPolicy allows more than asked: ${JSON.stringify({ req, spec: reference.spec, ap: ap.spec })}`,
                  );
              }
            for (const np of nps)
              if (networkPolicyAllowsIngress(np, req)) {
                stats.npIn++;
                if (!specAllowsL4Ingress(reference, refProfiles, platform, req))
                  throw new Error(
                    `NetworkPolicy admits more than asked: ${JSON.stringify({ req, spec: reference.spec })}`,
                  );
              }
            for (const np of quarantine)
              if (networkPolicyAllowsIngress(np, req))
                throw new Error(`quarantine NetworkPolicy admits ${JSON.stringify(req)}`);
          }
          const dnsOnly: Profile = {
            ...reference,
            spec: { ...reference.spec, ingress: [], egress: { dns: true, to: [] } },
          };
          for (const req of egressRequests(reference, refProfiles, platform, r, 12)) {
            for (const np of nps)
              if (networkPolicyAllowsEgress(np, req)) {
                stats.npOut++;
                if (!specAllowsEgress(reference, refProfiles, platform, req))
                  throw new Error(
                    `NetworkPolicy lets out more than asked: ${JSON.stringify({ req, spec: reference.spec })}`,
                  );
              }
            // A quarantined namespace's isolation selects every pod: whatever the source, only DNS.
            const asSubject = { ...req, source: { ...reference.spec.selector } };
            for (const np of quarantine)
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
});
