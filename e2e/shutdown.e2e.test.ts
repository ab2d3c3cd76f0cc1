// SIGTERM and SIGINT stop the operator, and every process started with it, within the documented
// deadline (docs/install.md, "Stopping"), however it was started and whatever it is doing:
//   launchers: `node operator/main.ts`, the image's entry point (node + V8 flags + the compiled
//              dist/operator/main.js), `npm start`, `npx node operator/main.ts`;
//   states:    API server refusing connections, API server hanging (a local TCP server that accepts
//              and never answers), Lease held by another replica, reconciles in flight whose
//              requests hang (the real API server behind a proxy that stops passing bytes), and
//              the same as the leader, whose Lease cannot be released: there the deadline ends it.
// SIGTERM goes to the launcher's process alone (`kill <pid>`, a supervisor's main PID); SIGINT to its
// process group, as Ctrl-C in a terminal does. Waits poll with a generous cap; nothing here times
// how fast the process stops.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resourcePath } from "../operator/runtime/client.ts";
import { LEASES } from "../operator/reconcile/kinds.ts";
import { shutdownDeadlineMs } from "../operator/main.ts";
import { parseMetrics, sumMetric } from "../test-support/harness/operator.ts";
import { freePort } from "../test-support/harness/ports.ts";
import { createNamespace, deleteNamespace, kube, kubeconfigPath, waitFor } from "./support/kube.ts";
import { applyProfile } from "./support/profiles.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const WORK = path.join(ROOT, ".cache/e2e/shutdown");
// Inside the repository, so the compiled code finds node_modules/ and package.json as in the image.
const DIST = path.join(WORK, "dist");
const SHUTDOWN_TIMEOUT_SECONDS = 2;
const DEADLINE_MS = shutdownDeadlineMs(SHUTDOWN_TIMEOUT_SECONDS);
// The cap of the polling wait: the deadline plus room for a machine shared with other work.
const GONE_CAP_MS = DEADLINE_MS + 15_000;

/** The image's ENTRYPOINT node flags, read from the Dockerfile. */
function imageNodeFlags(): string[] {
  const m = /^ENTRYPOINT (\[.*\])$/m.exec(fs.readFileSync(path.join(ROOT, "Dockerfile"), "utf8"));
  const argv = JSON.parse(m?.[1] ?? "[]") as string[];
  expect(argv.at(-1)).toBe("dist/operator/main.js");
  return argv.slice(1, -1);
}

/** The environment of a process not started by npm (a container, a shell, systemd). */
function withoutNpm(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
}

interface Launcher {
  name: string;
  argv: (flags: string[]) => [string, string[]];
  env: () => NodeJS.ProcessEnv;
}

const LAUNCHERS: Launcher[] = [
  {
    name: "node operator/main.ts",
    argv: (f) => [process.execPath, [path.join(ROOT, "operator/main.ts"), ...f]],
    env: withoutNpm,
  },
  {
    name: "the image's entry point",
    argv: (f) => [process.execPath, [...imageNodeFlags(), path.join(DIST, "operator/main.js"), ...f]],
    env: () => ({ ...withoutNpm(), NODE_ENV: "production", MALLOC_ARENA_MAX: "2" }),
  },
  { name: "npm start", argv: (f) => ["npm", ["start", "--", ...f]], env: () => process.env },
  {
    name: "npx node operator/main.ts",
    argv: (f) => ["npx", ["node", "operator/main.ts", ...f]],
    env: () => process.env,
  },
];

/** pid → parent pid of every process now (Linux /proc). */
function parents(): Map<number, number> {
  const m = new Map<number, number>();
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, "utf8");
      m.set(Number(e), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone meanwhile
    }
  }
  return m;
}

/** `pid` and all its descendants. */
function tree(pid: number): number[] {
  const all = parents();
  const out = [pid];
  for (let i = 0; i < out.length; i++)
    for (const [p, pp] of all) if (pp === out[i] && !out.includes(p)) out.push(p);
  return out;
}

