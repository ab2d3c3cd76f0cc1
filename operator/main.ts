// The operator process: config → logger → manager (caches → leader election → workers); /healthz,
// /readyz, /metrics; graceful shutdown on SIGTERM/SIGINT (stop taking work, finish what runs,
// release the Lease, exit within the deadline).
import { readFileSync } from "node:fs";
import { type Config, ConfigError, infoRequest, loadConfig, usage } from "./config.ts";
import { Metrics } from "./observability/metrics.ts";
import { combine, EventLoopHealth, WatchHealth } from "./observability/health.ts";
import { kubeReviewer, MetricsAuth } from "./observability/metrics-auth.ts";
import {
  CertDirWatcher,
  type KeyAndCertificate,
  MetricsTlsError,
  readCertDir,
  selfSignedForMetrics,
} from "./observability/metrics-tls.ts";
import { type SecureMetrics, startServers } from "./observability/server.ts";
import { Manager } from "./reconcile/manager.ts";
import { KubeConfigError, loadKubeConfig } from "./runtime/kubeconfig.ts";
import { createLogger, type Logger } from "./runtime/log.ts";
import { version } from "./version.ts";

export async function runOperator(cfg: Config, log: Logger, signal: AbortSignal): Promise<number> {
  // The certificate first: a wrong --metrics-cert-dir stops the start before anything else runs.
  let tls: KeyAndCertificate | undefined;
  if (cfg.metricsSecure && cfg.metricsPort > 0)
    tls = cfg.metricsCertDir ? readCertDir(cfg.metricsCertDir) : selfSignedForMetrics(cfg.metricsHost);
  const metrics = new Metrics();
  const manager = new Manager(cfg, loadKubeConfig(cfg.kubeconfig), log, metrics);
  const controller = manager.controller;
  metrics.setProfileSource(() => controller.caches.profiles.list());
  const loop = new EventLoopHealth();
  loop.start();
  const watches = new WatchHealth({
    sources: () => [
      ...controller.caches.profiles.informers,
      ...[...controller.caches.children.values()].flatMap((i) => i.informers),
      ...controller.caches.crdInformers,
    ],
    maxSilenceMs: cfg.livenessWatchSeconds * 1000,
  });
  let certWatcher: CertDirWatcher | undefined;
  let secure: SecureMetrics | undefined;
  if (tls) {
    const certDir = cfg.metricsCertDir;
    secure = {
      tls,
      // The reviews go through the operator's own client (its credentials, its request metrics).
      auth: new MetricsAuth(kubeReviewer(controller.client), { log }),
      onServing: (setTls) => {
        if (!certDir || !tls) return;
        certWatcher = new CertDirWatcher(certDir, tls, setTls, log);
        certWatcher.start();
      },
    };
  }
  const servers = await startServers(
    { metricsPort: cfg.metricsPort, healthPort: cfg.healthPort, host: cfg.metricsHost },
    metrics,
    { live: () => combine(loop.check(), watches.check()), ready: () => manager.ready() },
    secure,
  );
  log.info(
    {
      namespaces: cfg.namespaces.length ? cfg.namespaces : "all",
      concurrency: cfg.concurrency,
      meshMode: cfg.meshMode,
      trustDomain: cfg.trustDomain,
      identity: cfg.identity,
      reports: cfg.openreports ? "openreports.io" : "off",
      metrics:
        cfg.metricsPort === 0
          ? "off"
          : `${cfg.metricsSecure ? "https" : "http"}://${cfg.metricsHost}:${cfg.metricsPort}/metrics${
              cfg.metricsSecure ? ` (certificate: ${cfg.metricsCertDir ?? "self-signed"})` : ""
            }`,
    },
    "starting",
  );
  try {
    const exitCode = await manager.run(signal);
    log.info({ exitCode }, "stopped");
    return exitCode;
  } finally {
    loop.stop();
    certWatcher?.stop();
    for (const s of servers) s.close();
  }
}

/**
 * How long after SIGTERM/SIGINT the process exits at the latest: --shutdown-timeout-seconds for the
 * reconciles in flight, then 5 s to release the Lease and close the servers (docs/install.md,
 * "Stopping"). The chart's terminationGracePeriodSeconds (30) is longer than the default (25).
 */
export function shutdownDeadlineMs(shutdownTimeoutSeconds: number): number {
  return (shutdownTimeoutSeconds + 5) * 1000;
}

