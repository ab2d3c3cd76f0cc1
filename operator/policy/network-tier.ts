// Which network-policy tier holds the platform's rules (pure): the ClusterNetworkPolicy tier of
// sigs.k8s.io/network-policy-api when its CRD serves the version meshward builds, otherwise
// namespaced NetworkPolicies only. Decided from the CRD object alone; shown in every
// MeshwardPolicy's status.networkTier. docs/adr/0016-the-platform-tier-in-the-operator.md.
import type { NetworkTierStatus } from "../api/policy.ts";
import { CLUSTER_NETWORK_POLICY_API_VERSION } from "./cluster-tier.ts";

export const CLUSTER_NETWORK_POLICY_CRD = "clusternetworkpolicies.policy.networking.k8s.io";
const VERSION = CLUSTER_NETWORK_POLICY_API_VERSION.split("/")[1] ?? "";

/** The fields of the CRD the decision reads (the cache keeps only these). */
export interface TierCrd {
  metadata?: { deletionTimestamp?: string };
  spec?: { versions?: { name?: string; served?: boolean }[] };
  status?: { conditions?: { type?: string; status?: string }[] };
}

const ENFORCEMENT =
  "they hold only where the network plugin implements ClusterNetworkPolicy (Calico, GKE, kube-network-policies, …); the API server accepts them either way";

export function networkTier(crd: TierCrd | undefined): NetworkTierStatus {
  if (!crd)
    return {
      tier: "NetworkPolicy",
      reason: "CRDNotInstalled",
      message: `the ${CLUSTER_NETWORK_POLICY_CRD} CRD is not installed: the platform's rules are namespaced NetworkPolicies, which a NetworkPolicy a tenant writes can widen (the perimeter's admission policies refuse or report those). Install sigs.k8s.io/network-policy-api's CRD (${CLUSTER_NETWORK_POLICY_API_VERSION}) where the network plugin implements it`,
    };
  if (crd.metadata?.deletionTimestamp)
    return {
      tier: "NetworkPolicy",
      reason: "CRDTerminating",
      message: `the ${CLUSTER_NETWORK_POLICY_CRD} CRD is being deleted (with every ClusterNetworkPolicy): the platform's rules are namespaced NetworkPolicies only, which a NetworkPolicy a tenant writes can widen`,
    };
  const served = (crd.spec?.versions ?? [])
    .filter((v) => v.served === true && typeof v.name === "string")
    .map((v) => String(v.name).slice(0, 63));
  if (!served.includes(VERSION))
    return {
      tier: "NetworkPolicy",
      reason: "UnsupportedVersion",
      message: `the ${CLUSTER_NETWORK_POLICY_CRD} CRD serves ${served.length > 0 ? served.slice(0, 8).join(", ") : "no version"}, not ${VERSION}, the version meshward writes: the platform's rules stay namespaced NetworkPolicies. Install the CRD of sigs.k8s.io/network-policy-api v0.3 or later (${CLUSTER_NETWORK_POLICY_API_VERSION})`,
    };
  const established = (crd.status?.conditions ?? []).some(
    (c) => c.type === "Established" && c.status === "True",
  );
  if (!established)
    return {
      tier: "NetworkPolicy",
      reason: "CRDNotEstablished",
      message: `the ${CLUSTER_NETWORK_POLICY_CRD} CRD is not established yet: the platform's rules stay namespaced NetworkPolicies until the API server serves it`,
    };
  return {
    tier: "ClusterNetworkPolicy",
    reason: "ClusterNetworkPolicyServed",
    message: `denied egress ranges (Enforce) and the quarantine's isolation are Admin-tier ClusterNetworkPolicies no namespace can override, and the namespace default deny is also a Baseline rule; ${ENFORCEMENT}`,
  };
}
