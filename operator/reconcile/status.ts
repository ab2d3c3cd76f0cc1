// From what a reconcile found to the profile's status (pure): one condition per type, each with a
// reason and a message a service team can act on; lastTransitionTime moves only when a status flips.
import type * as z from "zod";
import {
  CONDITION_TYPES,
  Condition as ConditionSchema,
  type Condition,
  ExceptionStatus as ExceptionStatusSchema,
  type ExceptionStatus,
  ObjectStatus as ObjectStatusSchema,
  type ObjectStatus,
  type ProfileStatus,
  ProfileStatus as ProfileStatusSchema,
  PolicyReport as PolicyReportSchema,
  SecretStatus as SecretStatusSchema,
} from "../api/schema.ts";
import type { Problem } from "../api/validate.ts";
import { ONE_SIDED } from "../graph/condition.ts";
import { WIDENED } from "../perimeter/condition.ts";
import type { BaselineMark, Finding } from "../policy/types.ts";
import type { SecretHealth } from "./secret-health.ts";
import type { IstioRejection } from "./waypoints.ts";

/** Every condition type meshward writes (a type it stops writing must still count as a change). */
const OWN_CONDITIONS: ReadonlySet<string> = new Set([...CONDITION_TYPES, ONE_SIDED, WIDENED]);

export type MissingDependency =
  "IstioNotInstalled" | "ExternalSecretsNotInstalled" | "GatewayApiNotInstalled";

export interface Outcome {
  generation: number;
  /** Errors in the spec: nothing was changed. */
  invalid?: Problem[];
  objects: ObjectStatus[];
  /** Objects with a desired name that belong to someone else: "Kind name (managed by X)". */
  conflicts: string[];
  /** Current drift left in place (driftPolicy Report): "Kind name: path, path". */
  drift: string[];
  missing: MissingDependency[];
  /** Warnings from the builders (e.g. a reference to a profile that does not exist). */
  warnings: Problem[];
  /** Writes the API server refused (not retriable by waiting): "Kind name: message". */
  failures: string[];
  /** Writes that failed for a while (network, throttling, a concurrent change), retried: "Kind name: message". */
  retrying?: string[];
  exceptions: ExceptionStatus[];
  /** Conditions decided elsewhere (e.g. OneSided, operator/graph/condition.ts), written as they are. */
  extra?: Pick<Condition, "type" | "status" | "reason" | "message">[];
  /** ESO's verdict on each generated ExternalSecret (secret-health.ts); absent: not looked at. */
  secrets?: SecretHealth;
  /** What the platform's MeshwardPolicies decided (operator/policy); absent: not evaluated. */
  policy?: PolicyVerdict;
  /** Which data plane the objects were built for (operator/builders/dataplane.ts). */
  dataplane?: ProfileStatus["dataplane"];
  /** Ambient: the Service is not bound to its waypoint (the command to run); reported, not blocking. */
  binding?: Problem;
  /** Ambient: istiod's ZtunnelAccepted/WaypointAccepted=False on a generated AuthorizationPolicy. */
  istio?: IstioRejection[];
}

export interface PolicyVerdict {
  governedBy: string[];
  quarantinedBy: string[];
  findings: Finding[];
  baseline: BaselineMark[];
}

const MAX_MESSAGE = 4000;

