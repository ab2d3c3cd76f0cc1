// `npm run bench:memory`: where the operator's memory and idle CPU go at N profiles, and what V8
// flags change. For each variant (a set of node flags) it creates N profiles, starts the compiled
// operator (dist/, as the image runs it), waits until every profile is Ready, lets it idle, and
// records the time, RSS, V8 heap (used, total, by space), idle CPU; with --profile it also takes a
// heap snapshot and CPU profiles of the creation and of the idle window and sums them. Writes its
// section of docs/benchmarks.md.
//
//   npm run bench:memory -- [--profiles 1000] [--per-namespace 10] [--idle-seconds 30]
//                           ["--variants=default|--max-semi-space-size=1"] [--profile] [--profiles-dir DIR]
// (--variants takes `=`: its value starts with a dash.)
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { KubeClient } from "../operator/runtime/client.ts";
import { loadKubeConfig } from "../operator/runtime/kubeconfig.ts";
import { commandOptions, fleetOptions, KEEP_TESTBED } from "./args.ts";
import {
  buildOperator,
  cleanup,
  createFleet,
  deleteNamespaces,
  log,
  formatRssParts,
  imageSettings,
  OPERATOR_ENTRY,
  readProc,
  readRssParts,
  settle,
  watchReady,
} from "./lib.ts";
import { cpuByArea, type CpuProfile, type HeapSnapshot, summarizeCpu, summarizeHeap } from "./profiles.ts";
import { writeSection } from "./section.ts";
import { startOperator } from "../test-support/harness/operator.ts";
import { runCommand, Teardown } from "../test-support/harness/teardown.ts";
import { useTestbed } from "../test-support/harness/testbed.ts";
import { sleep } from "../test-support/harness/wait.ts";
import { installUpstreamCrds } from "../e2e/controlplane/upstream.ts";

const ROOT = path.resolve(import.meta.dirname, "..");

/** The image's node flags and NAME=value environment, as one variant. */
function imageVariant(): string {
  const { nodeFlags, env } = imageSettings();
  return [...nodeFlags, ...Object.entries(env).map(([name, value]) => `${name}=${value}`)].join(" ");
}
const args = commandOptions(
  "npm run bench:memory",
  "The operator's RSS, V8 heap and idle CPU at N profiles under V8 flag variants, with heap and CPU profiles.",
  {
    ...fleetOptions(1000, "profiles"),
    "idle-seconds": { type: "number", default: 30, help: "idle window measured after all are Ready" },
    "ambient-every": {
      type: "number",
      default: 0,
      help: "every Nth namespace in Istio's ambient mode (2: half of them; 0: none); installs the Gateway API CRDs",
    },
    "no-settle": {
      type: "boolean",
      help: "start the idle window at the last Ready, as `npm run bench` does, not once the queue has settled",
    },
    variants: {
      type: "string",
      // No flags, then the image's node flags and environment (the Dockerfile; ADR 10).
      default: `default|${imageVariant()}`,
      help: 'variants separated by "|": node flags and NAME=value environment variables; "default" is none',
    },
    profile: { type: "boolean", help: "heap snapshot and CPU profiles (creation, idle) of every variant" },
    "profiles-dir": {
      type: "string",
      default: "",
      help: "keep the heap snapshots and CPU profiles in this directory (default: a temporary one, removed)",
    },
    out: { type: "string", default: path.join(ROOT, "docs/benchmarks.md"), help: "markdown file" },
    "keep-testbed": KEEP_TESTBED,
  },
);
const { profiles: N, "per-namespace": PER_NS, "idle-seconds": IDLE, "ambient-every": AMBIENT } = args;
const VARIANTS = args.variants.split("|").map((v) => v.trim());
const mb = (bytes: number) => +(bytes / 2 ** 20).toFixed(1);

interface Result {
  flags: string;
  readySeconds: number;
  rssMb: number;
  peakRssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  oldSpaceMb: number;
  newSpaceMb: number;
  codeSpaceMb: number;
  externalMb: number;
  idleCpuPercent: number;
  /** Seconds from the last Ready to a settled queue (empty, no reconcile for a second). */
  settleSeconds: number;
  /** Reconciles in the idle window. */
  idleReconciles: number;
  /** Where the idle RSS is, by mapping (/proc/PID/smaps). */
  rssParts: string;
}

