// Ambient mode applied by the operator (issue 24) on the real API server, with the Gateway API's
// CRDs installed for this file only: the example fleet in its own namespaces, some sidecar, some
// ambient, converges to what the builders say (every meshward-managed kind listed: no stale
// object), also after every namespace switches mode; a profile with L7 rules in ambient has its
// waypoint, its targetRef policy and the anti-bypass ztunnel rule, and drift on them is corrected;
// istiod's verdict (written to an AuthorizationPolicy's status as istiod writes it) reaches Ready;
// the Service binding is reported with its command; the shared waypoint goes with the last profile
// that needs it; and a tenant's Gateway with the waypoint's name is never modified.
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NAMESPACE_WAYPOINT } from "../operator/builders/ambient.ts";
import { PROFILES } from "../operator/reconcile/kinds.ts";
import {
  type KubeClient,
  type KubeObjectLike,
  type Resource,
  resourcePath,
} from "../operator/runtime/client.ts";
import { installUpstreamCrds, uninstallUpstreamCrds } from "./controlplane/upstream.ts";
import { waitConverged } from "./support/converge.ts";
import {
  applyNamespace,
  createNamespace,
  deleteNamespace,
  getOrUndefined,
  kube,
  kubeconfigPath,
  waitFor,
} from "./support/kube.ts";
import { deleteNamespaces } from "../test-support/harness/namespaces.ts";
import { type OperatorProcess, startOperator } from "./support/operator.ts";
import { applyProfile, condition, getChild, getProfile, kindOf, waitCondition } from "./support/profiles.ts";

const MANAGER = "meshward-e2e-ambient";
const FLEET = path.resolve(import.meta.dirname, "../examples/fleet");
const AMBIENT = { "istio.io/dataplane-mode": "ambient" };
const SIDECAR = { "istio-injection": "enabled" };
/** The fleet's namespaces; those with a waypoint profile (http rules or token checks) first. */
const L7_NAMESPACES = ["checkout", "edge", "payments"];
const L4_NAMESPACES = ["legacy", "orders"];
const FLEET_NAMESPACES = [...L7_NAMESPACES, ...L4_NAMESPACES];
const SERVICES: Resource = {
  group: "",
  version: "v1",
  plural: "services",
  kind: "Service",
  namespaced: true,
};

let client: KubeClient;
let operator: OperatorProcess | undefined;
const extra: string[] = [];

type Doc = { metadata: { name: string; namespace: string }; spec: Record<string, unknown> };

function fleet(): Doc[] {
  return fs
    .readdirSync(FLEET)
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => parse(fs.readFileSync(path.join(FLEET, f), "utf8")) as Doc);
}

async function label(namespaces: string[], labels: Record<string, string>) {
  for (const ns of namespaces) await applyNamespace(client, ns, MANAGER, labels);
}

async function gone(kind: string, ns: string, name: string) {
  await waitFor(`${kind} ${ns}/${name} to be gone`, async () =>
    (await getChild(client, kind, ns, name)) === undefined ? true : undefined,
  );
}

/** Writes conditions to the object's status as istiod does: the status subresource. */
async function writeIstioStatus(ns: string, name: string, conditions: Record<string, unknown>[]) {
  await client.apply(
    `${resourcePath(kindOf("AuthorizationPolicy"), ns, name)}/status`,
    {
      apiVersion: "security.istio.io/v1",
      kind: "AuthorizationPolicy",
      metadata: { name, namespace: ns },
      status: { conditions },
    },
    "pilot-discovery",
    true,
  );
}

beforeAll(async () => {
  client = kube();
  await installUpstreamCrds(kubeconfigPath(), { gatewayApi: true });
  await waitFor("Gateways to be served", () =>
    client.get(resourcePath(kindOf("Gateway"))).then(
      () => true,
      () => false,
    ),
  );
  await label(L7_NAMESPACES, AMBIENT);
  await label(L4_NAMESPACES, SIDECAR);
  operator = await startOperator({ name: "ambient" });
  for (const p of fleet()) await applyProfile(client, p.metadata.namespace, p.metadata.name, p.spec);
}, 120_000);

