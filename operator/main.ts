// The operator process: config → logger → caches → leader election → workers; /healthz, /readyz,
// /metrics; graceful shutdown on SIGTERM/SIGINT (stop taking work, finish what runs, release the
// Lease, exit within the deadline).
import { KubeConfig } from "@kubernetes/client-node";
import { type Config, ConfigError, infoRequest, loadConfig, usage } from "./config.ts";
import { Metrics } from "./observability/metrics.ts";
import { combine, EventLoopHealth, WatchHealth } from "./observability/health.ts";
import { startServers } from "./observability/server.ts";
import { Controller } from "./reconcile/controller.ts";
import { createLogger, type Logger } from "./runtime/log.ts";
import { version } from "./version.ts";

function kubeConfig(cfg: Config): KubeConfig {
  const kc = new KubeConfig();
  if (cfg.kubeconfig) kc.loadFromFile(cfg.kubeconfig);
  else kc.loadFromDefault();
  return kc;
}

export async function runOperator(cfg: Config, log: Logger, signal: AbortSignal): Promise<number> {
  const metrics = new Metrics();
  const controller = new Controller(cfg, kubeConfig(cfg), log, metrics);
  const stop = new AbortController();
  const informersSignal = stop.signal;
  let exitCode = 0;
  let leaderKnown = !cfg.leaderElection;

  metrics.setProfileSource(() => controller.profiles.list());
  const loop = new EventLoopHealth();
  loop.start();
  const watches = new WatchHealth({
    sources: () => [
      ...controller.profiles.informers,
      ...[...controller.children.values()].flatMap((i) => i.informers),
      ...controller.crdInformers,
    ],
    maxSilenceMs: cfg.livenessWatchSeconds * 1000,
  });
  const servers = await startServers(
    { metricsPort: cfg.metricsPort, healthPort: cfg.healthPort, host: cfg.metricsHost },
    metrics,
    {
      live: () => combine(loop.check(), watches.check()),
      ready: () => {
        const synced = controller.cachesSynced;
        const leader = !cfg.leaderElection || (controller.elector?.leaderKnown ?? false) || leaderKnown;
        return {
          ok: synced && leader,
          detail: `caches ${synced ? "synced" : "syncing"}; leadership ${leader ? "known" : "unknown"}`,
        };
      },
    },
  );
  const gauge = setInterval(() => {
    for (const [kind, n] of controller.managedCounts()) metrics.managedObjects.set({ kind }, n);
  }, 15_000);
  gauge.unref();

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
  await controller.startInformers(AbortSignal.any([informersSignal, signal]));
  if (signal.aborted) return shutdown();
  log.info({}, "caches synced");

  const resync = setInterval(() => controller.enqueueAll(), cfg.resyncMinutes * 60_000);
  resync.unref();

  let electorRun: Promise<void> | undefined;
  const electorStop = new AbortController();
  if (cfg.leaderElection) {
    const elector = controller.makeElector(
      () => {
        metrics.leader.set(1);
        leaderKnown = true;
        log.info({}, "became leader; reconciling");
        controller.startWorkers();
      },
      () => {
        metrics.leader.set(0);
        controller.stopWorkers();
        if (!signal.aborted) {
          // Like controller-runtime: a replica that lost its lease exits, to be restarted clean.
          log.error({}, "lost leadership; exiting");
          exitCode = 1;
          electorStop.abort();
        }
      },
    );
    electorRun = elector.run(electorStop.signal);
  } else {
    controller.startWorkers();
  }

  await new Promise<void>((resolve) => {
    if (signal.aborted || electorStop.signal.aborted) return resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
    electorStop.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  return shutdown();

  async function shutdown(): Promise<number> {
    log.info({}, "shutting down");
    clearInterval(gauge);
    await controller.queue.shutdown(cfg.shutdownTimeoutSeconds * 1000);
    if (controller.elector) {
      await controller.elector
        .release()
        .catch((e: unknown) => log.warn({ error: String(e) }, "could not release the lease"));
    }
    electorStop.abort();
    await electorRun?.catch(() => undefined);
    stop.abort();
    loop.stop();
    for (const s of servers) s.close();
    log.info({ exitCode }, "stopped");
    return exitCode;
  }
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
    log.fatal({ error: e instanceof Error ? e.message : String(e) }, "operator failed");
    process.exit(1);
  }
}

if (import.meta.main) void main();
