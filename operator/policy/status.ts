// A MeshwardPolicy's status: the namespaces and profiles it governs, contradictions with other
// policies that govern the same namespaces, and entries that name nothing (an approval of a missing
// profile). Pure: the reconciler passes what it has cached.
import type { MeshwardPolicy, PolicyProblem } from "../api/policy.ts";
import { type Cidr, containsCidr, parseCidr } from "../api/net.ts";
import type { Condition } from "../api/schema.ts";
import { byString } from "../builders/meta.ts";
import { governingPolicies } from "./combine.ts";
import { selects } from "./selectors.ts";
import type { PolicyProfile } from "./types.ts";

export interface NamespaceInfo {
  name: string;
  labels: Readonly<Record<string, string>>;
}

export interface PolicyStatusInput {
  policy: MeshwardPolicy;
  policies: readonly MeshwardPolicy[];
  namespaces: readonly NamespaceInfo[];
  profiles: readonly PolicyProfile[];
  now: Date;
}

export interface PolicyStatusResult {
  namespaceCount: number;
  /** Sorted, the first 256. */
  namespaces: string[];
  profileCount: number;
  problems: PolicyProblem[];
  /** Ready (always True once evaluated: problems never block what is valid) and Contradiction. */
  conditions: Condition[];
}

const MAX_NAMESPACES = 256;
const MAX_PROBLEMS = 64;

function overlapsAny(a: readonly string[], b: readonly string[]): boolean {
  const pa = a.map(parseCidr).filter((c): c is Cidr => c !== undefined);
  const pb = b.map(parseCidr).filter((c): c is Cidr => c !== undefined);
  return pa.some((x) => pb.some((y) => containsCidr(x, y) || containsCidr(y, x)));
}

/**
 * Where `a` and `b` together leave nothing of what each allows on its own. Each message names the
 * other policy and the field. Symmetric up to naming.
 */
export function contradictions(a: MeshwardPolicy, b: MeshwardPolicy): PolicyProblem[] {
  const out: PolicyProblem[] = [];
  const other = b.metadata.name;
  const sa = a.spec.guardrails?.secrets?.stores ?? [];
  const sb = b.spec.guardrails?.secrets?.stores ?? [];
  if (
    sa.length > 0 &&
    sb.length > 0 &&
    !sa.some((x) => sb.some((y) => x.kind === y.kind && x.name === y.name))
  )
    out.push({
      path: "spec.guardrails.secrets.stores",
      message: `contradicts MeshwardPolicy ${other}: each allows only stores the other does not (${sa.map((s) => s.name).join(", ")} vs ${sb.map((s) => s.name).join(", ")}), so no secret can be used in the namespaces both govern; allow a common store in both`,
    });
  const ea = a.spec.guardrails?.egressCidrs?.allowed;
  const eb = b.spec.guardrails?.egressCidrs?.allowed;
  if (ea && eb && ea.length > 0 && eb.length > 0 && !overlapsAny(ea, eb))
    out.push({
      path: "spec.guardrails.egressCidrs.allowed",
      message: `contradicts MeshwardPolicy ${other}: the allowed ranges do not overlap (${ea.join(", ")} vs ${eb.join(", ")}), so no egress cidr is allowed in the namespaces both govern`,
    });
  const ta = a.spec.guardrails?.exceptions?.allowedTypes;
  const tb = b.spec.guardrails?.exceptions?.allowedTypes;
  if (ta && tb && ta.length > 0 && tb.length > 0 && !ta.some((t) => tb.includes(t)))
    out.push({
      path: "spec.guardrails.exceptions.allowedTypes",
      message: `contradicts MeshwardPolicy ${other}: no exception type is allowed by both (${ta.join(", ")} vs ${tb.join(", ")})`,
    });
  const ra = a.spec.quarantine?.meshRootNamespace;
  const rb = b.spec.quarantine?.meshRootNamespace;
  if (ra !== undefined && rb !== undefined && ra !== rb)
    out.push({
      path: "spec.quarantine.meshRootNamespace",
      message: `contradicts MeshwardPolicy ${other}: the mesh root namespace is ${ra} here and ${rb} there; Istio has one root namespace, set the same in both`,
    });
  return out;
}