afterAll(async () => {
  await operator?.stop();
  await deleteNamespaces(client, [...FLEET_NAMESPACES, ...extra]);
  await uninstallUpstreamCrds(kubeconfigPath(), { gatewayApi: true });
}, 300_000);

describe("the example fleet, a namespace in each mode", () => {
  it("converges: each profile's objects for its namespace's mode, the shared waypoints, nothing else", async () => {
    await waitConverged(client, FLEET_NAMESPACES, { timeoutMs: 120_000 });
    for (const ns of L7_NAMESPACES)
      expect(await getChild(client, "Gateway", ns, NAMESPACE_WAYPOINT)).toBeDefined();
    for (const ns of L4_NAMESPACES)
      expect(await getChild(client, "Gateway", ns, NAMESPACE_WAYPOINT)).toBeUndefined();
    // Sidecar namespaces keep their access logs; ambient ones have none.
    expect(await getChild(client, "Telemetry", "payments", "payments-api")).toBeUndefined();
    const orders = await getProfile(client, "orders", "orders-api");
    expect(orders?.status?.dataplane?.mode).toBe("sidecar");
  }, 150_000);

  it("a profile with L7 rules in ambient: its waypoint, the targetRef policy and the anti-bypass rule", async () => {
    const gw = await getChild(client, "Gateway", "payments", NAMESPACE_WAYPOINT);
    expect(gw?.spec).toMatchObject({
      gatewayClassName: "istio-waypoint",
      listeners: [{ name: "mesh", port: 15008, protocol: "HBONE" }],
    });
    expect(gw?.metadata?.labels).toMatchObject({ "meshward.io/scope": "waypoint" });
    expect(gw?.metadata?.ownerReferences).toBeUndefined();
    const l7 = await getChild(client, "AuthorizationPolicy", "payments", "meshward-l7-payments-api");
    expect(l7?.spec?.targetRefs).toEqual([{ group: "", kind: "Service", name: "payments-api" }]);
    expect(l7?.spec).not.toHaveProperty("selector");
    expect(JSON.stringify(l7?.spec)).toContain("/v1/charges");
    const ztunnel = await getChild(client, "AuthorizationPolicy", "payments", "payments-api");
    expect(ztunnel?.spec?.selector).toEqual({ matchLabels: { app: "payments-api" } });
    // ztunnel admits the waypoint's identity on the served ports, and no caller directly: nothing L7.
    expect(ztunnel?.spec?.rules).toEqual([
      {
        from: [{ source: { principals: ["cluster.local/ns/payments/sa/meshward-waypoint"] } }],
        to: [{ operation: { ports: ["8080", "9090"] } }],
      },
    ]);
    const p = await getProfile(client, "payments", "payments-api");
    expect(p?.status?.objects?.find((o) => o.kind === "Gateway")).toMatchObject({
      name: NAMESPACE_WAYPOINT,
      state: "InSync",
    });
  });

  it("reports the missing Service binding with the command, and clears it once the Service is labelled", async () => {
    const degraded = async (want: string) =>
      waitFor(`Degraded to say ${want}`, async () => {
        const c = condition(await getProfile(client, "payments", "payments-api"), "Degraded");
        return c?.message.includes(want) ? c : undefined;
      });
    const noService = await degraded("no Service payments/payments-api exists");
    expect(noService.reason).toBe("WaypointNotBound");
    const service = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "payments-api", namespace: "payments" },
      spec: { selector: { app: "payments-api" }, ports: [{ name: "http", port: 8080 }] },
    };
    await client.apply(resourcePath(SERVICES, "payments", "payments-api"), service, MANAGER, true);
    await degraded(
      "run kubectl label service --namespace payments payments-api istio.io/use-waypoint=meshward-waypoint",
    );
    expect(condition(await getProfile(client, "payments", "payments-api"), "Ready")?.status).toBe("True");
    const labelled = {
      ...service,
      metadata: { ...service.metadata, labels: { "istio.io/use-waypoint": NAMESPACE_WAYPOINT } },
    };
    await client.apply(resourcePath(SERVICES, "payments", "payments-api"), labelled, MANAGER, true);
    await waitCondition(client, "payments", "payments-api", { type: "Degraded", status: "False" });
  });

  it("corrects drift on the waypoint Gateway and on the targetRef AuthorizationPolicy", async () => {
    const gwPath = resourcePath(kindOf("Gateway"), "payments", NAMESPACE_WAYPOINT);
    await client.request("PATCH", gwPath, {
      body: { spec: { listeners: [{ name: "mesh", port: 15009, protocol: "HBONE" }] } },
      contentType: "application/merge-patch+json",
    });
    await waitFor("the Gateway restored", async () => {
      const gw = await getChild(client, "Gateway", "payments", NAMESPACE_WAYPOINT);
      return (gw?.spec?.listeners as { port: number }[] | undefined)?.[0]?.port === 15008 ? true : undefined;
    });
    const apPath = resourcePath(kindOf("AuthorizationPolicy"), "payments", "meshward-l7-payments-api");
    await client.request("PATCH", apPath, {
      body: { spec: { targetRefs: [{ group: "", kind: "Service", name: "other" }] } },
      contentType: "application/merge-patch+json",
    });
    await waitFor("the targetRef restored", async () => {
      const ap = await getChild(client, "AuthorizationPolicy", "payments", "meshward-l7-payments-api");
      return JSON.stringify(ap?.spec?.targetRefs).includes('"payments-api"') ? true : undefined;
    });
    await client.request("DELETE", apPath);
    await waitFor("the targetRef policy recreated", async () => {
      const ap = await getChild(client, "AuthorizationPolicy", "payments", "meshward-l7-payments-api");
      return ap?.spec?.targetRefs ? true : undefined;
    });
    await client.request("DELETE", gwPath);
    await waitFor("the waypoint recreated", () =>
      getChild(client, "Gateway", "payments", NAMESPACE_WAYPOINT),
    );
    await waitConverged(client, FLEET_NAMESPACES, { timeoutMs: 60_000 });
  });

  it("folds istiod's ZtunnelAccepted / WaypointAccepted into Ready, and back", async () => {
    await writeIstioStatus("payments", "payments-api", [
      {
        type: "ZtunnelAccepted",
        status: "False",
        reason: "UnsupportedValue",
        message: "ztunnel does not support HTTP rules",
      },
    ]);
    const refused = await waitCondition(client, "payments", "payments-api", {
      status: "False",
      reason: "UnsupportedValue",
    });
    expect(condition(refused, "Ready")?.message).toContain(
      "istiod did not accept AuthorizationPolicy payments-api (ZtunnelAccepted=False, UnsupportedValue): ztunnel does not support HTTP rules",
    );
    await writeIstioStatus("payments", "payments-api", [
      { type: "ZtunnelAccepted", status: "True", reason: "Accepted", message: "" },
    ]);
    await waitCondition(client, "payments", "payments-api", { status: "True", reason: "Reconciled" });
    await writeIstioStatus("payments", "meshward-l7-payments-api", [
      { type: "WaypointAccepted", status: "False", reason: "UnsupportedValue", message: "no such port" },
    ]);
    await waitCondition(client, "payments", "payments-api", { status: "False", reason: "UnsupportedValue" });
    await writeIstioStatus("payments", "meshward-l7-payments-api", [
      { type: "WaypointAccepted", status: "True", reason: "Accepted", message: "" },
    ]);
    await waitCondition(client, "payments", "payments-api", { status: "True", reason: "Reconciled" });
  });

  it("switching every namespace to the other mode converges with no stale object", async () => {
    await label(L7_NAMESPACES, SIDECAR);
    await label(L4_NAMESPACES, AMBIENT);
    for (const ns of L7_NAMESPACES) await gone("Gateway", ns, NAMESPACE_WAYPOINT);
    await waitConverged(client, FLEET_NAMESPACES, { timeoutMs: 120_000 });
    expect(
      await getChild(client, "AuthorizationPolicy", "payments", "meshward-l7-payments-api"),
    ).toBeUndefined();
    expect(await getChild(client, "Telemetry", "payments", "payments-api")).toBeDefined();
    // The token checks moved from the waypoint's RequestAuthentication back to the sidecar's.
    expect(await getChild(client, "RequestAuthentication", "edge", "meshward-l7-edge-api")).toBeUndefined();
    expect(
      (await getChild(client, "RequestAuthentication", "edge", "edge-api"))?.spec?.selector,
    ).toBeDefined();
    // And back.
    await label(L7_NAMESPACES, AMBIENT);
    await label(L4_NAMESPACES, SIDECAR);
    await waitConverged(client, FLEET_NAMESPACES, { timeoutMs: 120_000 });
    expect(await getChild(client, "Gateway", "payments", NAMESPACE_WAYPOINT)).toBeDefined();
    expect(await getChild(client, "RequestAuthentication", "edge", "edge-api")).toBeUndefined();
    expect(
      (await getChild(client, "RequestAuthentication", "edge", "meshward-l7-edge-api"))?.spec?.targetRefs,
    ).toEqual([{ group: "", kind: "Service", name: "edge-api" }]);
  }, 300_000);

  it("deletes the shared waypoint when the last profile that needs it leaves", async () => {
    await client.request("DELETE", resourcePath(PROFILES, "payments", "payments-api"));
    await gone("Gateway", "payments", NAMESPACE_WAYPOINT);
    // Another namespace's waypoint stays.
    expect(await getChild(client, "Gateway", "checkout", NAMESPACE_WAYPOINT)).toBeDefined();
  });
});

