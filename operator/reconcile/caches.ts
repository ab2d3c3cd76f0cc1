// The operator's caches: one informer set per kind it reads (lean and indexed: cache.ts says what
// each keeps). Profiles, their children, the foreign objects of the children's kinds, the CRDs the
// children need, the platform's MeshwardPolicies, namespaces (labels only), the ClusterNetworkPolicy
// CRD and tier, the platform identities' ServiceAccounts, Services (the ambient waypoint binding
// check: name and waypoint label only) and, with --openreports, the reports.
// Nothing here maps an event to a key (wiring.ts) or reconciles (controller.ts composes those).
import { MANAGED_BY, MANAGED_BY_LABEL } from "../builders/index.ts";
import { CLUSTER_NETWORK_POLICY_CRD, networkTier, type TierCrd } from "../policy/network-tier.ts";
import type { NetworkTierStatus } from "../api/policy.ts";
import { type KubeClient, type KubeObjectLike, resourceId } from "../runtime/client.ts";
import { Informer } from "../runtime/informer.ts";
import type { Logger } from "../runtime/log.ts";
import { NamespacedInformers } from "../runtime/multi.ts";
import {
  BY_NAMESPACE,
  type CacheReads,
  cacheInterner,
  cacheReads,
  childIndexes,
  keepsStatus,
  leanNamespace,
  leanObject,
  profileIndexes,
} from "./cache.ts";
import type { Cluster } from "./cluster.ts";
import { foreignExists, foreignIn, foreignIndexes, isForeignKind, leanForeign, NOT_OURS } from "./foreign.ts";
import { AccountWatches } from "./identities.ts";
import { leanService, serviceOf, SERVICES } from "./services.ts";
import { ESO_EVENT_SELECTOR, esoErrorOf, esoEventIndexes, EVENTS, leanEsoEvent } from "./eso-events.ts";
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
import { reportKeys } from "./reports.ts";
import { leanReport } from "./reports.ts";

/** What the caches tell the rest of the operator, besides their events. */
export interface CacheHooks {
  /** A child kind's resource is now served (its CRD was installed): every profile is reconciled. */
  childServed(): void;
  /** The OpenReports resources are now served: every report is written. */
  reportsServed(): void;
  /** A ServiceAccount named as a platform identity appeared, went away or could not be looked up. */
  accountsChanged(): void;
}

export interface CacheOptions {
  client: KubeClient;
  log: Logger;
  /** The namespaces to watch (empty: the whole cluster). */
  namespaces: string[];
  /** With --openreports: meshward's Reports and ClusterReport are cached too. */
  openreports: boolean;
  /** An informer restarted its list and watch (for the metric). */
  onRestart: (resource: string, reason: string) => void;
}

/** With --openreports: meshward's Reports (lean) and its ClusterReport. */
export interface ReportCaches {
  reports: NamespacedInformers<KubeObjectLike>;
  cluster: Informer<KubeObjectLike>;
}

/** The reads of the `Cluster` port that the caches answer (the writes are api-writes.ts's). */
export type CachedReads = Omit<
  Cluster,
  "read" | "create" | "apply" | "remove" | "applyStatus" | "applyPolicyStatus" | "pods"
>;

export class Caches {
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
  /** ESO's UpdateFailed Events about ExternalSecrets, lean (eso-events.ts): the provider's words. */
  readonly esoEvents: NamespacedInformers<KubeObjectLike>;
  /** The ClusterNetworkPolicy CRD (its served versions and Established only): which tier is in force. */
  readonly tierCrd: Informer<KubeObjectLike>;
  /** The platform tier's ClusterNetworkPolicies meshward made (absent while the CRD is not served). */
  readonly clusterTier: Informer<KubeObjectLike>;
  /** The ServiceAccounts the policies name as platform identities, one watch each (identities.ts). */
  readonly accounts: AccountWatches;
  readonly reports: ReportCaches | undefined;
  /** The reconciler's reads of profiles, children, policies and namespaces. */
  readonly reads: CacheReads;

