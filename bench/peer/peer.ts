// `npm run bench:peer`: meshward side by side with Kyverno's generate rules (synchronize: true), the
// same work on the same local test bed, in one run: Kyverno's binaries built (or found cached), meshward
// alone on a fresh bed, then Kyverno on a fresh bed. Writes a section of docs/benchmarks.md. Not a test.
//
//   npm run bench:peer -- [--profiles 100] [--per-namespace 10] [--deletions 100] [--edits 10]
//                         [--quiet-minutes 10] [--kyverno-timeout-minutes 60] [--concurrency 8]
//                         [--out docs/benchmarks.md]
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { AUDIT_LOG_PATH } from "../../e2e/controlplane/state.ts";
import { down, up } from "../../e2e/controlplane/testbed.ts";
import { ensureKyverno } from "../../e2e/controlplane/kyverno.ts";
import { KubeClient } from "../../operator/runtime/client.ts";
import { sleep } from "../../test-support/harness/wait.ts";
import { commandOptions, fleetOptions } from "../args.ts";
import { buildOperator, deleteNamespaces, log, type Op, startOperator } from "../lib.ts";
import { AUDIT_ALL_POLICY, AuditLog } from "./audit.ts";
import { ensureServiceAccount, serviceAccountKubeconfig, serviceAccountUser } from "./identity.ts";
import {
  applyPolicy,
  deleteKyvernoWebhooks,
  KYVERNO_USERS,
  killAllKyvernoSync,
  type KyvernoRun,
  startKyverno,
  stopAllKyverno,
} from "./kyverno.ts";
import { kyvernoPolicy } from "./policy.ts";
import { writeReport } from "./report.ts";
import { peerTable, type SideResult } from "./table.ts";
import {
  applyWorkload,
  deleteProbe,
  editProbe,
  p,
  sameAsBuilders,
  sumStats,
  waitPresent,
  workload,
} from "./work.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const args = commandOptions(
  "npm run bench:peer",
  "meshward side by side with Kyverno's generate rules, each on a fresh test bed; writes its section (one per N) of docs/benchmarks.md.",
  {
    ...fleetOptions(100, "profiles (N)"),
    deletions: { type: "number", default: 100, help: "generated objects deleted and timed until back" },
    edits: { type: "number", default: 10, help: "generated NetworkPolicies edited and timed until put back" },
    "quiet-minutes": { type: "number", default: 10, help: "quiet minutes whose requests are counted" },
    "kyverno-timeout-minutes": {
      type: "number",
      default: 60,
      help: "time bound for creating the objects, per side",
    },
    concurrency: { type: "number", default: 8, min: 1, help: "requests at a time when applying the work" },
    out: {
      type: "string",
      default: path.join(ROOT, "docs/benchmarks.md"),
      help: "the file whose section is written",
    },
  },
);
const {
  profiles: N,
  "per-namespace": PER_NS,
  deletions: DELETIONS,
  edits: EDITS,
  "quiet-minutes": QUIET_MIN,
  concurrency: CONC,
} = args;
const CREATE_TIMEOUT_MS = args["kyverno-timeout-minutes"] * 60_000;
const PROBE_TIMEOUT_MS = 60_000;

const WORK_DIR = path.join(ROOT, ".cache/bench-peer");
const MESHWARD_NS = "meshward-system";
const MESHWARD_SA = "meshward";

const loadavg = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(", ");

async function bed(): Promise<{ kubeconfig: string; client: KubeClient; version: string; audit: AuditLog }> {
  await down();
  const policy = path.join(WORK_DIR, "audit-all.yaml");
  fs.writeFileSync(policy, AUDIT_ALL_POLICY);
  const info = await up({
    audit: true,
    apiserverArgs: [`--audit-policy-file=${policy}`, "--audit-log-maxsize=100000"],
  });
  const kc = new KubeConfig();
  kc.loadFromFile(info.kubeconfig);
  return {
    kubeconfig: info.kubeconfig,
    client: new KubeClient(kc, { userAgent: "bench-peer" }),
    version: info.kubernetesVersion,
    audit: new AuditLog(AUDIT_LOG_PATH),
  };
}

interface Side {
  name: string;
  users: string[];
  pids: () => number[];
}

/** One small profile, end to end, before measuring: the controller is up and its path works. */
async function canary(client: KubeClient, side: Side): Promise<void> {
  const w = workload(`peer-canary-${side.name.toLowerCase()}`, 1, 1);
  await applyWorkload(client, w, 1);
  const r = await waitPresent(client, w, performance.now(), 300_000, () => undefined);
  if (r.ms === undefined)
    throw new Error(`${side.name}: the canary profile's objects did not appear in 300 s`);
  log(`${side.name}: canary objects present after ${(r.ms / 1000).toFixed(1)} s`);
  await deleteNamespaces(client, w.namespaces);
}

