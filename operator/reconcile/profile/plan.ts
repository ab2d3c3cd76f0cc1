// The profile reconcile's decisions (pure): from a snapshot (gather.ts) to every write, delete,
// Event and status write, and what to do next. Nothing here reads or writes the cluster; the
// executor (execute.ts) carries the plan out and reports back, and the planner takes what came
// back (a name found taken, a write refused) into its next decisions:
//   start    snapshot → the desired objects, each child's plan, the first writes (or a status
//            alone, for an invalid spec);
//   advance  the writes' results → each child settled, or a next write (after a read);
//   prune    the owned objects no longer desired;
//   finish   everything that happened → the Events, the status (with, in ambient mode, the shared
//            waypoint, the Service binding and istiod's verdicts), the requeue, the error to retry.
import type {
  ExceptionStatus,
  ObjectStatus,
  Profile,
  ProfileStatus,
  SecretStatus,
} from "../../api/schema.ts";
import { API_VERSION, KIND } from "../../api/schema.ts";
import { type BuildContext, type BuildResult, buildProfile, type KubeObject } from "../../builders/index.ts";
import { dataplaneOf } from "../../builders/dataplane.ts";
import { oneSidedConditions } from "../../graph/condition.ts";
import { type ConditionDraft, WIDENED, widenedCondition } from "../../perimeter/condition.ts";
import { findWidening } from "../../perimeter/widening.ts";
import { evaluateProfile, type Finding, type PolicyOutcome } from "../../policy/engine.ts";
import { classify } from "../../runtime/classify.ts";
import { ApiError, type KubeObjectLike } from "../../runtime/client.ts";
import { RetryError } from "../../runtime/errors.ts";
import type { Result } from "../../runtime/queue.ts";
import type { Regarding } from "../events.ts";
import { type ChildKind, childKind, GATEWAY_KIND } from "../kinds.ts";
import { type ChildInput, type ChildPlan, describe, ownerUid, planChild } from "../plan.ts";
import { foldSecretHealth, leaseWarnTime, secretInputs } from "../secret-health.ts";
import { stamp } from "../shared.ts";
import { buildStatus, type MissingDependency, type Outcome, statusEqual } from "../status.ts";
import { bindingProblem, istioRejections, sharedWaypointStatus } from "../waypoints.ts";
import type { ProfileSnapshot } from "./gather.ts";
import type {
  ChildWrite,
  DeleteResult,
  EventToRecord,
  OwnedDelete,
  StatusWrite,
  WriteResult,
} from "./types.ts";

/** How soon a profile whose writes the API server refused is tried again. */
export const REFUSED_RETRY_MS = 60_000;
/** Rounds of writes for one child (a read, a create, then what a taken name calls for). */
const MAX_ROUNDS = 3;
const ES_REF = { apiVersion: "external-secrets.io/v1", kind: "ExternalSecret" } as const;

/** One desired object and what has been decided and done about it so far. */
export interface ChildState {
  kind: ChildKind;
  desired: KubeObject;
  input: ChildInput;
  plan: ChildPlan;
  rounds: number;
  /** The kind's CRD is not installed: nothing is written. */
  unavailable?: MissingDependency;
  /** The object as this reconcile's write (or the read after a taken name) returned it. */
  current?: KubeObjectLike;
  /** The API server refused the write: "Kind name: message", and whether a minute may help. */
  failure?: { text: string; refused: boolean };
  /** A transient failure (network, throttling, a concurrent change): retried with backoff. */
  transient?: { text: string; error: unknown };
}

/** A valid profile's decisions before any write. */
export interface Built {
  profile: Profile;
  generation: number;
  regarding: Regarding;
  verdict: PolicyOutcome;
  built: BuildResult;
  ctx: BuildContext;
  dataplane: ReturnType<typeof dataplaneOf>;
  children: ChildState[];
}

