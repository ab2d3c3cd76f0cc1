// The reconciler: glue between the cache (runtime) and the builders. Level-triggered: for a key it
// reads the profile from the cache, validates it, builds the desired objects, compares them with
// the cached live objects, acts, and writes status when it changed. It never modifies or deletes
// an object that it does not own.
import type { ExceptionStatus, ObjectStatus, Profile, ProfileStatus } from "../api/schema.ts";
import { API_VERSION, KIND } from "../api/schema.ts";
import { type Problem, validateProfile } from "../api/validate.ts";
import {
  type BuildContext,
  buildNamespace,
  buildProfile,
  type KubeObject,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  NAMESPACE_DEFAULT_DENY,
  type PlatformDefaults,
  SCOPE_LABEL,
  type MeshMode,
} from "../builders/index.ts";
import { oneSidedConditions } from "../graph/condition.ts";
import { ApiError, type KubeObjectLike } from "../runtime/client.ts";
import type { Result } from "../runtime/queue.ts";
import { DESIRED_HASH_ANNOTATION, driftPaths, hashOf } from "./compare.ts";
import type { EventSink, Regarding } from "./events.ts";
import { type ChildKind, childKind } from "./kinds.ts";
import { foldSecretHealth, secretInputs } from "./secret-health.ts";
import { buildStatus, type MissingDependency, type Outcome, readStatus, statusEqual } from "./status.ts";

/** What the reconciler reads and writes. The operator backs it with informers and the API; tests with a fake. */
export interface Cluster {
  profile(key: string): KubeObjectLike | undefined;
  profiles(): Iterable<KubeObjectLike>;
  /** Cached live object of a kind we generate (only our labelled objects are cached). */
  live(kind: ChildKind, namespace: string, name: string): KubeObjectLike | undefined;
  /** Cached objects of a kind carrying our profile label in a namespace. */
  labelled(kind: ChildKind, namespace: string, profile: string): KubeObjectLike[];
  /** False while the kind's CRD is not installed. */
  available(kind: ChildKind): boolean;
  /** A read from the API server, for names not in the cache (an object someone else made). */
  read(kind: ChildKind, namespace: string, name: string): Promise<KubeObjectLike | undefined>;
  apply(kind: ChildKind, obj: KubeObject, force: boolean): Promise<KubeObjectLike>;
  remove(kind: ChildKind, namespace: string, name: string, uid: string): Promise<void>;
  applyStatus(namespace: string, name: string, status: ProfileStatus): Promise<void>;
}

export interface ReconcilerConfig {
  trustDomain: string;
  meshMode: MeshMode;
  defaults: PlatformDefaults;
  now?: () => Date;
}

export interface Observer {
  drift?(kind: string, corrected: boolean): void;
  managed?(counts: Map<string, number>): void;
  /** After each reconcile of a valid profile: how many of its secrets ESO has synced, failed, not yet reported. */
  secrets?(profile: string, summary: { ready: number; failing: number; pending: number }): void;
}

type Log = {
  info(o: object, m: string): void;
  warn(o: object, m: string): void;
  debug(o: object, m: string): void;
};

/** A profile key is "namespace/name"; a namespace key (for the shared default deny) is just "namespace". */
export function isNamespaceKey(key: string): boolean {
  return !key.includes("/");
}

function ownerUid(o: KubeObjectLike): string | undefined {
  return o.metadata?.ownerReferences?.find(
    (r) => r.controller && r.kind === KIND && r.apiVersion.startsWith("meshward.io/"),
  )?.uid;
}

function managers(o: KubeObjectLike): string {
  const names = [
    ...new Set((o.metadata?.managedFields ?? []).map((m) => m.manager).filter((m): m is string => !!m)),
  ];
  return names.length > 0 ? names.join(", ") : "unknown";
}

function describe(o: { kind: string; metadata: { name: string } }): string {
  return `${o.kind} ${o.metadata.name}`;
}

