// Prometheus metrics (prom-client), on a registry of our own. Reconcile and work-queue metrics carry
// controller-runtime's names, labels and buckets (so stock controller dashboards apply); meshward's
// own are prefixed meshward_. docs/observability.md lists every one.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { KubeObjectLike } from "../runtime/client.ts";
import { buildInfo } from "./build-info.ts";
import { profileSeries, type ProfileSeries } from "./profiles.ts";
import { SECRET_STATES, SecretStates } from "./secret-states.ts";

/** The controller name in controller-runtime's labels (`controller`, and the work queue's `name`). */
export const CONTROLLER = "servicesecurityprofile";

/** controller-runtime's reconcile results. */
export const RECONCILE_RESULTS = ["success", "error", "requeue", "requeue_after"] as const;

// controller-runtime's controller_runtime_reconcile_time_seconds buckets.
const RECONCILE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5,
  1.75, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];
// client-go's work-queue buckets: 10 ns to 1000 s, ×10 (prometheus.ExponentialBuckets(10e-9, 10, 12)).
const QUEUE_BUCKETS = Array.from({ length: 12 }, (_, i) => Number((1e-8 * 10 ** i).toPrecision(1)));

const QUEUE_LABELS = ["name", "controller"] as const;

export class Metrics {
  readonly registry = new Registry();
  /** The profiles the per-profile gauges describe (the informer cache); none until set. */
  #profiles: () => KubeObjectLike[] = () => [];
  /** Series per cached object: the cache replaces an object on every change, so this never goes stale. */
  readonly #series = new WeakMap<KubeObjectLike, ProfileSeries | undefined>();
  /** Secret health per profile as the reconciler last reported it (meshward_secrets). */
  readonly secretStates = new SecretStates();
  /** Running work-queue keys and when each started (for the unfinished-work gauges). */
  #inFlight: () => number[] = () => [];
  readonly #now: () => number;

  /** `now`: wall clock in ms, for the exception expiry gauge and in-flight ages (tests fake it). */
  constructor(now: () => number = Date.now) {
    this.#now = now;
    // Process metrics: resident memory, heap, event-loop lag, GC.
    collectDefaultMetrics({ register: this.registry });
    const info = buildInfo();
    this.buildInfo.set(info, 1);
    for (const result of RECONCILE_RESULTS) this.reconcileTotal.inc({ controller: CONTROLLER, result }, 0);
    this.reconcileErrors.inc({ controller: CONTROLLER }, 0);
    this.terminalReconcileErrors.inc({ controller: CONTROLLER }, 0);
    this.activeWorkers.set({ controller: CONTROLLER }, 0);
    const q = { name: CONTROLLER, controller: CONTROLLER };
    this.workqueueDepth.set(q, 0);
    this.workqueueAdds.inc(q, 0);
    this.workqueueRetries.inc(q, 0);
  }

  /** Where the per-profile gauges read profiles from, at each scrape. */
  setProfileSource(list: () => KubeObjectLike[]): void {
    this.#profiles = list;
  }

  /** Where the unfinished-work gauges read the start times (ms, same clock as `now`) of running work. */
  setInFlightSource(starts: () => number[]): void {
    this.#inFlight = starts;
  }

