// The metrics a scrape shows: controller-runtime's names, labels and buckets fed by a real work
// queue (fake timers and clock), per-profile gauges from cached profiles, build info.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { KubeObjectLike } from "../runtime/client.ts";
import { TerminalError, WorkQueue } from "../runtime/queue.ts";
import { packageVersion } from "./build-info.ts";
import { CONTROLLER, Metrics } from "./metrics.ts";
import { queueObserver, reconcileResult } from "./queue-metrics.ts";

/** name{labels} → value, from the text exposition. */
async function scrape(m: Metrics): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await m.registry.metrics()).split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

const Q = `{name="${CONTROLLER}",controller="${CONTROLLER}"}`;
const C = `{controller="${CONTROLLER}"}`;

describe("controller-runtime metrics from the work queue", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date("2026-11-23T13:00:00Z") });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("counts adds, results, errors, retries; times queue and work; tracks running work", async () => {
    const m = new Metrics(() => Date.now());
    let release: () => void = () => undefined;
    const q = new WorkQueue(
      async (key) => {
        if (key === "slow") await new Promise<void>((r) => (release = r));
        else await new Promise((r) => setTimeout(r, 200));
        if (key === "requeue") return { requeueAfterMs: 60_000 };
        if (key === "error") throw new Error("x");
        if (key === "terminal") throw new TerminalError("y");
      },
      {
        concurrency: 2,
        now: () => Date.now(),
        baseBackoffMs: 600_000,
        maxBackoffMs: 600_000,
        metrics: queueObserver(m, 2, () => Date.now()),
      },
    );
    // Before any work: every series a dashboard reads is there, at 0.
    let s = await scrape(m);
    for (const result of ["success", "error", "requeue", "requeue_after"])
      expect(s.get(`controller_runtime_reconcile_total{controller="${CONTROLLER}",result="${result}"}`)).toBe(
        0,
      );
    expect(s.get(`controller_runtime_max_concurrent_reconciles${C}`)).toBe(2);
    expect(s.get(`controller_runtime_active_workers${C}`)).toBe(0);
    expect(s.get(`workqueue_depth${Q}`)).toBe(0);
    expect(s.get(`workqueue_unfinished_work_seconds${Q}`)).toBe(0);

    q.add("slow");
    q.add("ok");
    q.add("ok"); // absorbed by the waiting key: not an add
    q.add("requeue");
    q.add("error");
    q.add("terminal");
    s = await scrape(m);
    expect(s.get(`workqueue_adds_total${Q}`)).toBe(5);
    expect(s.get(`workqueue_depth${Q}`)).toBe(5);
    // The deprecated duplicates are gone: controller-runtime's names only.
    expect(s.has("meshward_queue_depth")).toBe(false);

    await vi.advanceTimersByTimeAsync(100);
    q.start();
    await vi.advanceTimersByTimeAsync(1);
    s = await scrape(m);
    expect(s.get(`controller_runtime_active_workers${C}`)).toBe(2);
    // "slow" runs on; the other worker takes ok, requeue, error, terminal, 200 ms each.
    await vi.advanceTimersByTimeAsync(2_000);
    s = await scrape(m);
    expect(s.get(`controller_runtime_active_workers${C}`)).toBe(1);
    expect(s.get(`workqueue_longest_running_processor_seconds${Q}`)).toBeCloseTo(2.001, 3);
    expect(s.get(`workqueue_unfinished_work_seconds${Q}`)).toBeCloseTo(2.001, 3);
    q.add("slow"); // while it runs: dirty, one add, and it runs again after
    s = await scrape(m);
    expect(s.get(`workqueue_adds_total${Q}`)).toBe(6);
    release();
    await vi.advanceTimersByTimeAsync(1);
    release();
    await vi.advanceTimersByTimeAsync(1);

    s = await scrape(m);
    const total = (r: string) =>
      s.get(`controller_runtime_reconcile_total{controller="${CONTROLLER}",result="${r}"}`);
    expect(total("success")).toBe(3); // ok, slow twice
    expect(total("requeue_after")).toBe(1);
    expect(total("error")).toBe(2); // a retryable and a terminal error
    expect(total("requeue")).toBe(0);
    expect(s.get(`controller_runtime_reconcile_errors_total${C}`)).toBe(2);
    expect(s.get(`controller_runtime_terminal_reconcile_errors_total${C}`)).toBe(1);
    expect(s.get(`workqueue_retries_total${Q}`)).toBe(1);
    expect(s.get(`workqueue_adds_total${Q}`)).toBe(6); // the dirty key's second run is the same add
    expect(s.get(`controller_runtime_reconcile_time_seconds_count${C}`)).toBe(6);
    expect(s.get(`workqueue_work_duration_seconds_count${Q}`)).toBe(6);
    expect(s.get(`workqueue_queue_duration_seconds_count${Q}`)).toBe(6);
    // controller-runtime's buckets: 5 ms … 60 s; client-go's queue buckets: 10 ns … 1000 s.
    expect(
      s.has(`controller_runtime_reconcile_time_seconds_bucket{le="0.005",controller="${CONTROLLER}"}`),
    ).toBe(true);
    expect(
      s.has(`controller_runtime_reconcile_time_seconds_bucket{le="60",controller="${CONTROLLER}"}`),
    ).toBe(true);
    expect(
      s.get(`controller_runtime_reconcile_time_seconds_bucket{le="0.2",controller="${CONTROLLER}"}`),
    ).toBe(5); // four 200 ms runs and the quick second run of "slow"
    expect(
      s.has(
        `workqueue_queue_duration_seconds_bucket{le="1e-8",name="${CONTROLLER}",controller="${CONTROLLER}"}`,
      ),
    ).toBe(true);
    expect(
      s.has(
        `workqueue_work_duration_seconds_bucket{le="1000",name="${CONTROLLER}",controller="${CONTROLLER}"}`,
      ),
    ).toBe(true);
    expect(s.get(`controller_runtime_active_workers${C}`)).toBe(0);
    expect(s.get(`workqueue_unfinished_work_seconds${Q}`)).toBe(0);
    expect(s.get(`workqueue_longest_running_processor_seconds${Q}`)).toBe(0);
    expect(s.get(`controller_runtime_terminal_reconcile_errors_total${C}`)).toBe(1);
    expect(s.get(`workqueue_retries_total${Q}`)).toBe(1);
    expect([...s.keys()].filter((k) => /^meshward_(reconciles_total|queue_)/.test(k))).toEqual([]);
    await q.shutdown(0);
  });

  it("maps queue outcomes to controller-runtime results", () => {
    expect((["success", "requeue", "error", "terminal"] as const).map((o) => reconcileResult(o))).toEqual([
      "success",
      "requeue_after",
      "error",
      "error",
    ]);
  });
});

