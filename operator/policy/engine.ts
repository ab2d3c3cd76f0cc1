// The policy engine: one profile, the other profiles of its namespace, every MeshwardPolicy, the
// namespace's labels and the time in; the profile to build (offending parts removed, fail closed;
// baseline rules added), findings, exception approvals and the overlap decision out. Pure: no I/O,
// no clock. The reconciler builds `effective` with the usual builders and reports the rest.
import type { MeshwardPolicy } from "../api/policy.ts";
import type { EgressTarget, IngressRule, ProfileSpec } from "../api/schema.ts";
import { byString } from "../builders/meta.ts";
import { canonical, governingPolicies } from "./combine.ts";
import { checkExceptions } from "./approvals.ts";
import { checkEgressCidrs, checkEgressHosts, checkSecretIdentity, checkSecrets } from "./guardrails.ts";
import { overlapDecision } from "./overlap.ts";
import { quarantiningPolicies } from "./quarantine-match.ts";
import type { BaselineMark, Finding, PolicyInput, PolicyOutcome, PolicyProfile } from "./types.ts";

export type * from "./types.ts";

export function evaluateProfile(input: PolicyInput): PolicyOutcome {
  const { profile, now } = input;
  const governed = governingPolicies(input.policies, input.namespaceLabels);
  const governedBy = governed.map((p) => p.metadata.name);
  const ref = `${profile.metadata.namespace}/${profile.metadata.name}`;

  const overlap = overlapDecision(profile, input.namespaceProfiles);
  if (overlap) {
    const finding: Finding = {
      reason: "SelectorOverlap",
      rule: "selectorOverlap",
      mode: "Enforce",
      path: "spec.selector",
      message: overlap.message,
      policies: [],
    };
    return {
      effective: undefined,
      findings: [finding],
      approvals: [],
      baseline: [],
      overlap,
      governedBy,
      quarantinedBy: [],
      identityStores: {},
    };
  }

  const spec = profile.spec;
  const secrets = checkSecrets(
    spec,
    { namespace: profile.metadata.namespace, profile: profile.metadata.name },
    governed,
  );
  const identity = checkSecretIdentity(spec, governed);
  const cidrs = checkEgressCidrs(spec, governed);
  const hosts = checkEgressHosts(spec, governed);
  const egress = { drop: new Set([...cidrs.drop, ...hosts.drop]) };
  const exceptions = checkExceptions(spec.exceptions ?? [], ref, governed, now);
  const findings = [
    ...identity.findings,
    ...secrets.findings,
    ...cidrs.findings,
    ...hosts.findings,
    ...exceptions.findings,
  ];

  const effectiveSpec: ProfileSpec = structuredClone(spec);
  if (spec.secrets) {
    effectiveSpec.secrets = spec.secrets
      .map((s, i) => {
        if (identity.drop.has(i)) return { ...structuredClone(s), data: [] };
        const gone = secrets.drop.get(i);
        return gone
          ? { ...structuredClone(s), data: s.data.filter((_, j) => !gone.has(j)) }
          : structuredClone(s);
      })
      .filter((s) => s.data.length > 0);
  }
  if (spec.egress?.to && effectiveSpec.egress)
    effectiveSpec.egress.to = spec.egress.to
      .filter((_, i) => !egress.drop.has(i))
      .map((t) => structuredClone(t));
  if (spec.exceptions)
    effectiveSpec.exceptions = spec.exceptions
      .filter((_, i) => !exceptions.drop.has(i))
      .map((e) => structuredClone(e));

  const quarantinedBy = quarantiningPolicies(profile, input.policies);
  let baseline: BaselineMark[] = [];
  if (quarantinedBy.length > 0) {
    // Cut off: nobody may call it, it may call DNS only, and no exception weakens that.
    effectiveSpec.ingress = [];
    effectiveSpec.egress = { dns: true, to: [] };
    delete effectiveSpec.exceptions;
    findings.push({
      reason: "Quarantined",
      rule: "quarantine",
      mode: "Enforce",
      path: "spec",
      message: `this profile's identity is quarantined by MeshwardPolicy ${quarantinedBy.join(", ")}: every caller and destination is cut off (DNS only) until the platform team lifts the quarantine`,
      policies: quarantinedBy,
    });
  } else {
    baseline = addBaseline(effectiveSpec, governed);
  }
  applyDefaults(effectiveSpec, governed);

  const effective: PolicyProfile = { ...profile, metadata: { ...profile.metadata }, spec: effectiveSpec };
  return {
    effective,
    findings,
    approvals: exceptions.approvals,
    baseline,
    governedBy,
    quarantinedBy,
    identityStores: identity.stores,
  };
}

/** Fills what the profile leaves out from the policies' defaults (access logs: Enabled wins). */
function applyDefaults(spec: ProfileSpec, governed: readonly MeshwardPolicy[]): void {
  if (spec.audit?.accessLogs !== undefined) return;
  const modes = governed.map((p) => p.spec.defaults?.accessLogs).filter((m) => m !== undefined);
  if (modes.length === 0) return;
  spec.audit = { ...spec.audit, accessLogs: modes.includes("Enabled") ? "Enabled" : "Disabled" };
}

/** Appends every governing policy's baseline rules (deduplicated), and says where each went. */
function addBaseline(spec: ProfileSpec, governed: readonly MeshwardPolicy[]): BaselineMark[] {
  const ingress = new Map<string, { rule: IngressRule; policies: string[] }>();
  const egress = new Map<string, { target: EgressTarget; policies: string[] }>();
  for (const p of governed) {
    for (const r of p.spec.baseline?.ingress ?? []) {
      // Baseline callers (a scraper, a collector) carry no end-user token unless the policy says so.
      const rule: IngressRule = { ...structuredClone(r), requireToken: r.requireToken ?? false };
      const key = canonical(rule);
      const seen = ingress.get(key);
      if (seen) seen.policies.push(p.metadata.name);
      else ingress.set(key, { rule, policies: [p.metadata.name] });
    }
    for (const t of p.spec.baseline?.egress ?? []) {
      const key = canonical(t);
      const seen = egress.get(key);
      if (seen) seen.policies.push(p.metadata.name);
      else egress.set(key, { target: structuredClone(t), policies: [p.metadata.name] });
    }
  }
  const marks: BaselineMark[] = [];
  if (ingress.size > 0) {
    spec.ingress ??= [];
    for (const { rule, policies } of ingress.values()) {
      marks.push({ path: `spec.ingress[${spec.ingress.length}]`, policies: policies.sort(byString) });
      spec.ingress.push(rule);
    }
  }
  if (egress.size > 0) {
    spec.egress ??= { dns: true };
    spec.egress.to ??= [];
    for (const { target, policies } of egress.values()) {
      marks.push({ path: `spec.egress.to[${spec.egress.to.length}]`, policies: policies.sort(byString) });
      spec.egress.to.push(target);
    }
  }
  return marks;
}