export type Start =
  /** Deleted, being deleted, or in a namespace being deleted: forget it, write nothing. */
  | { type: "gone" }
  /** An invalid spec: nothing is built; the status (and an Event) say why. */
  | { type: "invalid"; events: EventToRecord[]; status: StatusWrite | undefined }
  | { type: "build"; built: Built; writes: ChildWrite[] };

export interface Finish {
  events: EventToRecord[];
  status: StatusWrite | undefined;
  /** For the metrics: drift seen per object, the secrets' summary, the widening kinds. */
  drift: { kind: string; corrected: boolean }[];
  secrets: { ready: number; failing: number; pending: number };
  widened: ReadonlyMap<string, number>;
  /** The refused writes, for the log. */
  refused: { object: string; error: string }[];
  result: Result;
  /** Thrown once the status is written: the queue retries with backoff. */
  retry?: unknown;
}

function generationOf(raw: KubeObjectLike): number {
  const g = raw.metadata?.generation;
  return typeof g === "number" && Number.isSafeInteger(g) && g >= 0 ? g : 0;
}

function statusWrite(s: ProfileSnapshot, outcome: Outcome): StatusWrite | undefined {
  const next = buildStatus(outcome, s.previous, s.ctx.now);
  return statusEqual(s.previous, next) ? undefined : { namespace: s.namespace, name: s.name, status: next };
}

export function start(s: ProfileSnapshot): Start {
  const raw = s.raw;
  if (!raw || raw.metadata?.deletionTimestamp || s.terminating) return { type: "gone" };
  const generation = generationOf(raw);
  const regarding: Regarding = {
    apiVersion: API_VERSION,
    kind: KIND,
    name: s.name,
    namespace: s.namespace,
    ...(raw.metadata?.uid && { uid: raw.metadata.uid }),
  };
  const valid = s.validation.profile;
  if (!valid) return invalid(s, generation, regarding);
  // The builders need the uid for owner references; the cache object always has it. (Set on the
  // validated profile itself, as the profiles it references and its neighbours see it too.)
  const profile: Profile = valid;
  if (raw.metadata?.uid) profile.metadata.uid = raw.metadata.uid;
  const dataplane = dataplaneOf(s.namespaceLabels, profile.spec.dataplaneMode, s.meshMode);
  const ctx = { ...s.ctx, meshMode: dataplane.mode };
  // The platform's policies first: what they refuse is not built (fail closed), what they add is.
  const verdict = evaluateProfile({
    profile,
    namespaceProfiles: s.namespaceProfiles,
    policies: s.policies,
    namespaceLabels: s.namespaceLabels,
    now: ctx.now,
    maxExceptionDays: ctx.defaults.maxExceptionDays,
  });
  // A profile that loses a selector overlap builds nothing: what it owned is pruned.
  const built: BuildResult = verdict.effective
    ? buildProfile(verdict.effective, { ...ctx, identityStores: verdict.identityStores })
    : { objects: [], problems: [], exceptions: [] };
  const before = new Map((s.previous?.objects ?? []).map((o) => [`${o.kind}/${o.name}`, o]));
  const children = built.objects.map((d): ChildState => {
    const kind = childKind(d.apiVersion, d.kind);
    if (!kind) throw new Error(`no kind registered for ${d.apiVersion} ${d.kind}`);
    const desired = stamp(d);
    const input: ChildInput = {
      desired,
      live: s.live(kind, d.metadata.namespace, d.metadata.name),
      before: before.get(`${d.kind}/${d.metadata.name}`),
      policy: profile.spec.driftPolicy,
      owner: profile.metadata.uid,
    };
    if (!s.available(kind)) {
      const message = `the ${kind.crd?.name ?? kind.resource.plural} CRD is not installed`;
      return {
        kind,
        desired,
        input,
        rounds: 0,
        plan: { state: "Missing", message, action: { type: "none" } },
        ...(kind.crd && { unavailable: kind.crd.missingReason }),
      };
    }
    return { kind, desired, input, plan: planChild(input), rounds: 0 };
  });
  const b: Built = { profile, generation, regarding, verdict, built, ctx, dataplane, children };
  return { type: "build", built: b, writes: writesOf(children) };
}

