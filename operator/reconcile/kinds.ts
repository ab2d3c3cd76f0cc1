// The kinds meshward reads and writes, and which CRD (if any) must be installed for each.
import type { Resource } from "../runtime/client.ts";
import { POLICY_KIND, POLICY_PLURAL } from "../api/policy.ts";
import { GROUP, KIND, PLURAL, VERSION } from "../api/schema.ts";

export const PROFILES: Resource = {
  group: GROUP,
  version: VERSION,
  plural: PLURAL,
  kind: KIND,
  namespaced: true,
};

export interface ChildKind {
  resource: Resource;
  /** The CRD that serves the kind, when it is not built in; with the condition reason when missing. */
  crd?: {
    name: string;
    missingReason: "IstioNotInstalled" | "ExternalSecretsNotInstalled" | "GatewayApiNotInstalled";
  };
}

export const CHILD_KINDS: ChildKind[] = [
  {
    resource: {
      group: "",
      version: "v1",
      plural: "serviceaccounts",
      kind: "ServiceAccount",
      namespaced: true,
    },
  },
  {
    resource: {
      group: "networking.k8s.io",
      version: "v1",
      plural: "networkpolicies",
      kind: "NetworkPolicy",
      namespaced: true,
    },
  },
  {
    resource: {
      group: "security.istio.io",
      version: "v1",
      plural: "peerauthentications",
      kind: "PeerAuthentication",
      namespaced: true,
    },
    crd: { name: "peerauthentications.security.istio.io", missingReason: "IstioNotInstalled" },
  },
  {
    resource: {
      group: "security.istio.io",
      version: "v1",
      plural: "authorizationpolicies",
      kind: "AuthorizationPolicy",
      namespaced: true,
    },
    crd: { name: "authorizationpolicies.security.istio.io", missingReason: "IstioNotInstalled" },
  },
  {
    resource: {
      group: "security.istio.io",
      version: "v1",
      plural: "requestauthentications",
      kind: "RequestAuthentication",
      namespaced: true,
    },
    crd: { name: "requestauthentications.security.istio.io", missingReason: "IstioNotInstalled" },
  },
  {
    resource: {
      group: "telemetry.istio.io",
      version: "v1",
      plural: "telemetries",
      kind: "Telemetry",
      namespaced: true,
    },
    crd: { name: "telemetries.telemetry.istio.io", missingReason: "IstioNotInstalled" },
  },
  {
    resource: {
      group: "networking.istio.io",
      version: "v1",
      plural: "serviceentries",
      kind: "ServiceEntry",
      namespaced: true,
    },
    crd: { name: "serviceentries.networking.istio.io", missingReason: "IstioNotInstalled" },
  },
  {
    resource: {
      group: "networking.istio.io",
      version: "v1",
      plural: "sidecars",
      kind: "Sidecar",
      namespaced: true,
    },
    crd: { name: "sidecars.networking.istio.io", missingReason: "IstioNotInstalled" },
  },
  {
    resource: {
      group: "external-secrets.io",
      version: "v1",
      plural: "externalsecrets",
      kind: "ExternalSecret",
      namespaced: true,
    },
    crd: { name: "externalsecrets.external-secrets.io", missingReason: "ExternalSecretsNotInstalled" },
  },
  {
    // Only for secrets from an identity store (MeshwardPolicy spec.secretIdentity).
    resource: {
      group: "external-secrets.io",
      version: "v1",
      plural: "secretstores",
      kind: "SecretStore",
      namespaced: true,
    },
    crd: { name: "secretstores.external-secrets.io", missingReason: "ExternalSecretsNotInstalled" },
  },
  {
    // Waypoints in ambient namespaces (operator/builders/ambient.ts), where the Gateway API is served.
    resource: {
      group: "gateway.networking.k8s.io",
      version: "v1",
      plural: "gateways",
      kind: "Gateway",
      namespaced: true,
    },
    crd: { name: "gateways.gateway.networking.k8s.io", missingReason: "GatewayApiNotInstalled" },
  },
];

/** The Gateway kind (waypoints). */
export const GATEWAY_KIND = CHILD_KINDS.find((k) => k.resource.kind === "Gateway") as ChildKind;

export const CRDS: Resource = {
  group: "apiextensions.k8s.io",
  version: "v1",
  plural: "customresourcedefinitions",
  kind: "CustomResourceDefinition",
  namespaced: false,
};

export const EVENTS: Resource = {
  group: "events.k8s.io",
  version: "v1",
  plural: "events",
  kind: "Event",
  namespaced: true,
};
export const LEASES: Resource = {
  group: "coordination.k8s.io",
  version: "v1",
  plural: "leases",
  kind: "Lease",
  namespaced: true,
};

export function childKind(apiVersion: string, kind: string): ChildKind | undefined {
  return CHILD_KINDS.find(
    (c) =>
      c.resource.kind === kind &&
      (c.resource.group ? `${c.resource.group}/${c.resource.version}` : c.resource.version) === apiVersion,
  );
}

/** The platform team's policies (cluster-scoped; operator/api/policy.ts). */
export const POLICIES: Resource = {
  group: GROUP,
  version: VERSION,
  plural: POLICY_PLURAL,
  kind: POLICY_KIND,
  namespaced: false,
};
export const NAMESPACES: Resource = {
  group: "",
  version: "v1",
  plural: "namespaces",
  kind: "Namespace",
  namespaced: false,
};
export const PODS: Resource = { group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true };
export const SERVICE_ACCOUNTS: Resource = {
  group: "",
  version: "v1",
  plural: "serviceaccounts",
  kind: "ServiceAccount",
  namespaced: true,
};

/**
 * The platform tier (cluster-scoped; sigs.k8s.io/network-policy-api). Not a child kind: no profile
 * owns these objects; the cluster-tier reconcile writes them when the CRD is served.
 */
export const CLUSTER_NETWORK_POLICIES: ChildKind = {
  resource: {
    group: "policy.networking.k8s.io",
    version: "v1beta1",
    plural: "clusternetworkpolicies",
    kind: "ClusterNetworkPolicy",
    namespaced: false,
  },
};

/**
 * OpenReports (openreports.io, from the reports-api project): meshward's findings as a Report per
 * namespace and a ClusterReport (operator/reports/), written only with --openreports and only where
 * the CRDs are installed.
 */
export const REPORTS: Resource = {
  group: "openreports.io",
  version: "v1alpha1",
  plural: "reports",
  kind: "Report",
  namespaced: true,
};
export const CLUSTER_REPORTS: Resource = {
  group: "openreports.io",
  version: "v1alpha1",
  plural: "clusterreports",
  kind: "ClusterReport",
  namespaced: false,
};
export const REPORT_CRDS = ["reports.openreports.io", "clusterreports.openreports.io"] as const;
