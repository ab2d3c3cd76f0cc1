// Every profile under every policy at once: what `meshward validate/render --policy` needs offline,
// and what the reconciler computes one profile at a time. Pure.
import type { MeshwardPolicy } from "../api/policy.ts";
import type { Profile } from "../api/schema.ts";
import type { Problem } from "../api/validate.ts";
import type { KubeObject } from "../builders/meta.ts";
import { type ClusterObject, buildAdmissionForPolicies } from "./admission.ts";
import { adoption, governingPolicies } from "./combine.ts";
import { evaluateProfile } from "./engine.ts";
import { buildQuarantine, type QuarantineContext } from "./quarantine.ts";
import type { Finding, PolicyOutcome } from "./types.ts";

/** Offline, a namespace has the one label the API server always sets. */
export function defaultNamespaceLabels(namespace: string): Record<string, string> {
  return { "kubernetes.io/metadata.name": namespace };
}

export interface FleetInput {
  profiles: readonly Profile[];
  policies: readonly MeshwardPolicy[];
  now: Date;
  /** Labels of a namespace; defaults to defaultNamespaceLabels. */
  namespaceLabels?: (namespace: string) => Readonly<Record<string, string>>;
}

export interface NamespaceDecision {
  createDefaultDeny: boolean;
  mode: "Enforce" | "Audit";
  /** Policies that set adoption for it. */
  policies: string[];
  governedBy: string[];
}

export interface FleetResult {
  /** By namespace/name. */
  outcomes: Map<string, PolicyOutcome>;
  namespaces: Map<string, NamespaceDecision>;
  /** The quarantine objects (DENY AuthorizationPolicy, isolating NetworkPolicies). */
  quarantine: KubeObject[];
  /** Per-policy ValidatingAdmissionPolicyBindings. */
  admissionBindings: ClusterObject[];
}

export function evaluateFleet(input: FleetInput, ctx: QuarantineContext): FleetResult {
  const labelsOf = input.namespaceLabels ?? defaultNamespaceLabels;
  const byNamespace = new Map<string, Profile[]>();
  for (const p of input.profiles) {
    const list = byNamespace.get(p.metadata.namespace) ?? [];
    list.push(p);
    byNamespace.set(p.metadata.namespace, list);
  }
  const outcomes = new Map<string, PolicyOutcome>();
  const namespaces = new Map<string, NamespaceDecision>();
  for (const [ns, profiles] of [...byNamespace.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const labels = labelsOf(ns);
    const governed = governingPolicies(input.policies, labels);
    namespaces.set(ns, { ...adoption(governed), governedBy: governed.map((p) => p.metadata.name) });
    for (const profile of profiles)
      outcomes.set(
        `${ns}/${profile.metadata.name}`,
        evaluateProfile({
          profile,
          namespaceProfiles: profiles,
          policies: input.policies,
          namespaceLabels: labels,
          now: input.now,
        }),
      );
  }
  return {
    outcomes,
    namespaces,
    quarantine: buildQuarantine(input.policies, input.profiles, ctx),
    admissionBindings: buildAdmissionForPolicies(input.policies),
  };
}

/**
 * Findings as the CLI's and the status' problems: Enforce is an error (the part is refused),
 * Audit a warning (applied, reported). The message names the rule, the mode and the policies.
 */
export function findingsAsProblems(findings: readonly Finding[]): Problem[] {
  return findings.map((f) => ({
    path: f.path,
    message: `${f.message} [${f.reason}, ${f.mode}${f.policies.length > 0 ? `, MeshwardPolicy ${f.policies.join(", ")}` : ""}]`,
    severity: f.mode === "Enforce" ? "error" : "warning",
  }));
}
