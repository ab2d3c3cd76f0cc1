// Scenario "drift": deletes and edits of generated objects behind the operator's back, each timed
// from the client's request to the client seeing the object restored; then quiet minutes (idle CPU
// and memory once the burst's garbage is long collected) and the same drift again.
import {
  ApiError,
  type KubeClient,
  type KubeObjectLike,
  resourcePath,
} from "../../operator/runtime/client.ts";
import { CHILD_KINDS } from "../../operator/reconcile/kinds.ts";
import { sleep } from "../../test-support/harness/wait.ts";
import {
  type Fleet,
  formatRssParts,
  log,
  percentile,
  type Op,
  readProc,
  readRssParts,
  settle,
  startOperator,
  timeBreakdown,
} from "../lib.ts";
import { type Harness, megabytes, type Running } from "./harness.ts";

/** One drift correction as the bench saw it: in total, and its own requests' share. */
interface DriftSample {
  /** The client's delete or edit → the client sees the restored object (ms). */
  total: number;
  /** The client's delete or edit request alone (ms). */
  write: number;
  /** The slowest of the client's polling GETs (ms). */
  slowestPoll: number;
}

async function driftLatencies(client: KubeClient, fleet: Fleet, count: number): Promise<DriftSample[]> {
  const pa = CHILD_KINDS.find((k) => k.resource.kind === "PeerAuthentication")?.resource;
  const np = CHILD_KINDS.find((k) => k.resource.kind === "NetworkPolicy")?.resource;
  if (!pa || !np) throw new Error("kinds");
  const out: DriftSample[] = [];
  for (let i = 0; i < count; i++) {
    const p = fleet.profiles[(i * 7919) % fleet.profiles.length] as { namespace: string; name: string };
    let slowestPoll = 0;
    const timed = async <T>(get: () => Promise<T>): Promise<T> => {
      const g0 = performance.now();
      try {
        return await get();
      } finally {
        slowestPoll = Math.max(slowestPoll, performance.now() - g0);
      }
    };
    let write: number;
    let t0: number;
    if (i % 2 === 0) {
      const before = await client.get<KubeObjectLike>(resourcePath(pa, p.namespace, p.name));
      t0 = performance.now();
      await client.delete(resourcePath(pa, p.namespace, p.name));
      write = performance.now() - t0;
      for (;;) {
        const cur = await timed(() =>
          client.get<KubeObjectLike>(resourcePath(pa, p.namespace, p.name)).catch((e: unknown) => {
            if (e instanceof ApiError && e.status === 404) return undefined;
            throw e;
          }),
        );
        if (cur && cur.metadata?.uid !== before.metadata?.uid) break;
        await sleep(5);
      }
    } else {
      t0 = performance.now();
      await client.request("PATCH", resourcePath(np, p.namespace, p.name), {
        body: { spec: { policyTypes: ["Ingress"] } },
        contentType: "application/merge-patch+json",
        query: { fieldManager: "bench-intruder" },
      });
      write = performance.now() - t0;
      for (;;) {
        const cur = await timed(() =>
          client.get<{ spec: { policyTypes: string[] } }>(resourcePath(np, p.namespace, p.name)),
        );
        if (cur.spec.policyTypes.length === 2) break;
        await sleep(5);
      }
    }
    out.push({ total: performance.now() - t0, write, slowestPoll });
  }
  return out;
}

/** p50 / p99 of the corrections, and the slowest one with the client's own requests' share. */
function driftFigures(samples: DriftSample[]): { p50: number; p99: number; slowest: string } {
  const totals = samples.map((s) => s.total);
  const worst = samples.reduce((a, b) => (b.total > a.total ? b : a));
  return {
    p50: Math.round(percentile(totals, 50)),
    p99: Math.round(percentile(totals, 99)),
    slowest: `${Math.round(worst.total)} ms, of which the bench's own delete or edit request ${Math.round(worst.write)} ms; its slowest polling GET ${Math.round(worst.slowestPoll)} ms (the median delete or edit request: ${Math.round(
      percentile(
        samples.map((s) => s.write),
        50,
      ),
    )} ms)`,
  };
}

/** The drift rounds' latencies, and where the operator's time went meanwhile (its metrics). */
async function timedDrift(h: Harness, op: Op, fleet: Fleet) {
  const before = await op.metrics();
  const figures = driftFigures(await driftLatencies(h.client, fleet, h.cfg.drift));
  return { ...figures, breakdown: timeBreakdown(before, await op.metrics()) };
}

/** Drift, quiet minutes, drift again: on an operator started on the in-sync fleet. */
export async function drift(h: Harness, fleet: Fleet): Promise<Running> {
  const { results, cfg } = h;
  const op = await startOperator(h.kubeconfig, cfg.concurrency);
  await settle(op);
  log(`drift: ${cfg.drift} deletes and edits…`);
  const first = await timedDrift(h, op, fleet);
  results.driftBreakdown = first.breakdown;
  results.driftP50Ms = first.p50;
  results.driftP99Ms = first.p99;
  results.driftSlowest = first.slowest;
  log(`drift p50 ${first.p50} ms, p99 ${first.p99} ms; quiet for ${cfg.quietMinutes} minutes…`);
  // The last 30 s of the quiet minutes: idle CPU once the burst's garbage is long collected.
  const quietMs = cfg.quietMinutes * 60_000;
  await sleep(Math.max(0, quietMs - 30_000));
  const q0 = readProc(op.proc.pid as number);
  await sleep(Math.min(30_000, quietMs));
  const q1 = readProc(op.proc.pid as number);
  if (cfg.quietMinutes > 0) {
    const secs = Math.min(30, cfg.quietMinutes * 60);
    results.quietCpuPercent = +(((q1.cpuTicks - q0.cpuTicks) / 100 / secs) * 100).toFixed(2);
    results.quietRssMb = +q1.rssMb.toFixed(1);
    results.quietRssParts = formatRssParts(readRssParts(op.proc.pid as number));
    results.quietHeapUsedMb = megabytes(await op.metric("nodejs_heap_size_used_bytes"));
    results.quietHeapTotalMb = megabytes(await op.metric("nodejs_heap_size_total_bytes"));
  }
  const again = await timedDrift(h, op, fleet);
  results.driftAfterQuietBreakdown = again.breakdown;
  results.quietMinutes = cfg.quietMinutes;
  results.driftAfterQuietP50Ms = again.p50;
  results.driftAfterQuietP99Ms = again.p99;
  results.driftAfterQuietSlowest = again.slowest;
  results.rssAfterDriftMb = +readProc(op.proc.pid as number).rssMb.toFixed(1);
  return { op, fleet };
}
