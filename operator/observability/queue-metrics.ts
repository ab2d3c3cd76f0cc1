// The work queue's observer (runtime/queue.ts QueueMetrics) writing controller-runtime's reconcile
// and work-queue metrics: one reconcile is one handler run of the queue.
import type { Outcome, QueueMetrics } from "../runtime/queue.ts";
import { CONTROLLER, type Metrics, type RECONCILE_RESULTS } from "./metrics.ts";

/** controller-runtime's result label for a queue outcome (a terminal error is an error there too). */
export function reconcileResult(outcome: Outcome): (typeof RECONCILE_RESULTS)[number] {
  switch (outcome) {
    case "success":
      return "success";
    case "requeue":
      // The reconciler asks to come back after a delay (RequeueAfter in controller-runtime).
      return "requeue_after";
    case "error":
    case "terminal":
      return "error";
  }
}

/**
 * Wires a queue to `metrics`; `now` is the clock of Metrics (ms). The returned observer also feeds
 * the unfinished-work and longest-running gauges with the start times of running handlers.
 */
export function queueObserver(
  metrics: Metrics,
  concurrency: number,
  now: () => number = Date.now,
): QueueMetrics {
  const c = { controller: CONTROLLER };
  const q = { name: CONTROLLER, controller: CONTROLLER };
  const running = new Map<string, number>();
  metrics.maxConcurrentReconciles.set(c, concurrency);
  metrics.setInFlightSource(() => [...running.values()]);
  return {
    depth(n) {
      metrics.workqueueDepth.set(q, n);
    },
    added() {
      metrics.workqueueAdds.inc(q);
    },
    latency(seconds, key) {
      metrics.workqueueQueueDuration.observe(q, seconds);
      running.set(key, now());
      metrics.activeWorkers.set(c, running.size);
    },
    workDuration(seconds, outcome, key) {
      running.delete(key);
      metrics.activeWorkers.set(c, running.size);
      metrics.workqueueWorkDuration.observe(q, seconds);
      metrics.reconcileTime.observe(c, seconds);
      metrics.reconcileTotal.inc({ ...c, result: reconcileResult(outcome) });
      if (outcome === "error" || outcome === "terminal") metrics.reconcileErrors.inc(c);
      if (outcome === "terminal") metrics.terminalReconcileErrors.inc(c);
    },
    retry() {
      metrics.workqueueRetries.inc(q);
    },
  };
}
