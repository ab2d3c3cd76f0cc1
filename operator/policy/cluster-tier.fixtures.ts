// A representative fleet for the platform tier's builders, shared by the golden test and the e2e
// test that dry-runs the same objects against the ClusterNetworkPolicy CRD.
import type { MeshwardPolicy } from "../api/policy.ts";
import type { Profile } from "../api/schema.ts";
import { policy, profile } from "./fixtures.ts";

export function clusterTierProfiles(): Profile[] {
  return [
    profile("shop/cart", { selector: { app: "cart" } }),
    profile("shop/worker", { selector: { app: "worker" }, serviceAccount: { name: "runner" } }),
    profile("pay/api", { selector: { app: "api", "app.kubernetes.io/part-of": "payments" } }),
  ];
}

export function clusterTierPolicies(): MeshwardPolicy[] {
  return [
    policy("shop-egress", {
      namespaceSelector: { team: "shop" },
      guardrails: {
        egressCidrs: { mode: "Enforce", denied: ["169.254.169.254/32", "10.0.0.0/8", "fd00:ec2::/32"] },
      },
    }),
    policy("fleet-egress", {
      guardrails: { egressCidrs: { mode: "Enforce", allowed: ["0.0.0.0/0"], denied: ["192.168.0.0/16"] } },
    }),
    // Audit reports and does not deny: no ClusterNetworkPolicy.
    policy("audit-egress", { guardrails: { egressCidrs: { mode: "Audit", denied: ["172.16.0.0/12"] } } }),
    policy("emergency", {
      quarantine: {
        identities: [
          { profile: "shop/cart", reason: "leaked token, INC-7" },
          { serviceAccount: { namespace: "pay", name: "api" } },
          { namespace: "ci" },
        ],
      },
    }),
  ];
}
