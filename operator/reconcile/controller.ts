// Wires the runtime to the reconciler: informers (lean, indexed: cache.ts) for profiles, their
// children, the CRDs the children need, the platform's MeshwardPolicies and namespaces (labels
// only); their events to work-queue keys (mapping.ts); the work queue and its error policy
// (classify); the leader elector. The lifecycle is manager.ts's.
import { DEFAULT_PLATFORM, MANAGED_BY, MANAGED_BY_LABEL, SCOPE_LABEL } from "../builders/index.ts";
import type { Config } from "../config.ts";
import type { Metrics } from "../observability/metrics.ts";
import { version } from "../version.ts";
import { queueObserver } from "../observability/queue-metrics.ts";
import { classify } from "../runtime/classify.ts";
import { ApiError, KubeClient, type KubeObjectLike, resourceId } from "../runtime/client.ts";
import { errorFields, Informer } from "../runtime/informer.ts";
import type { KubeConfigSource } from "../runtime/kubeconfig.ts";
import { LeaderElector } from "../runtime/leader.ts";
import { leaseApi } from "../runtime/lease-api.ts";
import type { Logger } from "../runtime/log.ts";
import { NamespacedInformers } from "../runtime/multi.ts";
import { TerminalError, WorkQueue } from "../runtime/queue.ts";
import { EventRecorder } from "./events.ts";
import {
  CHILD_KINDS,
  type ChildKind,
  CLUSTER_NETWORK_POLICIES,
  CLUSTER_REPORTS,
  CRDS,
  NAMESPACES,
  POLICIES,
  PROFILES,
  REPORT_CRDS,
  REPORTS,
} from "./kinds.ts";
import { CLUSTER_NETWORK_POLICY_CRD, networkTier, type TierCrd } from "../policy/network-tier.ts";
import { apiWrites } from "./api-writes.ts";
import { AccountWatches } from "./identities.ts";
import { leanService, serviceEventKeys, serviceOf, SERVICES } from "./services.ts";
import { WAYPOINT_SCOPE } from "../builders/ambient.ts";
import { foreignExists, foreignIn, foreignIndexes, isForeignKind, leanForeign, NOT_OURS } from "./foreign.ts";
import {
  BY_NAMESPACE,
  type CacheReads,
  cacheReads,
  childIndexes,
  keepsStatus,
  leanNamespace,
  leanObject,
  cacheInterner,
  profileIndexes,
} from "./cache.ts";
import {
  childEventKeys,
  foreignEventKeys,
  widenedChanged,
  namespaceEventKeys,
  overlapPeerKeys,
  policyEventKeys,
  policyStatusKeys,
  profileEventKeys,
  quarantinedNamespaceKeys,
  ReferenceIndex,
} from "./mapping.ts";
import { CLUSTER_REPORT_KEY, CLUSTER_TIER_KEY, parseKey, QUARANTINE_KEY, reportKey } from "./keys.ts";
import { Reconciler, REFUSED_RETRY_MS } from "./reconciler.ts";
import { leanReport, reportKeys, ReportsReconciler, reportWrites } from "./reports.ts";
import { REPORT_NAME } from "../reports/build.ts";

/**
 * A policy's status counts namespaces and profiles: changes are gathered for this long and written
 * once, not once per profile while a fleet starts.
 */
const POLICY_STATUS_DELAY_MS = 2_000;
/** Reports (--openreports) gather the changes of this long (a fleet starting, a policy rolled out). */
const REPORT_DELAY_MS = 1_000;

/** With --openreports: meshward's Reports (lean), its ClusterReport, and the reconcile that keeps them. */
interface OpenReports {
  reports: NamespacedInformers<KubeObjectLike>;
  cluster: Informer<KubeObjectLike>;
  reconciler: ReportsReconciler;
}

function errorMessage(e: unknown): string {
  return e instanceof ApiError ? `${e.status} ${e.reason}: ${e.message}` : String(e);
}

