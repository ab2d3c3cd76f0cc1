// Which policies govern a namespace, and how their guardrails combine (ADR 6): deterministic (by
// policy name), the most restrictive wins (allowances intersect, Enforce beats Audit), baseline rules
// add up. Pure.
import type { GuardrailMode, MeshwardPolicy } from "../api/policy.ts";
import { byString } from "../builders/meta.ts";
import { selects } from "./selectors.ts";

export function governingPolicies(
  policies: readonly MeshwardPolicy[],
  namespaceLabels: Readonly<Record<string, string>>,
): MeshwardPolicy[] {
  return policies
    .filter((p) => selects(p.spec.namespaceSelector ?? {}, namespaceLabels))
    .sort((a, b) => byString(a.metadata.name, b.metadata.name));
}

/** Enforce when any of the modes is Enforce. */
export function strictestMode(modes: readonly GuardrailMode[]): GuardrailMode {
  return modes.includes("Enforce") ? "Enforce" : "Audit";
}

/**
 * The namespace-wide default deny: created unless every policy that sets adoption says Audit
 * (no policy, or none setting it: created, as without policies).
 */
export function adoption(policies: readonly MeshwardPolicy[]): {
  createDefaultDeny: boolean;
  mode: GuardrailMode;
  policies: string[];
} {
  const setting = policies.filter((p) => p.spec.guardrails?.adoption !== undefined);
  const mode =
    setting.length === 0
      ? "Enforce"
      : strictestMode(setting.map((p) => p.spec.guardrails?.adoption?.mode ?? "Enforce"));
  return { createDefaultDeny: mode === "Enforce", mode, policies: setting.map((p) => p.metadata.name) };
}

/** A finding's mode and policies: those of `violated` that forbid it. */
export function verdict(violated: readonly { policy: string; mode: GuardrailMode }[]): {
  mode: GuardrailMode;
  policies: string[];
} {
  return {
    mode: strictestMode(violated.map((v) => v.mode)),
    policies: [...new Set(violated.map((v) => v.policy))].sort(byString),
  };
}

/** Canonical JSON (sorted keys), for deduplicating baseline rules. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (typeof v === "object" && v !== null) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort(byString)
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}
