// The operator process: config → logger → manager (caches → leader election → workers); /healthz,
// /readyz, /metrics; graceful shutdown on SIGTERM/SIGINT (stop taking work, finish what runs,
// release the Lease, exit within the deadline).
import { type Config, ConfigError, loadConfig } from "./config.ts";
import { Metrics } from "./observability/metrics.ts";
import { startServer } from "./observability/server.ts";
import { Manager } from "./reconcile/manager.ts";
import { KubeConfigError, loadKubeConfig } from "./runtime/kubeconfig.ts";
import { createLogger, type Logger } from "./runtime/log.ts";

export async function runOperator(cfg: Config, log: Logger, signal: AbortSignal): Promise<number> {
  const metrics = new Metrics();
  const manager = new Manager(cfg, loadKubeConfig(cfg.kubeconfig), log, metrics);
  const server =
    cfg.metricsPort > 0
      ? await startServer(cfg.metricsPort, cfg.metricsHost, metrics, {
          live: () => true,
          ready: () => manager.ready(),
        })
      : undefined;
  log.info(
    {
      namespaces: cfg.namespaces.length ? cfg.namespaces : "all",
      concurrency: cfg.concurrency,
      meshMode: cfg.meshMode,
      trustDomain: cfg.trustDomain,
      identity: cfg.identity,
    },
    "starting",
  );
  try {
    const exitCode = await manager.run(signal);
    log.info({ exitCode }, "stopped");
    return exitCode;
  } finally {
    server?.close();
  }
}

async function main(): Promise<void> {
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
  let signals = 0;
  const onSignal = (sig: string) => {
    signals++;
    if (signals > 1) {
      log.warn({ signal: sig }, "second signal; exiting now");
      process.exit(1);
    }
    log.info({ signal: sig }, "signal received");
    ctl.abort();
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("unhandledRejection", (reason) => log.error({ error: String(reason) }, "unhandled rejection"));
  try {
    const code = await runOperator(cfg, log, ctl.signal);
    process.exitCode = code;
    // Leave a moment for the last log lines, then exit even if a socket lingers.
    setTimeout(() => process.exit(code), 200).unref();
  } catch (e) {
    if (e instanceof KubeConfigError) {
      log.fatal({ error: e.message }, "cannot reach the cluster: fix the kubeconfig");
      process.exit(2);
    }
    log.fatal({ error: e instanceof Error ? e.message : String(e) }, "operator failed");
    process.exit(1);
  }
}

if (import.meta.main) void main();
