// Scenario "creation": the floor (a bare client applying the same objects) against the operator
// (start → every profile Ready), each on a fresh fleet, for `rounds` pairs; the ratio is the median
// of the pairs'. The last round's operator and fleet go on to the next scenarios.
import {
  createFleet,
  deleteNamespaces,
  type Fleet,
  floor,
  log,
  median,
  type Op,
  readProc,
  serverCpuMs,
  settle,
  startOperator,
  timeBreakdown,
  watchReady,
} from "../lib.ts";
import { createForeign, foreignObjects, widenedProfiles } from "../foreign.ts";
import { type Harness, type Running, seconds } from "./harness.ts";

/** Each phase's figures, one entry per round. */
interface Rounds {
  floors: number[];
  operators: number[];
  /** Spawn → /readyz (caches listed, leadership known), within the measured time. */
  starts: number[];
  cpus: number[];
  floorCpus: number[];
  /** etcd + kube-apiserver CPU (ms) over each floor and each operator run (local test bed only). */
  floorServerCpus: number[];
  serverCpus: number[];
}

/** ", server CPU N s" for the log, or nothing where the bench cannot see the server's processes. */
const serverNote = (ms: number | undefined) =>
  ms === undefined ? "" : `, server CPU ${(ms / 1000).toFixed(1)}s`;

/**
 * The foreign objects of a fresh fleet, untimed. The floor's fleet gets them too, though the floor
 * never reads them: both phases then run on a cluster holding as many objects (etcd, the API
 * server's watch caches), so the ratio is the operator's cost of caching them and deciding on them.
 */
async function addForeign(h: Harness, f: Fleet): Promise<void> {
  if (h.cfg.foreign === 0) return;
  const { objects, widened } = foreignObjects(f, h.cfg.foreign);
  log(`creating ${h.cfg.foreign} foreign objects (${widened.size} profiles to be Widened)…`);
  await createForeign(h.client, objects);
}

/** The floor on a fresh fleet of N profiles, which is deleted afterwards. */
async function runFloor(h: Harness, rounds: Rounds, r: string): Promise<void> {
  const { client, cfg } = h;
  log(`creating ${cfg.profiles} profiles for the floor (${cfg.perNamespace} per namespace)…`);
  const fleet = await createFleet(client, `bf${r}`, cfg.profiles, cfg.perNamespace, cfg.ambientEvery);
  await addForeign(h, fleet);
  log("floor: bare client server-side-applying the same objects + one status patch per profile…");
  const cpu0 = process.cpuUsage();
  const server0 = serverCpuMs();
  rounds.floors.push(await floor(client, fleet, cfg.concurrency));
  // The floor's client is this process: its CPU over the floor, to compare with the operator's.
  const fc = process.cpuUsage(cpu0);
  rounds.floorCpus.push((fc.user + fc.system) / 1000);
  if (server0 !== undefined) rounds.floorServerCpus.push((serverCpuMs() as number) - server0);
  log(
    `floor ${(rounds.floors.at(-1)! / 1000).toFixed(2)}s (client CPU ${(rounds.floorCpus.at(-1)! / 1000).toFixed(1)}s${serverNote(server0 === undefined ? undefined : rounds.floorServerCpus.at(-1))}); deleting its namespaces…`,
  );
  await deleteNamespaces(client, fleet.namespaces);
}

/** The operator from its start to every profile of a fresh fleet Ready; it keeps running. */
async function runOperator(h: Harness, rounds: Rounds, r: string): Promise<Running> {
  const { client, cfg } = h;
  log(`creating ${cfg.profiles} profiles for the operator (${cfg.perNamespace} per namespace)…`);
  const fleet = await createFleet(client, `bo${r}`, cfg.profiles, cfg.perNamespace, cfg.ambientEvery);
  await addForeign(h, fleet);
  log("operator: start → every profile Ready…");
  // The watch that sees them Ready starts (and lists) before the clock does.
  const watch = await watchReady(client, fleet.namespaces);
  const server0 = serverCpuMs();
  const t0 = performance.now();
  const op = await startOperator(h.kubeconfig, cfg.concurrency);
  rounds.starts.push(performance.now() - t0);
  // 15 minutes, or 100 ms per profile for larger fleets.
  await watch.wait(cfg.profiles, Math.max(900_000, cfg.profiles * 100)).finally(() => watch.stop());
  rounds.operators.push(performance.now() - t0);
  if (server0 !== undefined) rounds.serverCpus.push((serverCpuMs() as number) - server0);
  // The operator's CPU from its start to the last Ready (clock ticks of 10 ms): on a machine whose
  // two cores also run etcd and the API server, it is time those did not get.
  rounds.cpus.push(readProc(op.proc.pid as number).cpuTicks * 10);
  log(
    `operator ${(rounds.operators.at(-1)! / 1000).toFixed(2)}s, ready after ${(rounds.starts.at(-1)! / 1000).toFixed(2)}s (operator CPU ${(rounds.cpus.at(-1)! / 1000).toFixed(1)}s${serverNote(server0 === undefined ? undefined : rounds.serverCpus.at(-1))})`,
  );
  return { op, fleet };
}

