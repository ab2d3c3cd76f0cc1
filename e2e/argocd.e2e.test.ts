// The Argo CD health check (argocd/resource_customizations/meshward.io/ServiceSecurityProfile/,
// run by gopher-lua through argocd-lua as Argo CD runs it) on profiles the real operator reconciled:
// Healthy, Degraded for drift, conflict, a missing reference, a secret External Secrets Operator
// (really running) cannot sync, and missing Istio, Progressing for a secret ESO has not reported on,
// before the first reconcile and right after a spec change. UPDATE_FIXTURES=1 writes each object to
// testdata/ and their healths to health_test.yaml, which argocd/health.test.ts checks without a
// cluster (and Argo CD's own test would, once upstream).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkHealth, FIXTURES, writeFixture, writeHealthTest } from "../argocd/fixtures.ts";
import { type ArgocdLua, argocdLua, type Health, LIBS } from "../argocd/harness.ts";
import { installUpstreamCrds, uninstallIstioCrds } from "./controlplane/upstream.ts";
import type { KubeClient } from "../operator/runtime/client.ts";
import { resourcePath } from "../operator/runtime/client.ts";
import { createNamespace, deleteNamespace, kube, kubeconfigPath } from "./support/kube.ts";
import { type OperatorProcess, startOperator } from "./support/operator.ts";
import { applyProfile, getProfile, kindOf, type ProfileObject, waitCondition } from "./support/profiles.ts";
import { type SecretSource, startSecretSource } from "./support/secret-source.ts";

const UPDATE = process.env.UPDATE_FIXTURES === "1";

let client: KubeClient;
let lua: ArgocdLua;
let op: OperatorProcess | undefined;
let vault: SecretSource | undefined;
const namespaces: string[] = [];
const checked = new Map<string, Health>();
let istioRemoved = false;

beforeAll(async () => {
  client = kube();
  lua = await argocdLua();
  op = await startOperator({ name: "operator-argocd" });
});
afterAll(async () => {
  await op?.stop();
  await vault?.stop();
  for (const n of namespaces) await deleteNamespace(client, n);
  // Leave the test bed as the other files expect it.
  if (istioRemoved) await installUpstreamCrds(kubeconfigPath(), { istio: true, eso: false });
});

async function ns(prefix: string): Promise<string> {
  const n = await createNamespace(client, prefix);
  namespaces.push(n);
  return n;
}

/** Runs the health check on a live profile (both ways Argo CD can run it), checks the fixture's expectation, and records it. */
function check(name: string, obj: ProfileObject | undefined) {
  const c = FIXTURES.find((f) => f.name === name);
  if (!c) throw new Error(`no fixture case ${name} in argocd/fixtures.ts`);
  if (!obj) throw new Error(`${name}: the profile is gone`);
  const [health, ...others] = LIBS.map((libs) => lua.health(obj, { libs }));
  for (const other of others) expect(other, c.what).toEqual(health);
  if (!health) throw new Error("no library mode");
  checkHealth(obj, c, health);
  if (UPDATE) writeFixture(name, obj);
  checked.set(name, health);
  return health;
}

const PLAIN = { selector: { app: "api" }, ingress: [{ from: [{ namespace: "gateways" }], ports: [8080] }] };

