// The reconciler: one entry point per key. Level-triggered. A profile is reconciled in stages
// (profile/: gather a snapshot from the caches → a pure plan → an executor that only performs it →
// one status write); the namespace default deny, its shared waypoint (ambient, ADR 24) and its
// adoption audit are here; the quarantine and
// policy statuses are platform.ts's, the platform tier cluster-tier.ts's. It never modifies or
// deletes an object that it does not own.
import type { MeshwardPolicy } from "../api/policy.ts";
import type { Profile, ProfileStatus } from "../api/schema.ts";
import { type Problem, validateProfile } from "../api/validate.ts";
import {
  type BuildContext,
  buildNamespace,
  type KubeObject,
  NAMESPACE_DEFAULT_DENY,
  type PlatformDefaults,
  type MeshMode,
} from "../builders/index.ts";
import { needsSharedWaypoint } from "../builders/ambient.ts";
import { dataplaneOf } from "../builders/dataplane.ts";
import { byString } from "../builders/meta.ts";
import { adoption, governingPolicies } from "../policy/combine.ts";
import { defaultNamespaceLabels } from "../policy/fleet.ts";
import { selects } from "../policy/selectors.ts";
import type { KubeObjectLike } from "../runtime/client.ts";
import type { Result } from "../runtime/queue.ts";
import type { EventSink } from "./events.ts";
import { parseKey } from "./keys.ts";
import { type ChildKind, childKind } from "./kinds.ts";
import { managers } from "./plan.ts";
import { reconcileClusterTier } from "./cluster-tier.ts";
import { PlatformReconciler } from "./platform.ts";
import { PolicyBook } from "./policies.ts";
import { ensureShared, isShared, removeOwned, stamp } from "./shared.ts";
import type { Cluster } from "./cluster.ts";
import { executeDeletes, executeStatus, executeWrites, recordEvents } from "./profile/execute.ts";
import { gatherProfile, type ProfileSnapshot } from "./profile/gather.ts";
import * as profilePlan from "./profile/plan.ts";
import type { StatusWrite } from "./profile/types.ts";
import { readStatus } from "./status.ts";
import { keepSharedWaypoint, sameState, type SharedWaypointState } from "./waypoints.ts";

export interface ReconcilerConfig {
  trustDomain: string;
  meshMode: MeshMode;
  defaults: PlatformDefaults;
  now?: () => Date;
}

export interface Observer {
  drift?(kind: string, corrected: boolean): void;
  /** After each reconcile of a valid profile: how many of its secrets ESO has synced, failed, not yet reported. */
  secrets?(profile: string, summary: { ready: number; failing: number; pending: number }): void;
  /** After each reconcile of a profile: the foreign objects that widen it, counted by kind. */
  widened?(profile: string, kinds: ReadonlyMap<string, number>): void;
  /** After a namespace's adoption audit: pods the default deny would cut off (undefined: no audit). */
  adoption?(namespace: string, uncovered: number | undefined): void;
  /** The namespace's shared waypoint changed state (created, deleted, found foreign): its profiles say so. */
  waypoint?(namespace: string): void;
}

type Log = {
  info(o: object, m: string): void;
  warn(o: object, m: string): void;
  debug(o: object, m: string): void;
};

/** An adoption audit whose Event was throttled is tried again after this long. */
const AUDIT_RETRY_MS = 10_000;

export { REFUSED_RETRY_MS } from "./profile/plan.ts";

export class Reconciler {
  private readonly cluster: Cluster;
  private readonly cfg: ReconcilerConfig;
  private readonly events: EventSink;
  private readonly log: Log;
  private readonly observer: Observer;
  private readonly validated = new Map<
    string,
    { rv: string | undefined; profile: Profile | undefined; problems: Problem[] }
  >();
  private readonly book: PolicyBook;
  private readonly platform: PlatformReconciler;
  /** The last adoption audit note per namespace (an Event only when it changes). */
  private readonly adoptionNotes = new Map<string, string>();
  /** What the namespace key last found for each namespace's shared waypoint (absent: none). */
  private readonly waypoints = new Map<string, SharedWaypointState>();