function clip(s: string): string {
  return s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE - 1)}…` : s;
}

function list(items: string[], max = 5): string {
  const head = items.slice(0, max).join("; ");
  return items.length > max ? `${head}; and ${items.length - max} more` : head;
}

const MISSING_TEXT: Record<MissingDependency, string> = {
  IstioNotInstalled:
    "Istio's security.istio.io CRDs are not installed: PeerAuthentication, AuthorizationPolicy and RequestAuthentication are not created. Install Istio; meshward picks the CRDs up without a restart",
  ExternalSecretsNotInstalled:
    "External Secrets Operator's external-secrets.io CRDs are not installed: the ExternalSecrets are not created. Install ESO; meshward picks the CRDs up without a restart",
  GatewayApiNotInstalled:
    "the Gateway API's gateways.gateway.networking.k8s.io CRD is not served: the waypoint that enforces this profile's http rules and token checks in ambient mode is not created, so ztunnel admits only the waypoint on those ports and callers are denied there. Install the Gateway API CRDs (standard channel); meshward picks them up without a restart",
};

/** Degraded's reason when the Service lacks its istio.io/use-waypoint label. */
export const WAYPOINT_NOT_BOUND = "WaypointNotBound";

type Draft = Pick<Condition, "type" | "status" | "reason" | "message">;

/** Why the profile is Degraded, in order: the first reason is the condition's. */
function degradedReasonsOf(o: Outcome): { reason: string; message: string }[] {
  const degradedReasons: { reason: string; message: string }[] = [];
  for (const m of o.missing) degradedReasons.push({ reason: m, message: MISSING_TEXT[m] });
  if (o.failures.length > 0) {
    degradedReasons.push({ reason: "ApplyFailed", message: `the API server refused: ${list(o.failures)}` });
  }
  if (o.retrying && o.retrying.length > 0) {
    degradedReasons.push({
      reason: "WriteFailed",
      message: `a write failed and is retried: ${list(o.retrying)}`,
    });
  }
  if (o.secrets?.failure) degradedReasons.push(o.secrets.failure);
  if (o.binding)
    degradedReasons.push({ reason: WAYPOINT_NOT_BOUND, message: `${o.binding.path}: ${o.binding.message}` });
  const refs = o.warnings.filter((w) => w.message.includes("no ServiceSecurityProfile"));
  if (refs.length > 0) {
    degradedReasons.push({
      reason: "ReferenceNotFound",
      message: list(refs.map((w) => `${w.path}: ${w.message}`)),
    });
  }
  const other = o.warnings.filter((w) => !refs.includes(w));
  if (other.length > 0) {
    degradedReasons.push({ reason: "Warning", message: list(other.map((w) => `${w.path}: ${w.message}`)) });
  }
  return degradedReasons;
}

export function desiredConditions(o: Outcome): Draft[] {
  if (o.invalid && o.invalid.length > 0) {
    const msg = `the spec is invalid, nothing was changed: ${list(o.invalid.map((p) => `${p.path}: ${p.message}`))}`;
    return [
      { type: "Ready", status: "False", reason: "InvalidSpec", message: msg },
      {
        type: "Drifted",
        status: "Unknown",
        reason: "InvalidSpec",
        message: "not checked while the spec is invalid",
      },
      { type: "Degraded", status: "True", reason: "InvalidSpec", message: msg },
      {
        type: "Conflict",
        status: "Unknown",
        reason: "InvalidSpec",
        message: "not checked while the spec is invalid",
      },
    ];
  }
  const conflict: Draft =
    o.conflicts.length > 0
      ? {
          type: "Conflict",
          status: "True",
          reason: "ObjectExists",
          message: `these objects exist and are not managed by this profile; meshward leaves them as they are. Delete or rename them, or rename this profile: ${list(o.conflicts)}`,
        }
      : {
          type: "Conflict",
          status: "False",
          reason: "NoConflict",
          message: "no object with a generated name belongs to someone else",
        };
  const drifted: Draft =
    o.drift.length > 0
      ? {
          type: "Drifted",
          status: "True",
          reason: "DriftDetected",
          message: `changed outside the profile and left as is (driftPolicy: Report): ${list(o.drift)}. Revert the change, or set driftPolicy: Correct to restore them`,
        }
      : {
          type: "Drifted",
          status: "False",
          reason: "InSync",
          message: "every generated object matches the profile",
        };
  const degradedReasons = degradedReasonsOf(o);
  const degraded: Draft =
    degradedReasons.length > 0
      ? {
          type: "Degraded",
          status: "True",
          reason: degradedReasons[0]?.reason ?? "Degraded",
          message: degradedReasons.map((d) => d.message).join(". "),
        }
      : {
          type: "Degraded",
          status: "False",
          reason: "AsExpected",
          message: "every dependency is installed and every reference resolves",
        };

  let ready: Draft;
  // A missing binding is the tenant's to fix (meshward does not modify Services); it does not
  // block Ready, like any warning.
  const blocking = degradedReasons.filter((d) => d.reason !== "Warning" && d.reason !== WAYPOINT_NOT_BOUND);
  const rejected = o.istio?.[0];
  const enforced = o.policy?.findings.filter((f) => f.mode === "Enforce") ?? [];
  const first = enforced[0];
  if (first)
    ready = {
      type: "Ready",
      status: "False",
      reason: first.reason,
      message: `${REFUSAL_LEAD[first.reason] ?? "the platform's policy refused part of this profile; the rest is applied"}: ${list(enforced.map(findingText))}`,
    };
  else if (o.conflicts.length > 0)
    ready = { type: "Ready", status: "False", reason: "Conflict", message: conflict.message };
  else if (o.drift.length > 0)
    ready = { type: "Ready", status: "False", reason: "Drifted", message: drifted.message };
  else if (rejected)
    ready = {
      type: "Ready",
      status: "False",
      reason: rejected.reason,
      message: `istiod did not accept ${list((o.istio ?? []).map((r) => `${r.object} (${r.type}=False, ${r.reason}): ${r.message}`))}`,
    };
  else if (blocking.length > 0)
    ready = {
      type: "Ready",
      status: "False",
      reason: blocking[0]?.reason ?? "Degraded",
      message: degraded.message,
    };
  else {
    const n = o.objects.filter((x) => x.state === "InSync").length;
    ready = {
      type: "Ready",
      status: "True",
      reason: "Reconciled",
      message: `${n} generated object${n === 1 ? " is" : "s are"} in sync with the profile`,
    };
  }
  const out = [ready, drifted, degraded, conflict];
  if (o.secrets) out.push(o.secrets.condition);
  if (o.policy) out.push(compliance(o.policy));
  return out;
}

/** How Ready=False begins when the first refusal is not a part of the profile but all of it. */
const REFUSAL_LEAD: Partial<Record<Finding["reason"], string>> = {
  SelectorOverlap: "nothing of this profile is applied",
  Quarantined: "this service is cut off by the platform (no caller, DNS-only egress)",
};

function findingText(f: Finding): string {
  return `${f.path}: ${f.message}`;
}

/** The Compliant condition: what the platform's policies refuse (Enforce) or would refuse (Audit). */
export function compliance(v: PolicyVerdict): Draft {
  if (v.findings.length === 0) {
    return {
      type: "Compliant",
      status: "True",
      reason: "Compliant",
      message:
        v.governedBy.length > 0
          ? `complies with MeshwardPolicy ${v.governedBy.join(", ")}`
          : "no MeshwardPolicy governs this namespace",
    };
  }
  // Enforce findings first: they are what changed the profile.
  const ordered = [
    ...v.findings.filter((f) => f.mode === "Enforce"),
    ...v.findings.filter((f) => f.mode === "Audit"),
  ];
  const audit = ordered.every((f) => f.mode === "Audit");
  return {
    type: "Compliant",
    status: "False",
    reason: ordered[0]?.reason ?? "PolicyViolation",
    message: `${audit ? "applied as written; the platform's policy runs in Audit and would refuse" : "refused by the platform's policy"}: ${list(ordered.map((f) => `${f.mode === "Audit" ? "[Audit] " : ""}${findingText(f)}`))}`,
  };
}

/** The status.policy report, or undefined when there is nothing to say. */
function policyReport(v: PolicyVerdict | undefined): ProfileStatus["policy"] {
  if (!v) return undefined;
  const r: NonNullable<ProfileStatus["policy"]> = {};
  if (v.governedBy.length > 0) r.governedBy = v.governedBy.slice(0, 32);
  if (v.quarantinedBy.length > 0) r.quarantinedBy = v.quarantinedBy.slice(0, 32);
  if (v.findings.length > 0)
    r.findings = v.findings.slice(0, 32).map((f) => ({
      reason: f.reason,
      rule: f.rule,
      mode: f.mode,
      path: f.path,
      message: clip(f.message),
      policies: f.policies.slice(0, 16),
    }));
  if (v.baseline.length > 0)
    r.baseline = v.baseline.slice(0, 32).map((b) => ({ path: b.path, policies: b.policies.slice(0, 16) }));
  return Object.keys(r).length > 0 ? r : undefined;
}

/** Conditions with lastTransitionTime kept when the status did not flip, and observedGeneration set. */
export function mergeConditions(
  drafts: Draft[],
  existing: Condition[] | undefined,
  generation: number,
  now: Date,
): Condition[] {
  return drafts.map((d) => {
    const prev = existing?.find((c) => c.type === d.type);
    const lastTransitionTime =
      prev && prev.status === d.status
        ? prev.lastTransitionTime
        : now.toISOString().replace(/\.\d{3}Z$/, "Z");
    return { ...d, message: clip(d.message), lastTransitionTime, observedGeneration: generation };
  });
}

export function buildStatus(o: Outcome, existing: ProfileStatus | undefined, now: Date): ProfileStatus {
  const status: ProfileStatus = {
    observedGeneration: o.generation,
    conditions: mergeConditions(
      [...desiredConditions(o), ...(o.extra ?? [])],
      existing?.conditions,
      o.generation,
      now,
    ),
    objects: o.objects.slice(0, 256).map((x) => (x.message ? { ...x, message: clip(x.message) } : x)),
  };
  if (o.exceptions.length > 0) status.exceptions = o.exceptions;
  const secrets = o.secrets?.entries ?? (o.invalid?.length ? existing?.secrets : undefined);
  if (secrets && secrets.length > 0) status.secrets = secrets;
  const policy = o.invalid?.length ? existing?.policy : policyReport(o.policy);
  if (policy) status.policy = policy;
  const dataplane = o.invalid?.length ? existing?.dataplane : o.dataplane;
  if (dataplane) status.dataplane = dataplane;
  return status;
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === "object" && !Array.isArray(val)
      ? Object.fromEntries(
          Object.entries(val as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : val,
  );
}

/** True when writing `next` would change nothing the operator owns in the status. */
export function statusEqual(current: ProfileStatus | undefined, next: ProfileStatus): boolean {
  if (!current) return false;
  // Only the conditions meshward writes: another controller's condition on the profile is not
  // ours to compare (a write would not remove it, and would repeat on every reconcile).
  const ours = new Set([...OWN_CONDITIONS, ...(next.conditions ?? []).map((c) => c.type)]);
  const pick = (s: ProfileStatus) => ({
    observedGeneration: s.observedGeneration,
    conditions: (s.conditions ?? []).filter((c) => ours.has(c.type)),
    objects: s.objects ?? [],
    exceptions: s.exceptions ?? [],
    secrets: s.secrets ?? [],
    policy: s.policy ?? {},
    dataplane: s.dataplane ?? {},
  });
  return canonical(pick(current)) === canonical(pick(next));
}

function entries<T>(v: unknown, schema: z.ZodType<T>): T[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return v.flatMap((x) => {
    const r = schema.safeParse(x);
    return r.success ? [r.data] : [];
  });
}

/**
 * The status as last written, read defensively: it comes from the cluster, where an older CRD,
 * another writer or a hand edit may have left anything. Entries that do not parse are dropped (the
 * next write replaces them); the reconciler never trusts the shape of what it reads.
 */
export function readStatus(v: unknown): ProfileStatus | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  const raw = v as Record<string, unknown>;
  const out: ProfileStatus = {};
  const g = raw.observedGeneration;
  if (typeof g === "number" && Number.isSafeInteger(g) && g >= 0) out.observedGeneration = g;
  const conditions = entries(raw.conditions, ConditionSchema);
  if (conditions) out.conditions = conditions;
  const objects = entries(raw.objects, ObjectStatusSchema);
  if (objects) out.objects = objects;
  const exceptions = entries(raw.exceptions, ExceptionStatusSchema);
  if (exceptions) out.exceptions = exceptions;
  const secrets = entries(raw.secrets, SecretStatusSchema);
  if (secrets) out.secrets = secrets;
  const policy = PolicyReportSchema.safeParse(raw.policy);
  if (policy.success && policy.data) out.policy = policy.data;
  const dataplane = ProfileStatusSchema.shape.dataplane.safeParse(raw.dataplane);
  if (dataplane.success && dataplane.data) out.dataplane = dataplane.data;
  return out;
}