function invalid(s: ProfileSnapshot, generation: number, regarding: Regarding): Start {
  const problems = s.validation.problems;
  const previous = s.previous;
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
  const told = ready?.reason === "InvalidSpec" && ready.observedGeneration === generation;
  const events: EventToRecord[] = told
    ? []
    : [
        {
          regarding,
          type: "Warning",
          reason: "InvalidSpec",
          note: first ? `${first.path}: ${first.message}` : "invalid spec",
        },
      ];
  return { type: "invalid", events, status: statusWrite(s, outcome) };
}

/** The writes the children's plans ask for, not yet done. */
function writesOf(children: readonly ChildState[]): ChildWrite[] {
  const out: ChildWrite[] = [];
  children.forEach((c, index) => {
    const action = c.plan.action;
    if (action.type === "none" || c.failure || c.transient || c.unavailable) return;
    out.push({ index, kind: c.kind, desired: c.desired, action });
  });
  return out;
}

/** What the writes' results decide: each child settled, or its next write. */
export function advance(
  children: readonly ChildState[],
  results: readonly WriteResult[],
): {
  children: ChildState[];
  writes: ChildWrite[];
} {
  const next = [...children];
  const pending = new Set<number>();
  for (const r of results) {
    const c = next[r.index];
    if (!c) continue;
    const rounds = c.rounds + 1;
    if (r.type === "written") next[r.index] = { ...c, rounds, current: r.current, plan: settled(c.plan) };
    else if (r.type === "failed") next[r.index] = { ...failed(c, r.error), rounds };
    else {
      const what = describe(c.desired);
      const plan = planChild({ ...c.input, live: r.live, looked: true });
      const current = r.taken ? r.live : c.current;
      const state: ChildState = { ...c, rounds, plan, ...(current && { current }) };
      // Taken, then gone again before the read; or taken by an object that vanished: try again later.
      if (r.taken && (!r.live || plan.action.type === "create"))
        next[r.index] = {
          ...state,
          transient: transientOf(
            new RetryError(`${what} ${r.live ? "changed" : "was deleted"} while being created`),
            what,
          ),
        };
      else if (plan.action.type !== "none" && rounds >= MAX_ROUNDS)
        next[r.index] = { ...state, transient: transientOf(new RetryError(`${what} kept changing`), what) };
      else {
        next[r.index] = state;
        if (plan.action.type !== "none") pending.add(r.index);
      }
    }
  }
  return { children: next, writes: writesOf(next).filter((w) => pending.has(w.index)) };
}

/** A plan whose write is done: nothing more to do about it. */
function settled(plan: ChildPlan): ChildPlan {
  return { ...plan, action: { type: "none" } };
}

function transientOf(error: unknown, what: string): { text: string; error: unknown } {
  const msg = error instanceof Error ? error.message : String(error);
  return { text: `${what}: ${msg}`, error };
}

/**
 * A failed write: transient errors are retried (the status says so meanwhile); writes the API
 * server refused become the child's state and message, with an ApplyFailed Event when new.
 */
function failed(c: ChildState, error: unknown): ChildState {
  const what = describe(c.desired);
  const cls = classify(error);
  if (cls === "retry") return { ...c, plan: settled(c.plan), transient: transientOf(error, what) };
  const msg = error instanceof ApiError ? error.message : String(error);
  const plan: ChildPlan = {
    state: "Missing",
    message: msg,
    action: { type: "none" },
    ...(c.input.before?.message !== msg && {
      event: { type: "Warning", reason: "ApplyFailed", note: `${what}: ${msg}` },
    }),
  };
  return { ...c, plan, failure: { text: `${what}: ${msg}`, refused: cls === "refused" } };
}

