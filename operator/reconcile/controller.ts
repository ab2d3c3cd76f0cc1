// The controller composes the operator's parts: the API client, the caches (caches.ts), the
// reconcilers (reconciler.ts, reports.ts), their events wired to work-queue keys (wiring.ts), the
// work queue and its error policy (runtime/classify.ts), and the leader elector. The lifecycle
// (caches → leadership → workers → shutdown) is manager.ts's.
import { DEFAULT_PLATFORM } from "../builders/index.ts";
import type { Config } from "../config.ts";
import type { Metrics } from "../observability/metrics.ts";
import { queueObserver } from "../observability/queue-metrics.ts";
import { version } from "../version.ts";
import { classify } from "../runtime/classify.ts";
import { ApiError, KubeClient } from "../runtime/client.ts";
import { errorFields } from "../runtime/informer.ts";
import type { KubeConfigSource } from "../runtime/kubeconfig.ts";
import { LeaderElector } from "../runtime/leader.ts";
import { leaseApi } from "../runtime/lease-api.ts";
import type { Logger } from "../runtime/log.ts";
import { SignalScope } from "../runtime/signal-scope.ts";
import { type Result, TerminalError, WorkQueue } from "../runtime/queue.ts";
import { REPORT_NAME } from "../reports/build.ts";
import { apiWrites } from "./api-writes.ts";
import { Caches } from "./caches.ts";
import { EventRecorder } from "./events.ts";
import { parseKey } from "./keys.ts";
import { ReferenceIndex } from "./mapping.ts";
import { Reconciler, REFUSED_RETRY_MS } from "./reconciler.ts";
import { ReportsReconciler, reportWrites } from "./reports.ts";
import { allKeys, Triggers, wire } from "./wiring.ts";

function errorMessage(e: unknown): string {
  return e instanceof ApiError ? `${e.status} ${e.reason}: ${e.message}` : String(e);
}

/**
 * What the queue does with a reconcile's error (the same classification as for each child's
 * write): retried with backoff, tried again in a minute (the API server refused a write), or
 * terminal (not retried until the input changes).
 */
function errorPolicy(e: unknown): Result | TerminalError | "retry" {
  const cls = classify(e);
  if (cls === "terminal") return new TerminalError(errorMessage(e));
  if (cls === "refused") return { requeueAfterMs: REFUSED_RETRY_MS };
  return "retry";
}

export class Controller {
  readonly client: KubeClient;
  readonly caches: Caches;
  readonly queue: WorkQueue;
  readonly reconciler: Reconciler;
  readonly reports: ReportsReconciler | undefined;
  readonly refs = new ReferenceIndex();
  elector: LeaderElector | undefined;
  private readonly cfg: Config;
  private readonly log: Logger;
  private reconcileSeq = 0;
  private started = false;
  /** Aborted when this replica stops reconciling: every write of the reconcilers carries it. */
  private term = new AbortController();
  private readonly scope = new SignalScope();

  constructor(cfg: Config, kc: KubeConfigSource, log: Logger, metrics: Metrics) {
    this.cfg = cfg;
    this.log = log;
    // The identity in the User-Agent lets the audit log tell replicas apart.
    this.client = new KubeClient(kc, { userAgent: `meshward/${version()} (${cfg.identity})` });
    this.client.onRequest((verb, _resource, code) => metrics.apiRequests.inc({ verb, code: String(code) }));
    const caches = new Caches(
      {
        client: this.client,
        log,
        namespaces: cfg.namespaces,
        openreports: cfg.openreports,
        onRestart: (resource, reason) => metrics.informerRestarts.inc({ resource, reason }),
      },
      {
        childServed: () => this.enqueueAll(),
        reportsServed: () => {
          for (const k of caches.reportKeys()) this.queue.add(k);
        },
        accountsChanged: () => {
          if (caches.policies.size > 0) triggers.policyStatuses();
        },
      },
    );
    this.caches = caches;
    // Every request carries the signal of the reconcile that makes it (the queue's, aborted at
    // shutdown) and this replica's (aborted when it stops reconciling).
    const signal = () => this.scope.current() ?? this.term.signal;
    const events = new EventRecorder({
      client: this.client,
      log,
      instance: cfg.identity,
      onRecorded: (reason) => metrics.events.inc({ reason }),
      signal,
    });
    this.reconciler = new Reconciler(
      { ...caches.clusterReads(), ...apiWrites(this.client, signal) },
      {
        trustDomain: cfg.trustDomain,
        meshMode: cfg.meshMode,
        defaults: {
          ...DEFAULT_PLATFORM,
          maxExceptionDays: cfg.maxExceptionDays,
          secretRefreshInterval: cfg.secretRefreshInterval,
        },
      },
      events,
      log,
      {
        drift: (kind, corrected) => metrics.drift.inc({ kind, action: corrected ? "corrected" : "reported" }),
        widened: (key, kinds) => metrics.setWidened(key, this.profileExists(key) ? kinds : new Map()),
        // The shared waypoint's state is in each of the namespace's profiles' status.
        waypoint: (namespace) => {
          for (const p of caches.profilesIn(namespace))
            this.queue.add(`${namespace}/${p.metadata?.name ?? ""}`);
        },
        adoption: (namespace, uncovered) => {
          if (uncovered === undefined) metrics.adoptionUncoveredPods.remove({ namespace });
          else metrics.adoptionUncoveredPods.set({ namespace }, uncovered);
        },
        // A reconcile that ends after its profile's delete event must not bring the entry back.
        secrets: (key, summary) => {
          if (this.profileExists(key)) metrics.secretStates.set(key, summary);
          else metrics.secretStates.forget(key);
        },
      },
    );
    this.reports = caches.reports && this.reportsReconciler(caches, signal);
    this.queue = new WorkQueue((key, s) => this.handle(key, s), {
      concurrency: cfg.concurrency,
      metrics: queueObserver(metrics, cfg.concurrency),
      onError: (key, err, retryInMs) =>
        log.warn(
          { key, error: errorFields(err), retryInMs },
          retryInMs === undefined ? "reconcile failed; not retried" : "reconcile failed; retrying",
        ),
    });
    const targets = {
      queue: this.queue,
      refs: this.refs,
      profileGone: (key: string) => {
        this.reconciler.forget(key);
        metrics.secretStates.forget(key);
        metrics.setWidened(key, new Map());
      },
      profileObserved: (key: string) => this.reconciler.observed(key),
      validPolicies: () => this.reconciler.validPolicies(),
      reportObserved: (key: string) => this.reports?.observed(key),
    };
    const triggers = new Triggers(caches, targets);
    wire(caches, targets, triggers);
  }