describe("Argo CD health of real profiles", () => {
  let readyNs = "";

  it("Healthy: Ready=True, with Ready's message", async () => {
    readyNs = await ns("argo-ready");
    await applyProfile(client, readyNs, "api", PLAIN);
    check("ready", await waitCondition(client, readyNs, "api"));
  });

  it("Degraded: drift left in place under driftPolicy Report, named in the message", async () => {
    const n = await ns("argo-drift");
    await applyProfile(client, n, "api", { ...PLAIN, driftPolicy: "Report" });
    await waitCondition(client, n, "api");
    await client.request("PATCH", resourcePath(kindOf("PeerAuthentication"), n, "api"), {
      body: { spec: { mtls: { mode: "PERMISSIVE" } } },
      contentType: "application/merge-patch+json",
      query: { fieldManager: "someone" },
    });
    check("drifted", await waitCondition(client, n, "api", { type: "Drifted", status: "True" }));
  });

  it("Degraded: an object with a generated name that belongs to someone else", async () => {
    const n = await ns("argo-conflict");
    await client.request("POST", resourcePath(kindOf("PeerAuthentication"), n), {
      body: {
        apiVersion: "security.istio.io/v1",
        kind: "PeerAuthentication",
        metadata: { name: "api", namespace: n },
        spec: { mtls: { mode: "PERMISSIVE" } },
      },
      query: { fieldManager: "platform-team" },
    });
    await applyProfile(client, n, "api", PLAIN);
    check("conflict", await waitCondition(client, n, "api", { status: "False", reason: "Conflict" }));
  });

  it("Degraded: a caller named by a profile that does not exist", async () => {
    const n = await ns("argo-refs");
    await applyProfile(client, n, "api", {
      selector: { app: "api" },
      ingress: [{ from: [{ service: "missing" }], ports: [8080] }],
    });
    check(
      "reference-not-found",
      await waitCondition(client, n, "api", { status: "False", reason: "ReferenceNotFound" }),
    );
  });

  it("Degraded: a secret whose remote key does not exist, with ESO's reason; Progressing: a secret ESO has not reported on", async () => {
    const failingNs = await ns("argo-secret");
    const pendingNs = await ns("argo-secret-pending");
    // ESO watches failingNs only: in pendingNs the ExternalSecret is created and never reported on.
    vault = await startSecretSource(client, { watch: failingNs });
    await vault.storeReady();
    await applyProfile(client, failingNs, "api", {
      ...PLAIN,
      secrets: [vault.secretSpec("api-db", "no-such-secret")],
    });
    check(
      "secret-failing",
      await waitCondition(client, failingNs, "api", { type: "SecretsReady", status: "False" }, 60_000),
    );
    await applyProfile(client, pendingNs, "api", {
      ...PLAIN,
      secrets: [vault.secretSpec("api-db", "db-creds")],
    });
    // First "NotCreated" (the ExternalSecret not in meshward's cache yet), then "Pending".
    const pending = await waitCondition(client, pendingNs, "api", {
      type: "SecretsReady",
      status: "Unknown",
      reason: "Pending",
    });
    expect(pending.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
    check("secret-pending", pending);
    await vault.stop();
    vault = undefined;
  });

  it("Progressing before the first reconcile and right after a spec change; Healthy once meshward caught up", async () => {
    // With meshward stopped the API server's objects are exactly what Argo CD sees in that window.
    await op?.stop();
    op = undefined;
    await applyProfile(client, readyNs, "fresh", { selector: { app: "fresh" } });
    const fresh = await getProfile(client, readyNs, "fresh");
    expect(fresh?.status).toBeUndefined();
    check("no-status", fresh);

    await applyProfile(client, readyNs, "api", {
      ...PLAIN,
      ingress: [{ from: [{ namespace: "gateways" }, { namespace: "batch" }], ports: [8080] }],
    });
    const bumped = await getProfile(client, readyNs, "api");
    expect(bumped?.metadata?.generation).toBe(2);
    expect(bumped?.status?.observedGeneration).toBe(1);
    check("generation-bump", bumped);

    op = await startOperator({ name: "operator-argocd-2" });
    for (const name of ["api", "fresh"]) {
      const p = await waitCondition(client, readyNs, name);
      expect(lua.health(p)).toMatchObject({ status: "Healthy" });
    }
  });

  it("Degraded: Istio's CRDs are not installed", async () => {
    await op?.stop();
    op = undefined;
    istioRemoved = true;
    await uninstallIstioCrds(kubeconfigPath());
    op = await startOperator({ name: "operator-argocd-no-istio" });
    const n = await ns("argo-noistio");
    await applyProfile(client, n, "api", PLAIN);
    check(
      "istio-not-installed",
      await waitCondition(client, n, "api", { status: "False", reason: "IstioNotInstalled" }),
    );
  });

  it("covers every fixture case", () => {
    expect([...checked.keys()].sort()).toEqual(FIXTURES.map((f) => f.name).sort());
    if (UPDATE) writeHealthTest(checked);
  });
});
