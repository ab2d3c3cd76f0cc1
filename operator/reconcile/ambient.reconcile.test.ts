// The reconciler in ambient namespaces, on the in-memory fake cluster: the waypoint objects are
// applied, the namespace key keeps the shared waypoint, and the binding, istiod's verdicts, a
// foreign Gateway and a missing Gateway API reach the profile's status. (e2e/ambient.e2e.test.ts
// proves the same on the real API server.)
import { describe, expect, it } from "vitest";
import type { ProfileStatus } from "../api/schema.ts";
import { DEFAULT_PLATFORM } from "../builders/index.ts";
import type { EventSink } from "./events.ts";
import { Reconciler } from "./reconciler.ts";
import { FakeCluster } from "../../test-support/fake-cluster.ts";

const quiet = { info() {}, warn() {}, debug() {} };
const AMBIENT = { "istio.io/dataplane-mode": "ambient" };
const L7 = {
  selector: { app: "api" },
  ingress: [{ from: [{ namespace: "web" }], ports: [8080], http: { methods: ["GET"] } }],
};
const L4 = { selector: { app: "db" }, ingress: [{ from: [{ namespace: "web" }], ports: [5432] }] };
const GW = "Gateway/shop/meshward-waypoint";

function setup() {
  const cluster = new FakeCluster();
  cluster.namespaceLabelsMap.set("shop", { ...AMBIENT });
  const changed: string[] = [];
  const events: EventSink = { record: () => true };
  const r = new Reconciler(
    cluster,
    {
      trustDomain: "cluster.local",
      meshMode: "sidecar",
      defaults: DEFAULT_PLATFORM,
      now: () => new Date("2026-11-20T00:00:00Z"),
    },
    events,
    quiet,
    { waypoint: (ns) => changed.push(ns) },
  );
  return { cluster, r, changed };
}

function status(cluster: FakeCluster, key: string) {
  return cluster.profilesMap.get(key)?.status as ProfileStatus | undefined;
}
function cond(cluster: FakeCluster, key: string, type: string) {
  return status(cluster, key)?.conditions?.find((c) => c.type === type);
}
const names = (cluster: FakeCluster) => [...cluster.objects.keys()].sort();