/** The objects this profile owns that are no longer desired. Nothing else is ever deleted. */
export function prune(s: ProfileSnapshot, b: Built): OwnedDelete[] {
  const uid = b.profile.metadata.uid;
  if (!uid) return [];
  const desired = new Set(b.children.map((c) => `${c.kind.resource.kind}/${c.desired.metadata.name}`));
  const out: OwnedDelete[] = [];
  for (const [kind, objects] of s.owned)
    for (const o of objects) {
      const name = o.metadata?.name ?? "";
      if (desired.has(`${kind.resource.kind}/${name}`) || ownerUid(o) !== uid || !o.metadata?.uid) continue;
      out.push({ kind, namespace: b.profile.metadata.namespace, name, uid: o.metadata.uid });
    }
  return out;
}

/** The child's entry in the status: as planned, or as it was while a transient failure is retried. */
function objectStatus(c: ChildState): ObjectStatus {
  if (c.transient && c.input.before) return c.input.before;
  const plan = c.transient
    ? { state: "Missing" as const, message: `not written yet: ${c.transient.text}` }
    : c.plan;
  return {
    apiVersion: c.desired.apiVersion,
    kind: c.desired.kind,
    name: c.desired.metadata.name,
    state: plan.state,
    ...(plan.message !== undefined && { message: plan.message }),
  };
}

export function finish(s: ProfileSnapshot, b: Built, deletes: readonly DeleteResult[]): Finish {
  const { profile, regarding, verdict, built, ctx, children } = b;
  const done = children.filter((c) => !c.transient);
  const events: EventToRecord[] = [];
  const related = (d: KubeObject): Regarding => ({
    apiVersion: d.apiVersion,
    kind: d.kind,
    name: d.metadata.name,
    namespace: d.metadata.namespace,
  });
  // Events for what was done (also when another child failed and the reconcile is retried).
  const changes = { created: [] as string[], updated: [] as string[] };
  for (const { desired, plan } of done) {
    if (plan.event) events.push({ regarding, ...plan.event, related: related(desired) });
    if (plan.change) changes[plan.change].push(describe(desired));
  }
  // One event per reconcile for routine changes; drift and conflicts get one per object.
  for (const [change, reason] of [
    ["created", "Created"],
    ["updated", "Updated"],
  ] as const)
    if (changes[change].length > 0)
      events.push({ regarding, type: "Normal", reason, note: `${change} ${changes[change].join(", ")}` });
  const objects = children.map(objectStatus);
  const widening = widened(s, b);
  events.push(...widening.events);
  const outcome: Outcome = {
    generation: b.generation,
    objects,
    conflicts: done.flatMap((c) => (c.plan.conflict ? [c.plan.conflict] : [])),
    drift: done.flatMap((c) => (c.plan.drift ? [c.plan.drift] : [])),
    missing: [...new Set(children.flatMap((c) => (c.unavailable ? [c.unavailable] : [])))].sort(),
    warnings: built.problems,
    failures: children.flatMap((c) => (c.failure ? [c.failure.text] : [])),
    retrying: children.flatMap((c) => (c.transient ? [c.transient.text] : [])),
    exceptions: built.exceptions,
    extra: [
      ...oneSidedConditions(
        profile,
        (k) => ctx.profiles.get(k),
        (ns) => s.validIn(ns),
      ),
      widening.condition,
    ],
    policy: {
      governedBy: verdict.governedBy,
      quarantinedBy: verdict.quarantinedBy,
      findings: verdict.findings,
      baseline: verdict.baseline,
    },
    dataplane: b.dataplane,
  };
  if (outcome.retrying?.length === 0) delete outcome.retrying;
  ambientStatus(s, b, outcome);
  events.push(...findingEvents(s.previous?.policy?.findings, verdict.findings, regarding));
  // What External Secrets Operator says about each ExternalSecret (its status, from the cache, or
  // for one this reconcile has just created, from the API server's answer).
  const es = childKind("external-secrets.io/v1", "ExternalSecret");
  const justWritten = new Map(
    children.flatMap((c) =>
      c.current && c.desired.kind === "ExternalSecret" ? [[c.desired.metadata.name, c.current]] : [],
    ),
  );
  const live = (n: string) =>
    es && s.available(es) ? (s.live(es, s.namespace, n) ?? justWritten.get(n)) : undefined;
  // ESO's Event holds the provider's words (Vault's "permission denied"); taken for a failing secret.
  const inputs = secretInputs(profile, outcome.objects, live).map((input) => {
    const detail = input.live === undefined ? undefined : s.esoError(s.namespace, input.spec.name);
    return { ...input, now: ctx.now, ...(detail !== undefined && { detail }) };
  });
  outcome.secrets = foldSecretHealth(inputs, s.previous?.secrets);
  for (const e of outcome.secrets.events)
    events.push({
      regarding,
      type: e.type,
      reason: e.reason,
      note: e.note,
      related: { ...ES_REF, name: e.name, namespace: s.namespace },
    });
  for (const d of deletes)
    if (!d.error)
      events.push({
        regarding,
        type: "Normal",
        reason: "Pruned",
        note: `deleted ${d.delete.kind.resource.kind} ${d.delete.name}: no longer in the profile`,
      });
  events.push(...expiredEvents(s.previous?.exceptions, built.exceptions, regarding));
  const transient = children.find((c) => c.transient)?.transient;
  const failedDelete = deletes.find((d) => d.error);
  return {
    events,
    status: statusWrite(s, outcome),
    drift: done.flatMap((c) =>
      c.plan.driftSeen ? [{ kind: c.desired.kind, corrected: c.plan.driftSeen === "corrected" }] : [],
    ),
    secrets: outcome.secrets.summary,
    widened: widening.kinds,
    refused: children.flatMap((c) =>
      c.failure ? [{ object: describe(c.desired), error: c.plan.message ?? "" }] : [],
    ),
    result: requeue(b, ctx.now, outcome.secrets.entries),
    ...((transient || failedDelete) && { retry: transient ? transient.error : failedDelete?.error }),
  };
}