function peakRss(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

const teardown = new Teardown(log);

async function main(): Promise<void> {
  const bed = await useTestbed(teardown, { up: { audit: false }, keep: args["keep-testbed"], log });
  // The ambient waypoints are Gateways: without the Gateway API, those profiles are not Ready.
  if (AMBIENT > 0) await installUpstreamCrds(bed.kubeconfig, { gatewayApi: true });
  const client = new KubeClient(loadKubeConfig(bed.kubeconfig));
  teardown.add("operators and namespaces", () => cleanup(bed.stopsAtEnd() ? undefined : client));
  buildOperator();
  const keptDir = args["profiles-dir"];
  if (keptDir) fs.mkdirSync(keptDir, { recursive: true });
  const profRoot = keptDir ? path.resolve(keptDir) : fs.mkdtempSync(path.join(os.tmpdir(), "meshward-prof-"));
  if (!keptDir) teardown.add("profiles", () => fs.rmSync(profRoot, { recursive: true, force: true }));
  const results: Result[] = [];
  const notes: string[] = [];
  for (const variant of VARIANTS) {
    // Words of a variant: node flags (--…), or environment variables (NAME=value).
    const words = variant === "default" ? [] : variant.split(/\s+/);
    const flags = words.filter((w) => w.startsWith("--"));
    const env = Object.fromEntries(
      words
        .filter((w) => !w.startsWith("--"))
        .map((w) => [w.slice(0, w.indexOf("=")), w.slice(w.indexOf("=") + 1)]),
    );
    const profiling = args.profile;
    const profDir = fs.mkdtempSync(path.join(profRoot, "variant-"));
    const fleet = await createFleet(client, `bm${Date.now().toString(36)}`, N, PER_NS, AMBIENT);
    log(`[${variant}] ${N} profiles created; starting the operator…`);
    const watch = await watchReady(client, fleet.namespaces);
    const t0 = performance.now();
    const op = await startOperator({
      kubeconfig: bed.kubeconfig,
      name: "bench-memory-operator",
      logDir: path.join(ROOT, ".cache"),
      logLevel: "warn",
      entry: OPERATOR_ENTRY,
      env,
      nodeArgs: [
        ...flags,
        ...(profiling ? ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${profDir}`, "--cpu-prof"] : []),
      ],
      args: ["--concurrency", "4"],
      readyTimeoutMs: 300_000,
    });
    const pid = op.proc.pid as number;
    await watch.wait(N).finally(() => watch.stop());
    const readyAt = performance.now();
    const readySeconds = +((readyAt - t0) / 1000).toFixed(1);
    const reconciles = () => op.metric("controller_runtime_reconcile_total");
    const measure = async () => {
      const from = { at: performance.now() - t0, proc: readProc(pid), reconciles: await reconciles() };
      await sleep(IDLE * 1000);
      return {
        from,
        to: { at: performance.now() - t0, proc: readProc(pid), reconciles: await reconciles() },
      };
    };
    // Without settling first, the window overlaps the settling: both are measured from the last Ready.
    const window = args["no-settle"] ? measure() : undefined;
    await settle(op);
    const settleSeconds = +((performance.now() - readyAt) / 1000).toFixed(1);
    const { from, to } = await (window ?? measure());
    const [a, b, idleFrom, idleTo] = [from.proc, to.proc, from.at, to.at];
    const m = await op.metrics();
    const space = (s: string) => m.get(`nodejs_heap_space_size_used_bytes{space="${s}"}`) ?? 0;
    const r: Result = {
      flags: variant,
      readySeconds,
      rssMb: +b.rssMb.toFixed(1),
      peakRssMb: +peakRss(pid).toFixed(1),
      heapUsedMb: mb(m.get("nodejs_heap_size_used_bytes") ?? 0),
      heapTotalMb: mb(m.get("nodejs_heap_size_total_bytes") ?? 0),
      oldSpaceMb: mb(space("old")),
      newSpaceMb: mb(space("new")),
      codeSpaceMb: mb(space("code")),
      externalMb: mb(m.get("nodejs_external_memory_bytes") ?? 0),
      idleCpuPercent: +(((b.cpuTicks - a.cpuTicks) / 100 / IDLE) * 100).toFixed(2),
      settleSeconds,
      idleReconciles: to.reconciles - from.reconciles,
      rssParts: formatRssParts(readRssParts(pid)),
    };
    results.push(r);
    log(`[${variant}] ${JSON.stringify(r)}`);
    if (profiling) notes.push(`### \`${variant}\``, "", ...(await profileNotes(op.proc, profDir, pid)));
    await op.stop();
    if (profiling)
      notes.push(
        ...cpuNotes(profDir, "start → all Ready", 0, readySeconds * 1000),
        // Ends a second early: the profile starts a little after the spawn, and the heap snapshot follows.
        ...cpuNotes(profDir, "the idle window", idleFrom, idleTo - 1000),
      );
    await deleteNamespaces(client, fleet.namespaces);
  }
  const md = render(results, notes, (await client.get<{ gitVersion: string }>("/version")).gitVersion);
  writeSection(args.out, "memory", md);
  log(`wrote the memory section of ${args.out}`);
}

async function profileNotes(
  proc: { kill(signal: NodeJS.Signals): boolean },
  dir: string,
  pid: number,
): Promise<string[]> {
  proc.kill("SIGUSR2");
  // Node writes Heap.<date>.<time>.<pid>.<thread>.<seq>.heapsnapshot into --diagnostic-dir; it is
  // complete when it parses.
  let snap: HeapSnapshot | undefined;
  for (let waited = 0; waited < 180_000 && !snap; waited += 2000) {
    await sleep(2000);
    const file = fs.readdirSync(dir).find((f) => f.includes(`.${pid}.`) && f.endsWith(".heapsnapshot"));
    if (!file) continue;
    // V8 strings stop at about 512 MB: a bigger snapshot cannot be read with one JSON.parse.
    const bytes = fs.statSync(path.join(dir, file)).size;
    if (bytes > 450 * 2 ** 20) {
      await sleep(5000);
      if (fs.statSync(path.join(dir, file)).size === bytes)
        return [
          `Heap snapshot: ${mb(bytes)} MB written, too large to read here (summarised up to 450 MB).`,
          "",
        ];
      continue;
    }
    try {
      snap = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")) as HeapSnapshot;
    } catch (e) {
      if (!(e instanceof SyntaxError)) throw e;
    }
  }
  if (!snap) return ["Heap snapshot: not written within 180 s."];
  const { totalBytes, rows } = summarizeHeap(snap, 20);
  return [
    `Heap snapshot of the idle operator (after V8's full GC): ${mb(totalBytes)} MB live, by what it is (self sizes):`,
    "",
    "| What | Count | MB |",
    "| --- | --- | --- |",
    ...rows.map((r) => `| ${r.what.replaceAll("|", "\\|")} | ${r.count} | ${mb(r.bytes)} |`),
    "",
  ];
}

function cpuNotes(dir: string, what: string, fromMs: number, toMs: number): string[] {
  const file = fs.readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
  if (!file) return ["CPU profile: not written."];
  const prof = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")) as CpuProfile;
  // The profile starts with the process (within tens of milliseconds of the spawn).
  const { windowMs, busyMs, rows } = summarizeCpu(prof, fromMs * 1000, toMs * 1000, 15);
  return [
    `CPU profile of ${what} (${(windowMs / 1000).toFixed(0)} s): ${busyMs.toFixed(0)} ms of samples on the main thread (${((busyMs / windowMs) * 100).toFixed(2)} % of a core; V8's sampler sees only the main thread, so /proc's figure above, which counts every thread, is the reference). Self time by function:`,
    "",
    "| Function | ms |",
    "| --- | --- |",
    ...rows.map((r) => `| ${r.what.replaceAll("|", "\\|")} | ${r.ms.toFixed(1)} |`),
    "",
    "The same samples by area of the operator's work (each sample counted once, in the most specific area on its stack; bench/profiles.ts):",
    "",
    "| Area | ms |",
    "| --- | --- |",
    ...cpuByArea(prof, fromMs * 1000, toMs * 1000).map((r) => `| ${r.what} | ${r.ms.toFixed(1)} |`),
    "",
  ];
}

function render(results: Result[], notes: string[], version: string): string {
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, Kubernetes ${version}`;
  return [
    "## Where the memory goes (`npm run bench:memory`)",
    "",
    `- Date: ${new Date().toISOString()}; machine: ${machine}; load at the end ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(", ")}.`,
    `- Command: \`npm run bench:memory -- ${process.argv.slice(2).join(" ")}\`: per variant, ${N} new profiles (${PER_NS} per namespace), the compiled operator (dist/, as in the image) started, all Ready, ${args["no-settle"] ? `then ${IDLE} s idle from the last Ready (settling included)` : `settled, then ${IDLE} s idle`}.${AMBIENT > 0 ? ` Every ${AMBIENT === 2 ? "second" : `${AMBIENT}th`} namespace ambient.` : ""}`,
    "",
    "| Node flags | Start → all Ready (s) | RSS idle (MB) | … by mapping (MB) | Peak RSS (MB) | Heap used / total (MB) | Old / new / code space used (MB) | External (MB) | Idle CPU (%) | Ready → settled (s) | Reconciles idle |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...results.map(
      (r) =>
        `| \`${r.flags}\` | ${r.readySeconds} | ${r.rssMb} | ${r.rssParts} | ${r.peakRssMb} | ${r.heapUsedMb} / ${r.heapTotalMb} | ${r.oldSpaceMb} / ${r.newSpaceMb} / ${r.codeSpaceMb} | ${r.externalMb} | ${r.idleCpuPercent} | ${r.settleSeconds} | ${r.idleReconciles} |`,
    ),
    "",
    ...notes,
    "```json",
    JSON.stringify(results, null, 2),
    "```",
  ].join("\n");
}

void runCommand("bench:memory", main, teardown);
