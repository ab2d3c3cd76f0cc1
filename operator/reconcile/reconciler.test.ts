// The reconciler's decisions, on an in-memory fake cluster. (The real API server proves the
// features in e2e/; this pins down what the reconciler decides to do.)
import { describe, expect, it } from "vitest";
import type { ProfileStatus } from "../api/schema.ts";
import { DEFAULT_PLATFORM } from "../builders/index.ts";
import { ApiError } from "../runtime/client.ts";
import type { EventSink } from "./events.ts";
import { Reconciler, REFUSED_RETRY_MS } from "./reconciler.ts";
import { FakeCluster } from "../../test-support/fake-cluster.ts";

const quiet = { info() {}, warn() {}, debug() {} };

function setup(now = new Date("2026-11-20T00:00:00Z")) {
  const cluster = new FakeCluster();
  const recorded: { reason: string; note: string }[] = [];
  const events: EventSink = { record: (_r, _t, reason, note) => recorded.push({ reason, note }) > 0 };
  const r = new Reconciler(
    cluster,
    { trustDomain: "cluster.local", meshMode: "sidecar", defaults: DEFAULT_PLATFORM, now: () => now },
    events,
    quiet,
  );
  return { cluster, r, recorded };
}

function cond(cluster: FakeCluster, key: string, type: string) {
  const status = cluster.profilesMap.get(key)?.status as ProfileStatus | undefined;
  return status?.conditions?.find((c) => c.type === type);
}

