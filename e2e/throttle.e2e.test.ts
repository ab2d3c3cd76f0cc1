// 4: an API server that answers 429 to most writes: every write is retried (after Retry-After, then
// with the work queue's backoff) and every profile converges; none is dropped.
import { afterAll, beforeAll, expect, it } from "vitest";
import { up } from "./controlplane/testbed.ts";
import { ApiError, type KubeClient } from "../operator/runtime/client.ts";
import { waitConverged } from "./support/converge.ts";
import * as fs from "node:fs";
import * as path from "node:path";
import { createNamespace, deleteNamespace, kube, serviceAccountKubeconfig } from "./support/kube.ts";
import { type OperatorProcess, startOperator } from "./support/operator.ts";
import { applyProfile } from "./support/profiles.ts";

let client: KubeClient;
let op: OperatorProcess | undefined;
let namespace = "";

beforeAll(async () => {
  // One mutating request at a time, and no priority-and-fairness queueing: the rest get 429.
  await up({
    apiserverArgs: [
      "--enable-priority-and-fairness=false",
      "--max-mutating-requests-inflight=1",
      "--max-requests-inflight=20",
    ],
  });
  client = kube();
}, 600_000);
afterAll(async () => {
  await op?.stop();
  if (namespace) await deleteNamespace(client, namespace).catch(() => undefined);
  // The next files expect the default test bed.
  await up({});
});

async function persist<T>(fn: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 429)) throw e;
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
    }
  }
}

it("4: throttled with 429: every profile converges, retried with backoff", { timeout: 600_000 }, async () => {
  namespace = await persist(() => createNamespace(client, "throttle"));
  // Another busy client keeps the single mutating slot taken, so the operator meets 429s for sure.
  let noisy = true;
  const noise = Array.from({ length: 6 }, async (_, w) => {
    for (let k = 0; noisy; k++) {
      await client
        .apply(
          `/api/v1/namespaces/${namespace}/configmaps/noise-${w}`,
          { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `noise-${w}` }, data: { k: String(k) } },
          "noise",
          true,
        )
        .catch(() => undefined);
    }
  });
  // The admin identity (system:masters) is exempt from request limits: run as a ServiceAccount.
  await persist(() =>
    client.request("POST", `/api/v1/namespaces/${namespace}/serviceaccounts`, {
      body: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "operator" } },
    }),
  );
  await persist(() =>
    client.request("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
      body: {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: `${namespace}-operator` },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
        subjects: [{ kind: "ServiceAccount", name: "operator", namespace }],
      },
    }),
  );
  const kubeconfig = await persist(() =>
    serviceAccountKubeconfig(client, namespace, "operator", path.resolve(".cache/e2e/throttled.kubeconfig")),
  );
  op = await startOperator({
    name: "throttled",
    kubeconfig,
    args: ["--namespaces", namespace, "--concurrency", "8"],
  });
  const size = 30;
  await Promise.all(
    Array.from({ length: size }, (_, i) =>
      persist(() =>
        applyProfile(client, namespace, `svc-${i}`, {
          selector: { app: `svc-${i}` },
          ingress: [{ from: [{ service: `svc-${(i + 1) % size}` }], ports: [8080] }],
          secrets: [
            {
              name: `svc-${i}-db`,
              storeRef: { name: "vault" },
              data: [{ secretKey: "p", remoteRef: { key: `k${i}` } }],
            },
          ],
        }),
      ),
    ),
  );
  const t0 = Date.now();
  // A cap, not a target: the queue's per-key backoff doubles on each throttled attempt (to 80 s
  // after eight), so a key that loses the single write slot to the noise eight times in a row needs
  // more than three minutes. The time taken is recorded below.
  await waitConverged(client, [namespace], { timeoutMs: 420_000 });
  const convergedMs = Date.now() - t0;
  noisy = false;
  await Promise.all(noise);
  const throttled = await op.metric("meshward_api_requests_total", { code: "429" });
  expect(throttled).toBeGreaterThan(0);
  expect(await op.metric("controller_runtime_terminal_reconcile_errors_total")).toBe(0);
  expect(op.proc.exitCode).toBeNull();
  fs.mkdirSync(".cache/e2e", { recursive: true });
  const retries = await op.metric("workqueue_retries_total");
  fs.appendFileSync(
    ".cache/e2e/reliability.jsonl",
    `${JSON.stringify({ scenario: "throttling", profiles: size, convergedMs, throttled429: throttled, retries })}\n`,
  );
});
