// The data plane per namespace (issue 24, first slice) on the real API server: the operator reads
// Istio's own namespace labels, builds each profile for sidecar or ambient, says which in the
// profile's status and in `kubectl get ssp -o wide` (the CRD's printer column, read as the server-
// side Table kubectl asks for), and converges with no stale object when a namespace switches.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROFILES } from "../operator/reconcile/kinds.ts";
import { type KubeClient, resourcePath } from "../operator/runtime/client.ts";
import { applyNamespace, createNamespace, deleteNamespace, kube, waitFor } from "./support/kube.ts";
import { type OperatorProcess, startOperator } from "./support/operator.ts";
import { applyProfile, getChild, getProfile, waitCondition } from "./support/profiles.ts";

const MANAGER = "meshward-e2e-dataplane";
let client: KubeClient;
let operator: OperatorProcess | undefined;
let ns = "";

const spec = {
  selector: { app: "api" },
  audit: { accessLogs: "Enabled" },
  ingress: [{ from: [{ namespace: "web" }], ports: [8080] }],
};

async function dataplane() {
  return (await getProfile(client, ns, "api"))?.status?.dataplane;
}

/** The profile's row as `kubectl get ssp -o wide` shows it: column name → cell. */
async function wideRow(): Promise<Record<string, unknown>> {
  type Table = { columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] };
  const t = await client.request<Table>("GET", resourcePath(PROFILES, ns, "api"), {
    accept: "application/json;as=Table;v=v1;g=meta.k8s.io",
  });
  const row = t.rows[0]?.cells ?? [];
  return Object.fromEntries(t.columnDefinitions.map((c, i) => [c.name, row[i]]));
}

beforeAll(async () => {
  client = kube();
  ns = await createNamespace(client, "dataplane");
  operator = await startOperator({ name: "dataplane" });
});

afterAll(async () => {
  await operator?.stop();
  if (ns) await deleteNamespace(client, ns);
});

describe("the data plane follows Istio's namespace labels", () => {
  it("sidecar by default: Telemetry and the istiod egress", async () => {
    await applyProfile(client, ns, "api", spec);
    await waitCondition(client, ns, "api");
    expect(await dataplane()).toMatchObject({ mode: "sidecar", source: "Default" });
    expect(await getChild(client, "Telemetry", ns, "api")).toBeDefined();
    expect((await wideRow()).Dataplane).toBe("sidecar");
  });

  it("ambient once the namespace is labelled: HBONE admitted, no sidecar-only objects left", async () => {
    await applyNamespace(client, ns, MANAGER, { "istio.io/dataplane-mode": "ambient" });
    await waitFor("ambient in the status", async () =>
      (await dataplane())?.mode === "ambient" ? true : undefined,
    );
    expect(await dataplane()).toEqual({
      mode: "ambient",
      source: "Namespace",
      message: "the namespace has istio.io/dataplane-mode=ambient",
    });
    await waitFor("the Telemetry pruned", async () =>
      (await getChild(client, "Telemetry", ns, "api")) === undefined ? true : undefined,
    );
    const np = JSON.stringify((await getChild(client, "NetworkPolicy", ns, "api"))?.spec);
    expect(np).toContain("15008");
    expect(np).not.toContain("15012");
    expect((await wideRow()).Dataplane).toBe("ambient");
    await waitCondition(client, ns, "api");
  });

  it("sidecar again when injection is on as well, as Istio decides; a profile may override", async () => {
    await applyNamespace(client, ns, MANAGER, {
      "istio.io/dataplane-mode": "ambient",
      "istio-injection": "enabled",
    });
    await waitFor("sidecar in the status", async () =>
      (await dataplane())?.mode === "sidecar" ? true : undefined,
    );
    expect((await dataplane())?.message).toContain("ztunnel does not capture pods that have one");
    await waitFor("the Telemetry back", () => getChild(client, "Telemetry", ns, "api"));
    await applyProfile(client, ns, "api", { ...spec, dataplaneMode: "ambient" });
    await waitCondition(client, ns, "api");
    expect(await dataplane()).toMatchObject({ mode: "ambient", source: "Profile" });
    await waitFor("the Telemetry pruned", async () =>
      (await getChild(client, "Telemetry", ns, "api")) === undefined ? true : undefined,
    );
  });

  it("refuses a data plane Istio does not have, naming the field", async () => {
    const err = await applyProfile(client, ns, "bad", {
      selector: { app: "bad" },
      dataplaneMode: "proxyless",
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toContain("spec.dataplaneMode");
    expect(err?.message).toContain('"sidecar", "ambient"');
  });
});