/** Running (a zombie is not: it has exited and waits to be reaped). */
function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

interface Run {
  proc: ChildProcess;
  logFile: string;
  port: number;
  log(): string;
  lines(): { level: string; msg: string; signal?: string; reason?: string }[];
  metric(name: string): Promise<number>;
}

const started: ChildProcess[] = [];
let seq = 0;

async function launch(l: Launcher, kubeconfig: string, extra: string[]): Promise<Run> {
  const port = await freePort();
  const logFile = path.join(WORK, `run-${++seq}-${Date.now()}.log`);
  const out = fs.openSync(logFile, "w");
  const [cmd, args] = l.argv([
    "--kubeconfig",
    kubeconfig,
    "--metrics-port",
    String(port),
    "--metrics-host",
    "127.0.0.1",
    "--metrics-secure",
    "false",
    "--health-port",
    "0",
    "--leader-election",
    "false",
    "--shutdown-timeout-seconds",
    String(SHUTDOWN_TIMEOUT_SECONDS),
    "--log-level",
    "debug",
    "--identity",
    `shutdown-${seq}`,
    ...extra,
  ]);
  // detached: a process group of its own, as a shell gives a job (SIGINT goes to the group).
  const proc = spawn(cmd, args, { cwd: ROOT, env: l.env(), stdio: ["ignore", out, out], detached: true });
  fs.closeSync(out);
  started.push(proc);
  const log = () => fs.readFileSync(logFile, "utf8");
  return {
    proc,
    logFile,
    port,
    log,
    lines: () =>
      log()
        .split("\n")
        .filter((s) => s.startsWith("{"))
        .map((s) => JSON.parse(s) as { level: string; msg: string }),
    metric: async (name) =>
      sumMetric(parseMetrics(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()), name),
  };
}

/** Sends the signal as described at the top, then waits until every process of the run is gone. */
async function stopAndExpectGone(
  run: Run,
  signal: "SIGTERM" | "SIGINT",
  end: "stopped" | "deadline" = "stopped",
): Promise<void> {
  const pid = run.proc.pid as number;
  const procs = tree(pid);
  // The launcher and, under it, the operator (npm and npx: a shell and node below them).
  expect(procs.length, `processes of the run: ${procs.join(", ")}`).toBeGreaterThanOrEqual(1);
  expect(
    procs.some((p) => fs.readFileSync(`/proc/${p}/cmdline`, "utf8").includes("main.")),
    "an operator process is among them",
  ).toBe(true);
  expect(running(pid), `the launcher still runs; log ${run.logFile}:\n${run.log().slice(-2000)}`).toBe(true);
  if (signal === "SIGINT") process.kill(-pid, "SIGINT");
  else process.kill(pid, "SIGTERM");
  await waitFor(
    `every process of the run gone (${procs.join(", ")}); log ${run.logFile}`,
    async () => !procs.some(running),
    GONE_CAP_MS,
    50,
  );
  const lines = run.lines();
  const shuttingDown = lines.filter((l) => l.msg === "shutting down" && (l.signal ?? l.reason) !== undefined);
  expect(shuttingDown, `log ${run.logFile}`).toHaveLength(1);
  // Either the signal itself reached the operator or (npx on SIGTERM) it saw npm go.
  expect([signal, "the npm process that started the operator exited"]).toContain(
    shuttingDown[0]?.signal ?? shuttingDown[0]?.reason,
  );
  expect(lines.some((l) => l.msg === "second signal; exiting now")).toBe(false);
  if (end === "stopped") {
    // Stopped by its own shutdown, not by the deadline's exit.
    expect(lines.map((l) => l.msg)).toContain("stopped");
    expect(lines.filter((l) => l.level === "error" || l.level === "fatal")).toEqual([]);
  } else {
    expect(lines.map((l) => l.msg)).not.toContain("stopped");
    expect(lines.filter((l) => l.level === "error").map((l) => l.msg)).toEqual([
      "shutdown deadline passed; exiting",
    ]);
  }
}