  private profileExists(key: string): boolean {
    const [ns = "", name = ""] = key.split("/");
    return this.caches.profiles.get(ns, name) !== undefined;
  }

  private reportsReconciler(caches: Caches, signal: () => AbortSignal): ReportsReconciler | undefined {
    const r = caches.reports;
    if (!r) return undefined;
    return new ReportsReconciler(
      {
        profilesIn: caches.profilesIn,
        validate: (raw) => this.reconciler.validate(raw),
        validPolicies: () => this.reconciler.validPolicies(),
        policies: () => caches.policies.list(),
        namespaceLabels: caches.reads.namespaceLabels,
        namespaceTerminating: caches.reads.namespaceTerminating,
        report: (ns) => ({ state: r.reports.state, object: r.reports.get(ns, REPORT_NAME) }),
        clusterReport: () => ({ state: r.cluster.state, object: r.cluster.get(REPORT_NAME) }),
      },
      reportWrites(this.client, signal),
      this.log,
    );
  }

  private handle(key: string, signal: AbortSignal): Promise<Result> {
    return this.scope.run(AbortSignal.any([signal, this.term.signal]), () => this.reconcile(key));
  }

  private async reconcile(key: string): Promise<Result> {
    const id = ++this.reconcileSeq;
    const log = this.log.child({ key, reconcileId: id });
    log.debug({}, "reconcile");
    try {
      const k = parseKey(key);
      if (k.type === "report" || k.type === "clusterReport")
        return await this.reports?.reconcile(key, k.type === "report" ? k.namespace : undefined);
      return await this.reconciler.reconcile(key);
    } catch (e) {
      const next = errorPolicy(e);
      if (next === "retry") throw e;
      if (next instanceof TerminalError) throw next;
      log.warn({ error: errorFields(e), retryInMs: REFUSED_RETRY_MS }, "the API server refused a write");
      return next;
    }
  }

  enqueueAll(): void {
    for (const k of allKeys(this.caches)) this.queue.add(k);
  }

  /** Informers of every kind; resolves once each has listed (or found its resource absent). */
  startInformers(signal: AbortSignal): Promise<void> {
    return this.caches.start(signal);
  }

  get cachesSynced(): boolean {
    return this.caches.synced;
  }

  /** Starts reconciling (call once leadership is held, or at once without leader election). */
  startWorkers(): void {
    this.term = new AbortController();
    if (this.started) {
      this.queue.resume();
    } else {
      this.started = true;
      this.queue.start();
    }
    this.enqueueAll();
  }

  /** Stops taking work and aborts every request of the reconciles in flight (leadership lost). */
  stopWorkers(): void {
    this.queue.pause();
    this.term.abort(new Error("workers stopped"));
  }

  /** Stops for good: in-flight reconciles get up to `deadlineMs` (their requests are then aborted). */
  async shutdown(deadlineMs: number): Promise<void> {
    await this.queue.shutdown(deadlineMs);
    this.term.abort(new Error("shut down"));
  }

  makeElector(
    onStarted: () => void,
    onStopped: () => void,
    log: (msg: string, fields?: Record<string, unknown>) => void,
  ): LeaderElector {
    this.elector = new LeaderElector({
      api: leaseApi(this.client),
      namespace: this.cfg.leaderElectionNamespace,
      name: this.cfg.leaseName,
      identity: this.cfg.identity,
      onStartedLeading: onStarted,
      onStoppedLeading: onStopped,
      onNewLeader: (identity) => this.log.info({ leader: identity }, "leader observed"),
      log,
    });
    return this.elector;
  }

  /** Per-kind counts of managed objects in the cache, for the metrics gauge. */
  managedCounts(): Map<string, number> {
    return this.caches.managedCounts();
  }
}
