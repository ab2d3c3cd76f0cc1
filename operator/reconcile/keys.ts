// Work-queue keys. A profile is "namespace/name"; a namespace (its shared default deny) is
// "namespace"; the platform's fleet-wide objects use names no Kubernetes object can have ('@').
export type Key =
  | { type: "profile"; namespace: string; name: string }
  | { type: "namespace"; namespace: string }
  | { type: "quarantine" }
  | { type: "clusterTier" }
  | { type: "policy"; name: string }
  | { type: "report"; namespace: string }
  | { type: "clusterReport" };

/** The quarantine objects of every MeshwardPolicy (one DENY per mesh root, the isolation policies). */
export const QUARANTINE_KEY = "@quarantine";
/** The platform tier's ClusterNetworkPolicies (operator/policy/cluster-tier.ts), when the CRD is served. */
export const CLUSTER_TIER_KEY = "@cluster-tier";
const POLICY_PREFIX = "@policy/";
/** The ClusterReport of the MeshwardPolicies (operator/reports/), with --openreports. */
export const CLUSTER_REPORT_KEY = "@cluster-report";
const REPORT_PREFIX = "@report/";

/** The OpenReports Report of one namespace (operator/reports/), with --openreports. */
export function reportKey(namespace: string): string {
  return `${REPORT_PREFIX}${namespace}`;
}

/** The status of one MeshwardPolicy. */
export function policyKey(name: string): string {
  return `${POLICY_PREFIX}${name}`;
}

export function parseKey(key: string): Key {
  if (key === QUARANTINE_KEY) return { type: "quarantine" };
  if (key === CLUSTER_TIER_KEY) return { type: "clusterTier" };
  if (key.startsWith(POLICY_PREFIX)) return { type: "policy", name: key.slice(POLICY_PREFIX.length) };
  if (key === CLUSTER_REPORT_KEY) return { type: "clusterReport" };
  if (key.startsWith(REPORT_PREFIX)) return { type: "report", namespace: key.slice(REPORT_PREFIX.length) };
  const slash = key.indexOf("/");
  if (slash < 0) return { type: "namespace", namespace: key };
  return { type: "profile", namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
