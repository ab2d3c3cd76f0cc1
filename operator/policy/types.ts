// What the policy engine takes and gives back (operator/policy/engine.ts). Pure data.
import type { MeshwardPolicy, GuardrailMode, VaultIdentityStore } from "../api/policy.ts";
import type { Exception, Profile } from "../api/schema.ts";

/** An identity store a governing policy defines (MeshwardPolicy spec.secretIdentity.stores). */
export interface ResolvedIdentityStore {
  vault: VaultIdentityStore;
  /** The policy that defines it (the first by name when several define it alike). */
  policy: string;
}

/** A profile; metadata.creationTimestamp orders profiles whose selectors overlap (the older keeps). */
export type PolicyProfile = Profile;

export interface PolicyInput {
  profile: PolicyProfile;
  /** The profiles of the same namespace (the profile itself may be included; it is skipped). */
  namespaceProfiles: readonly PolicyProfile[];
  /** Every MeshwardPolicy in the cluster; the engine picks those that select the namespace. */
  policies: readonly MeshwardPolicy[];
  /** Labels of the profile's namespace. */
  namespaceLabels: Readonly<Record<string, string>>;
  now: Date;
  /** The operator's own limit on exception length (--max-exception-days), for messages. */
  maxExceptionDays?: number;
}

/** Why a profile is (or would be, in Audit) refused in part: the Ready=False reason. */
export const FINDING_REASONS = [
  "SecretNotAllowed",
  "EgressCidrNotAllowed",
  "EgressHostNotAllowed",
  "ExceptionNotAllowed",
  "PendingApproval",
  "SelectorOverlap",
  "Quarantined",
] as const;
export type FindingReason = (typeof FINDING_REASONS)[number];

export interface Finding {
  reason: FindingReason;
  /** The guardrail, as its field in MeshwardPolicy spec (e.g. guardrails.secrets). */
  rule: string;
  /** Enforce: removed from the effective profile. Audit: kept, reported. */
  mode: GuardrailMode;
  /** The field of the profile, e.g. spec.secrets[0].data[1].remoteRef.key. */
  path: string;
  /** What is wrong and what to write instead. */
  message: string;
  /** The policies that forbid it, sorted. */
  policies: string[];
}

export type ApprovalState = "NotRequired" | "Approved" | "PendingApproval";

export interface ExceptionApproval {
  type: Exception["type"];
  state: ApprovalState;
  /** PendingApproval: what to ask the platform team for. */
  message?: string;
  /** Approved: the approval's end (the exception's own expiry also applies). */
  approvedUntil?: string;
  /** Approved: the policy holding the approval. */
  policy?: string;
}

/** An entry of the effective profile that a policy added. */
export interface BaselineMark {
  /** Field of the effective profile, e.g. spec.ingress[2] or spec.egress.to[1]. */
  path: string;
  policies: string[];
}

export interface Overlap {
  /** The older profile that keeps the pods, as namespace/name. */
  keptBy: string;
  message: string;
}

export interface PolicyOutcome {
  /** The profile to build; undefined when nothing may be built (selector overlap). */
  effective: PolicyProfile | undefined;
  findings: Finding[];
  approvals: ExceptionApproval[];
  baseline: BaselineMark[];
  overlap?: Overlap;
  /** The policy names that govern the namespace, sorted. */
  governedBy: string[];
  /** The policies that quarantine this profile (its pods are isolated), sorted. */
  quarantinedBy: string[];
  /** The identity stores (MeshwardPolicy spec.secretIdentity) the effective profile's secrets use, by name. */
  identityStores: Record<string, ResolvedIdentityStore>;
}
