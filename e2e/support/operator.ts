// Runs the real operator as a separate process for e2e tests, and reads its metrics.
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { kubeconfigPath, waitFor } from "./kube.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const LOG_DIR = path.join(ROOT, ".cache/e2e");

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface OperatorProcess {
  name: string;
  port: number;
  logFile: string;
  proc: ChildProcess;
  exited: Promise<number | null>;
  metrics(): Promise<Map<string, number>>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** Mutating API requests made by this process so far. */
  writes(): Promise<number>;
  stop(): Promise<number | null>;
  kill(): Promise<void>;
  log(): string;
}

let seq = 0;

export interface StartOptions {
  name?: string;
  /** Extra flags; they come last, so they win over the defaults below. */
  args?: string[];
  /** Wait until /readyz answers 200 (default true). */
  ready?: boolean;
  /** The operator's credentials; default: the test bed's admin kubeconfig. */
  kubeconfig?: string;
  /** Run this entry point instead of operator/main.ts (e.g. the compiled dist/operator/main.js). */
  entry?: string;
}

export async function startOperator(opts: StartOptions = {}): Promise<OperatorProcess> {
  fs.mkdirSync(LOG_DIR, { recursive: true });
  const kubeconfig = opts.kubeconfig ?? kubeconfigPath();
  const name = opts.name ?? `operator-${++seq}`;
  const port = await freePort();
  const logFile = path.join(LOG_DIR, `${name}-${Date.now()}.log`);
  const out = fs.openSync(logFile, "w");
  const proc = spawn(
    process.execPath,
    [
      opts.entry ?? path.join(ROOT, "operator/main.ts"),
      "--kubeconfig",
      kubeconfig,
      "--metrics-port",
      String(port),
      "--metrics-host",
      "127.0.0.1",
      "--log-level",
      "debug",
      "--leader-election",
      "false",
      "--identity",
      name,
      ...(opts.args ?? []),
    ],
    { stdio: ["ignore", out, out], env: { ...process.env, KUBECONFIG: kubeconfig } },
  );
  fs.closeSync(out);
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  const url = (p: string) => `http://127.0.0.1:${port}${p}`;
  const metrics = async () => {
    const text = await (await fetch(url("/metrics"))).text();
    const m = new Map<string, number>();
    for (const line of text.split("\n")) {
      if (!line || line.startsWith("#")) continue;
      const i = line.lastIndexOf(" ");
      m.set(line.slice(0, i), Number(line.slice(i + 1)));
    }
    return m;
  };
  const op: OperatorProcess = {
    name,
    port,
    logFile,
    proc,
    exited,
    metrics,
    async metric(metric, labels) {
      const all = await metrics();
      let sum = 0;
      for (const [k, v] of all) {
        if (!(k === metric || k.startsWith(`${metric}{`))) continue;
        if (labels && !Object.entries(labels).every(([lk, lv]) => k.includes(`${lk}="${lv}"`))) continue;
        sum += v;
      }
      return sum;
    },
    async writes() {
      let n = 0;
      for (const verb of ["apply", "create", "update", "patch", "delete"])
        n += await op.metric("meshward_api_requests_total", { verb });
      return n;
    },
    async stop() {
      if (proc.exitCode === null) proc.kill("SIGTERM");
      return exited;
    },
    async kill() {
      if (proc.exitCode === null) proc.kill("SIGKILL");
      await exited;
    },
    log: () => fs.readFileSync(logFile, "utf8"),
  };
  if (opts.ready !== false) {
    await waitFor(
      `${name} to be ready (log: ${logFile})`,
      async () => {
        if (proc.exitCode !== null) throw new Error(`exited with ${proc.exitCode}: ${op.log().slice(-2000)}`);
        const r = await fetch(url("/readyz")).catch(() => undefined);
        return r?.status === 200;
      },
      60_000,
      100,
    );
  }
  return op;
}
