// The pure folds of ambient status (waypoints.ts) and the Service cache's shape and events
// (services.ts), as tables.
import { describe, expect, it } from "vitest";
import { buildSharedWaypoint } from "../builders/ambient.ts";
import type { KubeObject } from "../builders/meta.ts";
import type { KubeObjectLike } from "../runtime/client.ts";
import { ownerKey } from "./mapping.ts";
import { leanService, serviceEventKeys } from "./services.ts";
import { bindingProblem, istioRejections, sharedWaypointStatus } from "./waypoints.ts";

const gw = buildSharedWaypoint("shop");
const ours = { ...gw, metadata: { ...gw.metadata, uid: "u1" } };
const ap = (name: string): KubeObject => ({
  apiVersion: "security.istio.io/v1",
  kind: "AuthorizationPolicy",
  metadata: { name, namespace: "shop", labels: {} },
  spec: {},
});
const withConditions = (conditions: unknown): KubeObjectLike => ({ ...ap("x"), status: { conditions } });

describe("sharedWaypointStatus", () => {
  it.each([
    [
      "no Gateway API",
      false,
      undefined,
      undefined,
      { state: "Missing" },
      undefined,
      "GatewayApiNotInstalled",
    ],
    ["ours, cached", true, ours, { state: "ours" }, { state: "InSync" }, undefined, undefined],
    [
      "created, not cached yet",
      true,
      undefined,
      { state: "ours" },
      { state: "InSync" },
      undefined,
      undefined,
    ],
    ["not created yet", true, undefined, undefined, { state: "Missing" }, undefined, undefined],
    [
      "someone else's",
      true,
      undefined,
      { state: "foreign", managers: "helm\u001b" },
      { state: "Conflict" },
      "Gateway meshward-waypoint (managed by helm\\x1b;",
      undefined,
    ],
  ] as const)("%s", (_, available, live, known, object, conflict, missing) => {
    const s = sharedWaypointStatus(gw, available, live as KubeObjectLike | undefined, known);
    expect(s.object).toMatchObject({ kind: "Gateway", name: "meshward-waypoint", ...object });
    if (conflict) expect(s.conflict).toContain(conflict);
    else expect(s.conflict).toBeUndefined();
    expect(s.missing).toBe(missing);
  });
});

describe("bindingProblem", () => {
  const b = {
    namespace: "shop",
    service: "api",
    label: "istio.io/use-waypoint" as const,
    value: "meshward-waypoint",
  };
  it.each([
    ["bound", { labels: { "istio.io/use-waypoint": "meshward-waypoint" } }, undefined],
    ["Services not known", null, undefined],
    [
      "no label",
      { labels: {} },
      "run kubectl label service --namespace shop api istio.io/use-waypoint=meshward-waypoint",
    ],
    ["no Service", undefined, "no Service shop/api exists"],
    [
      "another waypoint, escaped",
      { labels: { "istio.io/use-waypoint": "x\ny" } },
      "uses waypoint x\\ny, not",
    ],
  ] as const)("%s", (_, service, expected) => {
    const p = bindingProblem(b, service);
    if (expected === undefined) expect(p).toBeUndefined();
    else {
      expect(p?.message).toContain(expected);
      expect(p?.message).not.toContain("\n");
      expect(p?.message).not.toContain("\u001b");
    }
  });
  it("no binding needed: nothing", () => expect(bindingProblem(undefined, undefined)).toBeUndefined());
});

describe("istioRejections", () => {
  it.each([
    ["no status: no verdict", undefined, []],
    ["accepted", [{ type: "ZtunnelAccepted", status: "True", reason: "Accepted" }], []],
    [
      "refused by ztunnel",
      [{ type: "ZtunnelAccepted", status: "False", reason: "UnsupportedValue", message: "http in ztunnel" }],
      [{ type: "ZtunnelAccepted", reason: "UnsupportedValue", message: "http in ztunnel" }],
    ],
    [
      "a reason that is no condition reason, and a message with a control",
      [{ type: "WaypointAccepted", status: "False", reason: "no such", message: "a\u001bb" }],
      [{ type: "WaypointAccepted", reason: "IstioRejected", message: "a\\x1bb" }],
    ],
    ["another controller's condition", [{ type: "Ready", status: "False", reason: "X" }], []],
    ["garbage", ["x", null, 3], []],
  ] as const)("%s", (_, conditions, expected) => {
    const live = conditions === undefined ? ap("x") : withConditions(conditions);
    expect(istioRejections([{ desired: ap("x"), live }])).toEqual(
      expected.map((e) => ({ object: "AuthorizationPolicy x", ...e })),
    );
  });
});

describe("the Service cache", () => {
  const svc = (labels?: Record<string, string>): KubeObjectLike => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "api", namespace: "shop", uid: "s1", resourceVersion: "7", ...(labels && { labels }) },
  });
  it("keeps the identity and the waypoint label only", () => {
    expect(
      leanService({
        ...svc({ app: "api", "istio.io/use-waypoint": "w" }),
        spec: { clusterIP: "1.2.3.4" },
      } as KubeObjectLike),
    ).toEqual(svc({ "istio.io/use-waypoint": "w" }));
    expect(leanService(svc({ app: "api" }))).toEqual(svc());
  });
  const profiles = () => [{ metadata: { name: "a" } }, { metadata: { name: "b" } }];
  it.each([
    ["added", "add", svc(), undefined, ["shop/a", "shop/b"]],
    ["deleted", "delete", svc(), undefined, ["shop/a", "shop/b"]],
    ["label set", "update", svc({ "istio.io/use-waypoint": "w" }), svc(), ["shop/a", "shop/b"]],
    ["another change", "update", svc(), svc(), []],
  ] as const)("%s", (_, type, obj, old, keys) => {
    expect(serviceEventKeys(type, obj, old, profiles)).toEqual(keys);
  });
});

it("the shared waypoint's events reach its namespace key", () => {
  expect(ownerKey(ours)).toBe("shop");
});