/** A kubeconfig for `server` with a token, no CA check. */
function kubeconfigFor(server: string, name: string): string {
  const file = path.join(WORK, `${name}.kubeconfig`);
  fs.writeFileSync(
    file,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "c", cluster: { server, "insecure-skip-tls-verify": true } }],
      users: [{ name: "u", user: { token: "not-checked" } }],
      contexts: [{ name: "c", context: { cluster: "c", user: "u" } }],
      "current-context": "c",
    }),
  );
  return file;
}

/** A TCP server that accepts connections and never answers. */
async function hangingServer(): Promise<{ port: number; accepted: () => number; close: () => void }> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on("error", () => undefined);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => accepted,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/**
 * A TCP proxy to the real API server (TLS passes through untouched) that can freeze: from then on
 * no byte moves in either direction on any connection, old or new, so every request hangs.
 */
async function freezingProxy(target: URL): Promise<{ url: string; freeze: () => void; close: () => void }> {
  const pairs: [net.Socket, net.Socket | undefined][] = [];
  let frozen = false;
  const server = net.createServer((client) => {
    client.on("error", () => undefined);
    if (frozen) return void pairs.push([client, undefined]);
    const upstream = net.connect(Number(target.port), target.hostname);
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
    pairs.push([client, upstream]);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    freeze: () => {
      frozen = true;
      for (const [c, u] of pairs) {
        if (!u) continue;
        c.unpipe(u);
        u.unpipe(c);
        c.pause();
        u.pause();
      }
    },
    close: () => {
      for (const [c, u] of pairs) {
        c.destroy();
        u?.destroy();
      }
      server.close();
    },
  };
}

const client = kube();
const namespaces: string[] = [];
const cleanups: (() => void)[] = [];

beforeAll(() => {
  fs.rmSync(WORK, { recursive: true, force: true });
  fs.mkdirSync(WORK, { recursive: true });
  // The image's dist/, compiled as the Dockerfile does (tsc -p tsconfig.build.json).
  execFileSync(
    process.execPath,
    [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json", "--outDir", DIST],
    { cwd: ROOT, stdio: "pipe" },
  );
}, 300_000);

afterAll(async () => {
  // A run that failed may have left processes: SIGKILL to each process group started here.
  for (const p of started)
    try {
      if (p.pid) process.kill(-p.pid, "SIGKILL");
    } catch {
      // already gone
    }
  for (const c of cleanups) c();
  for (const ns of namespaces) await deleteNamespace(client, ns);
});

const SIGNALS = ["SIGTERM", "SIGINT"] as const;
const BUSY_PROFILES = 30;

/**
 * A namespace with BUSY_PROFILES profiles, and a kubeconfig (the test bed's admin) that reaches the
 * API server through a freezing proxy.
 */
async function busyNamespace(): Promise<{
  ns: string;
  kc: string;
  proxy: Awaited<ReturnType<typeof freezingProxy>>;
}> {
  const ns = await createNamespace(client, "shutdown-busy");
  namespaces.push(ns);
  await Promise.all(
    Array.from({ length: BUSY_PROFILES }, (_, i) =>
      applyProfile(client, ns, `svc-${i}`, { selector: { app: `svc-${i}` } }),
    ),
  );
  const admin = parse(fs.readFileSync(kubeconfigPath(), "utf8")) as {
    clusters: { cluster: { server: string } }[];
  };
  const proxy = await freezingProxy(new URL(admin.clusters[0]?.cluster.server ?? ""));
  cleanups.push(proxy.close);
  for (const c of admin.clusters) c.cluster.server = proxy.url;
  const kc = path.join(WORK, `${ns}.kubeconfig`);
  fs.writeFileSync(kc, stringify(admin));
  return { ns, kc, proxy };
}

describe.each(LAUNCHERS)("started as $name", (launcher) => {
  it.each(SIGNALS)("API server refusing connections: %s stops it", async (signal) => {
    const closed = await freePort();
    const run = await launch(launcher, kubeconfigFor(`https://127.0.0.1:${closed}`, "refusing"), []);
    await waitFor("a refused list in the log", async () => run.log().includes("ECONNREFUSED"), 60_000);
    await stopAndExpectGone(run, signal);
  });

  it.each(SIGNALS)("API server hanging (accepts, never answers): %s stops it", async (signal) => {
    const hang = await hangingServer();
    cleanups.push(hang.close);
    const run = await launch(launcher, kubeconfigFor(`https://127.0.0.1:${hang.port}`, "hanging"), []);
    await waitFor(
      "the operator connected",
      async () => hang.accepted() > 0 && run.log().includes('"starting"'),
      60_000,
    );
    await stopAndExpectGone(run, signal);
    hang.close();
  });

  it.each(SIGNALS)("Lease held by another replica: %s stops the waiting one", async (signal) => {
    const ns = await createNamespace(client, "shutdown-lease");
    namespaces.push(ns);
    const now = new Date().toISOString().replace(/\.\d+Z$/, ".000000Z");
    await client.apply(
      resourcePath(LEASES, ns, "held"),
      {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: "held", namespace: ns },
        spec: {
          holderIdentity: "another-replica",
          leaseDurationSeconds: 3600,
          acquireTime: now,
          renewTime: now,
          leaseTransitions: 0,
        },
      },
      "e2e-other-replica",
      true,
    );
    const run = await launch(launcher, kubeconfigPath(), [
      "--leader-election",
      "true",
      "--leader-election-namespace",
      ns,
      "--lease-name",
      "held",
    ]);
    // Ready: caches synced and the leader known, the other replica.
    await waitFor(
      "ready as a follower",
      async () => (await fetch(`http://127.0.0.1:${run.port}/readyz`).catch(() => undefined))?.status === 200,
      60_000,
    );
    expect(await run.metric("meshward_leader")).toBe(0);
    await stopAndExpectGone(run, signal);
    const lease = await client.get<{ spec: { holderIdentity?: string } }>(resourcePath(LEASES, ns, "held"));
    expect(lease.spec.holderIdentity).toBe("another-replica");
  });

  it.each(SIGNALS)("reconciles in flight, their requests hanging: %s stops it", async (signal) => {
    const { ns, kc, proxy } = await busyNamespace();
    // One worker, one namespace: the profiles are reconciled one after another.
    const run = await launch(launcher, kc, ["--concurrency", "1", "--namespaces", ns]);
    await waitFor(
      "the first reconcile done",
      async () => (await run.metric("controller_runtime_reconcile_total").catch(() => 0)) >= 1,
      60_000,
    );
    proxy.freeze();
    // Work is left and the worker is on it; its requests can no longer complete.
    expect(await run.metric("controller_runtime_reconcile_total")).toBeLessThan(BUSY_PROFILES);
    await stopAndExpectGone(run, signal);
    proxy.close();
  });

  it.each(SIGNALS)(
    "the leader, mid-reconcile, API server hanging: %s stops it at the deadline",
    async (signal) => {
      const { ns, kc, proxy } = await busyNamespace();
      const run = await launch(launcher, kc, [
        "--concurrency",
        "1",
        "--namespaces",
        ns,
        "--leader-election",
        "true",
        "--leader-election-namespace",
        ns,
      ]);
      await waitFor(
        "leading, the first reconcile done",
        async () =>
          (await run.metric("meshward_leader").catch(() => 0)) === 1 &&
          (await run.metric("controller_runtime_reconcile_total")) >= 1,
        60_000,
      );
      proxy.freeze();
      // The reconciles get --shutdown-timeout-seconds, then releasing the Lease waits up to the
      // renew deadline (10 s) for an API server that never answers: the deadline comes first.
      await stopAndExpectGone(run, signal, "deadline");
      proxy.close();
    },
  );
});