export class Controller {
  readonly client: KubeClient;
  readonly queue: WorkQueue;
  readonly profiles: NamespacedInformers<KubeObjectLike>;
  readonly children = new Map<ChildKind, NamespacedInformers<KubeObjectLike>>();
  /** Objects of the children's kinds that meshward did not create, stripped (foreign.ts). */
  readonly foreign = new Map<ChildKind, NamespacedInformers<KubeObjectLike>>();
  readonly crdInformers: Informer<KubeObjectLike>[] = [];
  /** The platform's MeshwardPolicies (cluster-scoped). */
  readonly policies: Informer<KubeObjectLike>;
  /** Namespaces, name and labels only: which policies govern each. */
  readonly namespaces: Informer<KubeObjectLike>;
  /** Services, lean: the waypoint binding check (services.ts). */
  readonly services: NamespacedInformers<KubeObjectLike>;
  /** The ClusterNetworkPolicy CRD (its served versions and Established only): which tier is in force. */
  readonly tierCrd: Informer<KubeObjectLike>;
  /** The platform tier's ClusterNetworkPolicies meshward made (absent while the CRD is not served). */
  readonly clusterTier: Informer<KubeObjectLike>;
  readonly reconciler: Reconciler;
  /** The ServiceAccounts the policies name as platform identities, one watch each (identities.ts). */
  readonly accounts: AccountWatches;
  readonly refs = new ReferenceIndex();
  readonly openReports: OpenReports | undefined;
  private readonly reads: CacheReads;
  elector: LeaderElector | undefined;
  private readonly cfg: Config;
  private readonly log: Logger;
  private readonly metrics: Metrics;
  private reconcileSeq = 0;
  private started = false;
  /** Aborted when this replica stops reconciling: every write of the reconciler carries it. */
  private term = new AbortController();

