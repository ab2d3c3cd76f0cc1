// The reconciler's platform decisions on the in-memory fake cluster: guardrails shape what a
// profile builds (fail closed), the overlap loser builds nothing, quarantine objects come and go,
// a policy's status is written only when it changed, the adoption audit reports once. (The real
// API server proves each attack in e2e/policy-guardrails.e2e.test.ts.)
import { describe, expect, it } from "vitest";
import type { ProfileStatus } from "../api/schema.ts";
import { DEFAULT_PLATFORM } from "../builders/index.ts";
import { FakeCluster } from "../../test-support/fake-cluster.ts";
import type { EventSink } from "./events.ts";
import { QUARANTINE_KEY, parseKey, policyKey } from "./keys.ts";
import { Reconciler } from "./reconciler.ts";

const quiet = { info() {}, warn() {}, debug() {} };
const NOW = new Date("2026-11-20T00:00:00Z");

function setup() {
  const cluster = new FakeCluster();
  const recorded: { reason: string; note: string; kind: string }[] = [];
  /** How many of the next Events the sink throttles (not recorded, record() answers false). */
  const throttle = { next: 0 };
  const events: EventSink = {
    record: (r, _t, reason, note) => {
      if (throttle.next > 0) {
        throttle.next--;
        return false;
      }
      recorded.push({ reason, note, kind: r.kind });
      return true;
    },
  };
  const r = new Reconciler(
    cluster,
    { trustDomain: "cluster.local", meshMode: "sidecar", defaults: DEFAULT_PLATFORM, now: () => NOW },
    events,
    quiet,
  );
  return { cluster, r, recorded, throttle };
}

const status = (c: FakeCluster, key: string) => c.profilesMap.get(key)?.status as ProfileStatus | undefined;
const cond = (c: FakeCluster, key: string, type: string) =>
  status(c, key)?.conditions?.find((x) => x.type === type);
const kinds = (c: FakeCluster, ns: string) =>
  [...c.objects.values()]
    .filter((o) => o.metadata?.namespace === ns)
    .map((o) => `${o.kind}/${o.metadata?.name}`)
    .sort();

const secretSpec = (key: string) => ({
  selector: { app: "api" },
  secrets: [
    {
      name: "db",
      storeRef: { kind: "ClusterSecretStore", name: "vault" },
      data: [{ secretKey: "password", remoteRef: { key } }],
    },
  ],
});
const secretsPolicy = (mode: "Audit" | "Enforce") => ({
  guardrails: { secrets: { mode, stores: [{ name: "vault", keys: ["{namespace}/*"] }] } },
});

describe("work-queue keys", () => {
  it.each([
    ["ns/name", { type: "profile", namespace: "ns", name: "name" }],
    ["ns", { type: "namespace", namespace: "ns" }],
    [QUARANTINE_KEY, { type: "quarantine" }],
    [policyKey("default"), { type: "policy", name: "default" }],
  ])("%s", (key, want) => {
    expect(parseKey(key)).toEqual(want);
  });
});

