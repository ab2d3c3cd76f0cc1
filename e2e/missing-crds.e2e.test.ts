// 8: a cluster without Istio's CRDs: everything else is created, Degraded=True IstioNotInstalled;
// once the CRDs are installed the operator converges without a restart.
import { afterAll, beforeAll, expect, it } from "vitest";
import { installUpstreamCrds, uninstallIstioCrds } from "./controlplane/upstream.ts";
import type { KubeClient } from "../operator/runtime/client.ts";
import { createNamespace, deleteNamespace, kube, kubeconfigPath, waitFor } from "./support/kube.ts";
import { type OperatorProcess, startOperator } from "./support/operator.ts";
import { applyProfile, condition, getChild, waitCondition } from "./support/profiles.ts";

let client: KubeClient;
let op: OperatorProcess | undefined;
let namespace = "";

beforeAll(async () => {
  client = kube();
  await uninstallIstioCrds(kubeconfigPath());
});
afterAll(async () => {
  await op?.stop();
  if (namespace) await deleteNamespace(client, namespace);
  // Leave the test bed as the other files expect it.
  await installUpstreamCrds(kubeconfigPath(), { istio: true, eso: false });
});

it("8: works without Istio, reports it, and picks Istio up without a restart", async () => {
  op = await startOperator({ name: "operator-no-istio" });
  namespace = await createNamespace(client, "noistio");
  await applyProfile(client, namespace, "api", {
    selector: { app: "api" },
    secrets: [
      { name: "db", storeRef: { name: "vault" }, data: [{ secretKey: "k", remoteRef: { key: "k" } }] },
    ],
  });
  const p = await waitCondition(client, namespace, "api", {
    type: "Degraded",
    status: "True",
    reason: "IstioNotInstalled",
  });
  expect(condition(p, "Degraded")?.message).toContain("Install Istio");
  expect(condition(p, "Ready")).toMatchObject({ status: "False", reason: "IstioNotInstalled" });
  expect(await getChild(client, "ServiceAccount", namespace, "api")).toBeDefined();
  expect(await getChild(client, "NetworkPolicy", namespace, "api")).toBeDefined();
  expect(await getChild(client, "ExternalSecret", namespace, "db")).toBeDefined();
  expect(p.status?.objects?.find((o) => o.kind === "PeerAuthentication")?.state).toBe("Missing");

  const pid = op.proc.pid;
  await installUpstreamCrds(kubeconfigPath(), { istio: true, eso: false });
  const ready = await waitCondition(client, namespace, "api", { type: "Ready", status: "True" }, 30_000);
  expect(condition(ready, "Degraded")?.status).toBe("False");
  await waitFor(
    "the Istio objects",
    async () =>
      (await getChild(client, "PeerAuthentication", namespace, "api")) &&
      (await getChild(client, "AuthorizationPolicy", namespace, "api")),
  );
  expect(op.proc.pid).toBe(pid);
  expect(op.proc.exitCode).toBeNull();
});
