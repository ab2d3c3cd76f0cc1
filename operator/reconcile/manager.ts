// The manager owns the operator's lifecycle: caches → (leader election) → workers; on the way
// out: stop taking work, cancel what runs, release the Lease. Losing the Lease aborts every request
// in flight at once (a replica that is no longer leader must not keep writing), and the process
// exits to be restarted clean, as controller-runtime does.
import type { Config } from "../config.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { KubeConfigSource } from "../runtime/kubeconfig.ts";
import { errorFields } from "../runtime/informer.ts";
import { missingLeaseNamespace } from "../runtime/lease-api.ts";
import type { Logger } from "../runtime/log.ts";
import { Controller } from "./controller.ts";

export class Manager {
  readonly controller: Controller;
  private readonly cfg: Config;
  private readonly log: Logger;
  private readonly metrics: Metrics;
  private leaderKnown: boolean;

  constructor(cfg: Config, kc: KubeConfigSource, log: Logger, metrics: Metrics) {
    this.cfg = cfg;
    this.log = log;
    this.metrics = metrics;
    this.controller = new Controller(cfg, kc, log, metrics);
    this.leaderKnown = !cfg.leaderElection;
  }

  /** For /readyz: caches synced, and (with leader election) the Lease observed. */
  ready(): { ok: boolean; detail: string } {
    const synced = this.controller.cachesSynced;
    const leader = this.leaderKnown || (this.controller.elector?.leaderKnown ?? false);
    return {
      ok: synced && leader,
      detail: `caches ${synced ? "synced" : "syncing"}; leadership ${leader ? "known" : "unknown"}`,
    };
  }

  /** Runs until `signal` aborts (exit code 0) or leadership is lost (exit code 1). */
  async run(signal: AbortSignal): Promise<number> {
    const { controller, cfg, log, metrics } = this;
    const informers = new AbortController();
    let exitCode = 0;
    const gauge = setInterval(() => {
      for (const [kind, n] of controller.managedCounts()) metrics.managedObjects.set({ kind }, n);
    }, 15_000);
    gauge.unref();
    let resync: NodeJS.Timeout | undefined;
    let electorRun: Promise<void> | undefined;
    const electorStop = new AbortController();
    try {
      await controller.startInformers(AbortSignal.any([informers.signal, signal]));
      if (signal.aborted) return exitCode;
      log.info({}, "caches synced");
      resync = setInterval(() => controller.enqueueAll(), cfg.resyncMinutes * 60_000);
      resync.unref();

      if (cfg.leaderElection) {
        const elector = controller.makeElector(
          () => {
            metrics.leader.set(1);
            this.leaderKnown = true;
            log.info({}, "became leader; reconciling");
            controller.startWorkers();
          },
          () => {
            metrics.leader.set(0);
            // Cancels every request in flight, not only the work that has not started.
            controller.stopWorkers();
            if (!signal.aborted) {
              log.error({}, "lost leadership; exiting");
              exitCode = 1;
              electorStop.abort();
            }
          },
          this.electionLog(),
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
      return exitCode;
    } finally {
      log.info({}, "shutting down");
      clearInterval(gauge);
      if (resync) clearInterval(resync);
      await controller.shutdown(cfg.shutdownTimeoutSeconds * 1000);
      if (controller.elector) {
        await controller.elector
          .release()
          .catch((e: unknown) => log.warn({ error: errorFields(e) }, "could not release the lease"));
      }
      electorStop.abort();
      await electorRun?.catch(() => undefined);
      informers.abort();
    }
  }

  /**
   * Leader election's messages, at their level: failures are warnings (without stack traces); a
   * missing Lease namespace is one error line that says what to do, its repeats are debug.
   */
  private electionLog(): (msg: string, fields?: Record<string, unknown>) => void {
    let toldMissing = false;
    const ns = this.cfg.leaderElectionNamespace;
    return (msg, fields) => {
      const err = fields?.err;
      const rest = { ...fields };
      delete rest.err;
      if (err !== undefined) rest.error = errorFields(err);
      const missing = err !== undefined ? missingLeaseNamespace(err, ns) : undefined;
      if (missing) {
        if (!toldMissing) this.log.error({ namespace: ns }, missing);
        else this.log.debug({ ...rest, namespace: ns }, msg);
        toldMissing = true;
        return;
      }
      if (err !== undefined) this.log.warn(rest, msg);
      else this.log.info(rest, msg);
    };
  }
}
