// The reconciler: glue between the cache (runtime) and the builders. Level-triggered: for a key it
// reads the profile from the cache, validates it, builds the desired objects, compares them with
// the cached live objects, acts, and writes status when it changed. It never modifies or deletes
// an object that it does not own.
import type { MeshwardPolicy, NetworkTierStatus, PolicyStatus } from "../api/policy.ts";
import type { ExceptionStatus, ObjectStatus, Profile, ProfileStatus } from "../api/schema.ts";
import { API_VERSION, KIND } from "../api/schema.ts";
import { type Problem, validateProfile } from "../api/validate.ts";
import {
  type BuildContext,
  type BuildResult,
  buildNamespace,
  buildProfile,
  type KubeObject,
  NAMESPACE_DEFAULT_DENY,
  type PlatformDefaults,
  type MeshMode,
} from "../builders/index.ts";
import { dataplaneOf } from "../builders/dataplane.ts";
import { byString } from "../builders/meta.ts";
import { oneSidedConditions } from "../graph/condition.ts";
import { type ConditionDraft, WIDENED, widenedCondition } from "../perimeter/condition.ts";
import type { AccountLookup } from "../perimeter/identities.ts";
import type { ForeignObjects } from "../perimeter/types.ts";
import { findWidening } from "../perimeter/widening.ts";
import { adoption, governingPolicies } from "../policy/combine.ts";
import { evaluateProfile, type Finding, type PolicyOutcome } from "../policy/engine.ts";
import { defaultNamespaceLabels } from "../policy/fleet.ts";
import { selects } from "../policy/selectors.ts";
import { classify } from "../runtime/classify.ts";
import { ApiError, type KubeObjectLike } from "../runtime/client.ts";
import type { Result } from "../runtime/queue.ts";
import type { EventSink, Regarding } from "./events.ts";
import { parseKey } from "./keys.ts";
import { CHILD_KINDS, type ChildKind, childKind } from "./kinds.ts";
import { type ChildInput, type ChildPlan, describe, managers, ownerUid, planChild } from "./plan.ts";
import { reconcileClusterTier } from "./cluster-tier.ts";
import { PlatformReconciler } from "./platform.ts";
import { PolicyBook } from "./policies.ts";
import { foldSecretHealth, readEsoStatus, type SecretInput, secretInputs } from "./secret-health.ts";
import { createOrRead, ensureShared, isShared, stamp } from "./shared.ts";
import {
  buildStatus,
  type MissingDependency,
  type Outcome,
  type PolicyVerdict,
  readStatus,
  statusEqual,
} from "./status.ts";