describe("ambient in the reconciler", () => {
  it("applies the waypoint objects; the namespace key creates the shared waypoint; a second pass writes nothing", async () => {
    const { cluster, r, changed } = setup();
    cluster.putProfile("shop", "api", L7);
    cluster.servicesMap.set("shop/api", { "istio.io/use-waypoint": "meshward-waypoint" });
    await r.reconcile("shop/api");
    await r.reconcile("shop");
    expect(names(cluster)).toEqual([
      "AuthorizationPolicy/shop/api",
      "AuthorizationPolicy/shop/meshward-l7-api",
      GW,
      "NetworkPolicy/shop/api",
      "NetworkPolicy/shop/meshward-default-deny",
      "NetworkPolicy/shop/meshward-l7-api",
      "PeerAuthentication/shop/api",
      "ServiceAccount/shop/api",
    ]);
    // The profiles of the namespace are told (their status names the waypoint's state).
    expect(changed).toEqual(["shop"]);
    expect(cluster.objects.get(GW)?.metadata?.labels).toMatchObject({ "meshward.io/scope": "waypoint" });
    expect(cluster.objects.get(GW)?.metadata?.ownerReferences).toBeUndefined();
    await r.reconcile("shop/api");
    expect(status(cluster, "shop/api")?.objects?.find((o) => o.kind === "Gateway")).toMatchObject({
      name: "meshward-waypoint",
      state: "InSync",
    });
    expect(cond(cluster, "shop/api", "Ready")).toMatchObject({ status: "True" });
    expect(cond(cluster, "shop/api", "Degraded")).toMatchObject({ status: "False" });
    cluster.calls = [];
    await r.reconcile("shop/api");
    await r.reconcile("shop");
    expect(cluster.writes()).toEqual([]);
  });

  it("an L4-only profile keeps the selector policy and needs no waypoint", async () => {
    const { cluster, r } = setup();
    cluster.putProfile("shop", "db", L4);
    await r.reconcile("shop/db");
    await r.reconcile("shop");
    expect(names(cluster)).not.toContain(GW);
    expect(names(cluster)).not.toContain("AuthorizationPolicy/shop/meshward-l7-db");
    expect(cond(cluster, "shop/db", "Ready")).toMatchObject({ status: "True" });
  });

  it("reports a missing binding with the command to run, without blocking Ready", async () => {
    const { cluster, r } = setup();
    cluster.putProfile("shop", "api", L7);
    cluster.servicesMap.set("shop/api", { app: "api" });
    await r.reconcile("shop");
    await r.reconcile("shop/api");
    expect(cond(cluster, "shop/api", "Degraded")).toMatchObject({
      status: "True",
      reason: "WaypointNotBound",
    });
    expect(cond(cluster, "shop/api", "Degraded")?.message).toContain(
      "kubectl label service --namespace shop api istio.io/use-waypoint=meshward-waypoint",
    );
    expect(cond(cluster, "shop/api", "Ready")).toMatchObject({ status: "True" });
    // Another waypoint named, with control characters: escaped, and --overwrite.
    cluster.servicesMap.set("shop/api", { "istio.io/use-waypoint": "other\u001b[2J" });
    await r.reconcile("shop/api");
    const msg = cond(cluster, "shop/api", "Degraded")?.message ?? "";
    expect(msg).toContain("uses waypoint other\\x1b[2J");
    expect(msg).not.toContain("\u001b");
    expect(msg).toContain("--overwrite");
    cluster.servicesMap.delete("shop/api");
    await r.reconcile("shop/api");
    expect(cond(cluster, "shop/api", "Degraded")?.message).toContain("no Service shop/api exists");
  });

  it("folds istiod's ZtunnelAccepted/WaypointAccepted=False into Ready; absent conditions block nothing", async () => {
    const { cluster, r } = setup();
    cluster.putProfile("shop", "api", L7);
    cluster.servicesMap.set("shop/api", { "istio.io/use-waypoint": "meshward-waypoint" });
    await r.reconcile("shop");
    await r.reconcile("shop/api");
    expect(cond(cluster, "shop/api", "Ready")).toMatchObject({ status: "True" });
    const ap = cluster.objects.get("AuthorizationPolicy/shop/meshward-l7-api");
    if (!ap) throw new Error("no L7 policy");
    ap.status = {
      conditions: [
        {
          type: "WaypointAccepted",
          status: "False",
          reason: "UnsupportedValue",
          message: "port 8080 unknown",
        },
      ],
    };
    cluster.calls = [];
    await r.reconcile("shop/api");
    // Only the status is written: no child changes.
    expect(cluster.writes().map((c) => c.op)).toEqual(["status"]);
    expect(cond(cluster, "shop/api", "Ready")).toMatchObject({ status: "False", reason: "UnsupportedValue" });
    expect(cond(cluster, "shop/api", "Ready")?.message).toContain(
      "AuthorizationPolicy meshward-l7-api (WaypointAccepted=False, UnsupportedValue): port 8080 unknown",
    );
    ap.status = { conditions: [{ type: "WaypointAccepted", status: "True", reason: "Accepted" }] };
    await r.reconcile("shop/api");
    expect(cond(cluster, "shop/api", "Ready")).toMatchObject({ status: "True", reason: "Reconciled" });
  });

  it("never touches a Gateway it did not create: a Conflict on the profiles that need it", async () => {
    const { cluster, r, changed } = setup();
    cluster.putForeign("Gateway", "shop", "meshward-waypoint", { spec: { gatewayClassName: "tenant" } });
    cluster.putProfile("shop", "api", L7);
    await r.reconcile("shop");
    expect(changed).toEqual(["shop"]);
    await r.reconcile("shop/api");
    expect(cluster.objects.get(GW)?.spec).toEqual({ gatewayClassName: "tenant" });
    expect(
      cluster
        .writes()
        .filter((c) => c.kind === "Gateway")
        .map((c) => c.op),
    ).toEqual(["create"]);
    expect(cond(cluster, "shop/api", "Ready")).toMatchObject({ status: "False", reason: "Conflict" });
    expect(cond(cluster, "shop/api", "Conflict")?.message).toContain(
      "Gateway meshward-waypoint (managed by kubectl; the namespace's shared waypoint",
    );
    // Once the last profile needing it is gone, the foreign Gateway is still left alone.
    cluster.profilesMap.delete("shop/api");
    await r.reconcile("shop");
    expect(cluster.objects.get(GW)).toBeDefined();
  });

  it("deletes the shared waypoint when the last profile needing it leaves, or the namespace turns sidecar", async () => {
    const { cluster, r } = setup();
    cluster.putProfile("shop", "api", L7);
    cluster.putProfile("shop", "web", { ...L7, selector: { app: "web" } });
    await r.reconcile("shop");
    expect(cluster.objects.get(GW)).toBeDefined();
    cluster.profilesMap.delete("shop/api");
    await r.reconcile("shop");
    expect(cluster.objects.get(GW)).toBeDefined();
    // A per-service waypoint does not keep the shared one.
    cluster.putProfile("shop", "web", { ...L7, selector: { app: "web" }, waypoint: { scope: "Service" } });
    await r.reconcile("shop");
    expect(cluster.objects.get(GW)).toBeUndefined();
    cluster.putProfile("shop", "web", { ...L7, selector: { app: "web" } });
    await r.reconcile("shop");
    expect(cluster.objects.get(GW)).toBeDefined();
    cluster.namespaceLabelsMap.set("shop", { "istio-injection": "enabled" });
    await r.reconcile("shop");
    expect(cluster.objects.get(GW)).toBeUndefined();
  });

  it("without the Gateway API: the rest is applied, the profile says GatewayApiNotInstalled", async () => {
    const { cluster, r } = setup();
    cluster.absent.add("Gateway");
    cluster.putProfile("shop", "api", L7);
    cluster.servicesMap.set("shop/api", { "istio.io/use-waypoint": "meshward-waypoint" });
    await r.reconcile("shop");
    await r.reconcile("shop/api");
    expect(names(cluster)).not.toContain(GW);
    expect(names(cluster)).toContain("AuthorizationPolicy/shop/meshward-l7-api");
    expect(cond(cluster, "shop/api", "Degraded")).toMatchObject({
      status: "True",
      reason: "GatewayApiNotInstalled",
    });
    expect(cond(cluster, "shop/api", "Ready")).toMatchObject({
      status: "False",
      reason: "GatewayApiNotInstalled",
    });
    expect(status(cluster, "shop/api")?.objects?.find((o) => o.kind === "Gateway")).toMatchObject({
      state: "Missing",
    });
  });

  it("a per-service waypoint is the profile's own: created with it, pruned when the scope goes back", async () => {
    const { cluster, r } = setup();
    cluster.putProfile("shop", "api", { ...L7, waypoint: { scope: "Service" } });
    await r.reconcile("shop/api");
    const own = cluster.objects.get("Gateway/shop/meshward-waypoint-api");
    expect(own?.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: "ServiceSecurityProfile",
      name: "api",
    });
    cluster.putProfile("shop", "api", L7);
    await r.reconcile("shop/api");
    expect(cluster.objects.get("Gateway/shop/meshward-waypoint-api")).toBeUndefined();
  });
});
