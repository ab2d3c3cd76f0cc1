// The platform tier's reconcile on the in-memory fake cluster: nothing without the CRD, the tier's
// objects created once the CRD is served, zero writes when nothing changed, drift corrected, lifted
// objects deleted, a foreign object of the same name left alone, and every policy's status saying
// which tier is in force. (The real API server and CRD: e2e/cluster-tier.e2e.test.ts.)
import { describe, expect, it } from "vitest";
import { DEFAULT_PLATFORM } from "../builders/index.ts";
import { FakeCluster } from "../../test-support/fake-cluster.ts";
import type { TierCrd } from "../policy/network-tier.ts";
import type { EventSink } from "./events.ts";
import { CLUSTER_TIER_KEY, parseKey, policyKey } from "./keys.ts";
import { Reconciler } from "./reconciler.ts";

const quiet = { info() {}, warn() {}, debug() {} };
const NOW = new Date("2026-11-20T00:00:00Z");
const SERVED: TierCrd = {
  spec: { versions: [{ name: "v1beta1", served: true }] },
  status: { conditions: [{ type: "Established", status: "True" }] },
};
const events: EventSink = { record: () => true };

function setup(crd: TierCrd | undefined) {
  const cluster = new FakeCluster();
  cluster.tierCrd = crd;
  const r = new Reconciler(
    cluster,
    { trustDomain: "cluster.local", meshMode: "sidecar", defaults: DEFAULT_PLATFORM, now: () => NOW },
    events,
    quiet,
  );
  cluster.putProfile("shop", "cart", { selector: { app: "cart" } });
  cluster.putProfile("shop", "web", { selector: { app: "web" } });
  cluster.putProfile("pay", "api", { selector: { app: "api" } });
  cluster.putPolicy("guard", {
    guardrails: { egressCidrs: { mode: "Enforce", denied: ["169.254.0.0/16"] } },
    quarantine: { identities: [{ profile: "shop/cart" }] },
  });
  return { cluster, r };
}

const tier = (c: FakeCluster) =>
  c
    .clusterTierObjects()
    .map((o) => o.metadata?.name)
    .sort();
const writes = (c: FakeCluster) => c.calls.filter((x) => x.op !== "read" && x.op !== "status");

describe("the platform tier in the reconciler", () => {
  it("parses its key", () => {
    expect(parseKey(CLUSTER_TIER_KEY)).toEqual({ type: "clusterTier" });
  });

  it.each<[string, TierCrd | undefined]>([
    ["no CRD", undefined],
    [
      "a CRD of another version",
      { spec: { versions: [{ name: "v1alpha2", served: true }] }, status: SERVED.status },
    ],
  ])("writes nothing with %s, and the policy's status says NetworkPolicy", async (_n, crd) => {
    const { cluster, r } = setup(crd);
    await r.reconcile(CLUSTER_TIER_KEY);
    expect(cluster.calls).toEqual([]);
    await r.reconcile(policyKey("guard"));
    const status = cluster.policiesMap.get("guard")?.status as {
      networkTier?: { tier: string; reason: string };
    };
    expect(status.networkTier?.tier).toBe("NetworkPolicy");
    expect(status.networkTier?.reason).toBe(crd ? "UnsupportedVersion" : "CRDNotInstalled");
  });

  it("creates the quarantine, the egress denial and the baseline; then writes nothing", async () => {
    const { cluster, r } = setup(SERVED);
    await r.reconcile(CLUSTER_TIER_KEY);
    expect(tier(cluster)).toEqual([
      "meshward-default-deny",
      "meshward-egress-guard",
      "meshward-quarantine.shop.cart",
    ]);
    const baseline = cluster.objects.get("ClusterNetworkPolicy//meshward-default-deny") as {
      spec: { tier: string; subject: unknown };
    };
    expect(baseline.spec.tier).toBe("Baseline");
    expect(JSON.stringify(baseline.spec.subject)).toContain('"values":["pay","shop"]');
    const before = writes(cluster).length;
    await r.reconcile(CLUSTER_TIER_KEY);
    expect(writes(cluster).length).toBe(before);
    await r.reconcile(policyKey("guard"));
    const status = cluster.policiesMap.get("guard")?.status as { networkTier?: { tier: string } };
    expect(status.networkTier?.tier).toBe("ClusterNetworkPolicy");
  });

  it("puts a changed object back and deletes what no policy asks for", async () => {
    const { cluster, r } = setup(SERVED);
    await r.reconcile(CLUSTER_TIER_KEY);
    const egress = cluster.objects.get("ClusterNetworkPolicy//meshward-egress-guard") as {
      spec: { priority: number };
    };
    egress.spec.priority = 999;
    await r.reconcile(CLUSTER_TIER_KEY);
    expect(cluster.calls.at(-1)).toMatchObject({ op: "apply", name: "meshward-egress-guard" });
    expect(
      (cluster.objects.get("ClusterNetworkPolicy//meshward-egress-guard") as typeof egress).spec.priority,
    ).toBe(100);
    cluster.putPolicy("guard", {
      guardrails: { egressCidrs: { mode: "Audit", denied: ["169.254.0.0/16"] } },
    });
    await r.reconcile(CLUSTER_TIER_KEY);
    expect(tier(cluster)).toEqual(["meshward-default-deny"]);
  });

  it("follows adoption: no baseline where the namespace default deny is not created", async () => {
    const { cluster, r } = setup(SERVED);
    cluster.putPolicy("guard", { guardrails: { adoption: { mode: "Audit" } } });
    await r.reconcile(CLUSTER_TIER_KEY);
    expect(tier(cluster)).toEqual([]);
  });

  it("leaves a foreign ClusterNetworkPolicy with one of the tier's names alone", async () => {
    const { cluster, r } = setup(SERVED);
    cluster.objects.set("ClusterNetworkPolicy//meshward-egress-guard", {
      kind: "ClusterNetworkPolicy",
      metadata: { name: "meshward-egress-guard", uid: "theirs", labels: { team: "net" } },
      spec: { tier: "Admin", priority: 5 },
    });
    await r.reconcile(CLUSTER_TIER_KEY);
    const theirs = cluster.objects.get("ClusterNetworkPolicy//meshward-egress-guard") as {
      metadata: { uid: string };
      spec: { priority: number };
    };
    expect(theirs.metadata.uid).toBe("theirs");
    expect(theirs.spec.priority).toBe(5);
    expect(cluster.calls.filter((c) => c.name === "meshward-egress-guard").map((c) => c.op)).toEqual([
      "create",
      "read",
    ]);
    expect(tier(cluster)).toContain("meshward-quarantine.shop.cart");
  });
});
