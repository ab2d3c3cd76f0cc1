// The test bed's processes: start one detached with its log file, wait until it is ready (or say
// why it is not, with the end of its log), check that a recorded PID is still that binary, stop it.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as path from "node:path";
import { sleep } from "../../test-support/harness/wait.ts";
import { TestbedError } from "./build.ts";

export type Running = {
  name: string;
  pid: number;
  logFile: string;
  exit?: { code: number | null; signal: string | null };
};

function tailFile(file: string, lines = 15): string {
  try {
    const all = fs.readFileSync(file, "utf8").trimEnd().split("\n");
    return all
      .slice(-lines)
      .map((l) => `  | ${l.length > 400 ? `${l.slice(0, 400)}...` : l}`)
      .join("\n");
  } catch {
    return "  | (log file missing)";
  }
}

/** Alive and not a zombie; when `bin` is given (Linux), its argv[0] must be that binary (guards against PID reuse). */
export function processAlive(pid: number | undefined, bin?: string): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  if (!fs.existsSync("/proc/self/stat")) return true;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) return false;
    if (bin) return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0] === bin;
    return true;
  } catch {
    return false;
  }
}

/** Starts `bin` detached (it outlives this process), its output in `<logDir>/<name>.log`. */
export function startProcess(
  name: string,
  bin: string,
  args: string[],
  logDir: string,
  cwd: string,
): Running {
  const logFile = path.join(logDir, `${name}.log`);
  const fd = fs.openSync(logFile, "w");
  fs.writeSync(fd, `# ${new Date().toISOString()} ${bin} ${args.join(" ")}\n`);
  const child = spawn(bin, args, { detached: true, stdio: ["ignore", fd, fd], cwd });
  fs.closeSync(fd);
  const r: Running = { name, pid: child.pid ?? 0, logFile };
  child.on("exit", (code, signal) => (r.exit = { code, signal }));
  child.on("error", (e) => (r.exit = { code: -1, signal: e.message }));
  child.unref();
  if (!r.pid) throw new TestbedError(`${name}: could not start ${bin}`);
  return r;
}

function startupFailure(p: Running, what: string, port?: number): TestbedError {
  const logText = tailFile(p.logFile, 15);
  const inUse =
    /address already in use/i.test(logText) && port ? ` (port ${port} on 127.0.0.1 is already in use)` : "";
  return new TestbedError(
    `${p.name} ${what}${inUse}; last lines of ${path.relative(process.cwd(), p.logFile) || p.logFile}:\n${logText}`,
  );
}

/** Waits until `check` holds; fails at once, with the end of its log, when the process exits. */
export async function waitReady(
  p: Running,
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
  port?: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (p.exit) {
      throw startupFailure(
        p,
        `exited during startup (${p.exit.signal ? `signal ${p.exit.signal}` : `exit code ${p.exit.code}`})`,
        port,
      );
    }
    if (!processAlive(p.pid)) throw startupFailure(p, "exited during startup", port);
    if (await check()) return;
    if (Date.now() > deadline) throw startupFailure(p, `was not ${what} after ${timeoutMs / 1000}s`, port);
    await sleep(150);
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; only when `pid` is still `bin`. */
export async function stopPid(
  pid: number | undefined,
  bin: string | undefined,
  graceMs = 10_000,
): Promise<void> {
  if (!pid || !processAlive(pid, bin)) return;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!processAlive(pid)) return;
    await sleep(100);
  }
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return;
  }
  const killDeadline = Date.now() + 5000;
  while (Date.now() < killDeadline && processAlive(pid)) await sleep(100);
}

type HttpResult = { status: number; body: string };
export type ProbeOptions = { ca?: string; token?: string; insecure?: boolean };

function httpGet(url: string, opts: ProbeOptions): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === "https:" ? https : http;
    const req = mod.get(
      u,
      {
        ca: opts.ca,
        rejectUnauthorized: !opts.insecure,
        headers: opts.token ? { Authorization: `Bearer ${opts.token}` } : {},
        timeout: 5000,
        agent: false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}

/** A readiness probe: the answer, or undefined when there is none (yet). */
export async function probe(url: string, opts: ProbeOptions = {}): Promise<HttpResult | undefined> {
  try {
    return await httpGet(url, opts);
  } catch {
    return undefined;
  }
}
