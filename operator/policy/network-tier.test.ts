import { describe, expect, it } from "vitest";
import { networkTier, type TierCrd } from "./network-tier.ts";

const established = { conditions: [{ type: "Established", status: "True" }] };
const crd = (versions: { name: string; served: boolean }[], status = established): TierCrd => ({
  spec: { versions },
  status,
});

describe("which network-policy tier holds the platform's rules", () => {
  it.each<[string, TierCrd | undefined, string, string, RegExp]>([
    ["no CRD", undefined, "NetworkPolicy", "CRDNotInstalled", /is not installed.*Install sigs\.k8s\.io/],
    [
      "v1beta1 served and established",
      crd([{ name: "v1beta1", served: true }]),
      "ClusterNetworkPolicy",
      "ClusterNetworkPolicyServed",
      /Admin-tier.*network plugin implements ClusterNetworkPolicy/,
    ],
    [
      "another version only",
      crd([{ name: "v1alpha2", served: true }]),
      "NetworkPolicy",
      "UnsupportedVersion",
      /serves v1alpha2, not v1beta1.*v0\.3 or later/,
    ],
    [
      "v1beta1 defined but not served",
      crd([
        { name: "v1alpha2", served: true },
        { name: "v1beta1", served: false },
      ]),
      "NetworkPolicy",
      "UnsupportedVersion",
      /serves v1alpha2, not v1beta1/,
    ],
    ["no version served", crd([]), "NetworkPolicy", "UnsupportedVersion", /serves no version/],
    [
      "not established yet",
      crd([{ name: "v1beta1", served: true }], { conditions: [{ type: "Established", status: "False" }] }),
      "NetworkPolicy",
      "CRDNotEstablished",
      /not established yet/,
    ],
    ["an empty object", {}, "NetworkPolicy", "UnsupportedVersion", /serves no version/],
    [
      "being deleted",
      {
        ...crd([{ name: "v1beta1", served: true }]),
        metadata: { deletionTimestamp: "2026-12-07T00:00:00Z" },
      },
      "NetworkPolicy",
      "CRDTerminating",
      /being deleted/,
    ],
  ])("%s", (_name, input, tier, reason, message) => {
    const t = networkTier(input);
    expect(t.tier).toBe(tier);
    expect(t.reason).toBe(reason);
    expect(t.message).toMatch(message);
    expect(t.message.length).toBeLessThanOrEqual(1024);
  });

  it("bounds what a CRD's version names put in the message", () => {
    const many = Array.from({ length: 50 }, (_, i) => ({ name: `v${i}${"x".repeat(100)}`, served: true }));
    const t = networkTier(crd(many));
    expect(t.reason).toBe("UnsupportedVersion");
    expect(t.message.length).toBeLessThanOrEqual(1024);
  });
});