describe("Reconciler", () => {
  it("creates every child with a plain create (no read, no apply), then a second pass writes nothing", async () => {
    const { cluster, r, recorded } = setup();
    cluster.putProfile("ns", "api", { selector: { app: "api" } });
    await r.reconcile("ns/api");
    expect(cluster.calls.filter((c) => c.op === "apply" || c.op === "read")).toEqual([]);
    const creates = cluster.calls.filter((c) => c.op === "create");
    expect(creates.map((c) => c.kind).sort()).toEqual([
      "AuthorizationPolicy",
      "NetworkPolicy",
      "PeerAuthentication",
      "ServiceAccount",
    ]);
    expect(cond(cluster, "ns/api", "Ready")).toMatchObject({
      status: "True",
      reason: "Reconciled",
      observedGeneration: 1,
    });
    const created = recorded.filter((e) => e.reason === "Created");
    expect(created).toHaveLength(1); // one event per reconcile, naming every object
    expect(created[0]?.note).toBe(
      "created ServiceAccount api, PeerAuthentication api, AuthorizationPolicy api, NetworkPolicy api",
    );
    cluster.calls = [];
    await r.reconcile("ns/api");
    await r.reconcile("ns/api");
    expect(cluster.writes()).toEqual([]);
  });

  it("says when a foreign NetworkPolicy widens the profile: condition, one Warning Event, no extra writes", async () => {
    const { cluster, r, recorded } = setup();
    cluster.putProfile("ns", "api", { selector: { app: "api" } });
    await r.reconcile("ns/api");
    expect(cond(cluster, "ns/api", "Widened")).toMatchObject({ status: "False", reason: "NotWidened" });
    const widened: Record<string, number>[] = [];
    cluster.foreignObjects.set("ns", {
      networkPolicies: [
        {
          namespace: "ns",
          name: "allow-all",
          podSelector: { matchLabels: {}, matchExpressions: [] },
          policyTypes: ["Ingress"],
          ingress: [{ peers: [], ports: [] }],
          egress: [],
        },
      ],
      authorizationPolicies: [],
      peerAuthentications: [],
      requestAuthentications: [],
      externalSecrets: [],
    });
    const observed = new Reconciler(
      cluster,
      { trustDomain: "cluster.local", meshMode: "sidecar", defaults: DEFAULT_PLATFORM },
      { record: (_r, _t, reason, note) => recorded.push({ reason, note }) > 0 },
      quiet,
      { widened: (_k, kinds) => widened.push(Object.fromEntries(kinds)) },
    );
    cluster.calls = [];
    await observed.reconcile("ns/api");
    const c = cond(cluster, "ns/api", "Widened");
    expect(c).toMatchObject({ status: "True", reason: "ForeignPolicy" });
    expect(c?.message).toContain(
      "NetworkPolicy allow-all, not created by meshward, widens what this profile declares",
    );
    expect(recorded.filter((e) => e.reason === "Widened")).toHaveLength(1);
    expect(widened.at(-1)).toEqual({ NetworkPolicy: 1 });
    // Only the status changed; the generated objects are untouched.
    expect(cluster.writes().map((w) => w.op)).toEqual(["status"]);
    await observed.reconcile("ns/api");
    expect(recorded.filter((e) => e.reason === "Widened")).toHaveLength(1);
  });

  it("writes nothing for a profile, or the default deny, of a namespace being deleted", async () => {
    const { cluster, r, recorded } = setup();
    cluster.putProfile("gone", "api", { selector: { app: "api" } });
    cluster.terminating.add("gone");
    expect(await r.reconcile("gone/api")).toBeUndefined();
    expect(await r.reconcile("gone")).toBeUndefined();
    expect(cluster.calls).toEqual([]);
    expect(recorded).toEqual([]);
    // The same profile in a namespace that is not being deleted is built.
    cluster.terminating.delete("gone");
    await r.reconcile("gone/api");
    expect(cluster.calls.filter((c) => c.op === "create").length).toBeGreaterThan(0);
  });

  it("a reconcile before its own status write reaches the cache does not write the status again", async () => {
    const { cluster, r } = setup();
    cluster.holdStatus = true;
    cluster.putProfile("ns", "api", { selector: { app: "api" } });
    await r.reconcile("ns/api");
    expect(cluster.calls.filter((c) => c.op === "status")).toHaveLength(1);
    cluster.calls = [];
    // The children's watch events ran it again; the cache still has no status.
    await r.reconcile("ns/api");
    expect(cluster.writes()).toEqual([]);
    // Once the cache has it, the cache is what is compared.
    cluster.deliverStatus();
    r.observed("ns/api");
    await r.reconcile("ns/api");
    expect(cluster.writes()).toEqual([]);
    // A new generation while our write is still on its way: the status says so.
    cluster.putProfile("ns", "api", { selector: { app: "api2" } }, undefined, 2);
    await r.reconcile("ns/api");
    cluster.putProfile("ns", "api", { selector: { app: "api3" } }, undefined, 3);
    await r.reconcile("ns/api");
    const held = cluster.heldStatus.get("ns/api");
    expect(held?.conditions?.find((c) => c.type === "Ready")?.observedGeneration).toBe(3);
    expect(cluster.calls.filter((c) => c.op === "status")).toHaveLength(2);
  });

  it("keeps lastTransitionTime when a condition's status does not flip", async () => {
    const t1 = new Date("2026-11-20T00:00:00Z");
    let now = t1;
    const cluster = new FakeCluster();
    const r = new Reconciler(
      cluster,
      { trustDomain: "cluster.local", meshMode: "sidecar", defaults: DEFAULT_PLATFORM, now: () => now },
      { record: () => true },
      quiet,
    );
    cluster.putProfile("ns", "api", { selector: { app: "api" } });
    await r.reconcile("ns/api");
    now = new Date("2026-11-20T01:00:00Z");
    cluster.putProfile("ns", "api", { selector: { app: "api2" } }, undefined, 2);
    await r.reconcile("ns/api");
    const ready = cond(cluster, "ns/api", "Ready");
    expect(ready).toMatchObject({
      status: "True",
      observedGeneration: 2,
      lastTransitionTime: "2026-11-20T00:00:00Z",
    });
  });

  it("never touches an object it does not own: Conflict, no write to it", async () => {
    const { cluster, r, recorded } = setup();
    cluster.putForeign("PeerAuthentication", "ns", "api", { spec: { mtls: { mode: "PERMISSIVE" } } });
    const before = structuredClone(cluster.objects.get("PeerAuthentication/ns/api"));
    cluster.putProfile("ns", "api", { selector: { app: "api" } });
    await r.reconcile("ns/api");
    expect(cluster.calls.some((c) => c.op === "apply" && c.kind === "PeerAuthentication")).toBe(false);
    // The create was refused (409), then the object was read once to name its manager.
    expect(cluster.calls.filter((c) => c.kind === "PeerAuthentication").map((c) => c.op)).toEqual([
      "create",
      "read",
    ]);
    expect(cluster.objects.get("PeerAuthentication/ns/api")).toEqual(before);
    expect(cond(cluster, "ns/api", "Conflict")).toMatchObject({ status: "True", reason: "ObjectExists" });
    expect(cond(cluster, "ns/api", "Conflict")?.message).toContain(
      "PeerAuthentication api (managed by kubectl)",
    );
    expect(recorded.filter((e) => e.reason === "Conflict")).toHaveLength(1);
    // Told once: a second pass records no new event and writes nothing.
    cluster.calls = [];
    await r.reconcile("ns/api");
    expect(recorded.filter((e) => e.reason === "Conflict")).toHaveLength(1);
    expect(cluster.writes()).toEqual([]); // a known conflict is read, not written
    expect(cluster.calls).toEqual([{ op: "read", kind: "PeerAuthentication", name: "api" }]);
  });

  it("restores an edited object with force under Correct, naming the field", async () => {
    const { cluster, r, recorded } = setup();
    cluster.putProfile("ns", "api", { selector: { app: "api" } });
    await r.reconcile("ns/api");
    const pa = cluster.objects.get("PeerAuthentication/ns/api") as { spec: { mtls: { mode: string } } };
    pa.spec.mtls.mode = "DISABLE";
    cluster.calls = [];
    await r.reconcile("ns/api");
    expect(cluster.calls.filter((c) => c.op === "apply")).toEqual([
      { op: "apply", kind: "PeerAuthentication", name: "api", force: true },
    ]);
    expect(recorded.at(-1)).toMatchObject({
      reason: "DriftCorrected",
      note: expect.stringContaining("spec.mtls.mode"),
    });
  });

  it("only reports drift under Report, and keeps Drifted=True until it is gone", async () => {
    const { cluster, r } = setup();
    cluster.putProfile("ns", "api", { selector: { app: "api" }, driftPolicy: "Report" });
    await r.reconcile("ns/api");
    (
      cluster.objects.get("PeerAuthentication/ns/api") as { spec: { mtls: { mode: string } } }
    ).spec.mtls.mode = "DISABLE";
    cluster.objects.delete("AuthorizationPolicy/ns/api");
    cluster.calls = [];
    await r.reconcile("ns/api");
    expect(cluster.calls.filter((c) => c.op === "apply")).toEqual([]);
    expect(cond(cluster, "ns/api", "Drifted")).toMatchObject({ status: "True", reason: "DriftDetected" });
    const msg = cond(cluster, "ns/api", "Drifted")?.message ?? "";
    expect(msg).toContain("PeerAuthentication api: spec.mtls.mode");
    expect(msg).toContain("AuthorizationPolicy api: deleted");
    await r.reconcile("ns/api");
    expect(cond(cluster, "ns/api", "Drifted")?.status).toBe("True");
  });

  it("changes nothing for an invalid spec and says which field", async () => {
    const { cluster, r } = setup();
    cluster.putProfile("ns", "api", {
      selector: { app: "api" },
      ingress: [{ from: [{ namespace: "x", service: "y" }] }],
    });
    await r.reconcile("ns/api");
    expect(cluster.calls.filter((c) => c.op === "apply")).toEqual([]);
    expect(cond(cluster, "ns/api", "Ready")).toMatchObject({ status: "False", reason: "InvalidSpec" });
    expect(cond(cluster, "ns/api", "Ready")?.message).toContain("spec.ingress[0].from[0]");
  });

  it("builds nothing for a profile with a reserved name (an older CRD let it in)", async () => {
    const { cluster, r, recorded } = setup();
    cluster.putProfile("ns", "meshward-default-deny", { selector: { app: "api" } });
    await r.reconcile("ns/meshward-default-deny");
    expect(cluster.calls.filter((c) => c.op === "create" || c.op === "apply")).toEqual([]);
    expect(cond(cluster, "ns/meshward-default-deny", "Ready")).toMatchObject({
      status: "False",
      reason: "InvalidSpec",
    });
    expect(cond(cluster, "ns/meshward-default-deny", "Ready")?.message).toContain(
      'names starting with "meshward-" are reserved',
    );
    expect(recorded.map((e) => e.reason)).toEqual(["InvalidSpec"]);
  });

  it("creates what it can without Istio and says IstioNotInstalled", async () => {
    const { cluster, r } = setup();
    for (const k of ["PeerAuthentication", "AuthorizationPolicy", "RequestAuthentication"])
      cluster.absent.add(k);
    cluster.putProfile("ns", "api", { selector: { app: "api" } });
    await r.reconcile("ns/api");
    expect(
      cluster.calls
        .filter((c) => c.op === "create")
        .map((c) => c.kind)
        .sort(),
    ).toEqual(["NetworkPolicy", "ServiceAccount"]);
    expect(cond(cluster, "ns/api", "Degraded")).toMatchObject({
      status: "True",
      reason: "IstioNotInstalled",
    });
  });

  it("prunes owned objects no longer desired, and nothing else", async () => {
    const { cluster, r } = setup();
    const secret = (name: string) => ({
      name,
      storeRef: { name: "v" },
      data: [{ secretKey: "k", remoteRef: { key: "k" } }],
    });
    cluster.putProfile("ns", "api", { selector: { app: "api" }, secrets: [secret("a"), secret("b")] });
    await r.reconcile("ns/api");
    // An ExternalSecret with our label but owned by someone else must survive.
    cluster.objects.set("ExternalSecret/ns/other", {
      kind: "ExternalSecret",
      metadata: {
        name: "other",
        namespace: "ns",
        uid: "x",
        labels: { "app.kubernetes.io/managed-by": "meshward", "meshward.io/profile": "api" },
      },
    });
    cluster.putProfile("ns", "api", { selector: { app: "api" }, secrets: [secret("a")] }, undefined, 2);
    cluster.calls = [];
    await r.reconcile("ns/api");
    expect(cluster.calls.filter((c) => c.op === "remove")).toEqual([
      { op: "remove", kind: "ExternalSecret", name: "b" },
    ]);
    expect(cluster.objects.has("ExternalSecret/ns/other")).toBe(true);
  });

  it("reports a write the API server refuses and retries it in a minute", async () => {
    const { cluster, r, recorded } = setup();
    const create = cluster.create.bind(cluster);
    cluster.create = async (kind, obj) => {
      if (kind.resource.kind === "PeerAuthentication") {
        throw new ApiError(403, "Forbidden", "peerauthentications is forbidden: User cannot create resource");
      }
      return create(kind, obj);
    };
    cluster.putProfile("ns", "api", { selector: { app: "api" } });
    const res = await r.reconcile("ns/api");
    expect(res).toEqual({ requeueAfterMs: REFUSED_RETRY_MS });
    expect(cond(cluster, "ns/api", "Degraded")).toMatchObject({ status: "True", reason: "ApplyFailed" });
    expect(cond(cluster, "ns/api", "Degraded")?.message).toContain(
      "PeerAuthentication api: peerauthentications is forbidden",
    );
    expect(recorded.filter((e) => e.reason === "ApplyFailed")).toHaveLength(1);
  });

  it("requeues at the exception's expiry", async () => {
    const { cluster, r } = setup(new Date("2026-11-20T00:00:00Z"));
    cluster.putProfile("ns", "api", {
      selector: { app: "api" },
      mtls: { mode: "Permissive" },
      exceptions: [
        {
          type: "PermissiveMtls",
          reason: "migrating clients",
          ticket: "SEC-1",
          expires: "2026-11-20T00:01:00Z",
        },
      ],
    });
    const res = await r.reconcile("ns/api");
    expect(res && res.requeueAfterMs).toBeGreaterThanOrEqual(60_000);
    expect(res && res.requeueAfterMs).toBeLessThan(61_000);
  });

  it("reads a garbled status and generation without throwing, and rewrites them (found by the fuzzer)", async () => {
    for (const status of [
      { objects: [null] },
      { conditions: "Ready", objects: 5, exceptions: [{ type: "AuditOnly" }] },
      { conditions: [null, { type: "Ready" }], observedGeneration: "2" },
      "garbage",
    ]) {
      for (const valid of [true, false]) {
        const { cluster, r } = setup();
        cluster.putProfile("ns", "api", valid ? { selector: { app: "api" } } : { selector: 5 });
        const p = cluster.profilesMap.get("ns/api");
        if (!p?.metadata) throw new Error("no profile");
        p.status = status;
        p.metadata.generation = "7" as unknown as number;
        await r.reconcile("ns/api");
        expect(cond(cluster, "ns/api", "Ready")).toMatchObject({
          reason: valid ? "Reconciled" : "InvalidSpec",
          observedGeneration: 0,
        });
      }
    }
  });

  it("keeps the namespace default deny while a profile exists and removes it after the last", async () => {
    const { cluster, r } = setup();
    cluster.putProfile("ns", "a", { selector: { app: "a" } });
    await r.reconcile("ns");
    expect(cluster.objects.has("NetworkPolicy/ns/meshward-default-deny")).toBe(true);
    cluster.putProfile("ns", "b", { selector: { app: "b" } });
    cluster.calls = [];
    await r.reconcile("ns");
    expect(cluster.writes()).toEqual([]); // the second profile costs the shared object nothing
    cluster.profilesMap.clear();
    await r.reconcile("ns");
    expect(cluster.objects.has("NetworkPolicy/ns/meshward-default-deny")).toBe(false);
  });

  it("a condition another controller owns on the profile costs zero status writes", async () => {
    const { cluster, r } = setup();
    cluster.putProfile("ns", "api", { selector: { app: "api" } });
    await r.reconcile("ns/api");
    const p = cluster.profilesMap.get("ns/api") as { status: ProfileStatus };
    p.status.conditions?.push({
      type: "AuditPassed",
      status: "True",
      reason: "Audit",
      message: "someone else's",
      lastTransitionTime: "2026-11-20T00:00:00Z",
    });
    cluster.calls = [];
    for (let i = 0; i < 3; i++) await r.reconcile("ns/api");
    expect(cluster.calls.filter((c) => c.op === "status")).toEqual([]);
    expect(cluster.writes()).toEqual([]);
  });

  it("collects results in desired order, whatever order the writes finish in", async () => {
    const { cluster, r } = setup();
    const create = cluster.create.bind(cluster);
    // The first desired objects finish last.
    const delays: Record<string, number> = {
      ServiceAccount: 30,
      PeerAuthentication: 20,
      AuthorizationPolicy: 10,
    };
    cluster.create = async (kind, obj) => {
      await new Promise((res) => setTimeout(res, delays[kind.resource.kind] ?? 0));
      return create(kind, obj);
    };
    for (const k of ["ServiceAccount", "PeerAuthentication", "AuthorizationPolicy", "NetworkPolicy"])
      cluster.putForeign(k, "ns", "api", {});
    cluster.putProfile("ns", "api", { selector: { app: "api" } });
    await r.reconcile("ns/api");
    const status = cluster.profilesMap.get("ns/api")?.status as ProfileStatus;
    expect(status.objects?.map((o) => o.kind)).toEqual([
      "ServiceAccount",
      "PeerAuthentication",
      "AuthorizationPolicy",
      "NetworkPolicy",
    ]);
    expect(cond(cluster, "ns/api", "Conflict")?.message).toMatch(
      /ServiceAccount api .*; PeerAuthentication api .*; AuthorizationPolicy api .*; NetworkPolicy api/,
    );
  });
});