  /** Series of the profiles in the cache; deleted profiles are gone from it, so from the gauges too. */
  #profileGauge(
    name: string,
    help: string,
    value: (s: ProfileSeries) => number | undefined,
  ): Gauge<"namespace" | "name"> {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    return new Gauge({
      name,
      help,
      labelNames: ["namespace", "name"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const p of self.#profiles()) {
          if (!self.#series.has(p)) self.#series.set(p, profileSeries(p));
          const s = self.#series.get(p);
          const v = s && value(s);
          if (s && v !== undefined) this.set({ namespace: s.namespace, name: s.name }, v);
        }
      },
    });
  }

  // --- meshward ------------------------------------------------------------------------------------

  readonly buildInfo = new Gauge({
    name: "meshward_build_info",
    help: "Always 1; the labels tell the meshward version and the Node.js version it runs on.",
    labelNames: ["version", "nodejs_version"],
    registers: [this.registry],
  });
  readonly profileReady = this.#profileGauge(
    "meshward_profile_ready",
    "1 while the profile's Ready condition is True, else 0 (False, Unknown, or not reconciled yet).",
    (s) => s.ready,
  );
  readonly profileDrifted = this.#profileGauge(
    "meshward_profile_drifted",
    "1 while the profile's Drifted condition is True (drift left in place, driftPolicy Report).",
    (s) => s.drifted,
  );
  readonly profileConflict = this.#profileGauge(
    "meshward_profile_conflict",
    "1 while the profile's Conflict condition is True (a generated name belongs to someone else).",
    (s) => s.conflict,
  );
  readonly profileExceptionExpiry = this.#profileGauge(
    "meshward_profile_exception_expiry_timestamp_seconds",
    "Unix time at which the profile's next active exception expires; no series without one.",
    (s) => s.nextExceptionExpiry,
  );
  readonly profilePolicyRefused = this.#profileGauge(
    "meshward_profile_policy_refused",
    "Parts of the profile the platform's MeshwardPolicies refuse (Enforce findings; not applied).",
    (s) => s.policyRefused,
  );
  readonly profilePolicyAudit = this.#profileGauge(
    "meshward_profile_policy_audit",
    "Parts of the profile a MeshwardPolicy in Audit would refuse (applied, reported): who breaks when it is enforced.",
    (s) => s.policyAudit,
  );
  readonly profileWidened = new Gauge({
    name: "meshward_profile_widened",
    help: "Objects meshward did not create (a tenant's own NetworkPolicy, Istio policy or ExternalSecret) that widen what the profile declares, by kind; no series while none does.",
    labelNames: ["namespace", "name", "kind"],
    registers: [this.registry],
  });
  readonly #widenedKinds = new Map<string, string[]>();
  readonly adoptionUncoveredPods = new Gauge({
    name: "meshward_adoption_uncovered_pods",
    help: "Namespaces whose adoption is Audit: pods no profile selects, which the namespace default deny would cut off.",
    labelNames: ["namespace"],
    registers: [this.registry],
  });
  readonly profileSecretsFailing = this.#profileGauge(
    "meshward_profile_secrets_failing",
    "Secrets of the profile that External Secrets Operator cannot sync (status.secrets ready=False); no series for a profile without secrets.",
    (s) => s.secretsFailing,
  );
  readonly profileSecretsLeaseEnding = this.#profileGauge(
    "meshward_profile_secrets_lease_ending",
    "Dynamic credentials of the profile not replaced in three quarters of their lease (status.secrets reason LeaseEnding); no series for a profile without secrets.",
    (s) => s.secretsLeaseEnding,
  );
  readonly secrets = this.#secretsGauge();
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

  // --- controller-runtime (sigs.k8s.io/controller-runtime/pkg/internal/controller/metrics) ----------

  readonly reconcileTotal = new Counter({
    name: "controller_runtime_reconcile_total",
    help: "Total number of reconciliations per controller",
    labelNames: ["controller", "result"],
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: "controller_runtime_reconcile_errors_total",
    help: "Total number of reconciliation errors per controller",
    labelNames: ["controller"],
    registers: [this.registry],
  });
  readonly terminalReconcileErrors = new Counter({
    name: "controller_runtime_terminal_reconcile_errors_total",
    help: "Total number of terminal reconciliation errors per controller",
    labelNames: ["controller"],
    registers: [this.registry],
  });
  readonly reconcileTime = new Histogram({
    name: "controller_runtime_reconcile_time_seconds",
    help: "Length of time per reconciliation per controller",
    labelNames: ["controller"],
    buckets: RECONCILE_BUCKETS,
    registers: [this.registry],
  });
  readonly maxConcurrentReconciles = new Gauge({
    name: "controller_runtime_max_concurrent_reconciles",
    help: "Maximum number of concurrent reconciles per controller",
    labelNames: ["controller"],
    registers: [this.registry],
  });
  readonly activeWorkers = new Gauge({
    name: "controller_runtime_active_workers",
    help: "Number of currently used workers per controller",
    labelNames: ["controller"],
    registers: [this.registry],
  });

  // --- client-go work queue, as controller-runtime registers it (pkg/metrics/workqueue.go) ----------

  readonly workqueueDepth = new Gauge({
    name: "workqueue_depth",
    help: "Current depth of workqueue",
    labelNames: QUEUE_LABELS,
    registers: [this.registry],
  });
  readonly workqueueAdds = new Counter({
    name: "workqueue_adds_total",
    help: "Total number of adds handled by workqueue",
    labelNames: QUEUE_LABELS,
    registers: [this.registry],
  });
  readonly workqueueQueueDuration = new Histogram({
    name: "workqueue_queue_duration_seconds",
    help: "How long in seconds an item stays in workqueue before being requested",
    labelNames: QUEUE_LABELS,
    buckets: QUEUE_BUCKETS,
    registers: [this.registry],
  });
  readonly workqueueWorkDuration = new Histogram({
    name: "workqueue_work_duration_seconds",
    help: "How long in seconds processing an item from workqueue takes.",
    labelNames: QUEUE_LABELS,
    buckets: QUEUE_BUCKETS,
    registers: [this.registry],
  });
  readonly workqueueRetries = new Counter({
    name: "workqueue_retries_total",
    help: "Total number of retries handled by workqueue",
    labelNames: QUEUE_LABELS,
    registers: [this.registry],
  });
  readonly workqueueUnfinishedWork = this.#inFlightGauge(
    "workqueue_unfinished_work_seconds",
    "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate at which this increases.",
    (ages) => ages.reduce((a, b) => a + b, 0),
  );
  readonly workqueueLongestRunning = this.#inFlightGauge(
    "workqueue_longest_running_processor_seconds",
    "How many seconds has the longest running processor for workqueue been running.",
    (ages) => Math.max(0, ...ages),
  );

  /** The widening of profile `namespace/name`, by kind (an empty map removes its series). */
  setWidened(key: string, kinds: ReadonlyMap<string, number>): void {
    const [namespace = "", name = ""] = key.split("/");
    for (const kind of this.#widenedKinds.get(key) ?? [])
      if (!kinds.has(kind)) this.profileWidened.remove({ namespace, name, kind });
    for (const [kind, n] of kinds) this.profileWidened.set({ namespace, name, kind }, n);
    if (kinds.size > 0) this.#widenedKinds.set(key, [...kinds.keys()]);
    else this.#widenedKinds.delete(key);
  }

  #secretsGauge(): Gauge<"state"> {
    const states = this.secretStates;
    return new Gauge({
      name: "meshward_secrets",
      help: "Secrets of all profiles by state: ready (synced by External Secrets Operator), failing (ESO cannot sync them), pending (ESO has not reported yet). Written by the leader, after each reconcile.",
      labelNames: ["state"],
      registers: [this.registry],
      collect() {
        const totals = states.totals();
        for (const state of SECRET_STATES) this.set({ state }, totals[state]);
      },
    });
  }

  #inFlightGauge(name: string, help: string, of: (agesSeconds: number[]) => number): Gauge {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    return new Gauge({
      name,
      help,
      labelNames: QUEUE_LABELS,
      registers: [this.registry],
      collect() {
        const now = self.#now();
        const ages = self.#inFlight().map((start) => Math.max(0, now - start) / 1000);
        this.set({ name: CONTROLLER, controller: CONTROLLER }, of(ages));
      },
    });
  }

  /** Mutating requests (for the "zero writes when nothing changed" check). */
  async mutatingRequests(): Promise<number> {
    const data = await this.apiRequests.get();
    return data.values
      .filter((v) => ["apply", "create", "update", "patch", "delete"].includes(String(v.labels.verb)))
      .reduce((n, v) => n + v.value, 0);
  }
}