  constructor(o: CacheOptions, hooks: CacheHooks) {
    const { client, log } = o;
    // One table for every cache: kinds share namespaces, profile names and apiVersions.
    const strings = cacheInterner();
    const restart = (resource: string) => (reason: string) => o.onRestart(resource, reason);
    const ours = `${MANAGED_BY_LABEL}=${MANAGED_BY}`;
    this.profiles = new NamespacedInformers<KubeObjectLike>(
      {
        client,
        resource: PROFILES,
        log,
        onRestart: restart(resourceId(PROFILES)),
        transform: (obj) => leanObject(obj, true, strings),
        indexes: profileIndexes,
      },
      o.namespaces,
    );
    for (const kind of CHILD_KINDS) {
      const id = resourceId(kind.resource);
      this.children.set(
        kind,
        new NamespacedInformers<KubeObjectLike>(
          {
            client,
            resource: kind.resource,
            labelSelector: ours,
            transform: (obj) => leanObject(obj, keepsStatus(kind), strings),
            indexes: childIndexes,
            log,
            onRestart: restart(id),
            onStateChange: (state, previous) => {
              if (previous !== "absent" || state !== "synced") return;
              log.info({ resource: id }, "resource is now served; reconciling every profile");
              hooks.childServed();
            },
          },
          o.namespaces,
        ),
      );
      if (!isForeignKind(kind)) continue;
      this.foreign.set(
        kind,
        new NamespacedInformers<KubeObjectLike>(
          {
            client,
            resource: kind.resource,
            labelSelector: NOT_OURS,
            transform: (obj) => leanForeign(kind, obj),
            indexes: foreignIndexes,
            log,
            onRestart: restart(`foreign:${id}`),
          },
          o.namespaces,
        ),
      );
    }
    this.policies = new Informer<KubeObjectLike>({
      client,
      resource: POLICIES,
      log,
      onRestart: restart(resourceId(POLICIES)),
      // A policy's status is its previous state, compared before each status write.
      transform: (obj) => leanObject(obj, true, strings),
    });
    this.namespaces = new Informer<KubeObjectLike>({
      client,
      resource: NAMESPACES,
      log,
      onRestart: restart(resourceId(NAMESPACES)),
      transform: (obj) => leanNamespace(obj, strings),
    });
    // CRDs the children need: when one appears, its informers stop waiting and list at once.
    for (const kind of CHILD_KINDS) {
      if (!kind.crd) continue;
      const wake = [this.children.get(kind), this.foreign.get(kind)];
      this.watchCrd(o, kind.crd.name, (type, obj) => {
        const established = (
          obj as { status?: { conditions?: { type: string; status: string }[] } }
        ).status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
        if (type !== "delete" && established) for (const i of wake) i?.wake();
      });
    }
    this.tierCrd = new Informer<KubeObjectLike>({
      client,
      resource: CRDS,
      fieldSelector: `metadata.name=${CLUSTER_NETWORK_POLICY_CRD}`,
      log,
      onRestart: restart(`crd:${CLUSTER_NETWORK_POLICY_CRD}`),
      transform: leanTierCrd,
    });
    this.clusterTier = new Informer<KubeObjectLike>({
      client,
      resource: CLUSTER_NETWORK_POLICIES.resource,
      labelSelector: ours,
      transform: (obj) => leanObject(obj, false, strings),
      log,
      onRestart: restart(resourceId(CLUSTER_NETWORK_POLICIES.resource)),
    });
    this.services = serviceCache(o);
    this.esoEvents = esoEventCache(o);
    this.accounts = new AccountWatches({
      client,
      log,
      onRestart: restart("platform-identity:serviceaccounts"),
      onChange: () => hooks.accountsChanged(),
    });
    this.reports = o.openreports ? this.reportCaches(o, hooks) : undefined;
    this.reads = cacheReads(this.profiles, this.children, {
      policies: this.policies,
      namespaces: this.namespaces,
    });
  }

  /** A CRD watched by name: `on` hears its events. */
  private watchCrd(o: CacheOptions, name: string, on: Parameters<Informer<KubeObjectLike>["on"]>[0]): void {
    const crd = new Informer<KubeObjectLike>({
      client: o.client,
      resource: CRDS,
      fieldSelector: `metadata.name=${name}`,
      log: o.log,
      onRestart: (reason) => o.onRestart(`crd:${name}`, reason),
    });
    crd.on(on);
    this.crdInformers.push(crd);
  }

  /** The informers of --openreports; the CRDs' watches wake them once installed. */
  private reportCaches(o: CacheOptions, hooks: CacheHooks): ReportCaches {
    const lean = { client: o.client, log: o.log, transform: leanReport };
    const labelSelector = `${MANAGED_BY_LABEL}=${MANAGED_BY}`;
    const onStateChange = (state: string, previous: string) => {
      if (previous !== "absent" || state !== "synced") return;
      o.log.info({}, "openreports: the CRD is now served; writing the reports");
      hooks.reportsServed();
    };
    const reports = new NamespacedInformers<KubeObjectLike>(
      {
        ...lean,
        resource: REPORTS,
        labelSelector,
        onRestart: (reason) => o.onRestart(resourceId(REPORTS), reason),
        onStateChange,
      },
      o.namespaces,
    );
    const cluster = new Informer<KubeObjectLike>({
      ...lean,
      resource: CLUSTER_REPORTS,
      labelSelector,
      onRestart: (reason) => o.onRestart(resourceId(CLUSTER_REPORTS), reason),
      onStateChange,
    });
    for (const name of REPORT_CRDS)
      this.watchCrd(o, name, (type) => {
        if (type === "delete") return;
        reports.wake();
        cluster.wake();
      });
    return { reports, cluster };
  }