/** A request to stop: a signal, or (no signal) the npm parent gone; `at` in ms. */
export interface StopRequest {
  at: number;
  signal?: string;
}

/**
 * What a request to stop does, given the first one (if any): the first starts the shutdown. Ctrl-C
 * on `npm start` reaches the operator twice (from the terminal, to the whole process group, and from
 * npm, which passes it on), so the same signal within a second is that request again and ignored,
 * as is the parent going away during a shutdown; any other signal means "exit now".
 */
export function onStopRequest(
  first: StopRequest | undefined,
  next: StopRequest,
): "shut down" | "ignore" | "exit now" {
  if (!first) return "shut down";
  if (next.signal === undefined) return "ignore";
  if (next.signal === first.signal && next.at - first.at < 1000) return "ignore";
  return "exit now";
}

/** The parent process id as the kernel has it now (Linux); undefined elsewhere. */
function currentParent(): number | undefined {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    // "<pid> (<comm>) <state> <ppid> ...": comm may hold spaces and parentheses.
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

/**
 * Started by npm (`npm start`, `npx node operator/main.ts`: npm sets npm_command), the operator's
 * parent is npm or the shell npm runs the script in. On SIGTERM either may exit without passing the
 * signal on, which would leave the operator running, orphaned. So it checks every second that its
 * parent is still there, and shuts down as on SIGTERM when it is not. process.ppid is read once at
 * start-up, hence /proc (or a signal 0 where there is no /proc).
 */
function watchParent(onGone: () => void): void {
  if (process.env.npm_command === undefined) return;
  const parent = process.ppid;
  if (parent <= 1) return;
  const gone = (): boolean => {
    const now = currentParent();
    if (now !== undefined) return now !== parent;
    try {
      process.kill(parent, 0);
      return false;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === "ESRCH";
    }
  };
  const timer = setInterval(() => {
    if (!gone()) return;
    clearInterval(timer);
    onGone();
  }, 1000);
  timer.unref();
}

async function main(): Promise<void> {
  const info = infoRequest(process.argv.slice(2));
  if (info) return void process.stdout.write(info === "help" ? usage() : `meshward ${version()}\n`);
  let cfg: Config;
  try {
    cfg = loadConfig(process.argv.slice(2), process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`meshward: invalid configuration:\n${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const log = createLogger(cfg.logLevel);
  const ctl = new AbortController();
  const deadlineMs = shutdownDeadlineMs(cfg.shutdownTimeoutSeconds);
  let stopping: StopRequest | undefined;
  const stop = (why: { signal?: string; reason?: string }) => {
    const request = { at: Date.now(), ...(why.signal && { signal: why.signal }) };
    const action = onStopRequest(stopping, request);
    if (action === "ignore") return;
    if (action === "exit now") {
      log.warn({ signal: why.signal }, "second signal; exiting now");
      process.exit(1);
    }
    stopping = request;
    log.info({ ...why, deadlineSeconds: deadlineMs / 1000 }, "shutting down");
    // Whatever the state (an API server that never answers, a reconcile that does not end), the
    // process is gone by the deadline.
    setTimeout(() => {
      log.error({ deadlineSeconds: deadlineMs / 1000 }, "shutdown deadline passed; exiting");
      process.exit(1);
    }, deadlineMs);
    ctl.abort();
  };
  process.on("SIGTERM", () => stop({ signal: "SIGTERM" }));
  process.on("SIGINT", () => stop({ signal: "SIGINT" }));
  watchParent(() => stop({ reason: "the npm process that started the operator exited" }));
  process.on("unhandledRejection", (reason) => log.error({ error: String(reason) }, "unhandled rejection"));
  try {
    const code = await runOperator(cfg, log, ctl.signal);
    process.exitCode = code;
    // Leave a moment for the last log lines, then exit even if a socket lingers.
    setTimeout(() => process.exit(code), 200).unref();
  } catch (e) {
    if (e instanceof MetricsTlsError) {
      log.fatal({ error: e.message }, "cannot serve /metrics over HTTPS: fix the certificate");
      process.exit(2);
    }
    if (e instanceof KubeConfigError) {
      log.fatal({ error: e.message }, "cannot reach the cluster: fix the kubeconfig");
      process.exit(2);
    }
    log.fatal({ error: e instanceof Error ? e.message : String(e) }, "operator failed");
    process.exit(1);
  }
}

if (import.meta.main) void main();