  constructor(cfg: Config, kc: KubeConfigSource, log: Logger, metrics: Metrics) {
    this.cfg = cfg;
    this.log = log;
    this.metrics = metrics;
    // The identity in the User-Agent lets the audit log tell replicas apart.
    this.client = new KubeClient(kc, { userAgent: `meshward/${version()} (${cfg.identity})` });
    this.client.onRequest((verb, _resource, code) => metrics.apiRequests.inc({ verb, code: String(code) }));
    // One table for every cache: kinds share namespaces, profile names and apiVersions.
    const strings = cacheInterner();
    const restart = (resource: string) => (reason: string) =>
      metrics.informerRestarts.inc({ resource, reason });
    this.profiles = new NamespacedInformers<KubeObjectLike>(
      {
        client: this.client,
        resource: PROFILES,
        log,
        onRestart: restart(resourceId(PROFILES)),
        transform: (o) => leanObject(o, true, strings),
        indexes: profileIndexes,
      },
      cfg.namespaces,
    );
    for (const kind of CHILD_KINDS) {
      const inf = new NamespacedInformers<KubeObjectLike>(
        {
          client: this.client,
          resource: kind.resource,
          labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}`,
          transform: (o) => leanObject(o, keepsStatus(kind), strings),
          indexes: childIndexes,
          log,
          onRestart: restart(resourceId(kind.resource)),
          onStateChange: (state, previous) => {
            if (previous === "absent" && state === "synced") {
              log.info(
                { resource: resourceId(kind.resource) },
                "resource is now served; reconciling every profile",
              );
              this.enqueueAll();
            }
          },
        },
        cfg.namespaces,
      );
      this.children.set(kind, inf);
      if (isForeignKind(kind))
        this.foreign.set(
          kind,
          new NamespacedInformers<KubeObjectLike>(
            {
              client: this.client,
              resource: kind.resource,
              labelSelector: NOT_OURS,
              transform: (o) => leanForeign(kind, o),
              indexes: foreignIndexes,
              log,
              onRestart: restart(`foreign:${resourceId(kind.resource)}`),
            },
            cfg.namespaces,
          ),
        );
    }
    this.policies = new Informer<KubeObjectLike>({
      client: this.client,
      resource: POLICIES,
      log,
      onRestart: restart(resourceId(POLICIES)),
      // A policy's status is its previous state, compared before each status write.
      transform: (o) => leanObject(o, true, strings),
    });
    this.namespaces = new Informer<KubeObjectLike>({
      client: this.client,
      resource: NAMESPACES,
      log,
      onRestart: restart(resourceId(NAMESPACES)),
      transform: (o) => leanNamespace(o, strings),
    });
    // CRDs the children need: when one appears, its informer stops waiting and lists at once.
    for (const kind of CHILD_KINDS) {
      if (!kind.crd) continue;
      const crd = new Informer<KubeObjectLike>({
        client: this.client,
        resource: CRDS,
        fieldSelector: `metadata.name=${kind.crd.name}`,
        log,
        onRestart: restart(`crd:${kind.crd.name}`),
      });
      const child = this.children.get(kind);
      const foreign = this.foreign.get(kind);
      crd.on((type, obj) => {
        const established = (
          obj as { status?: { conditions?: { type: string; status: string }[] } }
        ).status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
        if (type !== "delete" && established) {
          child?.wake();
          foreign?.wake();
        }
      });
      this.crdInformers.push(crd);
    }
    this.tierCrd = new Informer<KubeObjectLike>({
      client: this.client,
      resource: CRDS,
      fieldSelector: `metadata.name=${CLUSTER_NETWORK_POLICY_CRD}`,
      log,
      onRestart: restart(`crd:${CLUSTER_NETWORK_POLICY_CRD}`),
      transform: leanTierCrd,
    });
    this.clusterTier = new Informer<KubeObjectLike>({
      client: this.client,
      resource: CLUSTER_NETWORK_POLICIES.resource,
      labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}`,
      transform: (o) => leanObject(o, false, strings),
      log,
      onRestart: restart(resourceId(CLUSTER_NETWORK_POLICIES.resource)),
    });
    this.services = new NamespacedInformers<KubeObjectLike>(
      {
        client: this.client,
        resource: SERVICES,
        transform: leanService,
        log,
        onRestart: restart(resourceId(SERVICES)),
      },
      cfg.namespaces,
    );
    const services = this.services;
    this.reads = cacheReads(this.profiles, this.children, {
      policies: this.policies,
      namespaces: this.namespaces,
    });
    const foreign = this.foreign;
    this.accounts = new AccountWatches({
      client: this.client,
      log,
      onRestart: restart("platform-identity:serviceaccounts"),
      onChange: () => {
        if (this.policies.size > 0) this.policyStatuses();
      },
    });
    const accounts = this.accounts;
    const events = new EventRecorder({
      client: this.client,
      log,
      instance: cfg.identity,
      onRecorded: (reason) => metrics.events.inc({ reason }),
      signal: () => this.term.signal,
    });
    this.reconciler = new Reconciler(
      {
        ...this.reads,
        foreign: (ns) => foreignIn(foreign, ns),
        foreignExists: (kind, ns, name) => foreignExists(foreign, kind, ns, name),
        networkTier: () => this.networkTier(),
        clusterTierObjects: () => (this.clusterTier.state === "synced" ? this.clusterTier.list() : undefined),
        account: (ns, name) => accounts.lookup(ns, name),
        service: (ns, name) => serviceOf(services, ns, name),
        ...apiWrites(this.client, () => this.term.signal),
      },
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
        widened: (key, kinds) => {
          const [ns = "", name = ""] = key.split("/");
          metrics.setWidened(key, this.profiles.get(ns, name) ? kinds : new Map());
        },
        waypoint: (namespace) => {
          for (const p of this.profilesIn(namespace))
            this.queue.add(`${namespace}/${p.metadata?.name ?? ""}`);
        },
        adoption: (namespace, uncovered) => {
          if (uncovered === undefined) metrics.adoptionUncoveredPods.remove({ namespace });
          else metrics.adoptionUncoveredPods.set({ namespace }, uncovered);
        },
        // A reconcile that ends after its profile's delete event must not bring the entry back.
        secrets: (key, summary) => {
          const [ns = "", name = ""] = key.split("/");
          if (this.profiles.get(ns, name)) metrics.secretStates.set(key, summary);
          else metrics.secretStates.forget(key);
        },
      },
    );
    if (cfg.openreports) this.openReports = this.makeOpenReports(restart);
    this.queue = new WorkQueue((key, signal) => this.handle(key, signal), {
      concurrency: cfg.concurrency,
      metrics: queueObserver(metrics, cfg.concurrency),
      onError: (key, err, retryInMs) =>
        log.warn(
          { key, error: errorFields(err), retryInMs },
          retryInMs === undefined ? "reconcile failed; not retried" : "reconcile failed; retrying",
        ),
    });
    this.wire();
  }

  private async handle(key: string, _signal: AbortSignal) {
    const id = ++this.reconcileSeq;
    const log = this.log.child({ key, reconcileId: id });
    log.debug({}, "reconcile");
    try {
      const k = parseKey(key);
      if (k.type === "report" || k.type === "clusterReport")
        return await this.openReports?.reconciler.reconcile(
          key,
          k.type === "report" ? k.namespace : undefined,
        );
      return await this.reconciler.reconcile(key);
    } catch (e) {
      // The same classification as for each child's write: see runtime/classify.ts.
      const cls = classify(e);
      if (cls === "terminal") throw new TerminalError(errorMessage(e));
      if (cls === "refused") {
        log.warn({ error: errorFields(e), retryInMs: REFUSED_RETRY_MS }, "the API server refused a write");
        return { requeueAfterMs: REFUSED_RETRY_MS };
      }
      throw e;
    }
  }

  private profilesIn = (ns: string) => this.profiles.byIndex(ns, BY_NAMESPACE, ns);

  /** The informers and reconcile of --openreports; the CRDs' watches wake the informers once installed. */
  private makeOpenReports(restart: (resource: string) => (reason: string) => void): OpenReports {
    const lean = { log: this.log, transform: leanReport };
    const ours = `${MANAGED_BY_LABEL}=${MANAGED_BY}`;
    const onStateChange = (state: string, previous: string) => {
      if (previous === "absent" && state === "synced") {
        this.log.info({}, "openreports: the CRD is now served; writing the reports");
        for (const k of this.reportKeys()) this.queue.add(k);
      }
    };
    const reports = new NamespacedInformers<KubeObjectLike>(
      {
        ...lean,
        client: this.client,
        resource: REPORTS,
        labelSelector: ours,
        onRestart: restart(resourceId(REPORTS)),
        onStateChange,
      },
      this.cfg.namespaces,
    );
    const cluster = new Informer<KubeObjectLike>({
      ...lean,
      client: this.client,
      resource: CLUSTER_REPORTS,
      labelSelector: ours,
      onRestart: restart(resourceId(CLUSTER_REPORTS)),
      onStateChange,
    });
    for (const name of REPORT_CRDS) {
      const crd = new Informer<KubeObjectLike>({
        client: this.client,
        resource: CRDS,
        fieldSelector: `metadata.name=${name}`,
        log: this.log,
        onRestart: restart(`crd:${name}`),
      });
      crd.on((type) => {
        if (type === "delete") return;
        reports.wake();
        cluster.wake();
      });
      this.crdInformers.push(crd);
    }
    const reconciler = new ReportsReconciler(
      {
        profilesIn: this.profilesIn,
        validate: (raw) => this.reconciler.validate(raw),
        validPolicies: () => this.reconciler.validPolicies(),
        policies: () => this.policies.list(),
        namespaceLabels: this.reads.namespaceLabels,
        namespaceTerminating: this.reads.namespaceTerminating,
        report: (ns) => ({ state: reports.state, object: reports.get(ns, REPORT_NAME) }),
        clusterReport: () => ({ state: cluster.state, object: cluster.get(REPORT_NAME) }),
      },
      reportWrites(this.client, () => this.term.signal),
      this.log,
    );
    // A report changed or deleted behind our back: written again as built.
    reports.on((_type, obj) => {
      const key = reportKey(obj.metadata?.namespace ?? "");
      reconciler.observed(key);
      this.queue.add(key);
    });
    cluster.on(() => {
      reconciler.observed(CLUSTER_REPORT_KEY);
      this.queue.add(CLUSTER_REPORT_KEY);
    });
    return { reports, cluster, reconciler };
  }

  /** Every report's key: namespaces with a profile or one of our reports, and the ClusterReport. */
  private reportKeys(): string[] {
    if (!this.openReports) return [];
    const namespaces = [...this.profiles.list(), ...this.openReports.reports.list()].map(
      (o) => o.metadata?.namespace ?? "",
    );
    return reportKeys(namespaces);
  }

  private reportChanged(namespace: string | undefined): void {
    if (this.openReports && namespace) this.queue.addAfter(reportKey(namespace), REPORT_DELAY_MS);
  }

  private networkTier() {
    return networkTier(this.tierCrd.get(CLUSTER_NETWORK_POLICY_CRD) as TierCrd | undefined);
  }

  /** The platform tier is rebuilt (only where the CRD is served: elsewhere there is nothing to do). */
  private clusterTierChanged(): void {
    if (this.networkTier().tier === "ClusterNetworkPolicy") this.queue.add(CLUSTER_TIER_KEY);
  }

  private policyStatuses(): void {
    for (const k of policyStatusKeys(this.policies.list())) this.queue.addAfter(k, POLICY_STATUS_DELAY_MS);
  }

  private wire(): void {
    this.profiles.on((type, obj, old) => {
      const keys = profileEventKeys(this.refs, type, obj, old);
      const key = `${obj.metadata?.namespace ?? ""}/${obj.metadata?.name ?? ""}`;
      // Its status (what the policies found) or its existence is in the namespace's report.
      this.reportChanged(obj.metadata?.namespace);
      if (type === "delete") {
        this.reconciler.forget(key);
        this.metrics.secretStates.forget(key);
        this.metrics.setWidened(key, new Map());
      } else {
        this.reconciler.observed(key);
      }
      // A profile's Widened condition is counted in the policies' status.
      if (type === "update" && widenedChanged(obj, old) && this.policies.size > 0) this.policyStatuses();
      if (keys.length === 0) return;
      for (const k of keys) this.queue.add(k);
      this.clusterTierChanged();
      // Which of two overlapping profiles keeps the pods, and what a quarantine isolates, may change.
      for (const k of overlapPeerKeys(obj, old, this.profilesIn)) this.queue.add(k);
      if (this.policies.size > 0) {
        this.queue.add(QUARANTINE_KEY);
        this.policyStatuses();
      }
    });
    this.policies.on((type, obj, old) => {
      // The ServiceAccounts named as platform identities: watched while a policy names them.
      this.accounts.sync(this.reconciler.validPolicies());
      const keys = policyEventKeys(type, obj, old, {
        namespaces: this.reads.namespaces,
        profilesIn: this.profilesIn,
      });
      for (const k of keys) this.queue.add(k);
      if (keys.length > 0 || type === "add") this.policyStatuses();
      if (keys.length > 0 || type !== "update") this.clusterTierChanged();
      // Its status is in the ClusterReport; which guardrails its spec sets, in each namespace's report.
      if (this.openReports) {
        const spec = type !== "update" || obj.metadata?.generation !== old?.metadata?.generation;
        const keys = spec ? this.reportKeys() : [CLUSTER_REPORT_KEY];
        for (const k of keys) this.queue.addAfter(k, REPORT_DELAY_MS);
      }
    });
    this.services.on((type, obj, old) => {
      for (const k of serviceEventKeys(type, obj, old, this.profilesIn)) this.queue.add(k);
    });
    this.namespaces.on((type, obj, old) => {
      const keys = namespaceEventKeys(type, obj, old, this.profilesIn);
      for (const k of keys) this.queue.add(k);
      // Its labels decide which policies' guardrails its report lists.
      if (type === "update" && keys.length > 0) this.reportChanged(obj.metadata?.name);
      // A quarantined namespace that appears: its objects, and the policy no longer says it is missing.
      const quarantined = type === "add" ? quarantinedNamespaceKeys(type, obj, this.policies.list()) : [];
      for (const k of quarantined) this.queue.add(k);
      if (keys.length > 0 || quarantined.length > 0) {
        this.policyStatuses();
        this.clusterTierChanged();
      }
    });
    // The CRD decides the tier: its informer lists at once, every policy's status says which tier.
    this.tierCrd.on(() => {
      if (this.networkTier().tier === "ClusterNetworkPolicy") this.clusterTier.wake();
      this.clusterTierChanged();
      if (this.policies.size > 0) this.policyStatuses();
    });
    // Our tier objects changed (drift, deletion): put them back as built.
    this.clusterTier.on(() => this.clusterTierChanged());
    for (const inf of this.children.values()) {
      inf.on((_type, obj, old) => {
        for (const k of childEventKeys(obj, old)) this.queue.add(k);
      });
    }
    // A foreign object may widen any profile of its namespace.
    for (const inf of this.foreign.values()) {
      inf.on((type, obj) => {
        for (const k of foreignEventKeys(obj, this.profilesIn)) this.queue.add(k);
        // An exemption's status says whether its object exists.
        if (type !== "update" && this.policies.size > 0) this.policyStatuses();
      });
    }
  }

  enqueueAll(): void {
    const namespaces = new Set<string>();
    for (const p of this.profiles.list()) {
      const ns = p.metadata?.namespace ?? "";
      namespaces.add(ns);
      this.queue.add(`${ns}/${p.metadata?.name ?? ""}`);
    }
    // Namespaces with a leftover default deny or shared waypoint and no profile: they must go.
    for (const [kind, inf] of this.children) {
      if (kind.resource.kind !== "NetworkPolicy" && kind.resource.kind !== "Gateway") continue;
      for (const o of inf.list()) {
        const scope = o.metadata?.labels?.[SCOPE_LABEL];
        if (scope === "namespace" || scope === WAYPOINT_SCOPE) namespaces.add(o.metadata?.namespace ?? "");
      }
    }
    for (const ns of namespaces) if (ns) this.queue.add(ns);
    // Quarantine objects with no policy left must go too.
    this.queue.add(QUARANTINE_KEY);
    this.queue.add(CLUSTER_TIER_KEY);
    for (const k of policyStatusKeys(this.policies.list())) this.queue.add(k);
    for (const k of this.reportKeys()) this.queue.add(k);
  }

  /** Informers of every kind; resolves once each has listed (or found its resource absent). */
  async startInformers(signal: AbortSignal): Promise<void> {
    this.profiles.start(signal);
    void this.policies.start(signal);
    void this.namespaces.start(signal);
    this.services.start(signal);
    for (const inf of this.children.values()) inf.start(signal);
    for (const inf of this.foreign.values()) inf.start(signal);
    for (const crd of this.crdInformers) void crd.start(signal);
    void this.tierCrd.start(signal);
    void this.clusterTier.start(signal);
    this.accounts.start(signal);
    this.openReports?.reports.start(signal);
    void this.openReports?.cluster.start(signal);
    await this.profiles.waitForSync(signal);
    // Policies before any reconcile: a profile must never be built without the guardrails that bound it.
    await this.policies.waitForSync(signal);
    await this.namespaces.waitForSync(signal);
    await this.services.waitForSync(signal);
    await Promise.all([...this.children.values()].map((i) => i.waitForSync(signal)));
    await Promise.all([...this.foreign.values()].map((i) => i.waitForSync(signal)));
    await this.tierCrd.waitForSync(signal);
    await this.clusterTier.waitForSync(signal);
    await this.openReports?.reports.waitForSync(signal);
    await this.openReports?.cluster.waitForSync(signal);
  }

  get cachesSynced(): boolean {
    return (
      this.profiles.synced &&
      this.policies.synced &&
      this.namespaces.synced &&
      this.services.synced &&
      [...this.children.values()].every((i) => i.synced) &&
      [...this.foreign.values()].every((i) => i.synced) &&
      this.crdInformers.every((i) => i.synced) &&
      this.tierCrd.synced &&
      this.clusterTier.synced &&
      (this.openReports ? this.openReports.reports.synced && this.openReports.cluster.synced : true)
    );
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
    const m = new Map<string, number>();
    for (const [kind, inf] of this.children) m.set(kind.resource.kind, inf.size);
    return m;
  }
}

/** The ClusterNetworkPolicy CRD as the tier decision reads it: served versions and conditions. */
function leanTierCrd(o: KubeObjectLike): KubeObjectLike {
  const crd = o as KubeObjectLike & TierCrd;
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: {
      name: o.metadata?.name,
      uid: o.metadata?.uid,
      resourceVersion: o.metadata?.resourceVersion,
      ...(o.metadata?.deletionTimestamp && { deletionTimestamp: o.metadata.deletionTimestamp }),
    },
    spec: { versions: (crd.spec?.versions ?? []).map((v) => ({ name: v.name, served: v.served })) },
    status: {
      conditions: (crd.status?.conditions ?? []).map((c) => ({ type: c.type, status: c.status })),
    },
  } as KubeObjectLike;
}
