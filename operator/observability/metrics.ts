// Prometheus metrics (prom-client), on a registry of our own.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export class Metrics {
  readonly registry = new Registry();
  constructor() {
    // Process metrics: resident memory, heap, event-loop lag, GC.
    collectDefaultMetrics({ register: this.registry });
  }
  readonly reconciles = new Counter({
    name: "meshward_reconciles_total",
    help: "Reconciles by result (success, requeue, error, terminal).",
    labelNames: ["result"],
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: "meshward_reconcile_duration_seconds",
    help: "Time spent in one reconcile.",
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: "meshward_queue_depth",
    help: "Keys waiting in the work queue.",
    registers: [this.registry],
  });
  readonly queueLatency = new Histogram({
    name: "meshward_queue_latency_seconds",
    help: "Time from a key being queued to its reconcile starting.",
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60],
    registers: [this.registry],
  });
  readonly retries = new Counter({
    name: "meshward_queue_retries_total",
    help: "Reconciles retried after an error.",
    registers: [this.registry],
  });
  readonly drift = new Counter({
    name: "meshward_drift_total",
    help: "Drift found on generated objects, by kind and whether it was corrected.",
    labelNames: ["kind", "action"],
    registers: [this.registry],
  });
  readonly apiRequests = new Counter({
    name: "meshward_api_requests_total",
    help: "Requests to the Kubernetes API by verb and status code (0 = network error).",
    labelNames: ["verb", "code"],
    registers: [this.registry],
  });
  readonly managedObjects = new Gauge({
    name: "meshward_managed_objects",
    help: "Objects meshward manages, by kind (from the cache).",
    labelNames: ["kind"],
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: "meshward_leader",
    help: "1 while this replica is the leader.",
    registers: [this.registry],
  });
  readonly informerRestarts = new Counter({
    name: "meshward_informer_restarts_total",
    help: "Informer restarts by resource and reason (error, gone, silence, absent).",
    labelNames: ["resource", "reason"],
    registers: [this.registry],
  });
  readonly events = new Counter({
    name: "meshward_events_total",
    help: "Kubernetes Events recorded, by reason.",
    labelNames: ["reason"],
    registers: [this.registry],
  });

  /** Mutating requests (for the "zero writes when nothing changed" check). */
  async mutatingRequests(): Promise<number> {
    const data = await this.apiRequests.get();
    return data.values
      .filter((v) => ["apply", "create", "update", "patch", "delete"].includes(String(v.labels.verb)))
      .reduce((n, v) => n + v.value, 0);
  }
}