const ES_REF = { apiVersion: "external-secrets.io/v1", kind: "ExternalSecret" } as const;

/** How soon a profile whose writes the API server refused is tried again. */
export const REFUSED_RETRY_MS = 60_000;

function isRetriable(e: unknown): boolean {
  return (
    !(e instanceof ApiError) || e.status === 0 || e.status === 429 || e.status >= 500 || e.status === 409
  );
}

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

  constructor(cluster: Cluster, cfg: ReconcilerConfig, events: EventSink, log: Log, observer: Observer = {}) {
    this.cluster = cluster;
    this.cfg = cfg;
    this.events = events;
    this.log = log;
    this.observer = observer;
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

  forget(key: string): void {
    this.validated.delete(key);
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
    return isNamespaceKey(key) ? this.reconcileNamespace(key) : this.reconcileProfile(key);
  }

  /** The shared default deny of a namespace: present while the namespace has a profile, gone after. */
  async reconcileNamespace(namespace: string): Promise<Result> {
    let count = 0;
    for (const p of this.cluster.profiles()) {
      if (p.metadata?.namespace === namespace && !p.metadata.deletionTimestamp) count++;
    }
    const kind = childKind("networking.k8s.io/v1", "NetworkPolicy");
    if (!kind) throw new Error("NetworkPolicy kind missing");
    const live = this.cluster.live(kind, namespace, NAMESPACE_DEFAULT_DENY);
    const [desired] = buildNamespace(namespace, count);
    if (!desired) {
      const ours =
        live?.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY &&
        live.metadata.labels[SCOPE_LABEL] === "namespace";
      if (live && ours && live.metadata?.uid) {
        await this.cluster.remove(kind, namespace, NAMESPACE_DEFAULT_DENY, live.metadata.uid);
        this.log.info({ namespace }, "deleted the namespace default deny: no profile left");
      }
      return;
    }
    const withHash = this.stamp(desired);
    // Not in the cache yet (e.g. created a moment ago): ask the API server before creating.
    const current = live ?? (await this.cluster.read(kind, namespace, NAMESPACE_DEFAULT_DENY));
    if (current) {
      if (current.metadata?.labels?.[SCOPE_LABEL] !== "namespace") {
        this.log.warn(
          { namespace, managers: managers(current) },
          "a NetworkPolicy named meshward-default-deny exists and is not ours; leaving it",
        );
        return;
      }
      if (this.inSync(withHash, current)) return;
      await this.cluster.apply(kind, withHash, true);
      return;
    }
    await this.cluster.apply(kind, withHash, false);
    this.log.info({ namespace }, "created the namespace default deny");
  }

  private stamp(desired: KubeObject): KubeObject {
    const hash = hashOf(desired);
    return {
      ...desired,
      metadata: {
        ...desired.metadata,
        annotations: { ...desired.metadata.annotations, [DESIRED_HASH_ANNOTATION]: hash },
      },
    };
  }

  private inSync(stamped: KubeObject, live: KubeObjectLike): boolean {
    return driftPaths(stamped, live).length === 0;
  }

  async reconcileProfile(key: string): Promise<Result> {
    const raw = this.cluster.profile(key);
    if (!raw || raw.metadata?.deletionTimestamp) {
      // Children go by ownerReference garbage collection; the namespace key handles the shared deny.
      this.forget(key);
      return;
    }
    const [namespace = "", name = ""] = key.split("/");
    const g = raw.metadata?.generation;
    const generation = typeof g === "number" && Number.isSafeInteger(g) && g >= 0 ? g : 0;
    const previous = readStatus((raw as { status?: unknown }).status);
    const regarding: Regarding = {
      apiVersion: API_VERSION,
      kind: KIND,
      name,
      namespace,
      ...(raw.metadata?.uid && { uid: raw.metadata.uid }),
    };
    const { profile, problems } = this.validate(raw);
    if (!profile) {
      const outcome: Outcome = {
        generation,
        invalid: problems,
        objects: previous?.objects ?? [],
        conflicts: [],
        drift: [],
        missing: [],
        warnings: [],
        failures: [],
        exceptions: previous?.exceptions ?? [],
      };
      const first = problems[0];
      const ready = previous?.conditions?.find((c) => c.type === "Ready");
      if (!(ready?.reason === "InvalidSpec" && ready.observedGeneration === generation)) {
        this.events.record(
          regarding,
          "Warning",
          "InvalidSpec",
          first ? `${first.path}: ${first.message}` : "invalid spec",
        );
      }
      await this.writeStatus(namespace, name, previous, outcome);
      return;
    }
    // The builders need the uid for owner references; the cache object always has it.
    if (raw.metadata?.uid) profile.metadata.uid = raw.metadata.uid;
    const ctx = this.context();
    const built = buildProfile(profile, ctx);
    const outcome: Outcome = {
      extra: oneSidedConditions(profile, (k) => ctx.profiles.get(k)),
      generation,
      objects: [],
      conflicts: [],
      drift: [],
      missing: [],
      warnings: built.problems,
      failures: [],
      exceptions: built.exceptions,
    };
    const previousObjects = new Map((previous?.objects ?? []).map((o) => [`${o.kind}/${o.name}`, o]));
    const missing = new Set<MissingDependency>();
    const desiredNames = new Map<ChildKind, Set<string>>();

    // Children are independent: their reads and writes go out together.
    const changes: { created: string[]; updated: string[] } = { created: [], updated: [] };
    const work: Promise<void>[] = [];
    for (const desired of built.objects) {
      const kind = childKind(desired.apiVersion, desired.kind);
      if (!kind) throw new Error(`no kind registered for ${desired.apiVersion} ${desired.kind}`);
      const names = desiredNames.get(kind) ?? new Set<string>();
      names.add(desired.metadata.name);
      desiredNames.set(kind, names);
      const entry: ObjectStatus = {
        apiVersion: desired.apiVersion,
        kind: desired.kind,
        name: desired.metadata.name,
        state: "InSync",
      };
      outcome.objects.push(entry);
      if (!this.cluster.available(kind)) {
        if (kind.crd) missing.add(kind.crd.missingReason);
        entry.state = "Missing";
        entry.message = `the ${kind.crd?.name ?? kind.resource.plural} CRD is not installed`;
        continue;
      }
      const before = previousObjects.get(`${desired.kind}/${desired.metadata.name}`);
      work.push(
        this.reconcileChild(kind, desired, profile, entry, outcome, before, regarding).then(
          (change) => {
            if (change) changes[change].push(describe(desired));
          },
          (e: unknown) => {
            if (isRetriable(e)) throw e;
            const msg = e instanceof ApiError ? e.message : String(e);
            entry.state = "Missing";
            entry.message = msg;
            outcome.failures.push(`${describe(desired)}: ${msg}`);
            this.log.warn({ object: describe(desired), error: msg }, "the API server refused a write");
            if (before?.message !== msg) {
              this.events.record(regarding, "Warning", "ApplyFailed", `${describe(desired)}: ${msg}`);
            }
          },
        ),
      );
    }
    const settled = await Promise.allSettled(work);
    // One event per reconcile for routine changes; drift and conflicts get one per object.
    if (changes.created.length > 0)
      this.events.record(regarding, "Normal", "Created", `created ${changes.created.join(", ")}`);
    if (changes.updated.length > 0)
      this.events.record(regarding, "Normal", "Updated", `updated ${changes.updated.join(", ")}`);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    outcome.missing = [...missing].sort();
    // Children finish in any order: sort, so an unchanged situation writes an identical status.
    outcome.conflicts.sort();
    outcome.drift.sort();
    outcome.failures.sort();
    // What External Secrets Operator says about each ExternalSecret (its status, from the cache).
    const es = childKind("external-secrets.io/v1", "ExternalSecret");
    const live = (n: string) =>
      es && this.cluster.available(es) ? this.cluster.live(es, namespace, n) : undefined;
    outcome.secrets = foldSecretHealth(secretInputs(profile, outcome.objects, live), previous?.secrets);
    for (const e of outcome.secrets.events)
      this.events.record(regarding, e.type, e.reason, e.note, { ...ES_REF, name: e.name, namespace });
    this.observer.secrets?.(key, outcome.secrets.summary);
    await this.prune(profile, desiredNames, regarding);
    this.noteExpiredExceptions(previous?.exceptions, built.exceptions, regarding);
    await this.writeStatus(namespace, name, previous, outcome);
    const requeue: number[] = [];
    if (built.nextChange) requeue.push(Math.max(0, built.nextChange.getTime() - this.now().getTime()) + 250);
    // A refused write (RBAC, an admission policy) may be fixed without any change to the profile.
    if (outcome.failures.length > 0) requeue.push(REFUSED_RETRY_MS);
    return requeue.length > 0 ? { requeueAfterMs: Math.min(...requeue) } : undefined;
  }

  private async reconcileChild(
    kind: ChildKind,
    desired: KubeObject,
    profile: Profile,
    entry: ObjectStatus,
    outcome: Outcome,
    before: ObjectStatus | undefined,
    regarding: Regarding,
  ): Promise<"created" | "updated" | undefined> {
    // Warnings are events about changes: one already in the status was already told.
    const known = (state: ObjectStatus["state"], message: string) =>
      before?.state === state && before.message === message;
    const stamped = this.stamp(desired);
    const ns = desired.metadata.namespace;
    const name = desired.metadata.name;
    const uid = profile.metadata.uid;
    const related: Regarding = { apiVersion: desired.apiVersion, kind: desired.kind, name, namespace: ns };
    let live = this.cluster.live(kind, ns, name);
    if (!live) {
      // Not in our (label-filtered) cache: it may still exist, made by someone else.
      live = await this.cluster.read(kind, ns, name);
    }
    if (live && ownerUid(live) !== uid) {
      entry.state = "Conflict";
      entry.message = `exists and is managed by ${managers(live)}, not by this profile`;
      outcome.conflicts.push(`${describe(desired)} (managed by ${managers(live)})`);
      if (!known("Conflict", entry.message)) {
        this.events.record(
          regarding,
          "Warning",
          "Conflict",
          `${describe(desired)} exists and is not managed by this profile (managed by ${managers(live)}); left unchanged`,
          related,
        );
      }
      return;
    }
    const correct = profile.spec.driftPolicy === "Correct";
    if (!live) {
      const wasThere = before !== undefined && before.state !== "Missing" && before.state !== "Conflict";
      const reportedDeleted = before?.state === "Missing" && before.message === "deleted outside the profile";
      if ((wasThere || reportedDeleted) && !correct) {
        entry.state = "Missing";
        entry.message = "deleted outside the profile";
        outcome.drift.push(`${describe(desired)}: deleted`);
        if (!reportedDeleted) {
          this.observer.drift?.(desired.kind, false);
          this.events.record(
            regarding,
            "Warning",
            "DriftDetected",
            `${describe(desired)} was deleted; left deleted (driftPolicy: Report)`,
            related,
          );
        }
        return;
      }
      try {
        await this.cluster.apply(kind, stamped, false);
      } catch (e) {
        if (e instanceof ApiError && e.status === 409) {
          // Created by someone else between our read and our apply: theirs.
          entry.state = "Conflict";
          entry.message = "exists and is managed by someone else";
          outcome.conflicts.push(`${describe(desired)} (created concurrently by another manager)`);
          return;
        }
        throw e;
      }
      if (wasThere || reportedDeleted) {
        this.observer.drift?.(desired.kind, true);
        this.events.record(
          regarding,
          "Normal",
          "DriftCorrected",
          `${describe(desired)} was deleted; recreated`,
          related,
        );
        return undefined;
      }
      return "created";
    }
    const paths = driftPaths(stamped, live);
    if (paths.length === 0) return;
    const liveHash = live.metadata?.annotations?.[DESIRED_HASH_ANNOTATION];
    if (liveHash === undefined || liveHash === stamped.metadata.annotations?.[DESIRED_HASH_ANNOTATION]) {
      // We applied this very object before (or someone removed our stamp): it was edited.
      const fields = paths.join(", ");
      if (!correct) {
        entry.state = "Drifted";
        entry.message = `changed outside the profile: ${fields}`;
        outcome.drift.push(`${describe(desired)}: ${fields}`);
        if (!known("Drifted", entry.message)) {
          this.observer.drift?.(desired.kind, false);
          this.events.record(
            regarding,
            "Warning",
            "DriftDetected",
            `${describe(desired)} changed outside the profile: ${fields}; left as is (driftPolicy: Report)`,
            related,
          );
        }
        return;
      }
      await this.cluster.apply(kind, stamped, true);
      this.observer.drift?.(desired.kind, true);
      this.events.record(
        regarding,
        "Normal",
        "DriftCorrected",
        `${describe(desired)} changed outside the profile (${fields}); restored`,
        related,
      );
      return;
    }
    // The profile (or the platform) asks for something new.
    await this.cluster.apply(kind, stamped, true);
    return "updated";
  }

  /** Deletes objects this profile owns that are no longer desired. Nothing else is ever deleted. */
  private async prune(
    profile: Profile,
    desiredNames: Map<ChildKind, Set<string>>,
    regarding: Regarding,
  ): Promise<void> {
    const uid = profile.metadata.uid;
    if (!uid) return;
    for (const [kind, names] of this.kindsToPrune(desiredNames)) {
      if (!this.cluster.available(kind)) continue;
      for (const o of this.cluster.labelled(kind, profile.metadata.namespace, profile.metadata.name)) {
        const n = o.metadata?.name ?? "";
        if (names.has(n) || ownerUid(o) !== uid || !o.metadata?.uid) continue;
        try {
          await this.cluster.remove(kind, profile.metadata.namespace, n, o.metadata.uid);
        } catch (e) {
          if (!(e instanceof ApiError && (e.status === 404 || e.status === 409))) throw e;
        }
        this.events.record(
          regarding,
          "Normal",
          "Pruned",
          `deleted ${kind.resource.kind} ${n}: no longer in the profile`,
        );
      }
    }
  }

  private kindsToPrune(desiredNames: Map<ChildKind, Set<string>>): Map<ChildKind, Set<string>> {
    const out = new Map(desiredNames);
    for (const apiKind of [
      ["v1", "ServiceAccount"],
      ["networking.k8s.io/v1", "NetworkPolicy"],
      ["security.istio.io/v1", "PeerAuthentication"],
      ["security.istio.io/v1", "AuthorizationPolicy"],
      ["security.istio.io/v1", "RequestAuthentication"],
      ["external-secrets.io/v1", "ExternalSecret"],
    ] as const) {
      const k = childKind(apiKind[0], apiKind[1]);
      if (k && !out.has(k)) out.set(k, new Set());
    }
    return out;
  }

  private noteExpiredExceptions(
    before: ExceptionStatus[] | undefined,
    after: ExceptionStatus[],
    regarding: Regarding,
  ): void {
    for (const e of after) {
      const was = before?.find((b) => b.type === e.type && b.expires === e.expires);
      if (e.state === "Expired" && was?.state === "Active") {
        this.events.record(
          regarding,
          "Normal",
          "ExceptionExpired",
          `exception ${e.type} (${e.ticket}) expired at ${e.expires}; enforcement is back`,
        );
      }
    }
  }

  private async writeStatus(
    namespace: string,
    name: string,
    previous: ProfileStatus | undefined,
    outcome: Outcome,
  ): Promise<void> {
    const next = buildStatus(outcome, previous, this.now());
    if (statusEqual(previous, next)) return;
    await this.cluster.applyStatus(namespace, name, next);
  }
}