export function policyStatus(input: PolicyStatusInput): PolicyStatusResult {
  const { policy, now } = input;
  const name = policy.metadata.name;
  const governed = input.namespaces
    .filter((n) => selects(policy.spec.namespaceSelector ?? {}, n.labels))
    .map((n) => n.name)
    .sort(byString);
  const governedSet = new Set(governed);
  const profiles = input.profiles.filter((p) => governedSet.has(p.metadata.namespace));
  const problems: PolicyProblem[] = [];

  // Contradictions: with each other policy that governs at least one namespace this one governs.
  const others = new Map<string, MeshwardPolicy>();
  for (const ns of input.namespaces) {
    if (!governedSet.has(ns.name)) continue;
    for (const p of governingPolicies(input.policies, ns.labels))
      if (p.metadata.name !== name) others.set(p.metadata.name, p);
  }
  const contradicting: string[] = [];
  for (const other of [...others.values()].sort((x, y) => byString(x.metadata.name, y.metadata.name))) {
    const found = contradictions(policy, other);
    if (found.length > 0) contradicting.push(other.metadata.name);
    problems.push(...found);
  }
  // Quarantine is fleet-wide: a root namespace differing from any other policy's is a contradiction too.
  for (const other of input.policies) {
    if (other.metadata.name === name || others.has(other.metadata.name)) continue;
    const found = contradictions(policy, other).filter((p) => p.path === "spec.quarantine.meshRootNamespace");
    if (found.length > 0) contradicting.push(other.metadata.name);
    problems.push(...found);
  }

  const exists = new Set(input.profiles.map((p) => `${p.metadata.namespace}/${p.metadata.name}`));
  (policy.spec.guardrails?.exceptions?.approvals ?? []).forEach((a, i) => {
    const path = `spec.guardrails.exceptions.approvals[${i}]`;
    const ns = a.profile.split("/")[0] ?? "";
    if (!exists.has(a.profile))
      problems.push({
        path,
        message: `approves an exception of ServiceSecurityProfile ${a.profile}, which does not exist: fix the name or remove the approval`,
      });
    else if (!governedSet.has(ns))
      problems.push({
        path,
        message: `approves an exception in namespace ${ns}, which this policy does not govern (namespaceSelector): it has no effect there`,
      });
    if (Date.parse(a.expires) <= now.getTime())
      problems.push({ path, message: `ended at ${a.expires}: remove the approval` });
  });
  (policy.spec.quarantine?.identities ?? []).forEach((q, i) => {
    if (q.profile !== undefined && !exists.has(q.profile))
      problems.push({
        path: `spec.quarantine.identities[${i}].profile`,
        message: `ServiceSecurityProfile ${q.profile} does not exist: only its principal would be denied if it appears; check the name`,
      });
    if (q.namespace !== undefined && !input.namespaces.some((n) => n.name === q.namespace))
      problems.push({
        path: `spec.quarantine.identities[${i}].namespace`,
        message: `namespace ${q.namespace} does not exist: its principals are denied mesh-wide, and its DENY and isolation are created when it appears; check the name`,
      });
  });
  (policy.spec.guardrails?.secrets?.stores ?? []).forEach((s, i) =>
    s.keys.forEach((k, j) => {
      if (!k.includes("{namespace}") && !k.includes("{profile}") && k.startsWith("*"))
        problems.push({
          path: `spec.guardrails.secrets.stores[${i}].keys[${j}]`,
          message: `"${k}" lets every namespace read every such key of ${s.name}; scope it with {namespace} or {profile}, e.g. {namespace}/*`,
        });
    }),
  );

  const time = now.toISOString().replace(/\.\d{3}Z$/, "Z");
  const conditions: Condition[] = [
    {
      type: "Ready",
      status: "True",
      reason: "Evaluated",
      message: `governs ${governed.length} namespaces and ${profiles.length} profiles`,
      lastTransitionTime: time,
    },
    contradicting.length > 0
      ? {
          type: "Contradiction",
          status: "True",
          reason: "Contradiction",
          message: `contradicts MeshwardPolicy ${[...new Set(contradicting)].join(", ")}: see status.problems`,
          lastTransitionTime: time,
        }
      : {
          type: "Contradiction",
          status: "False",
          reason: "NoContradiction",
          message: "",
          lastTransitionTime: time,
        },
  ];
  if (policy.metadata.generation !== undefined)
    for (const c of conditions) c.observedGeneration = policy.metadata.generation;
  return {
    namespaceCount: governed.length,
    namespaces: governed.slice(0, MAX_NAMESPACES),
    profileCount: profiles.length,
    problems: problems.slice(0, MAX_PROBLEMS),
    conditions,
  };
}
