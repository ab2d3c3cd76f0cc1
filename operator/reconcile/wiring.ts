// The caches' events to work-queue keys: which reconciles a change of a profile, a child, a
// foreign object, a policy, a namespace, a Service, the tier CRD or a report calls for (the pure mappings are
// mapping.ts's; this file connects them to the informers and the queue).
import type { MeshwardPolicy } from "../api/policy.ts";
import type { Echoes } from "../runtime/echoes.ts";
import { WAYPOINT_SCOPE } from "../builders/ambient.ts";
import { SCOPE_LABEL } from "../builders/index.ts";
import type { Caches } from "./caches.ts";
import { CLUSTER_REPORT_KEY, CLUSTER_TIER_KEY, QUARANTINE_KEY, reportKey } from "./keys.ts";
import {
  childEventKeys,
  foreignEventKeys,
  namespaceEventKeys,
  overlapPeerKeys,
  policyEventKeys,
  policyStatusKeys,
  profileEventKeys,
  quarantinedNamespaceKeys,
  type ReferenceIndex,
  widenedChanged,
} from "./mapping.ts";
import { serviceEventKeys } from "./services.ts";
import { esoEventSecret } from "./eso-events.ts";

/**
 * A policy's status counts namespaces and profiles: changes are gathered for this long and written
 * once, not once per profile while a fleet starts.
 */
const POLICY_STATUS_DELAY_MS = 2_000;
/** Reports (--openreports) gather the changes of this long (a fleet starting, a policy rolled out). */
const REPORT_DELAY_MS = 1_000;

/** Where the events go: the queue, and the reconcilers' memory of what they wrote. */
export interface WiringTargets {
  queue: { add(key: string): void; addAfter(key: string, delayMs: number): void };
  refs: ReferenceIndex;
  /** A profile's delete event: forget what was remembered of it. */
  profileGone(key: string): void;
  /** Any other event of a profile: the cache is at least as new as our last status write. */
  profileObserved(key: string): void;
  /** The valid MeshwardPolicies (which ServiceAccounts to watch as platform identities). */
  validPolicies(): MeshwardPolicy[];
  /** A report's event (--openreports). */
  reportObserved(key: string): void;
  /** Our own writes of children: their watch events reconcile nothing again. */
  echoes: Pick<Echoes, "event">;
}

/** The keys whose reconciles several kinds of events call for. */
export class Triggers {
  private readonly c: Caches;
  private readonly t: WiringTargets;

  constructor(caches: Caches, targets: WiringTargets) {
    this.c = caches;
    this.t = targets;
  }

  /** Every policy's status, a little later (the changes of a moment are written once). */
  policyStatuses(): void {
    for (const k of policyStatusKeys(this.c.policies.list()))
      this.t.queue.addAfter(k, POLICY_STATUS_DELAY_MS);
  }

  /** The platform tier is rebuilt (only where the CRD is served: elsewhere there is nothing to do). */
  clusterTierChanged(): void {
    if (this.c.networkTier().tier === "ClusterNetworkPolicy") this.t.queue.add(CLUSTER_TIER_KEY);
  }

  reportChanged(namespace: string | undefined): void {
    if (this.c.reports && namespace) this.t.queue.addAfter(reportKey(namespace), REPORT_DELAY_MS);
  }
}

/** Every key a full pass reconciles (at start, on leadership, on resync). */
export function allKeys(c: Caches): string[] {
  const profiles: string[] = [];
  const namespaces = new Set<string>();
  for (const p of c.profiles.list()) {
    const ns = p.metadata?.namespace ?? "";
    namespaces.add(ns);
    profiles.push(`${ns}/${p.metadata?.name ?? ""}`);
  }
  // Namespaces with a leftover default deny or shared waypoint and no profile: they must go.
  for (const [kind, inf] of c.children) {
    if (kind.resource.kind !== "NetworkPolicy" && kind.resource.kind !== "Gateway") continue;
    for (const o of inf.list()) {
      const scope = o.metadata?.labels?.[SCOPE_LABEL];
      if (scope === "namespace" || scope === WAYPOINT_SCOPE) namespaces.add(o.metadata?.namespace ?? "");
    }
  }
  // Namespaces first: their shared waypoints exist before their profiles say whether they do (one
  // status write each, not a "Missing" and then an "InSync").
  const keys = [...namespaces].filter((ns) => ns !== "");
  keys.push(...profiles);
  // Quarantine objects with no policy left must go too.
  keys.push(QUARANTINE_KEY, CLUSTER_TIER_KEY);
  keys.push(...policyStatusKeys(c.policies.list()));
  keys.push(...c.reportKeys());
  return keys;
}