  constructor(cluster: Cluster, cfg: ReconcilerConfig, events: EventSink, log: Log, observer: Observer = {}) {
    this.cluster = cluster;
    this.cfg = cfg;
    this.events = events;
    this.log = log;
    this.observer = observer;
    this.book = new PolicyBook(() => cluster.policies());
    this.platform = new PlatformReconciler(cluster, this.book, {
      trustDomain: cfg.trustDomain,
      dns: cfg.defaults.dns,
      now: () => this.now(),
      log,
      profiles: (raw) => this.validate(raw).profile,
    });
  }

  private now(): Date {
    return this.cfg.now ? this.cfg.now() : new Date();
  }

  /** Validation memoised by resourceVersion: building one profile looks up the profiles it references. */
  validate(raw: KubeObjectLike): { profile: Profile | undefined; problems: Problem[] } {
    const key = `${raw.metadata?.namespace}/${raw.metadata?.name}`;
    const rv = raw.metadata?.resourceVersion;
    const hit = this.validated.get(key);
    if (hit && hit.rv === rv && rv !== undefined) return hit;
    const r = validateProfile(raw);
    const entry = { rv, profile: r.ok ? r.profile : undefined, problems: r.problems };
    this.validated.set(key, entry);
    return entry;
  }

  /**
   * The status this replica last wrote for a profile, until the cache shows it: a reconcile that
   * runs again before our write's watch event arrives compares with what was written, not with the
   * cache's older status (which would send the same status again and repeat its Events).
   */
  private readonly written = new Map<string, { basedOn: string | undefined; status: ProfileStatus }>();

  /** The valid MeshwardPolicies, sorted by name. */
  validPolicies(): MeshwardPolicy[] {
    return this.book.valid();
  }

  forget(key: string): void {
    this.validated.delete(key);
    this.written.delete(key);
  }

  /** The cache has an event for this profile: its status is at least as new as our last write. */
  observed(key: string): void {
    this.written.delete(key);
  }

  /** The profile's status as last written: the cache's, unless our newer write has not reached it. */
  private previousStatus(key: string, raw: KubeObjectLike): ProfileStatus | undefined {
    const w = this.written.get(key);
    if (w && w.basedOn !== undefined && w.basedOn === raw.metadata?.resourceVersion) return w.status;
    this.written.delete(key);
    return readStatus((raw as { status?: unknown }).status);
  }

  /** The valid, not deleted profiles of a namespace. */
  private validIn(namespace: string): Profile[] {
    const out: Profile[] = [];
    for (const raw of this.cluster.profilesIn(namespace)) {
      if (raw.metadata?.deletionTimestamp) continue;
      const p = this.validate(raw).profile;
      if (p) out.push(p);
    }
    return out;
  }

  private labelsOf(namespace: string): Readonly<Record<string, string>> {
    return this.cluster.namespaceLabels(namespace) ?? defaultNamespaceLabels(namespace);
  }

  private context(): BuildContext {
    const lookup = {
      get: (key: string): Profile | undefined => {
        const raw = this.cluster.profile(key);
        return raw && !raw.metadata?.deletionTimestamp ? this.validate(raw).profile : undefined;
      },
    } as unknown as ReadonlyMap<string, Profile>;
    return {
      trustDomain: this.cfg.trustDomain,
      meshMode: this.cfg.meshMode,
      defaults: this.cfg.defaults,
      profiles: lookup,
      now: this.now(),
    };
  }

  async reconcile(key: string): Promise<Result> {
    const k = parseKey(key);
    switch (k.type) {
      case "profile":
        return this.reconcileProfile(key);
      case "namespace":
        return this.reconcileNamespace(k.namespace);
      case "quarantine":
        return this.platform.reconcileQuarantine();
      case "policy":
        return this.platform.reconcilePolicy(k.name);
      case "clusterTier":
        return reconcileClusterTier(this.cluster, this.book, {
          ctx: { trustDomain: this.cfg.trustDomain, dns: this.cfg.defaults.dns },
          log: this.log,
          quarantined: () => this.platform.quarantineCandidates(),
          defaultDenyNamespaces: () => this.defaultDenyNamespaces(),
        });
    }
  }

