// The ambient builders (operator/builders/ambient.ts) against the real schemas: the Gateway API's
// standard-channel CRDs (sigs.k8s.io/gateway-api, installed for this file only) and the Istio CRDs
// of the test bed. Every object built for the example fleet in ambient mode is accepted by a
// server-side dry run with strict field validation, nothing of it pruned; and objects that break
// the schemas are refused, so acceptance means something (Istio's CRD knows targetRefs and refuses
// it beside a selector).
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installUpstreamCrds, uninstallUpstreamCrds } from "./controlplane/upstream.ts";
import { createNamespace, deleteNamespace, kube, kubeconfigPath, waitFor } from "./support/kube.ts";
import { loadProfiles } from "../operator/cli/load.ts";
import { buildAmbientProfile, WAYPOINT_CLASS } from "../operator/builders/ambient.ts";
import { indexProfiles, makeContext } from "../operator/builders/context.ts";
import type { KubeObject } from "../operator/builders/meta.ts";
import { CHILD_KINDS } from "../operator/reconcile/kinds.ts";
import { ApiError, type KubeClient, type Resource, resourcePath } from "../operator/runtime/client.ts";

const GATEWAYS: Resource = {
  group: "gateway.networking.k8s.io",
  version: "v1",
  plural: "gateways",
  kind: "Gateway",
  namespaced: true,
};
const MANAGER = "meshward-e2e";
const STRICT_DRY_RUN = { fieldValidation: "Strict", dryRun: "All" };
const FLEET = path.resolve(import.meta.dirname, "../examples/fleet");

let client: KubeClient;
let namespace = "";

function resourceOf(kind: string): Resource {
  if (kind === "Gateway") return GATEWAYS;
  const r = CHILD_KINDS.find((k) => k.resource.kind === kind)?.resource;
  if (!r) throw new Error(`no resource for ${kind}`);
  return r;
}

/** The fleet's ambient objects (the shared waypoints once per namespace), moved to `ns`. */
function fleetObjects(ns: string): KubeObject[] {
  const profiles = loadProfiles([FLEET]).profiles.map((l) => l.profile);
  const ctx = makeContext({ profiles: indexProfiles(profiles), now: new Date("2026-11-20T00:00:00Z") });
  const out = new Map<string, KubeObject>();
  for (const p of profiles) {
    const r = buildAmbientProfile(p, ctx);
    for (const o of [...r.objects, ...r.shared])
      out.set(`${o.metadata.namespace}/${o.kind}/${o.metadata.name}`, o);
  }
  return [...out.values()].map((o) => ({ ...o, metadata: { ...o.metadata, namespace: ns } }));
}

function dryRunApply(o: KubeObject): Promise<KubeObject> {
  const r = resourceOf(o.kind);
  return client.apply<KubeObject>(
    resourcePath(r, o.metadata.namespace, o.metadata.name),
    o,
    MANAGER,
    true,
    STRICT_DRY_RUN,
  );
}

/** A create: strict field validation answers 400 on an unknown field. */
function dryRunCreate(o: KubeObject): Promise<KubeObject> {
  return client.request<KubeObject>("POST", resourcePath(resourceOf(o.kind), o.metadata.namespace), {
    body: o,
    query: STRICT_DRY_RUN,
    verb: "create",
  });
}

async function refused(o: KubeObject): Promise<ApiError> {
  const err = await dryRunCreate(o).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `${o.kind} ${o.metadata.name}`).toBeInstanceOf(ApiError);
  return err as ApiError;
}

beforeAll(async () => {
  client = kube();
  await installUpstreamCrds(kubeconfigPath(), { gatewayApi: true });
  // Established, then served: the first request may still find no handler.
  await waitFor("Gateways to be served", () =>
    client.get(resourcePath(GATEWAYS)).then(
      () => true,
      () => false,
    ),
  );
  namespace = await createNamespace(client, "ambient-objects");
});

// Remove the CRDs again: the test bed's default set is Istio and ESO, and every e2e file shares it.
afterAll(async () => {
  if (namespace) await deleteNamespace(client, namespace);
  await uninstallUpstreamCrds(kubeconfigPath(), { gatewayApi: true });
});

describe("the ambient objects of the example fleet against the real CRDs", () => {
  const objects = fleetObjects("placeholder");

  it("builds waypoints and targetRefs policies for the fleet", () => {
    const kinds = objects.map((o) => o.kind);
    expect(kinds.filter((k) => k === "Gateway")).toHaveLength(3);
    const attached = objects.filter((o) => JSON.stringify(o).includes('"targetRefs"'));
    expect(attached.map((o) => o.kind).sort()).toEqual([
      "AuthorizationPolicy",
      "AuthorizationPolicy",
      "AuthorizationPolicy",
      "RequestAuthentication",
    ]);
  });

  it.each(objects.map((o) => [`${o.kind} ${o.metadata.name}`, o] as const))(
    "accepts %s as built",
    async (_, built) => {
      const o = { ...built, metadata: { ...built.metadata, namespace } };
      for (const got of [await dryRunApply(o), await dryRunCreate(o)]) {
        // Nothing pruned: what was sent is stored (the server may add defaults, e.g. a listener's
        // allowedRoutes).
        const { metadata: _m, ...sent } = o;
        expect(got).toMatchObject(sent);
        expect(got.metadata.labels).toEqual(o.metadata.labels);
      }
    },
  );
});

describe("the schemas refuse what breaks them", () => {
  const objects = fleetObjects("placeholder");
  const pick = (kind: string, name: string): KubeObject & { spec: Record<string, unknown> } => {
    const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
    if (!o) throw new Error(`no ${kind} ${name}`);
    return structuredClone({ ...o, metadata: { ...o.metadata, namespace } }) as KubeObject & {
      spec: Record<string, unknown>;
    };
  };

  it("refuses an AuthorizationPolicy with both targetRefs and a selector (Istio's CRD knows targetRefs)", async () => {
    const ap = pick("AuthorizationPolicy", "meshward-l7-payments-api");
    ap.spec.selector = { matchLabels: { app: "payments-api" } };
    const err = await refused(ap);
    expect(err.message).toContain("only one of targetRefs or selector can be set");
  });

  it("refuses a RequestAuthentication with both targetRefs and a selector", async () => {
    const ra = pick("RequestAuthentication", "meshward-l7-edge-api");
    ra.spec.selector = { matchLabels: { app: "edge-api" } };
    const err = await refused(ra);
    expect(err.message).toContain("only one of targetRefs or selector can be set");
  });

  it("refuses an unknown field in the Gateway", async () => {
    const gw = pick("Gateway", "meshward-waypoint");
    (gw.spec.listeners as Record<string, unknown>[])[0]!.tunnel = "HBONE";
    const err = await refused(gw);
    expect(err.status).toBe(400);
    expect(err.message).toContain('unknown field "spec.listeners[0].tunnel"');
  });

  it("refuses a Gateway without a class", async () => {
    const gw = pick("Gateway", "meshward-waypoint");
    expect(gw.spec.gatewayClassName).toBe(WAYPOINT_CLASS);
    delete gw.spec.gatewayClassName;
    const err = await refused(gw);
    expect(err.message).toContain("gatewayClassName");
  });
});