/**
 * Ambient: the shared waypoint as one of the profile's objects (it is kept by the namespace key),
 * the Service binding, and istiod's verdicts on the generated AuthorizationPolicies (their status,
 * from the cache, or for one this reconcile has just written, from the API server's answer).
 */
function ambientStatus(s: ProfileSnapshot, b: Built, outcome: Outcome): void {
  const { namespace } = s;
  for (const desired of b.built.shared ?? []) {
    const available = s.available(GATEWAY_KIND);
    const live = available ? s.live(GATEWAY_KIND, namespace, desired.metadata.name) : undefined;
    const w = sharedWaypointStatus(desired, available, live, s.waypoint);
    outcome.objects.push(w.object);
    if (w.conflict) outcome.conflicts.push(w.conflict);
    if (w.missing && !outcome.missing.includes(w.missing))
      outcome.missing = [...outcome.missing, w.missing].sort();
  }
  const bound = b.built.binding;
  const binding = bindingProblem(bound, bound ? s.service(namespace, bound.service) : null);
  if (binding) outcome.binding = binding;
  const ap = childKind("security.istio.io/v1", "AuthorizationPolicy");
  const rejected = istioRejections(
    b.children.map((c) => ({
      desired: c.desired,
      live:
        ap && c.desired.kind === "AuthorizationPolicy"
          ? (s.live(ap, namespace, c.desired.metadata.name) ?? c.current)
          : undefined,
    })),
  );
  if (rejected.length > 0) outcome.istio = rejected;
}