  /** Every read of the `Cluster` port, answered from these caches. */
  clusterReads(): CachedReads {
    const foreign = this.foreign;
    return {
      ...this.reads,
      foreign: (ns) => foreignIn(foreign, ns),
      foreignExists: (kind, ns, name) => foreignExists(foreign, kind, ns, name),
      networkTier: () => this.networkTier(),
      clusterTierObjects: () => (this.clusterTier.state === "synced" ? this.clusterTier.list() : undefined),
      account: (ns, name) => this.accounts.lookup(ns, name),
      service: (ns, name) => serviceOf(this.services, ns, name),
      esoError: (ns, name) => esoErrorOf(this.esoEvents, ns, name),
    };
  }

  /** The cached profiles of a namespace (from the index). */
  readonly profilesIn = (ns: string): KubeObjectLike[] => this.profiles.byIndex(ns, BY_NAMESPACE, ns);

  networkTier(): NetworkTierStatus {
    return networkTier(this.tierCrd.get(CLUSTER_NETWORK_POLICY_CRD) as TierCrd | undefined);
  }

  /** Every report's key: namespaces with a profile or one of our reports, and the ClusterReport. */
  reportKeys(): string[] {
    if (!this.reports) return [];
    const namespaces = [...this.profiles.list(), ...this.reports.reports.list()].map(
      (obj) => obj.metadata?.namespace ?? "",
    );
    return reportKeys(namespaces);
  }

  /** Starts every informer; resolves once each has listed (or found its resource absent). */
  async start(signal: AbortSignal): Promise<void> {
    this.profiles.start(signal);
    void this.policies.start(signal);
    void this.namespaces.start(signal);
    this.services.start(signal);
    // Not waited for: without them a failing secret has ESO's short message until its next Event.
    this.esoEvents.start(signal);
    for (const inf of this.children.values()) inf.start(signal);
    for (const inf of this.foreign.values()) inf.start(signal);
    for (const crd of this.crdInformers) void crd.start(signal);
    void this.tierCrd.start(signal);
    void this.clusterTier.start(signal);
    this.accounts.start(signal);
    this.reports?.reports.start(signal);
    void this.reports?.cluster.start(signal);
    await this.profiles.waitForSync(signal);
    // Policies before any reconcile: a profile must never be built without the guardrails that bound it.
    await this.policies.waitForSync(signal);
    await this.namespaces.waitForSync(signal);
    await this.services.waitForSync(signal);
    await Promise.all([...this.children.values()].map((i) => i.waitForSync(signal)));
    await Promise.all([...this.foreign.values()].map((i) => i.waitForSync(signal)));
    await this.tierCrd.waitForSync(signal);
    await this.clusterTier.waitForSync(signal);
    await this.reports?.reports.waitForSync(signal);
    await this.reports?.cluster.waitForSync(signal);
  }

  get synced(): boolean {
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
      (this.reports ? this.reports.reports.synced && this.reports.cluster.synced : true)
    );
  }

  /** Per-kind counts of managed objects in the cache, for the metrics gauge. */
  managedCounts(): Map<string, number> {
    const m = new Map<string, number>();
    for (const [kind, inf] of this.children) m.set(kind.resource.kind, inf.size);
    return m;
  }
}

/** The Services, lean (name and waypoint label): the ambient binding check (services.ts). */
function serviceCache(o: CacheOptions): NamespacedInformers<KubeObjectLike> {
  return new NamespacedInformers<KubeObjectLike>(
    {
      client: o.client,
      resource: SERVICES,
      transform: leanService,
      log: o.log,
      onRestart: (reason) => o.onRestart(resourceId(SERVICES), reason),
    },
    o.namespaces,
  );
}

/** ESO's UpdateFailed Events about ExternalSecrets, lean (eso-events.ts). */
function esoEventCache(o: CacheOptions): NamespacedInformers<KubeObjectLike> {
  return new NamespacedInformers<KubeObjectLike>(
    {
      client: o.client,
      resource: EVENTS,
      fieldSelector: ESO_EVENT_SELECTOR,
      transform: leanEsoEvent,
      indexes: esoEventIndexes,
      log: o.log,
      onRestart: (reason) => o.onRestart("eso-events", reason),
    },
    o.namespaces,
  );
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