describe("guardrails in the reconciler", () => {
  it("Audit builds the foreign key and reports it; Enforce removes it, Ready=False names the field", async () => {
    const { cluster, r, recorded } = setup();
    cluster.putPolicy("p", secretsPolicy("Audit"));
    cluster.putProfile("tenant", "api", secretSpec("payments/db"));
    await r.reconcile("tenant/api");
    expect(kinds(cluster, "tenant")).toContain("ExternalSecret/db");
    expect(cond(cluster, "tenant/api", "Ready")?.status).toBe("True");
    expect(cond(cluster, "tenant/api", "Compliant")).toMatchObject({
      status: "False",
      reason: "SecretNotAllowed",
    });
    expect(status(cluster, "tenant/api")?.policy?.findings?.[0]).toMatchObject({
      mode: "Audit",
      path: "spec.secrets[0].data[0].remoteRef.key",
      policies: ["p"],
    });
    expect(recorded.filter((e) => e.reason === "SecretNotAllowed")).toHaveLength(1);

    // The same finding again: no second event, no write.
    cluster.calls = [];
    await r.reconcile("tenant/api");
    expect(cluster.writes()).toEqual([]);
    expect(recorded.filter((e) => e.reason === "SecretNotAllowed")).toHaveLength(1);

    cluster.putPolicy("p", secretsPolicy("Enforce"));
    await r.reconcile("tenant/api");
    expect(kinds(cluster, "tenant")).not.toContain("ExternalSecret/db");
    expect(kinds(cluster, "tenant")).toContain("AuthorizationPolicy/api");
    const ready = cond(cluster, "tenant/api", "Ready");
    expect(ready).toMatchObject({ status: "False", reason: "SecretNotAllowed" });
    expect(ready?.message).toContain("spec.secrets[0].data[0].remoteRef.key");
    expect(ready?.message).toContain("tenant/*");

    cluster.putProfile("tenant", "api", secretSpec("tenant/db"), undefined, 2);
    await r.reconcile("tenant/api");
    expect(kinds(cluster, "tenant")).toContain("ExternalSecret/db");
    expect(cond(cluster, "tenant/api", "Compliant")).toMatchObject({ status: "True" });
    expect(recorded.map((e) => e.reason)).toContain("Compliant");
  });

  it("a policy for another namespace changes nothing", async () => {
    const { cluster, r } = setup();
    cluster.putPolicy("p", { namespaceSelector: { team: "other" }, ...secretsPolicy("Enforce") });
    cluster.namespaceLabelsMap.set("tenant", { "kubernetes.io/metadata.name": "tenant", team: "mine" });
    cluster.putProfile("tenant", "api", secretSpec("payments/db"));
    await r.reconcile("tenant/api");
    expect(kinds(cluster, "tenant")).toContain("ExternalSecret/db");
    expect(cond(cluster, "tenant/api", "Compliant")).toMatchObject({
      status: "True",
      message: "no MeshwardPolicy governs this namespace",
    });
    expect(status(cluster, "tenant/api")?.policy).toBeUndefined();
  });

  it("an invalid policy takes no part, and its status says why", async () => {
    const { cluster, r } = setup();
    cluster.putPolicy("bad", { guardrails: { secrets: { mode: "Sometimes", stores: [] } } });
    cluster.putProfile("tenant", "api", secretSpec("payments/db"));
    await r.reconcile("tenant/api");
    expect(kinds(cluster, "tenant")).toContain("ExternalSecret/db");
    await r.reconcile(policyKey("bad"));
    const s = cluster.policiesMap.get("bad")?.status as {
      conditions?: { reason: string; message: string }[];
    };
    expect(s.conditions?.[0]).toMatchObject({ reason: "InvalidSpec" });
    expect(s.conditions?.[0]?.message).toContain("spec.guardrails.secrets.mode");
  });
});

describe("selector overlap", () => {
  it("the newer profile builds nothing and loses what it had; the older keeps its objects", async () => {
    const { cluster, r } = setup();
    cluster.putProfile("shop", "cart", { selector: { app: "cart" } });
    cluster.putProfile("shop", "hijack", { selector: { app: "cart", tier: "web" } });
    const p = cluster.profilesMap.get("shop/cart");
    if (p?.metadata) p.metadata.creationTimestamp = "2026-01-01T00:00:00Z";
    const h = cluster.profilesMap.get("shop/hijack");
    if (h?.metadata) h.metadata.creationTimestamp = "2026-02-01T00:00:00Z";
    // Built before the older one appeared in the cache (e.g. a stale cache): it owns objects.
    cluster.profilesMap.delete("shop/cart");
    await r.reconcile("shop/hijack");
    expect(kinds(cluster, "shop")).toContain("AuthorizationPolicy/hijack");
    if (p) cluster.profilesMap.set("shop/cart", p);
    await r.reconcile("shop/cart");
    await r.reconcile("shop/hijack");
    expect(kinds(cluster, "shop").filter((k) => k.endsWith("/hijack"))).toEqual([]);
    expect(kinds(cluster, "shop")).toContain("AuthorizationPolicy/cart");
    expect(cond(cluster, "shop/hijack", "Ready")).toMatchObject({
      status: "False",
      reason: "SelectorOverlap",
    });
    expect(cond(cluster, "shop/hijack", "Ready")?.message).toContain("shop/cart");
    expect(cond(cluster, "shop/cart", "Ready")?.status).toBe("True");
  });
});