/** What the reconciler reads and writes. The operator backs it with informers and the API; tests with a fake. */
export interface Cluster {
  profile(key: string): KubeObjectLike | undefined;
  /** The cached profiles of one namespace (from an index, not a scan). */
  profilesIn(namespace: string): Iterable<KubeObjectLike>;
  /** Cached live object of a kind we generate (only our labelled objects are cached). */
  live(kind: ChildKind, namespace: string, name: string): KubeObjectLike | undefined;
  /** Cached objects of a kind that belong to a profile (owner reference, else profile label). */
  owned(kind: ChildKind, namespace: string, profile: string): KubeObjectLike[];
  /** False while the kind's CRD is not installed. */
  available(kind: ChildKind): boolean;
  /** One read from the API server, only after a create found the name taken (409 AlreadyExists). */
  read(kind: ChildKind, namespace: string, name: string): Promise<KubeObjectLike | undefined>;
  /** A plain create (POST): never touches an existing object; 409 AlreadyExists when the name is taken. */
  create(kind: ChildKind, obj: KubeObject): Promise<KubeObjectLike>;
  /**
   * Server-side apply with force, on an object we own only: `uid` is the live object's uid, sent as
   * a precondition, so an object replaced behind a stale cache is refused instead of taken over.
   */
  apply(kind: ChildKind, obj: KubeObject, uid: string): Promise<KubeObjectLike>;
  remove(kind: ChildKind, namespace: string, name: string, uid: string): Promise<void>;
  applyStatus(namespace: string, name: string, status: ProfileStatus): Promise<void>;
  /** Every cached MeshwardPolicy, raw (the reconciler validates them). */
  policies(): Iterable<KubeObjectLike>;
  /** Every cached profile (for a policy's status and the quarantine). */
  allProfiles(): Iterable<KubeObjectLike>;
  /** Every cached namespace, with its labels. */
  namespaces(): Iterable<{ name: string; labels: Readonly<Record<string, string>> }>;
  /** The labels of a namespace from the cache; undefined when it is not cached. */
  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined;
  /** Whether the cached namespace is being deleted (it accepts no new objects). */
  namespaceTerminating(namespace: string): boolean;
  /** Cached objects of a kind owned by a fleet-wide key (e.g. the quarantine's), in any namespace. */
  ownedByKey(kind: ChildKind, key: string): KubeObjectLike[];
  /** Objects of the namespace that meshward did not create, as the widening decision takes them. */
  foreign(namespace: string): { objects: ForeignObjects; skipped: number };
  /** What the operator knows of a ServiceAccount a policy names as a platform identity. */
  account(namespace: string, name: string): AccountLookup;
  /** Whether a foreign object of `kind` exists; undefined for a kind that is not cached. */
  foreignExists(kind: string, namespace: string, name: string): boolean | undefined;
  /** The names and labels of a namespace's pods: one LIST, for an adoption audit only. */
  pods(namespace: string): Promise<{ name: string; labels: Readonly<Record<string, string>> }[]>;
  /**
   * The newest error External Secrets Operator reported on an ExternalSecret (its Warning event,
   * reason UpdateFailed: the provider's own message, e.g. Vault's "permission denied"); one LIST of
   * events, only for a secret that fails. Optional: without it the status has ESO's short message.
   */
  esoError?(namespace: string, name: string): Promise<string | undefined>;
  applyPolicyStatus(name: string, status: PolicyStatus): Promise<void>;
  /** Which network-policy tier the cluster serves (from the ClusterNetworkPolicy CRD). */
  networkTier(): NetworkTierStatus;
  /** The cached platform-tier ClusterNetworkPolicies meshward made; undefined until listed. */
  clusterTierObjects(): KubeObjectLike[] | undefined;
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
  /** After each reconcile of a profile: the foreign objects that widen it, counted by kind. */
  widened?(profile: string, kinds: ReadonlyMap<string, number>): void;
  /** After a namespace's adoption audit: pods the default deny would cut off (undefined: no audit). */
  adoption?(namespace: string, uncovered: number | undefined): void;
}

type Log = {
  info(o: object, m: string): void;
  warn(o: object, m: string): void;
  debug(o: object, m: string): void;
};

const ES_REF = { apiVersion: "external-secrets.io/v1", kind: "ExternalSecret" } as const;
/** An adoption audit whose Event was throttled is tried again after this long. */
const AUDIT_RETRY_MS = 10_000;

/** How soon a profile whose writes the API server refused is tried again. */
export const REFUSED_RETRY_MS = 60_000;
/** A failing secret whose ESO event was not found yet is looked at again after this. */
export const ESO_ERROR_RETRY_MS = 15_000;

/** What became of one desired object, once its plan was carried out. */
interface ChildResult {
  desired: KubeObject;
  status: ObjectStatus;
  plan: ChildPlan;
  /** The API server refused the write: "Kind name: message", and whether a minute may help. */
  failure?: { text: string; refused: boolean };
  /**
   * The object as this reconcile's create or apply returned it (or its read after a 409 found it):
   * newer than the cache until its watch event arrives.
   */
  current?: KubeObjectLike;
}