describe("per-profile gauges", () => {
  const profile = (name: string, status?: unknown): KubeObjectLike =>
    ({ metadata: { namespace: "shop", name }, status }) as KubeObjectLike;
  const cond = (type: string, status: string) => ({
    type,
    status,
    reason: "R",
    message: "",
    lastTransitionTime: "2026-11-01T00:00:00Z",
  });

  it("follow the cache: a deleted profile's series are gone at the next scrape", async () => {
    const m = new Metrics();
    let cache = [
      profile("ready", {
        conditions: [cond("Ready", "True"), cond("Drifted", "False"), cond("Conflict", "False")],
      }),
      profile("conflicted", {
        conditions: [cond("Ready", "False"), cond("Conflict", "True")],
        exceptions: [
          { type: "AuditOnly", ticket: "SEC-1", expires: "2026-12-24T00:00:00Z", state: "Active" },
          { type: "PermissiveMtls", ticket: "SEC-2", expires: "2026-12-03T00:00:00Z", state: "Active" },
        ],
      }),
      profile("new"),
    ];
    m.setProfileSource(() => cache);
    let s = await scrape(m);
    expect(s.get('meshward_profile_ready{namespace="shop",name="ready"}')).toBe(1);
    expect(s.get('meshward_profile_ready{namespace="shop",name="conflicted"}')).toBe(0);
    expect(s.get('meshward_profile_ready{namespace="shop",name="new"}')).toBe(0);
    expect(s.get('meshward_profile_conflict{namespace="shop",name="conflicted"}')).toBe(1);
    expect(s.get('meshward_profile_drifted{namespace="shop",name="ready"}')).toBe(0);
    expect(
      s.get('meshward_profile_exception_expiry_timestamp_seconds{namespace="shop",name="conflicted"}'),
    ).toBe(Date.parse("2026-12-03T00:00:00Z") / 1000);
    expect(s.has('meshward_profile_exception_expiry_timestamp_seconds{namespace="shop",name="ready"}')).toBe(
      false,
    );
    cache = cache.filter((p) => p.metadata?.name !== "conflicted");
    s = await scrape(m);
    expect([...s.keys()].filter((k) => k.includes('name="conflicted"'))).toEqual([]);
    expect(s.get('meshward_profile_ready{namespace="shop",name="ready"}')).toBe(1);
  });
});

describe("secret health", () => {
  it("meshward_secrets sums what the reconciler reported, by state, and drops a deleted profile", async () => {
    const m = new Metrics();
    let s = await scrape(m);
    for (const state of ["ready", "failing", "pending"])
      expect(s.get(`meshward_secrets{state="${state}"}`)).toBe(0);
    m.secretStates.set("shop/api", { ready: 1, failing: 1, pending: 0 });
    m.secretStates.set("shop/web", { ready: 2, failing: 0, pending: 1 });
    s = await scrape(m);
    expect(s.get('meshward_secrets{state="ready"}')).toBe(3);
    expect(s.get('meshward_secrets{state="failing"}')).toBe(1);
    expect(s.get('meshward_secrets{state="pending"}')).toBe(1);
    m.secretStates.forget("shop/api");
    s = await scrape(m);
    expect(s.get('meshward_secrets{state="failing"}')).toBe(0);
    expect(s.get('meshward_secrets{state="ready"}')).toBe(2);
  });

  it("meshward_profile_secrets_failing follows the cached status; no series without secrets", async () => {
    const m = new Metrics();
    const secret = (name: string, ready: string) => ({ name, ready, reason: "R", message: "m" });
    m.setProfileSource(
      () =>
        [
          { metadata: { namespace: "shop", name: "api" }, status: { secrets: [secret("db", "False")] } },
          { metadata: { namespace: "shop", name: "web" }, status: { secrets: [secret("db", "True")] } },
          { metadata: { namespace: "shop", name: "plain" }, status: {} },
        ] as KubeObjectLike[],
    );
    const s = await scrape(m);
    expect(s.get('meshward_profile_secrets_failing{namespace="shop",name="api"}')).toBe(1);
    expect(s.get('meshward_profile_secrets_failing{namespace="shop",name="web"}')).toBe(0);
    expect(s.has('meshward_profile_secrets_failing{namespace="shop",name="plain"}')).toBe(false);
  });
});

describe("build info", () => {
  it("tells the package version and the Node.js version", async () => {
    const s = await scrape(new Metrics());
    const version = packageVersion();
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    expect(s.get(`meshward_build_info{version="${version}",nodejs_version="${process.version}"}`)).toBe(1);
  });

  it("finds no version outside the package", () => {
    expect(packageVersion("/")).toBe("unknown");
  });
});