/** Waits until the side has written nothing but leases for `quietMs`, at most `maxMs`. */
async function settle(
  audit: AuditLog,
  side: Side,
  from: number,
  quietMs = 10_000,
  maxMs = 600_000,
): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    await sleep(1000);
    const last = Math.max(audit.lastWrite(side.users, from), from);
    if (Date.now() - last >= quietMs || Date.now() - t0 > maxMs) return Math.min(Date.now(), last + quietMs);
  }
}

async function measure(client: KubeClient, audit: AuditLog, side: Side, prefix: string, timeoutMs: number) {
  const w = workload(prefix, N, PER_NS);
  const cpu0 = sumStats(side.pids()).cpuSeconds;
  const wall0 = Date.now();
  const t0 = performance.now();
  log(`${side.name}: applying ${w.namespaces.length} namespaces and ${N} profiles (load ${loadavg()})…`);
  await applyWorkload(client, w, CONC);
  log(`${side.name}: applied in ${((performance.now() - t0) / 1000).toFixed(1)} s; waiting for all objects…`);
  const created = await waitPresent(client, w, t0, timeoutMs, (have, want) =>
    log(`${side.name}: ${have}/${want} objects after ${((performance.now() - t0) / 1000).toFixed(0)} s`),
  );
  log(
    created.ms === undefined
      ? `${side.name}: only ${created.present}/${created.expected} objects after ${timeoutMs / 60_000} min (time bound)`
      : `${side.name}: all ${created.expected} objects in ${(created.ms / 1000).toFixed(1)} s; settling…`,
  );
  const settledAt = await settle(audit, side, wall0);
  const counts = audit.count(side.users, wall0, settledAt);
  const after = sumStats(side.pids());
  const diffs = await sameAsBuilders(client, w);
  log(
    `${side.name}: ${counts.requests} requests, ${counts.writes} writes; objects vs meshward's builders: ${diffs.length ? diffs.join("; ") : "same"}`,
  );

  const idle0 = sumStats(side.pids());
  await sleep(30_000);
  const idle1 = sumStats(side.pids());

  log(`${side.name}: deleting ${DELETIONS} generated objects one by one…`);
  const del = await deleteProbe(client, w, DELETIONS, PROBE_TIMEOUT_MS);
  log(
    `${side.name}: ${del.restored}/${del.tried} back, p50 ${p(del.latenciesMs, 50)} ms, p99 ${p(del.latenciesMs, 99)} ms${del.stopped ? ` (${del.stopped})` : ""}`,
  );
  log(`${side.name}: editing ${EDITS} generated NetworkPolicies…`);
  const edit = await editProbe(client, w, EDITS, PROBE_TIMEOUT_MS);
  log(
    `${side.name}: ${edit.restored}/${edit.tried} edits put back${edit.stopped ? ` (${edit.stopped})` : ""}`,
  );

  // Let the probes' own consequences finish before the quiet window starts.
  const probeEnd = await settle(audit, side, Date.now() - 1000, 10_000, 120_000);
  log(`${side.name}: quiet for ${QUIET_MIN} min (load ${loadavg()})…`);
  const q0 = Math.max(Date.now(), probeEnd);
  await sleep(QUIET_MIN * 60_000);
  const quiet = audit.count(side.users, q0, Date.now());

  const result: SideResult = {
    name: side.name,
    createSeconds: created.ms === undefined ? null : +(created.ms / 1000).toFixed(2),
    present: created.present,
    expected: created.expected,
    requests: counts.requests,
    writes: counts.writes,
    leaseWrites: counts.leaseWrites,
    eventWrites: counts.eventWrites,
    cpuSeconds: +(after.cpuSeconds - cpu0).toFixed(2),
    rssMb: +after.rssMb.toFixed(1),
    peakRssMb: +Math.max(after.peakRssMb, sumStats(side.pids()).peakRssMb).toFixed(1),
    idleCpuPercent: +(((idle1.cpuSeconds - idle0.cpuSeconds) / 30) * 100).toFixed(2),
    restore: {
      tried: del.tried,
      restored: del.restored,
      p50Ms: p(del.latenciesMs, 50),
      p99Ms: p(del.latenciesMs, 99),
      stopped: del.stopped,
    },
    edit: {
      tried: edit.tried,
      restored: edit.restored,
      p50Ms: p(edit.latenciesMs, 50),
      p99Ms: p(edit.latenciesMs, 99),
      stopped: edit.stopped,
    },
    quietMinutes: QUIET_MIN,
    quietRequests: quiet.requests,
    quietWrites: quiet.writes,
    quietLeaseWrites: quiet.leaseWrites,
  };
  const byResource: Record<string, number> = {};
  for (const r of audit.poll()) {
    if (
      r.t < wall0 ||
      r.t > settledAt ||
      !side.users.includes(r.user) ||
      !["create", "update", "patch", "delete"].includes(r.verb)
    )
      continue;
    byResource[`${r.verb} ${r.resource}`] = (byResource[`${r.verb} ${r.resource}`] ?? 0) + 1;
  }
  return { result, diffs, writesByResource: byResource, load: loadavg() };
}