describe("quarantine", () => {
  it("creates the DENY and the isolation, writes nothing more when in sync, deletes them when lifted", async () => {
    const { cluster, r } = setup();
    cluster.putProfile("shop", "cart", {
      selector: { app: "cart" },
      ingress: [{ from: [{ namespace: "web" }] }],
    });
    await r.reconcile("shop/cart");
    cluster.putPolicy("emergency", {
      namespaceSelector: { nobody: "x" },
      quarantine: {
        identities: [{ profile: "shop/cart" }, { serviceAccount: { namespace: "ext", name: "bot" } }],
      },
    });
    await r.reconcile(QUARANTINE_KEY);
    await r.reconcile("shop/cart");
    const deny = cluster.objects.get("AuthorizationPolicy/istio-system/meshward-quarantine");
    expect(deny?.spec).toMatchObject({ action: "DENY" });
    expect(JSON.stringify(deny?.spec)).toContain("cluster.local/ns/shop/sa/cart");
    expect(JSON.stringify(deny?.spec)).toContain("cluster.local/ns/ext/sa/bot");
    expect(cluster.objects.has("NetworkPolicy/shop/meshward-quarantine-cart")).toBe(true);
    expect(cond(cluster, "shop/cart", "Ready")).toMatchObject({ status: "False", reason: "Quarantined" });
    expect(cond(cluster, "shop/cart", "Ready")?.message).toMatch(/^this service is cut off by the platform/);
    expect(status(cluster, "shop/cart")?.policy?.quarantinedBy).toEqual(["emergency"]);

    cluster.calls = [];
    await r.reconcile(QUARANTINE_KEY);
    expect(cluster.writes()).toEqual([]);

    cluster.policiesMap.delete("emergency");
    await r.reconcile(QUARANTINE_KEY);
    await r.reconcile("shop/cart");
    expect(cluster.objects.has("AuthorizationPolicy/istio-system/meshward-quarantine")).toBe(false);
    expect(cluster.objects.has("NetworkPolicy/shop/meshward-quarantine-cart")).toBe(false);
    expect(cond(cluster, "shop/cart", "Ready")?.status).toBe("True");
  });

  it("quarantines a namespace: root DENY by source, DENY and isolation inside, lifted on removal", async () => {
    const { cluster, r } = setup();
    const spec = { selector: { app: "cart" }, ingress: [{ from: [{ namespace: "web" }] }] };
    cluster.putProfile("shop", "cart", spec);
    cluster.putProfile("pay", "api", { selector: { app: "api" } });
    await r.reconcile("shop/cart");
    const written = cluster.objects.get("AuthorizationPolicy/shop/cart")?.spec;
    expect(written).toBeDefined();
    cluster.putPolicy("emergency", { quarantine: { identities: [{ namespace: "shop" }] } });
    await r.reconcile(QUARANTINE_KEY);
    await r.reconcile("shop/cart");
    await r.reconcile("pay/api");
    expect(cluster.objects.get("AuthorizationPolicy/istio-system/meshward-quarantine")?.spec).toEqual({
      action: "DENY",
      rules: [{ from: [{ source: { namespaces: ["shop"] } }] }],
    });
    expect(cluster.objects.get("AuthorizationPolicy/shop/meshward-quarantine")?.spec).toEqual({
      action: "DENY",
      rules: [{}],
    });
    expect(cluster.objects.get("NetworkPolicy/shop/meshward-quarantine")?.spec).toMatchObject({
      podSelector: {},
    });
    expect(status(cluster, "shop/cart")?.policy?.quarantinedBy).toEqual(["emergency"]);
    expect(cond(cluster, "shop/cart", "Ready")).toMatchObject({ status: "False", reason: "Quarantined" });
    expect(cond(cluster, "pay/api", "Ready")?.status).toBe("True");

    cluster.putPolicy("emergency", { quarantine: { identities: [] } });
    await r.reconcile(QUARANTINE_KEY);
    await r.reconcile("shop/cart");
    for (const k of [
      "AuthorizationPolicy/istio-system/meshward-quarantine",
      "AuthorizationPolicy/shop/meshward-quarantine",
      "NetworkPolicy/shop/meshward-quarantine",
    ])
      expect(cluster.objects.has(k), k).toBe(false);
    expect(cond(cluster, "shop/cart", "Ready")?.status).toBe("True");
    expect(cluster.objects.get("AuthorizationPolicy/shop/cart")?.spec).toEqual(written);
  });

  it("leaves a foreign object with the quarantine's name alone", async () => {
    const { cluster, r } = setup();
    cluster.putForeign("AuthorizationPolicy", "istio-system", "meshward-quarantine", {
      spec: { action: "ALLOW" },
    });
    cluster.putPolicy("emergency", {
      quarantine: { identities: [{ serviceAccount: { namespace: "x", name: "y" } }] },
    });
    await r.reconcile(QUARANTINE_KEY);
    expect(cluster.objects.get("AuthorizationPolicy/istio-system/meshward-quarantine")?.spec).toEqual({
      action: "ALLOW",
    });
    // The foreign one refused the create; the waypoints' DENY beside it is created.
    expect(cluster.writes().map((c) => c.op)).toEqual(["create", "create"]);
    expect(
      cluster.objects.get("AuthorizationPolicy/istio-system/meshward-quarantine-waypoints"),
    ).toBeDefined();
  });
});

