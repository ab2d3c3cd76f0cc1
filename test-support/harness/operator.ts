// The operator as a separate process, for e2e, bench and demo: started on a free metrics port with
// its output in a log file, waited for (/readyz), its Prometheus metrics read, stopped. Every process
// started here is killed when this process exits, whatever the way out (a failed test, a bench
// stopped with Ctrl-C), so none is left running. Metrics are plain HTTP with the probes on the same
// port (--metrics-secure false --health-port 0) unless the caller's flags say otherwise.
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { freePort } from "./ports.ts";
import { sleep } from "./wait.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");

export interface StartOperatorOptions {
  kubeconfig: string;
  /** Names the log file; also the leader-election identity with `identity: true`. */
  name: string;
  /** The log file is `<logDir>/<name>-<time>.log` unless `logFile` is given. */
  logDir?: string;
  logFile?: string;
  /** Pass `--identity <name>` (tests that run several replicas tell them apart by it). */
  identity?: boolean;
  /** --log-level; the operator's default when not given. */
  logLevel?: "debug" | "info" | "warn" | "error";
  /** Extra flags; they come last, so they win over the defaults (e.g. --leader-election true). */
  args?: string[];
  /** Wait until /readyz answers 200 (default true): on the health port when the flags give one. */
  ready?: boolean;
  readyTimeoutMs?: number;
  /** Run this entry point instead of operator/main.ts (e.g. the compiled dist/operator/main.js). */
  entry?: string;
  /** Flags for node itself, before the entry point (e.g. V8 heap flags, --cpu-prof). */
  nodeArgs?: string[];
  /** More environment variables for the process (e.g. MALLOC_ARENA_MAX). */
  env?: Record<string, string>;
}

export interface OperatorProcess {
  name: string;
  /** The metrics port on 127.0.0.1. */
  port: number;
  /** The port of /healthz and /readyz: the metrics port unless the flags give --health-port. */
  healthPort: number;
  logFile: string;
  proc: ChildProcess;
  exited: Promise<number | null>;
  metrics(): Promise<Map<string, number>>;
  /** The sum of every series of `name` whose labels include `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** Mutating API requests made by this process so far. */
  writes(): Promise<number>;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
  kill(): Promise<void>;
  log(): string;
}

/** Prometheus text format → series (`name{labels}` as written) → value. */
export function parseMetrics(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    if (i <= 0) continue;
    m.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return m;
}

/** Sums the series of metric `name` (exactly that name) whose labels include every one of `labels`. */
export function sumMetric(
  series: Map<string, number>,
  name: string,
  labels?: Record<string, string>,
): number {
  let sum = 0;
  for (const [k, v] of series) {
    if (!(k === name || k.startsWith(`${name}{`))) continue;
    if (labels && !Object.entries(labels).every(([lk, lv]) => k.includes(`${lk}="${lv}"`))) continue;
    sum += v;
  }
  return sum;
}

const WRITE_VERBS = ["apply", "create", "update", "patch", "delete"];

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** SIGKILL to every operator process this module started that still runs (synchronous: usable on exit). */
export function killOperators(): void {
  for (const proc of running) if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
  running.clear();
}

function tail(file: string, chars = 2000): string {
  try {
    return fs.readFileSync(file, "utf8").slice(-chars);
  } catch {
    return "(no log)";
  }
}

/** The last value of flag `--name` in `args` (`--name value` or `--name=value`), as parseArgs takes it. */
export function lastFlag(args: string[], name: string): string | undefined {
  let value: string | undefined;
  for (const [i, a] of args.entries()) {
    if (a === `--${name}`) value = args[i + 1];
    else if (a.startsWith(`--${name}=`)) value = a.slice(name.length + 3);
  }
  return value;
}

export async function startOperator(opts: StartOperatorOptions): Promise<OperatorProcess> {
  if (!exitHookInstalled) {
    process.once("exit", killOperators);
    exitHookInstalled = true;
  }
  // A port the caller chose for the operator (--health-port) is not free yet but is taken.
  const chosenHealth = Number(lastFlag(opts.args ?? [], "health-port") ?? 0);
  const port = await freePort(new Set(chosenHealth > 0 ? [chosenHealth] : []));
  const healthPort = chosenHealth > 0 ? chosenHealth : port;
  const logFile =
    opts.logFile ?? path.join(opts.logDir ?? path.join(ROOT, ".cache"), `${opts.name}-${Date.now()}.log`);
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const out = fs.openSync(logFile, "w");
  const proc = spawn(
    process.execPath,
    [
      ...(opts.nodeArgs ?? []),
      opts.entry ?? path.join(ROOT, "operator/main.ts"),
      "--kubeconfig",
      opts.kubeconfig,
      "--metrics-port",
      String(port),
      "--metrics-host",
      "127.0.0.1",
      "--leader-election",
      "false",
      "--metrics-secure",
      "false",
      "--health-port",
      "0",
      ...(opts.logLevel ? ["--log-level", opts.logLevel] : []),
      ...(opts.identity ? ["--identity", opts.name] : []),
      ...(opts.args ?? []),
    ],
    { stdio: ["ignore", out, out], env: { ...process.env, ...opts.env, KUBECONFIG: opts.kubeconfig } },
  );
  fs.closeSync(out);
  running.add(proc);
  const exited = new Promise<number | null>((resolve) =>
    proc.once("exit", (code) => {
      running.delete(proc);
      resolve(code);
    }),
  );
  const url = (p: string, on = port) => `http://127.0.0.1:${on}${p}`;
  const metrics = async () => parseMetrics(await (await fetch(url("/metrics"))).text());
  const op: OperatorProcess = {
    name: opts.name,
    port,
    healthPort,
    logFile,
    proc,
    exited,
    metrics,
    metric: async (name, labels) => sumMetric(await metrics(), name, labels),
    async writes() {
      const all = await metrics();
      return WRITE_VERBS.reduce((n, verb) => n + sumMetric(all, "meshward_api_requests_total", { verb }), 0);
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      return exited;
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await exited;
    },
    log: () => fs.readFileSync(logFile, "utf8"),
  };
  if (opts.ready === false) return op;
  const timeoutMs = opts.readyTimeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await fetch(url("/readyz", healthPort)).catch(() => undefined);
    if (r?.status === 200) return op;
    if (proc.exitCode !== null || proc.signalCode !== null)
      throw new Error(
        `operator ${opts.name} exited (${proc.exitCode ?? proc.signalCode}) before it was ready; log ${logFile}:\n${tail(logFile)}`,
      );
    if (Date.now() > deadline) {
      await op.kill();
      throw new Error(`operator ${opts.name} was not ready after ${timeoutMs / 1000} s; log ${logFile}`);
    }
    await sleep(50);
  }
}