/** When to come back: an exception or approval that ends, or a refused write in a minute. */
function requeue(b: Built, now: Date, secrets: readonly SecretStatus[] = []): Result {
  const out: number[] = [];
  const ends: Date[] = b.built.nextChange ? [b.built.nextChange] : [];
  // A dynamic credential's lease: reported as LeaseEnding, then LeaseExpired, unless a newer one
  // came first.
  for (const e of secrets) {
    if (!e.issuedAt || !e.expiresAt || e.ready !== "True") continue;
    for (const t of [
      leaseWarnTime({ issuedAt: e.issuedAt, expiresAt: e.expiresAt }),
      Date.parse(e.expiresAt),
    ])
      if (t > now.getTime()) ends.push(new Date(t));
  }
  // An approval that ends takes its exception with it.
  for (const a of b.verdict.approvals) if (a.approvedUntil) ends.push(new Date(a.approvedUntil));
  for (const c of ends)
    if (c.getTime() > now.getTime() - 1000) out.push(Math.max(0, c.getTime() - now.getTime()) + 250);
  // A refused write (RBAC, an admission policy) may be fixed without any change to the profile.
  if (b.children.some((c) => c.failure?.refused)) out.push(REFUSED_RETRY_MS);
  return out.length > 0 ? { requeueAfterMs: Math.min(...out) } : undefined;
}

/**
 * Whether objects of the namespace that meshward did not create widen what the profile declares
 * (operator/perimeter/): the Widened condition, a Warning Event when it becomes true or names
 * something new, and the per-kind counts for the metric.
 */
function widened(
  s: ProfileSnapshot,
  b: Built,
): { condition: ConditionDraft; events: EventToRecord[]; kinds: Map<string, number> } {
  const effective = b.verdict.effective;
  const widening = effective
    ? findWidening({
        profile: effective,
        ctx: b.ctx,
        built: b.built.objects,
        namespaceLabels: s.namespaceLabels,
        namespaceProfiles: s.namespaceProfiles.map((p) => p.metadata.name),
        policies: s.policies,
        foreign: s.foreign.objects,
      })
    : { findings: [], omitted: 0 };
  const condition = widenedCondition(widening, s.foreign.skipped);
  const before = s.previous?.conditions?.find((c) => c.type === WIDENED);
  const events: EventToRecord[] =
    condition.status === "True" && (before?.status !== "True" || before.message !== condition.message)
      ? [{ regarding: b.regarding, type: "Warning", reason: WIDENED, note: condition.message }]
      : [];
  const kinds = new Map<string, number>();
  for (const f of widening.findings) kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
  return { condition, events, kinds };
}

/** One Event per new finding (Warning), and one when the last finding is gone. */
function findingEvents(
  before: readonly { reason: string; mode: string; path: string }[] | undefined,
  after: readonly Finding[],
  regarding: Regarding,
): EventToRecord[] {
  const id = (f: { reason: string; mode: string; path: string }) => `${f.mode}|${f.reason}|${f.path}`;
  const seen = new Set((before ?? []).map(id));
  const out: EventToRecord[] = [];
  for (const f of after) {
    if (seen.has(id(f))) continue;
    const prefix = f.mode === "Audit" ? "[Audit: applied, would be refused] " : "";
    out.push({ regarding, type: "Warning", reason: f.reason, note: `${prefix}${f.path}: ${f.message}` });
  }
  if (after.length === 0 && before && before.length > 0)
    out.push({
      regarding,
      type: "Normal",
      reason: "Compliant",
      note: "every finding of the platform's policies is resolved",
    });
  return out;
}

function expiredEvents(
  before: ExceptionStatus[] | undefined,
  after: ExceptionStatus[],
  regarding: Regarding,
): EventToRecord[] {
  const out: EventToRecord[] = [];
  for (const e of after) {
    const was = before?.find((b) => b.type === e.type && b.expires === e.expires);
    if (e.state === "Expired" && was?.state === "Active")
      out.push({
        regarding,
        type: "Normal",
        reason: "ExceptionExpired",
        note: `exception ${e.type} (${e.ticket}) expired at ${e.expires}; enforcement is back`,
      });
  }
  return out;
}

export type { ProfileStatus };