describe("policy status", () => {
  it("counts namespaces and profiles, and is written only when it changed", async () => {
    const { cluster, r } = setup();
    cluster.namespaceLabelsMap.set("a", { "kubernetes.io/metadata.name": "a", team: "x" });
    cluster.namespaceLabelsMap.set("b", { "kubernetes.io/metadata.name": "b" });
    cluster.putProfile("a", "api", { selector: { app: "api" } });
    cluster.putProfile("b", "api", { selector: { app: "api" } });
    cluster.putPolicy("team-x", { namespaceSelector: { team: "x" } });
    await r.reconcile(policyKey("team-x"));
    expect(cluster.policiesMap.get("team-x")?.status).toMatchObject({
      namespaceCount: 1,
      namespaces: ["a"],
      profileCount: 1,
    });
    cluster.calls = [];
    await r.reconcile(policyKey("team-x"));
    expect(cluster.writes()).toEqual([]);
    cluster.putProfile("a", "web", { selector: { app: "web" } });
    await r.reconcile(policyKey("team-x"));
    expect(cluster.policiesMap.get("team-x")?.status).toMatchObject({ profileCount: 2 });
  });
});

describe("adoption", () => {
  it("Audit: no default deny, one event naming the uncovered pods; Enforce: created", async () => {
    const { cluster, r, recorded } = setup();
    cluster.putPolicy("adopt", { guardrails: { adoption: { mode: "Audit" } } });
    cluster.putProfile("shared", "api", { selector: { app: "api" } });
    cluster.podsMap.set("shared", [
      { name: "api-1", labels: { app: "api" } },
      { name: "batch-1", labels: { app: "batch" } },
    ]);
    await r.reconcile("shared");
    await r.reconcile("shared");
    expect(cluster.objects.has("NetworkPolicy/shared/meshward-default-deny")).toBe(false);
    const audit = recorded.filter((e) => e.reason === "AdoptionAudit");
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ kind: "Namespace" });
    expect(audit[0]?.note).toContain("batch-1");
    expect(audit[0]?.note).not.toContain("api-1");

    cluster.putPolicy("adopt", { guardrails: { adoption: { mode: "Enforce" } } });
    await r.reconcile("shared");
    expect(cluster.objects.has("NetworkPolicy/shared/meshward-default-deny")).toBe(true);
    // Back to Audit: ours is removed again.
    cluster.putPolicy("adopt", { guardrails: { adoption: { mode: "Audit" } } });
    await r.reconcile("shared");
    expect(cluster.objects.has("NetworkPolicy/shared/meshward-default-deny")).toBe(false);
  });

  it("an audit Event the rate limits held back is tried again, not forgotten", async () => {
    const { cluster, r, recorded, throttle } = setup();
    cluster.putPolicy("adopt", { guardrails: { adoption: { mode: "Audit" } } });
    cluster.putProfile("shared", "api", { selector: { app: "api" } });
    cluster.podsMap.set("shared", [{ name: "batch-1", labels: { app: "batch" } }]);
    throttle.next = 1;
    expect(await r.reconcile("shared")).toEqual({ requeueAfterMs: 10_000 });
    expect(recorded.filter((e) => e.reason === "AdoptionAudit")).toHaveLength(0);
    expect(await r.reconcile("shared")).toBeUndefined();
    const audit = recorded.filter((e) => e.reason === "AdoptionAudit");
    expect(audit).toHaveLength(1);
    expect(audit[0]?.note).toContain("batch-1");
    // Sent: the same report is not sent again.
    expect(await r.reconcile("shared")).toBeUndefined();
    expect(recorded.filter((e) => e.reason === "AdoptionAudit")).toHaveLength(1);
  });
  it("a policy's status names the governed profiles that foreign objects widen, and the exemptions in force", async () => {
    const { cluster, r } = setup();
    cluster.namespaceLabelsMap.set("shop", { tier: "prod" });
    cluster.namespaceLabelsMap.set("lab", {});
    cluster.putPolicy("prod", {
      namespaceSelector: { tier: "prod" },
      perimeter: {
        mode: "Deny",
        exemptions: [
          {
            namespace: "shop",
            kind: "NetworkPolicy",
            name: "legacy",
            expires: "2026-11-21T00:00:00Z",
            ticket: "SEC-1",
          },
        ],
      },
    });
    const widened = {
      conditions: [{ type: "Widened", status: "True", reason: "ForeignPolicy", message: "m" }],
    };
    cluster.putProfile("shop", "cart", { selector: { app: "cart" } });
    cluster.putProfile("lab", "toy", { selector: { app: "toy" } });
    for (const key of ["shop/cart", "lab/toy"])
      (cluster.profilesMap.get(key) as { status?: unknown }).status = widened;
    const result = await r.reconcile(policyKey("prod"));
    const written = cluster.policiesMap.get("prod") as { status?: Record<string, unknown> };
    expect(written.status?.widened).toEqual({ count: 1, profiles: ["shop/cart"] });
    expect(written.status?.perimeter).toMatchObject({ active: ["NetworkPolicy/shop/legacy"] });
    // Written again when the exemption ends.
    expect(result).toEqual({ requeueAfterMs: 86_400_000 + 1000 });
  });

  it("a policy's status says whether each platform identity exists, and follows the ServiceAccount", async () => {
    const { cluster, r } = setup();
    cluster.putPolicy("prod", {
      perimeter: {
        mode: "Deny",
        platformIdentities: [
          { group: "platform-admins" },
          { serviceAccount: { namespace: "argocd", name: "ctrl" } },
        ],
      },
    });
    const identities = () =>
      (cluster.policiesMap.get("prod") as { status?: { perimeter?: { identities?: unknown[] } } }).status
        ?.perimeter?.identities;
    await r.reconcile(policyKey("prod"));
    expect(identities()).toMatchObject([
      { identity: "group:platform-admins", state: "Unchecked" },
      { identity: "serviceAccount:argocd/ctrl", state: "NotFound" },
    ]);
    cluster.accounts.set("argocd/ctrl", { state: "found" });
    await r.reconcile(policyKey("prod"));
    expect(identities()).toMatchObject([
      { identity: "group:platform-admins", state: "Unchecked" },
      { identity: "serviceAccount:argocd/ctrl", state: "Found" },
    ]);
    // Nothing changed: no second write.
    const writes = cluster.calls.filter((c) => c.op === "status" && c.name === "prod").length;
    await r.reconcile(policyKey("prod"));
    expect(cluster.calls.filter((c) => c.op === "status" && c.name === "prod")).toHaveLength(writes);
  });
});