/** Stops the operator and deletes its fleet: the next phase runs on a cluster without them. */
async function stop(h: Harness, running: Running | undefined): Promise<void> {
  await running?.op.stop();
  if (running) await deleteNamespaces(h.client, running.fleet.namespaces);
}

/**
 * The rounds. A fresh API server and etcd are slower on their first writes of each kind: they are
 * warmed up untimed, so that the first round's floor is not measured cold.
 */
export async function creation(h: Harness): Promise<Running> {
  const { client, cfg } = h;
  log("warming up the API server (100 profiles' objects, untimed)…");
  const warm = await createFleet(
    client,
    `bw${h.tag}`,
    Math.min(cfg.profiles, 100),
    cfg.perNamespace,
    cfg.ambientEvery,
  );
  await floor(client, warm, cfg.concurrency);
  await deleteNamespaces(client, warm.namespaces);
  const rounds: Rounds = {
    floors: [],
    operators: [],
    starts: [],
    cpus: [],
    floorCpus: [],
    floorServerCpus: [],
    serverCpus: [],
  };
  let running: Running | undefined;
  for (let round = 1; round <= cfg.rounds; round++) {
    const r = `${h.tag}${cfg.rounds > 1 ? `r${round}` : ""}`;
    // Which goes first alternates, so that neither always runs right after the other's deletes
    // (etcd and the API server still digesting them); the last round is floor-first, so that its
    // operator and fleet go on to the rest of the bench.
    const operatorFirst = (cfg.rounds - round) % 2 === 1;
    log(`round ${round}/${cfg.rounds} (${operatorFirst ? "operator, then floor" : "floor, then operator"})`);
    // The last round's operator would reconcile this round's floor fleet too: it stops first.
    await stop(h, running);
    running = undefined;
    if (operatorFirst) {
      await stop(h, await runOperator(h, rounds, r));
      await runFloor(h, rounds, r);
    } else {
      await runFloor(h, rounds, r);
      running = await runOperator(h, rounds, r);
    }
    log(`round ${round}: ratio ${(rounds.operators.at(-1)! / rounds.floors.at(-1)!).toFixed(2)}`);
  }
  if (!running) throw new Error("no round ran");
  roundResults(h, rounds);
  await operatorResults(h, running.op);
  log(`median ratio ${h.results.ratio} over ${cfg.rounds} round(s); settling…`);
  await settle(running.op);
  if (cfg.foreign > 0) await widenedResults(h, running.fleet);
  return running;
}

function roundResults(h: Harness, r: Rounds): void {
  const results = h.results;
  const ratios = r.operators.map((o, i) => o / (r.floors[i] as number));
  results.floorSeconds = seconds(median(r.floors));
  results.operatorSeconds = seconds(median(r.operators));
  results.ratio = +median(ratios).toFixed(2);
  results.startSeconds = seconds(median(r.starts));
  results.creationCpuSeconds = seconds(median(r.cpus), 1);
  results.floorCpuSeconds = seconds(median(r.floorCpus), 1);
  if (r.serverCpus.length) {
    results.floorServerCpuSeconds = seconds(median(r.floorServerCpus), 1);
    results.serverCpuSeconds = seconds(median(r.serverCpus), 1);
  }
  results.rounds = h.cfg.rounds;
  results.roundRatios = ratios.map((x) => x.toFixed(2)).join(", ");
  results.roundSeconds = r.floors
    .map((f, i) => `${(f / 1000).toFixed(1)}/${((r.operators[i] as number) / 1000).toFixed(1)}`)
    .join(", ");
}

/** Where the requests and the work went while the fleet converged. */
async function operatorResults(h: Harness, op: Op): Promise<void> {
  const results = h.results;
  results.operatorRequests = await op.metric("meshward_api_requests_total");
  results.operatorWrites = await op.writes();
  results.requestsPerProfile = +(Number(results.operatorRequests) / h.cfg.profiles).toFixed(2);
  const byVerb = await op.metrics();
  results.creationRequestsByVerb = [...byVerb.entries()]
    .filter(([k]) => k.startsWith("meshward_api_requests_total{"))
    .map(([k, v]) => `${/verb="([^"]*)"/.exec(k)?.[1]} ${/code="([^"]*)"/.exec(k)?.[1]}: ${v}`)
    .sort()
    .join(", ");
  results.creationBreakdown = timeBreakdown(new Map(), byVerb);
  results.creationReconciles = await op.metric("controller_runtime_reconcile_total");
  results.creationEvents = await op.metric("meshward_events_total");
}

/** What the operator decided, against what the bench's foreign objects are built to give. */
async function widenedResults(h: Harness, fleet: Fleet): Promise<void> {
  const results = h.results;
  const expected = foreignObjects(fleet, h.cfg.foreign).widened;
  const found = await widenedProfiles(h.client, fleet);
  results.foreignObjects = h.cfg.foreign;
  results.widenedProfiles = found.size;
  results.widenedAsExpected = String(
    found.size === expected.size && [...expected].every((k) => found.has(k)),
  );
  log(
    `${found.size} profiles Widened (expected ${expected.size}; as expected: ${results.widenedAsExpected})`,
  );
}