  /** The namespaces whose default deny reconcileNamespace keeps (the Baseline tier mirrors them). */
  private defaultDenyNamespaces(): string[] {
    const out = new Set<string>();
    for (const p of this.cluster.allProfiles()) {
      const ns = p.metadata?.namespace;
      if (!ns || p.metadata?.deletionTimestamp || out.has(ns) || this.cluster.namespaceTerminating(ns))
        continue;
      if (adoption(governingPolicies(this.book.valid(), this.labelsOf(ns))).createDefaultDeny) out.add(ns);
    }
    return [...out];
  }

  /**
   * The shared default deny of a namespace: present while the namespace has a profile and its
   * policies adopt it (adoption Enforce, the default); otherwise gone. Under adoption Audit the
   * pods it would cut off (those no profile selects) are reported instead.
   */
  async reconcileNamespace(namespace: string): Promise<Result> {
    // A namespace being deleted takes everything in it along, and refuses new objects.
    if (this.cluster.namespaceTerminating(namespace)) return;
    let count = 0;
    for (const p of this.cluster.profilesIn(namespace)) if (!p.metadata?.deletionTimestamp) count++;
    const kind = childKind("networking.k8s.io/v1", "NetworkPolicy");
    if (!kind) throw new Error("NetworkPolicy kind missing");
    const live = this.cluster.live(kind, namespace, NAMESPACE_DEFAULT_DENY);
    const adopt = adoption(governingPolicies(this.book.valid(), this.labelsOf(namespace)));
    const [desired] = adopt.createDefaultDeny ? buildNamespace(namespace, count) : [];
    await this.writeDefaultDeny(kind, namespace, desired, live, count);
    await this.sharedWaypoint(namespace);
    // After the write: a refused pod list (RBAC) must not hold up the default deny.
    if (!adopt.createDefaultDeny && count > 0) {
      // A report the Event limits held back (a burst of other Events) is tried again shortly.
      if (!(await this.auditAdoption(namespace, adopt.policies))) return { requeueAfterMs: AUDIT_RETRY_MS };
    } else if (this.adoptionNotes.delete(namespace)) this.observer.adoption?.(namespace, undefined);
  }

  /** The namespace's shared waypoint: present while any of its profiles needs it (ADR 24). */
  private async sharedWaypoint(namespace: string): Promise<void> {
    const labels = this.labelsOf(namespace);
    const needed = this.validIn(namespace).some((p) =>
      needsSharedWaypoint(p, dataplaneOf(labels, p.spec.dataplaneMode, this.cfg.meshMode).mode),
    );
    const state = await keepSharedWaypoint(this.cluster, namespace, needed, this.log);
    const before = this.waypoints.get(namespace);
    if (state.state === "none") this.waypoints.delete(namespace);
    else this.waypoints.set(namespace, state);
    if (!sameState(before, state)) this.observer.waypoint?.(namespace);
  }

  private async writeDefaultDeny(
    kind: ChildKind,
    namespace: string,
    desired: KubeObject | undefined,
    live: KubeObjectLike | undefined,
    count: number,
  ): Promise<void> {
    if (!desired) {
      if (live && isShared(live, "namespace") && live.metadata?.uid) {
        if (!(await removeOwned(this.cluster, kind, namespace, NAMESPACE_DEFAULT_DENY, live.metadata.uid)))
          return;
        this.log.info(
          { namespace },
          count > 0
            ? "deleted the namespace default deny: the namespace adopts meshward in Audit"
            : "deleted the namespace default deny: no profile left",
        );
      }
      return;
    }
    const r = await ensureShared(this.cluster, kind, stamp(desired), live, "namespace");
    if (r.result === "created") this.log.info({ namespace }, "created the namespace default deny");
    if (r.result === "foreign")
      this.log.warn(
        { namespace, managers: managers(r.current) },
        "a NetworkPolicy named meshward-default-deny exists and is not ours; leaving it",
      );
  }