describe("the data plane follows the namespace", () => {
  const spec = {
    selector: { app: "api" },
    audit: { accessLogs: "Enabled" },
    ingress: [{ from: [{ namespace: "web" }], ports: [8080] }],
  };
  const kinds = (c: FakeCluster) =>
    [...c.objects.values()]
      .filter((o) => o.metadata?.namespace === "shop")
      .map((o) => o.kind)
      .sort();
  const dataplane = (c: FakeCluster) =>
    (c.profilesMap.get("shop/api")?.status as ProfileStatus | undefined)?.dataplane;

  it("builds for ambient where the namespace says so, back to sidecar with no stale object", async () => {
    const { cluster, r } = setup();
    cluster.putProfile("shop", "api", spec);
    await r.reconcile("shop/api");
    expect(dataplane(cluster)).toMatchObject({ mode: "sidecar", source: "Default" });
    expect(kinds(cluster)).toContain("Telemetry");
    // The sidecar egress to istiod is in the NetworkPolicy; ambient has no sidecar to reach it.
    const np = () => JSON.stringify(cluster.objects.get("NetworkPolicy/shop/api")?.spec);
    expect(np()).toContain("15012");

    cluster.namespaceLabelsMap.set("shop", { "istio.io/dataplane-mode": "ambient" });
    await r.reconcile("shop/api");
    expect(dataplane(cluster)).toEqual({
      mode: "ambient",
      source: "Namespace",
      message: "the namespace has istio.io/dataplane-mode=ambient",
    });
    expect(kinds(cluster)).not.toContain("Telemetry");
    expect(np()).not.toContain("15012");
    expect(np()).toContain("15008");

    cluster.namespaceLabelsMap.set("shop", {
      "istio.io/dataplane-mode": "ambient",
      "istio-injection": "enabled",
    });
    await r.reconcile("shop/api");
    expect(dataplane(cluster)?.mode).toBe("sidecar");
    expect(kinds(cluster)).toContain("Telemetry");
    // Nothing changed: nothing written.
    const before = cluster.calls.length;
    await r.reconcile("shop/api");
    expect(cluster.calls.length).toBe(before);
  });

  it("a profile's spec.dataplaneMode wins over the namespace", async () => {
    const { cluster, r } = setup();
    cluster.namespaceLabelsMap.set("shop", { "istio-injection": "enabled" });
    cluster.putProfile("shop", "api", { ...spec, dataplaneMode: "ambient" });
    await r.reconcile("shop/api");
    expect(dataplane(cluster)).toMatchObject({ mode: "ambient", source: "Profile" });
    expect(kinds(cluster)).not.toContain("Telemetry");
  });
});