function childResult(desired: KubeObject, plan: ChildPlan): ChildResult {
  const status: ObjectStatus = {
    apiVersion: desired.apiVersion,
    kind: desired.kind,
    name: desired.metadata.name,
    state: plan.state,
    ...(plan.message !== undefined && { message: plan.message }),
  };
  return { desired, status, plan };
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
  private readonly book: PolicyBook;
  private readonly platform: PlatformReconciler;
  /** The last adoption audit note per namespace (an Event only when it changes). */
  private readonly adoptionNotes = new Map<string, string>();

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
    // After the write: a refused pod list (RBAC) must not hold up the default deny.
    if (!adopt.createDefaultDeny && count > 0) {
      // A report the Event limits held back (a burst of other Events) is tried again shortly.
      if (!(await this.auditAdoption(namespace, adopt.policies))) return { requeueAfterMs: AUDIT_RETRY_MS };
    } else if (this.adoptionNotes.delete(namespace)) this.observer.adoption?.(namespace, undefined);
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
        await this.cluster.remove(kind, namespace, NAMESPACE_DEFAULT_DENY, live.metadata.uid);
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

  async reconcileProfile(key: string): Promise<Result> {
    const raw = this.cluster.profile(key);
    const [namespace = "", name = ""] = key.split("/");
    // A profile being deleted, or in a namespace being deleted: its children go with it (by
    // ownerReference, or with the namespace, which refuses new objects: creating them would only
    // fail, once a minute, with an ApplyFailed Event each time). The namespace key handles the
    // shared deny.
    if (!raw || raw.metadata?.deletionTimestamp || this.cluster.namespaceTerminating(namespace)) {
      this.forget(key);
      return;
    }
    const g = raw.metadata?.generation;
    const generation = typeof g === "number" && Number.isSafeInteger(g) && g >= 0 ? g : 0;
    const previous = this.previousStatus(key, raw);
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
      await this.writeStatus(key, raw, previous, outcome);
      return;
    }
    // The builders need the uid for owner references; the cache object always has it.
    if (raw.metadata?.uid) profile.metadata.uid = raw.metadata.uid;
    const dataplane = dataplaneOf(this.labelsOf(namespace), profile.spec.dataplaneMode, this.cfg.meshMode);
    const ctx = { ...this.context(), meshMode: dataplane.mode };
    // The platform's policies first: what they refuse is not built (fail closed), what they add is.
    const verdict = evaluateProfile({
      profile,
      namespaceProfiles: this.validIn(namespace),
      policies: this.book.valid(),
      namespaceLabels: this.labelsOf(namespace),
      now: ctx.now,
      maxExceptionDays: this.cfg.defaults.maxExceptionDays,
    });
    // A profile that loses a selector overlap builds nothing: what it owned is pruned below.
    const built: BuildResult = verdict.effective
      ? buildProfile(verdict.effective, { ...ctx, identityStores: verdict.identityStores })
      : { objects: [], problems: [], exceptions: [] };
    const previousObjects = new Map((previous?.objects ?? []).map((o) => [`${o.kind}/${o.name}`, o]));
    const missing = new Set<MissingDependency>();
    const desiredNames = new Map<ChildKind, Set<string>>();
    const related = (d: KubeObject): Regarding => ({
      apiVersion: d.apiVersion,
      kind: d.kind,
      name: d.metadata.name,
      namespace: d.metadata.namespace,
    });

    // Children are independent: their writes go out together; results come back in desired order.
    const work = built.objects.map((desired): Promise<ChildResult> => {
      const kind = childKind(desired.apiVersion, desired.kind);
      if (!kind) throw new Error(`no kind registered for ${desired.apiVersion} ${desired.kind}`);
      const names = desiredNames.get(kind) ?? new Set<string>();
      names.add(desired.metadata.name);
      desiredNames.set(kind, names);
      if (!this.cluster.available(kind)) {
        if (kind.crd) missing.add(kind.crd.missingReason);
        const message = `the ${kind.crd?.name ?? kind.resource.plural} CRD is not installed`;
        return Promise.resolve(childResult(desired, { state: "Missing", message, action: { type: "none" } }));
      }
      const before = previousObjects.get(`${desired.kind}/${desired.metadata.name}`);
      return this.runChild(kind, stamp(desired), profile, before);
    });
    const settled = await Promise.allSettled(work);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
    const results = settled.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    // Events for what was done (also when another child failed and the reconcile is retried).
    const changes = { created: [] as string[], updated: [] as string[] };
    for (const { desired, plan } of results) {
      if (plan.driftSeen) this.observer.drift?.(desired.kind, plan.driftSeen === "corrected");
      if (plan.event)
        this.events.record(regarding, plan.event.type, plan.event.reason, plan.event.note, related(desired));
      if (plan.change) changes[plan.change].push(describe(desired));
    }
    // One event per reconcile for routine changes; drift and conflicts get one per object.
    if (changes.created.length > 0)
      this.events.record(regarding, "Normal", "Created", `created ${changes.created.join(", ")}`);
    if (changes.updated.length > 0)
      this.events.record(regarding, "Normal", "Updated", `updated ${changes.updated.join(", ")}`);
    if (failed) throw failed.reason;
    const outcome: Outcome = {
      generation,
      objects: results.map((r) => r.status),
      conflicts: results.flatMap((r) => (r.plan.conflict ? [r.plan.conflict] : [])),
      drift: results.flatMap((r) => (r.plan.drift ? [r.plan.drift] : [])),
      missing: [...missing].sort(),
      warnings: built.problems,
      failures: results.flatMap((r) => (r.failure ? [r.failure.text] : [])),
      exceptions: built.exceptions,
      extra: [
        ...oneSidedConditions(profile, (k) => ctx.profiles.get(k)),
        this.widened(key, verdict.effective, built.objects, ctx, previous, regarding),
      ],
      policy: policyVerdict(verdict),
      dataplane,
    };
    this.noteFindings(previous?.policy?.findings, verdict.findings, regarding);
    // What External Secrets Operator says about each ExternalSecret (its status, from the cache, or
    // for one this reconcile has just created, from the API server's answer).
    const es = childKind("external-secrets.io/v1", "ExternalSecret");
    const justWritten = new Map(
      results.flatMap((r) =>
        r.current && r.desired.kind === "ExternalSecret" ? [[r.desired.metadata.name, r.current]] : [],
      ),
    );
    const live = (n: string) =>
      es && this.cluster.available(es)
        ? (this.cluster.live(es, namespace, n) ?? justWritten.get(n))
        : undefined;
    const inputs = secretInputs(profile, outcome.objects, live);
    const esoErrorMissing = await this.addEsoErrors(namespace, inputs);
    outcome.secrets = foldSecretHealth(inputs, previous?.secrets);
    for (const e of outcome.secrets.events)
      this.events.record(regarding, e.type, e.reason, e.note, { ...ES_REF, name: e.name, namespace });
    this.observer.secrets?.(key, outcome.secrets.summary);
    await this.prune(profile, desiredNames, regarding);
    this.noteExpiredExceptions(previous?.exceptions, built.exceptions, regarding);
    await this.writeStatus(key, raw, previous, outcome);
    const requeue: number[] = [];
    const ends: Date[] = built.nextChange ? [built.nextChange] : [];
    // An approval that ends takes its exception with it.
    for (const a of verdict.approvals) if (a.approvedUntil) ends.push(new Date(a.approvedUntil));
    for (const c of ends)
      if (c.getTime() > this.now().getTime() - 1000)
        requeue.push(Math.max(0, c.getTime() - this.now().getTime()) + 250);
    // A refused write (RBAC, an admission policy) may be fixed without any change to the profile.
    if (results.some((r) => r.failure?.refused)) requeue.push(REFUSED_RETRY_MS);
    // ESO records its event asynchronously, and a retry that fails alike does not change the
    // ExternalSecret's status (no watch event): look again for the provider's words shortly.
    if (esoErrorMissing) requeue.push(ESO_ERROR_RETRY_MS);
    return requeue.length > 0 ? { requeueAfterMs: Math.min(...requeue) } : undefined;
  }

  /**
   * Whether objects of the namespace that meshward did not create widen what the profile declares
   * (operator/perimeter/): the Widened condition, a Warning Event when it becomes true or names
   * something new, and the per-kind counts for the metric.
   */
  private widened(
    key: string,
    effective: Profile | undefined,
    built: readonly KubeObject[],
    ctx: BuildContext,
    previous: ProfileStatus | undefined,
    regarding: Regarding,
  ): ConditionDraft {
    const namespace = effective?.metadata.namespace ?? key.split("/")[0] ?? "";
    const foreign = this.cluster.foreign(namespace);
    const widening = effective
      ? findWidening({
          profile: effective,
          ctx,
          built,
          namespaceLabels: this.labelsOf(namespace),
          namespaceProfiles: this.validIn(namespace).map((p) => p.metadata.name),
          policies: this.book.valid(),
          foreign: foreign.objects,
        })
      : { findings: [], omitted: 0 };
    const condition = widenedCondition(widening, foreign.skipped);
    const before = previous?.conditions?.find((c) => c.type === WIDENED);
    if (condition.status === "True" && (before?.status !== "True" || before.message !== condition.message))
      this.events.record(regarding, "Warning", WIDENED, condition.message);
    const kinds = new Map<string, number>();
    for (const f of widening.findings) kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
    this.observer.widened?.(key, kinds);
    return condition;
  }

  /**
   * Plans one child and carries the plan out. A create that finds the name taken reads the object
   * once and plans again with it; so does a name that was someone else's last time. Transient
   * errors reject (the reconcile is retried); writes the API server refuses become the child's
   * state and message.
   */
  private async runChild(
    kind: ChildKind,
    desired: KubeObject,
    profile: Profile,
    before: ObjectStatus | undefined,
  ): Promise<ChildResult> {
    const input: ChildInput = {
      desired,
      live: this.cluster.live(kind, desired.metadata.namespace, desired.metadata.name),
      before,
      policy: profile.spec.driftPolicy,
      owner: profile.metadata.uid,
    };
    try {
      let plan = planChild(input);
      if (plan.action.type === "read") {
        const live = await this.cluster.read(kind, desired.metadata.namespace, desired.metadata.name);
        plan = planChild({ ...input, live, looked: true });
      }
      let current: KubeObjectLike | undefined;
      if (plan.action.type === "create") {
        const r = await createOrRead(this.cluster, kind, desired);
        current = r.existing ?? r.created;
        if (r.existing) {
          plan = planChild({ ...input, live: r.existing, looked: true });
          // Gone again between the create and the read: the next try creates it.
          if (plan.action.type === "create")
            throw new ApiError(409, "Conflict", `${describe(desired)} changed while being created`);
        }
      }
      if (plan.action.type === "apply") current = await this.cluster.apply(kind, desired, plan.action.uid);
      return { ...childResult(desired, plan), ...(current && { current }) };
    } catch (e) {
      const cls = classify(e);
      if (cls === "retry") throw e;
      const msg = e instanceof ApiError ? e.message : String(e);
      this.log.warn({ object: describe(desired), error: msg }, "the API server refused a write");
      const plan: ChildPlan = {
        state: "Missing",
        message: msg,
        action: { type: "none" },
        ...(before?.message !== msg && {
          event: { type: "Warning", reason: "ApplyFailed", note: `${describe(desired)}: ${msg}` },
        }),
      };
      return {
        ...childResult(desired, plan),
        failure: { text: `${describe(desired)}: ${msg}`, refused: cls === "refused" },
      };
    }
  }

  /** Deletes objects this profile owns that are no longer desired. Nothing else is ever deleted. */
  /**
   * ESO's detailed error (the provider's message) for each secret that ESO reports as failing.
   * True when a failing secret's error was not found (yet).
   */
  private async addEsoErrors(namespace: string, inputs: SecretInput[]): Promise<boolean> {
    const lookup = this.cluster.esoError?.bind(this.cluster);
    if (!lookup) return false;
    const found = await Promise.all(
      inputs.map(async (input) => {
        if (readEsoStatus(input.live).ready?.status !== "False") return true;
        try {
          const detail = await lookup(namespace, input.spec.name);
          if (detail) input.detail = detail;
          return detail !== undefined;
        } catch (e) {
          // The short message is still reported; the detail comes at a later reconcile.
          this.log.debug({ err: e, namespace, secret: input.spec.name }, "could not read ESO's events");
          return false;
        }
      }),
    );
    return found.includes(false);
  }

  private async prune(
    profile: Profile,
    desiredNames: Map<ChildKind, Set<string>>,
    regarding: Regarding,
  ): Promise<void> {
    const uid = profile.metadata.uid;
    if (!uid) return;
    for (const kind of CHILD_KINDS) {
      const names = desiredNames.get(kind) ?? new Set<string>();
      if (!this.cluster.available(kind)) continue;
      for (const o of this.cluster.owned(kind, profile.metadata.namespace, profile.metadata.name)) {
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

  /** One Event per new finding (Warning), and one when the last finding is gone. */
  private noteFindings(
    before: readonly { reason: string; mode: string; path: string }[] | undefined,
    after: readonly Finding[],
    regarding: Regarding,
  ): void {
    const id = (f: { reason: string; mode: string; path: string }) => `${f.mode}|${f.reason}|${f.path}`;
    const seen = new Set((before ?? []).map(id));
    for (const f of after) {
      if (seen.has(id(f))) continue;
      const prefix = f.mode === "Audit" ? "[Audit: applied, would be refused] " : "";
      this.events.record(regarding, "Warning", f.reason, `${prefix}${f.path}: ${f.message}`);
    }
    if (after.length === 0 && before && before.length > 0)
      this.events.record(
        regarding,
        "Normal",
        "Compliant",
        "every finding of the platform's policies is resolved",
      );
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
    key: string,
    raw: KubeObjectLike,
    previous: ProfileStatus | undefined,
    outcome: Outcome,
  ): Promise<void> {
    const next = buildStatus(outcome, previous, this.now());
    if (statusEqual(previous, next)) return;
    const [namespace = "", name = ""] = key.split("/");
    await this.cluster.applyStatus(namespace, name, next);
    this.written.set(key, { basedOn: raw.metadata?.resourceVersion, status: next });
  }
}

function policyVerdict(v: PolicyOutcome): PolicyVerdict {
  return {
    governedBy: v.governedBy,
    quarantinedBy: v.quarantinedBy,
    findings: v.findings,
    baseline: v.baseline,
  };
}
