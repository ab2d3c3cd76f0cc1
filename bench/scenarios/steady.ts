// Scenarios on the converged fleet: idle memory and CPU of the process that created it; writes
// on a restart and on a full resync (another controller's condition on every profile: both must
// write nothing); quarantines applied and lifted; a single crowded namespace.
import { sleep } from "../../test-support/harness/wait.ts";
import {
  addForeignConditions,
  createFleet,
  deleteNamespaces,
  type Fleet,
  formatRssParts,
  log,
  type Op,
  readProc,
  readRssParts,
  settle,
  startOperator,
  waitAllReady,
} from "../lib.ts";
import { measureQuarantine, summary } from "../quarantine.ts";
import { type Harness, IDLE_RSS_MINUTES, megabytes } from "./harness.ts";

/** RSS and CPU right after the burst, then RSS once V8 has given the burst's heap back. */
export async function idle(h: Harness, op: Op): Promise<void> {
  const results = h.results;
  const pid = op.proc.pid as number;
  log("idle: RSS and CPU over 30 s…");
  const a = readProc(pid);
  await sleep(30_000);
  const b = readProc(pid);
  results.burstRssMb = +b.rssMb.toFixed(1);
  results.idleCpuPercent = +(((b.cpuTicks - a.cpuTicks) / 100 / 30) * 100).toFixed(2);
  // Idle: V8's memory reducer gives the burst's heap back once allocation has stopped for a while
  // (measured with /proc/PID/smaps: about a minute and a half after the last Ready).
  log(`idle: RSS ${IDLE_RSS_MINUTES} minutes after the burst…`);
  await sleep(IDLE_RSS_MINUTES * 60_000 - 30_000);
  results.rssMb = +readProc(pid).rssMb.toFixed(1);
  results.rssParts = formatRssParts(readRssParts(pid));
  results.heapUsedMb = megabytes(await op.metric("nodejs_heap_size_used_bytes"));
  results.heapTotalMb = megabytes(await op.metric("nodejs_heap_size_total_bytes"));
}

/**
 * Another controller's condition on every profile, then a restart and a full resync (1-minute
 * period), each counting the writes. Stops `op`; no operator runs afterwards.
 */
export async function noWrites(h: Harness, op: Op, fleet: Fleet): Promise<void> {
  const { client, results, cfg } = h;
  log("another controller's condition on every profile…");
  await addForeignConditions(client, fleet);
  await settle(op);
  log("restart with every profile in sync (and a foreign condition on each): counting writes…");
  await op.stop();
  const restarted = await startOperator(h.kubeconfig, cfg.concurrency);
  while ((await restarted.metric("controller_runtime_reconcile_total")) < cfg.profiles) await sleep(250);
  await settle(restarted);
  results.restartReconciles = await restarted.metric("controller_runtime_reconcile_total");
  results.restartWrites = await restarted.writes();
  await restarted.stop();

  log("full resync (1-minute resync period, a foreign condition on each profile): counting writes…");
  const resync = await startOperator(h.kubeconfig, cfg.concurrency, ["--resync-minutes", "1"]);
  await settle(resync);
  const reconciles0 = await resync.metric("controller_runtime_reconcile_total");
  const writes0 = await resync.writes();
  await sleep(65_000);
  await settle(resync);
  results.resyncReconciles = (await resync.metric("controller_runtime_reconcile_total")) - reconciles0;
  results.resyncWrites = (await resync.writes()) - writes0;
  await resync.stop();
}

export async function quarantine(h: Harness, fleet: Fleet): Promise<void> {
  const { results, cfg } = h;
  log(`quarantine: ${cfg.quarantines} × apply and lift, at ${cfg.profiles} profiles…`);
  const q = await measureQuarantine(h.client, fleet, cfg.quarantines);
  const [qa, ql, rt] = [summary(q.apply), summary(q.lift), summary(q.roundTrip)];
  results.quarantineApplyP50Ms = qa.p50;
  results.quarantineApplyMaxMs = qa.max;
  results.quarantineLiftP50Ms = ql.p50;
  results.quarantineLiftMaxMs = ql.max;
  results.ssaRoundTripP50Ms = rt.p50;
}

/** `single` profiles in one namespace: start → all Ready, and the RSS. */
export async function singleNamespace(h: Harness): Promise<void> {
  const { client, results, cfg } = h;
  log(`${cfg.single} profiles in one namespace…`);
  const one = await createFleet(client, `bs${h.tag}`, cfg.single, cfg.single);
  const t1 = performance.now();
  const op = await startOperator(h.kubeconfig, cfg.concurrency);
  await waitAllReady(client, one.namespaces, cfg.single);
  results.singleNamespaceSeconds = +((performance.now() - t1) / 1000).toFixed(2);
  await settle(op);
  results.singleNamespaceRssMb = +readProc(op.proc.pid as number).rssMb.toFixed(1);
  await op.stop();
  await deleteNamespaces(client, one.namespaces);
}