let kyverno: KyvernoRun | undefined;
let operator: Op | undefined;
let cleaning: Promise<void> | undefined;

/** Stops the peer's processes, removes its files (tokens, kubeconfigs), takes the test bed down. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await stopAllKyverno().catch(() => undefined);
    await operator?.stop().catch(() => undefined);
    await down().catch((e: unknown) => log(`down failed: ${String(e)}`));
    for (const f of fs.existsSync(WORK_DIR) ? fs.readdirSync(WORK_DIR) : []) {
      if (f !== "logs") fs.rmSync(path.join(WORK_DIR, f), { recursive: true, force: true });
    }
  })();
  return cleaning;
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    log(`${sig}: cleaning up…`);
    void cleanup().finally(() => process.exit(130));
  });
}
process.once("exit", () => {
  killAllKyvernoSync();
  if (operator?.proc.exitCode === null) operator.proc.kill("SIGKILL");
});

async function main(): Promise<void> {
  fs.mkdirSync(WORK_DIR, { recursive: true });
  const started = new Date().toISOString();
  const loadStart = loadavg();

  // Kyverno's binaries first (a long build the first time; cached afterwards), so that no build is
  // left running if the benchmark stops.
  const bins = await ensureKyverno();

  // ---- meshward, alone on a fresh bed
  let b = await bed();
  log(`test bed up (Kubernetes ${b.version}); starting meshward…`);
  await ensureServiceAccount(b.client, MESHWARD_NS, MESHWARD_SA, "cluster-admin");
  const mkc = await serviceAccountKubeconfig(
    b.client,
    b.kubeconfig,
    MESHWARD_NS,
    MESHWARD_SA,
    path.join(WORK_DIR, "meshward.kubeconfig"),
  );
  // Leader election off, as in `npm run bench`: on this loaded machine meshward lost its lease (renewal
  // too slow) and exited during a trial run. Its lease renewals are therefore not in its counts.
  const opArgs: string[] = [];
  buildOperator();
  const op = await startOperator(mkc, 4, opArgs);
  operator = op;
  const mSide: Side = {
    name: "meshward",
    users: [serviceAccountUser(MESHWARD_NS, MESHWARD_SA)],
    pids: () => [op.proc.pid as number],
  };
  let mr: Awaited<ReturnType<typeof measure>>;
  try {
    await canary(b.client, mSide);
    mr = await measure(b.client, b.audit, mSide, "peer-m", CREATE_TIMEOUT_MS);
  } finally {
    await op.stop();
  }

  // ---- Kyverno, on a fresh bed
  b = await bed();
  log(`test bed up (Kubernetes ${b.version}); starting Kyverno…`);
  kyverno = await startKyverno(b.client, b.kubeconfig, WORK_DIR, bins);
  await applyPolicy(b.client, kyverno, kyvernoPolicy());
  const k = kyverno;
  const kSide: Side = {
    name: "Kyverno",
    users: KYVERNO_USERS,
    pids: () => [k.admission.pid as number, k.background.pid as number],
  };
  await canary(b.client, kSide);
  const kr = await measure(b.client, b.audit, kSide, "peer-k", CREATE_TIMEOUT_MS);
  await kyverno.stop();
  await deleteKyvernoWebhooks(b.client);

  const table = peerTable(mr.result, kr.result, N);
  process.stdout.write(`\n${table}\n\n`);
  writeReport(args.out, {
    started,
    finished: new Date().toISOString(),
    command: `npm run bench:peer -- ${process.argv.slice(2).join(" ")}`.trim(),
    profiles: N,
    perNamespace: PER_NS,
    quietMinutes: QUIET_MIN,
    deletions: DELETIONS,
    edits: EDITS,
    kubernetesVersion: b.version,
    kyvernoVersion: k.bins.version,
    kyvernoCommands: k.commands,
    meshwardArgs: ["--concurrency", "4", ...opArgs],
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
    load: { start: loadStart, kyverno: kr.load, meshward: mr.load, end: loadavg() },
    table,
    kyvernoTimeoutMinutes: CREATE_TIMEOUT_MS / 60_000,
    raw: { meshward: mr, kyverno: kr },
  });
  log(`wrote ${path.relative(ROOT, args.out)}`);
}

main()
  .catch((e: unknown) => {
    process.stderr.write(`bench:peer failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  })
  // exit explicitly: a Kyverno build still waited for (after a failure) would keep the process alive
  .finally(() => cleanup().finally(() => process.exit()));