/** Connects every cache's events to the queue. */
export function wire(c: Caches, t: WiringTargets, triggers: Triggers): void {
  const { queue } = t;
  c.profiles.on((type, obj, old) => {
    const keys = profileEventKeys(t.refs, type, obj, old);
    const key = `${obj.metadata?.namespace ?? ""}/${obj.metadata?.name ?? ""}`;
    // Its status (what the policies found) or its existence is in the namespace's report.
    triggers.reportChanged(obj.metadata?.namespace);
    if (type === "delete") t.profileGone(key);
    else t.profileObserved(key);
    // A profile's Widened condition is counted in the policies' status.
    if (type === "update" && widenedChanged(obj, old) && c.policies.size > 0) triggers.policyStatuses();
    if (keys.length === 0) return;
    for (const k of keys) queue.add(k);
    triggers.clusterTierChanged();
    // Which of two overlapping profiles keeps the pods, and what a quarantine isolates, may change.
    for (const k of overlapPeerKeys(obj, old, c.profilesIn)) queue.add(k);
    if (c.policies.size > 0) {
      queue.add(QUARANTINE_KEY);
      triggers.policyStatuses();
    }
  });
  c.policies.on((type, obj, old) => {
    // The ServiceAccounts named as platform identities: watched while a policy names them.
    c.accounts.sync(t.validPolicies());
    const keys = policyEventKeys(type, obj, old, {
      namespaces: c.reads.namespaces,
      profilesIn: c.profilesIn,
    });
    for (const k of keys) queue.add(k);
    if (keys.length > 0 || type === "add") triggers.policyStatuses();
    if (keys.length > 0 || type !== "update") triggers.clusterTierChanged();
    // Its status is in the ClusterReport; which guardrails its spec sets, in each namespace's report.
    if (c.reports) {
      const spec = type !== "update" || obj.metadata?.generation !== old?.metadata?.generation;
      for (const k of spec ? c.reportKeys() : [CLUSTER_REPORT_KEY]) queue.addAfter(k, REPORT_DELAY_MS);
    }
  });
  c.namespaces.on((type, obj, old) => {
    const keys = namespaceEventKeys(type, obj, old, c.profilesIn);
    for (const k of keys) queue.add(k);
    // Its labels decide which policies' guardrails its report lists.
    if (type === "update" && keys.length > 0) triggers.reportChanged(obj.metadata?.name);
    // A quarantined namespace that appears: its objects, and the policy no longer says it is missing.
    const quarantined = type === "add" ? quarantinedNamespaceKeys(type, obj, c.policies.list()) : [];
    for (const k of quarantined) queue.add(k);
    if (keys.length > 0 || quarantined.length > 0) {
      triggers.policyStatuses();
      triggers.clusterTierChanged();
    }
  });
  // A Service's waypoint label: the binding check of its namespace's profiles (ambient).
  c.services.on((type, obj, old) => {
    for (const k of serviceEventKeys(type, obj, old, c.profilesIn)) queue.add(k);
  });
  // ESO's Event about one of our ExternalSecrets (a failure, or its retry): the owning profile's
  // SecretsReady takes the provider's words. Another ExternalSecret's Event maps to no key.
  const externalSecrets = [...c.children].find(([k]) => k.resource.kind === "ExternalSecret")?.[1];
  c.esoEvents.on((type, obj, old) => {
    const es = esoEventSecret(type, obj, old);
    const live = es && externalSecrets?.get(es.namespace, es.name);
    if (live) for (const k of childEventKeys(live, undefined)) queue.add(k);
  });
  // The CRD decides the tier: its informer lists at once, every policy's status says which tier.
  c.tierCrd.on(() => {
    if (c.networkTier().tier === "ClusterNetworkPolicy") c.clusterTier.wake();
    triggers.clusterTierChanged();
    if (c.policies.size > 0) triggers.policyStatuses();
  });
  // Our tier objects changed (drift, deletion): put them back as built.
  c.clusterTier.on(() => triggers.clusterTierChanged());
  for (const [kind, inf] of c.children)
    inf.on((type, obj, old) => {
      // The echo of our own write is dropped: the reconcile that wrote it has planned with it.
      t.echoes.event(kind.resource, type, obj, () => {
        for (const k of childEventKeys(obj, old)) queue.add(k);
      });
    });
  // A foreign object may widen any profile of its namespace.
  for (const inf of c.foreign.values())
    inf.on((type, obj) => {
      for (const k of foreignEventKeys(obj, c.profilesIn)) queue.add(k);
      // An exemption's status says whether its object exists.
      if (type !== "update" && c.policies.size > 0) triggers.policyStatuses();
    });
  // A report changed or deleted behind our back: written again as built.
  c.reports?.reports.on((_type, obj) => {
    const key = reportKey(obj.metadata?.namespace ?? "");
    t.reportObserved(key);
    queue.add(key);
  });
  c.reports?.cluster.on(() => {
    t.reportObserved(CLUSTER_REPORT_KEY);
    queue.add(CLUSTER_REPORT_KEY);
  });
}