  /**
   * Adoption Audit: which pods the namespace default deny would cut off, as an Event on the
   * namespace. False when the Event was throttled: nothing is remembered, so a later try sends it.
   */
  private async auditAdoption(namespace: string, policies: string[]): Promise<boolean> {
    const selectors = this.validIn(namespace).map((p) => p.spec.selector);
    const pods = await this.cluster.pods(namespace);
    const cut = pods
      .filter((pod) => !selectors.some((s) => selects(s, pod.labels)))
      .map((pod) => pod.name)
      .sort(byString);
    this.observer.adoption?.(namespace, cut.length);
    const why = `the namespace default deny is not created (adoption: Audit in MeshwardPolicy ${policies.join(", ")})`;
    const note =
      cut.length === 0
        ? `${why}; every pod is selected by a profile: adoption can be set to Enforce`
        : `${why}; enforcing it would cut off ${cut.length} pod${cut.length === 1 ? "" : "s"} that no profile selects: ${cut.slice(0, 10).join(", ")}${cut.length > 10 ? ", …" : ""}. Give them profiles, then set adoption to Enforce`;
    if (this.adoptionNotes.get(namespace) === note) return true;
    const sent = this.events.record(
      { apiVersion: "v1", kind: "Namespace", name: namespace, namespace },
      cut.length === 0 ? "Normal" : "Warning",
      "AdoptionAudit",
      note,
    );
    if (sent) this.adoptionNotes.set(namespace, note);
    return sent;
  }

  /**
   * One profile, in stages: gather a snapshot from the caches, plan (pure: profile/plan.ts),
   * execute the writes (profile/execute.ts), take their results into the plan, prune, and write
   * the status once, always: a write that failed for a while shows as Ready=False, then is retried.
   */
  async reconcileProfile(key: string): Promise<Result> {
    const snapshot = gatherProfile(key, {
      cluster: this.cluster,
      previousStatus: (k, raw) => this.previousStatus(k, raw),
      validate: (raw) => this.validate(raw),
      labelsOf: (ns) => this.labelsOf(ns),
      validIn: (ns) => this.validIn(ns),
      policies: () => this.book.valid(),
      context: () => this.context(),
      meshMode: this.cfg.meshMode,
      waypoint: (ns) => this.waypoints.get(ns),
    });
    const first = profilePlan.start(snapshot);
    if (first.type === "gone") {
      this.forget(key);
      return;
    }
    if (first.type === "invalid") {
      recordEvents(this.events, first.events);
      await this.writeStatus(key, snapshot, first.status);
      return;
    }
    let { children } = first.built;
    for (let writes = first.writes; writes.length > 0;) {
      const results = await executeWrites(this.cluster, writes);
      ({ children, writes } = profilePlan.advance(children, results));
    }
    const built = { ...first.built, children };
    const deletes = await executeDeletes(this.cluster, profilePlan.prune(snapshot, built));
    const done = profilePlan.finish(snapshot, built, deletes);
    for (const r of done.refused) this.log.warn(r, "the API server refused a write");
    for (const d of done.drift) this.observer.drift?.(d.kind, d.corrected);
    this.observer.widened?.(key, done.widened);
    this.observer.secrets?.(key, done.secrets);
    recordEvents(this.events, done.events);
    await this.writeStatus(key, snapshot, done.status);
    if (done.retry !== undefined) throw done.retry;
    return done.result;
  }

  private async writeStatus(key: string, s: ProfileSnapshot, w: StatusWrite | undefined): Promise<void> {
    if (!w) return;
    await executeStatus(this.cluster, w);
    this.written.set(key, { basedOn: s.raw?.metadata?.resourceVersion, status: w.status });
  }
}
