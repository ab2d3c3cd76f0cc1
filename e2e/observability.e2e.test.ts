// The operator's probes and metrics against the real test bed: /healthz and /readyz on the health
// port, /metrics on the metrics port (each only there), and after reconciles the controller-runtime
// metrics and the per-profile series, which go when the profile goes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeClient } from "../operator/runtime/client.ts";
import { resourcePath } from "../operator/runtime/client.ts";
import { PROFILES } from "../operator/reconcile/kinds.ts";
import { createNamespace, deleteNamespace, kube, waitFor } from "./support/kube.ts";
import { freePort } from "../test-support/harness/ports.ts";
import { type OperatorProcess, startOperator } from "./support/operator.ts";
import { applyProfile, waitCondition } from "./support/profiles.ts";

let client: KubeClient;
let op: OperatorProcess;
let healthPort = 0;
let ns = "";

const get = async (port: number, path: string) => {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: r.status, body: await r.text() };
};

beforeAll(async () => {
  client = kube();
  ns = await createNamespace(client, "observability");
  healthPort = await freePort();
  op = await startOperator({
    name: "operator-observability",
    args: ["--health-port", String(healthPort)],
    ready: false,
  });
  await waitFor(
    "/readyz on the health port",
    async () => (await get(healthPort, "/readyz").catch(() => undefined))?.status === 200,
    60_000,
    100,
  );
});

afterAll(async () => {
  await op?.stop();
  await deleteNamespace(client, ns);
});

describe("probes and metrics of the operator", () => {
  it("answers /healthz and /readyz on the health port, /metrics on the metrics port, each only there", async () => {
    // Still running: the answers below are this operator's, not another process's on the port.
    expect(op.proc.exitCode).toBeNull();
    const live = await get(healthPort, "/healthz");
    expect(live.status).toBe(200);
    expect(live.body).toMatch(/^event loop turning; watches: \d+ hearing from the API server\n$/);
    expect(await get(healthPort, "/readyz")).toEqual({
      status: 200,
      body: "caches synced; leadership known\n",
    });
    expect((await get(healthPort, "/metrics")).status).toBe(404);
    expect((await get(op.port, "/healthz")).status).toBe(404);
    expect((await get(op.port, "/readyz")).status).toBe(404);
    const metrics = await get(op.port, "/metrics");
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/^meshward_build_info\{version="\d+\.\d+\.\d+[^"]*",nodejs_version="v24\./m);
    expect(metrics.body).toContain(
      'controller_runtime_max_concurrent_reconciles{controller="servicesecurityprofile"} 4',
    );
  });

  it("counts reconciles with controller-runtime's names, and shows each profile until it is deleted", async () => {
    const key = { controller: "servicesecurityprofile" };
    const successBefore = await op.metric("controller_runtime_reconcile_total", {
      ...key,
      result: "success",
    });
    const expires = new Date(Date.now() + 3 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, "Z");
    await applyProfile(client, ns, "caller", { selector: { app: "caller" } });
    await applyProfile(client, ns, "api", {
      selector: { app: "api" },
      ingress: [{ from: [{ service: "caller" }], ports: [8080] }],
      exceptions: [{ type: "AuditOnly", reason: "rolling out the new policy", ticket: "SEC-42", expires }],
    });
    await waitCondition(client, ns, "api");
    await waitCondition(client, ns, "caller");
    const series = (name: string, profile: string) => `${name}{namespace="${ns}",name="${profile}"}`;
    // The per-profile series follow the cache, which sees the status once its watch event arrives.
    await waitFor("the per-profile series", async () => {
      const m = await op.metrics();
      return (
        m.get(series("meshward_profile_ready", "api")) === 1 &&
        m.get(series("meshward_profile_ready", "caller")) === 1
      );
    });
    const m = await op.metrics();
    expect(m.get(series("meshward_profile_conflict", "api"))).toBe(0);
    expect(m.get(series("meshward_profile_drifted", "api"))).toBe(0);
    expect(m.get(series("meshward_profile_exception_expiry_timestamp_seconds", "api"))).toBe(
      Date.parse(expires) / 1000,
    );
    expect(m.has(series("meshward_profile_exception_expiry_timestamp_seconds", "caller"))).toBe(false);

    expect(
      await op.metric("controller_runtime_reconcile_total", { ...key, result: "success" }),
    ).toBeGreaterThan(successBefore);
    // The exception makes the reconciler come back at its expiry: a requeue_after.
    expect(
      await op.metric("controller_runtime_reconcile_total", { ...key, result: "requeue_after" }),
    ).toBeGreaterThan(0);
    const q = { name: "servicesecurityprofile", controller: "servicesecurityprofile" };
    expect(await op.metric("workqueue_adds_total", q)).toBeGreaterThanOrEqual(2);
    expect(await op.metric("workqueue_work_duration_seconds_count", q)).toBeGreaterThanOrEqual(2);
    expect(await op.metric("workqueue_queue_duration_seconds_count", q)).toBeGreaterThanOrEqual(2);
    expect(await op.metric("controller_runtime_reconcile_time_seconds_count", key)).toBeGreaterThanOrEqual(2);
    for (const name of [
      "controller_runtime_reconcile_errors_total",
      "controller_runtime_active_workers",
      "workqueue_depth",
      "workqueue_retries_total",
      "workqueue_unfinished_work_seconds",
      "workqueue_longest_running_processor_seconds",
    ])
      expect(
        [...m.keys()].some((k) => k.startsWith(`${name}{`)),
        name,
      ).toBe(true);

    await client.delete(resourcePath(PROFILES, ns, "api"));
    await waitFor("the deleted profile's series to go", async () => {
      const after = await op.metrics();
      return ![...after.keys()].some((k) => k.includes(`namespace="${ns}",name="api"`));
    });
    expect((await op.metrics()).get(series("meshward_profile_ready", "caller"))).toBe(1);
  });
});