describe("a Gateway named meshward-waypoint that meshward did not create", () => {
  it("is never modified nor deleted: the profiles that need it report a Conflict", async () => {
    const ns = await createNamespace(client, "ambient-tenant");
    extra.push(ns);
    await applyNamespace(client, ns, MANAGER, AMBIENT);
    const tenant = await client.request<KubeObjectLike>("POST", resourcePath(kindOf("Gateway"), ns), {
      body: {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "Gateway",
        metadata: { name: NAMESPACE_WAYPOINT, namespace: ns },
        spec: {
          gatewayClassName: "istio-waypoint",
          listeners: [{ name: "mesh", port: 15008, protocol: "HBONE" }],
        },
      },
    });
    await applyProfile(client, ns, "api", {
      selector: { app: "api" },
      ingress: [{ from: [{ namespace: "web" }], ports: [8080], http: { methods: ["GET"] } }],
    });
    const p = await waitCondition(client, ns, "api", { status: "False", reason: "Conflict" });
    expect(condition(p, "Conflict")?.message).toContain(`Gateway ${NAMESPACE_WAYPOINT} (managed by`);
    expect(p.status?.objects?.find((o) => o.kind === "Gateway")?.state).toBe("Conflict");
    // The rest of the profile is applied.
    expect(await getChild(client, "AuthorizationPolicy", ns, "meshward-l7-api")).toBeDefined();
    // Its profile gone, the tenant's Gateway is still there, untouched.
    await client.request("DELETE", resourcePath(PROFILES, ns, "api"));
    await gone("AuthorizationPolicy", ns, "meshward-l7-api");
    const after = await getOrUndefined<KubeObjectLike>(
      client,
      resourcePath(kindOf("Gateway"), ns, NAMESPACE_WAYPOINT),
    );
    expect(after?.metadata?.resourceVersion).toBe(tenant.metadata?.resourceVersion);
    await deleteNamespace(client, ns);
  });
});
