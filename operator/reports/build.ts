// meshward's findings as OpenReports (openreports.io/v1alpha1, the successor of wg-policy's
// PolicyReport), the format Policy Reporter and similar dashboards read from Kyverno, Kubewarden and
// Trivy. Pure: the reconciler (operator/reconcile/reports.ts) passes what its caches hold.
// - one `Report` per namespace that has profiles: one result per profile and rule (the profile's
//   validity, the selector overlap, each guardrail a governing MeshwardPolicy sets, a quarantine);
// - one `ClusterReport` for the MeshwardPolicies themselves: validity, contradictions with other
//   policies, entries that name nothing (what each policy's status lists as problems).
// No timestamp: the same findings give the same object, so nothing is written when nothing changed.
import { escapeControls } from "../api/escape.ts";
import { API_VERSION, KIND } from "../api/schema.ts";
import { type MeshwardPolicy, POLICY_KIND } from "../api/policy.ts";
import { byString, MANAGED_BY, MANAGED_BY_LABEL } from "../builders/meta.ts";

export const REPORT_API_VERSION = "openreports.io/v1alpha1";
/** The name of the namespace's Report and of the ClusterReport. */
export const REPORT_NAME = "meshward";
export const SOURCE = "meshward";
/** At most this many results per report; fail and warn are kept before pass when there are more. */
export const MAX_RESULTS = 500;
/** A result's message is cut to this many characters (the profile's status allows 4096 per finding). */
export const MAX_MESSAGE = 1024;
/** Findings of one profile and rule named in one message; the rest are counted. */
const MAX_JOINED = 5;

export type ResultValue = "pass" | "warn" | "fail";

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
  fieldPath?: string;
}

export interface ReportResult {
  policy: string;
  rule: string;
  result: ResultValue;
  message: string;
  source: string;
  resources: ObjectRef[];
  properties?: Record<string, string>;
}

export interface Summary {
  pass: number;
  warn: number;
  fail: number;
  error: number;
  skip: number;
}

export interface OpenReport {
  apiVersion: typeof REPORT_API_VERSION;
  kind: "Report" | "ClusterReport";
  metadata: { name: string; namespace?: string; labels: Record<string, string> };
  source: string;
  configuration: { limits: { maxResults: number } };
  summary: Summary;
  results: ReportResult[];
}

/** A problem or finding at a field: `path` is the field, `message` says what to write instead. */
export interface FieldProblem {
  path: string;
  message: string;
}

/** One finding of the platform's policies, as the profile's status holds it (status.policy.findings). */
export interface FindingInput extends FieldProblem {
  reason: string;
  rule: string;
  mode: "Enforce" | "Audit";
  policies: string[];
}

export interface ProfileInput {
  name: string;
  uid?: string;
  /** Errors of validation: the profile is invalid and no policy was checked. */
  invalid: FieldProblem[];
  /** What the policies found (status.policy.findings); undefined: not evaluated yet (left out). */
  findings: FindingInput[] | undefined;
}

/**
 * The guardrails the namespace's governing MeshwardPolicies set (guardrails.secrets,
 * guardrails.egressCidrs, guardrails.egressHosts, guardrails.exceptions): each gets a pass result on a profile it finds
 * nothing in. A finding's rule is reported whether or not it is among them.
 */
export type GuardrailRules = readonly string[];

/** Guardrails that check a profile (adoption is about the namespace's pods, not a profile). */
const PROFILE_GUARDRAILS = ["secrets", "egressCidrs", "egressHosts", "exceptions"] as const;

/** The guardrails the namespace's governing policies set: each gets a pass result where nothing is found. */
export function guardrailRules(policies: readonly MeshwardPolicy[]): string[] {
  const rules = new Set<string>();
  for (const p of policies)
    for (const name of PROFILE_GUARDRAILS)
      if (p.spec.guardrails?.[name] !== undefined) rules.add(`guardrails.${name}`);
  return [...rules];
}

/** Rules every valid profile is checked against, governed or not. */
const ALWAYS = ["spec", "selectorOverlap"];

const PASS_TEXT: Record<string, string> = {
  spec: "the profile is valid",
  selectorOverlap: "no other profile of the namespace selects the same pods",
};

function clip(s: string): string {
  const e = escapeControls(s);
  return e.length > MAX_MESSAGE ? `${e.slice(0, MAX_MESSAGE - 1)}…` : e;
}

/** One problem: its message as is (the field goes in fieldPath); several: "path: message; …". */
function joined(problems: readonly FieldProblem[]): { message: string; fieldPath?: string } {
  const [first] = problems;
  if (problems.length === 1 && first) return { message: clip(first.message), fieldPath: first.path };
  const head = problems.slice(0, MAX_JOINED).map((p) => `${p.path}: ${p.message}`);
  const more = problems.length > MAX_JOINED ? `; and ${problems.length - MAX_JOINED} more` : "";
  return { message: clip(head.join("; ") + more) };
}

function summarize(results: readonly ReportResult[]): Summary {
  const s: Summary = { pass: 0, warn: 0, fail: 0, error: 0, skip: 0 };
  for (const r of results) s[r.result]++;
  return s;
}

const RANK: Record<ResultValue, number> = { fail: 0, warn: 1, pass: 2 };

/** At most MAX_RESULTS, fail and warn first; then in a stable order (resource, rule). */
function bounded(results: ReportResult[]): ReportResult[] {
  const order = (a: ReportResult, b: ReportResult) =>
    byString(a.resources[0]?.name ?? "", b.resources[0]?.name ?? "") || byString(a.rule, b.rule);
  const kept =
    results.length <= MAX_RESULTS
      ? results
      : [...results].sort((a, b) => RANK[a.result] - RANK[b.result] || order(a, b)).slice(0, MAX_RESULTS);
  return [...kept].sort(order);
}

function report(kind: OpenReport["kind"], namespace: string | undefined, all: ReportResult[]): OpenReport {
  const results = bounded(all);
  return {
    apiVersion: REPORT_API_VERSION,
    kind,
    metadata: {
      name: REPORT_NAME,
      ...(namespace !== undefined && { namespace }),
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY },
    },
    source: SOURCE,
    configuration: { limits: { maxResults: MAX_RESULTS } },
    summary: summarize(results),
    results,
  };
}

function result(
  rule: string,
  value: ResultValue,
  text: { message: string; fieldPath?: string },
  ref: ObjectRef,
  properties?: Record<string, string>,
): ReportResult {
  return {
    policy: `${SOURCE}/${rule}`,
    rule,
    result: value,
    message: text.message,
    source: SOURCE,
    resources: [{ ...ref, ...(text.fieldPath !== undefined && { fieldPath: text.fieldPath }) }],
    ...(properties && { properties }),
  };
}

/** The results of one profile: one per rule. */
export function profileResults(
  namespace: string,
  p: ProfileInput,
  guardrails: GuardrailRules,
): ReportResult[] {
  const ref: ObjectRef = {
    apiVersion: API_VERSION,
    kind: KIND,
    namespace,
    name: p.name,
    ...(p.uid && { uid: p.uid }),
  };
  if (p.invalid.length > 0)
    return [result("spec", "fail", joined(p.invalid), ref, { reason: "InvalidSpec" })];
  const findings = p.findings;
  if (!findings) return [];
  const byRule = new Map<string, FindingInput[]>();
  for (const f of findings) byRule.set(f.rule, [...(byRule.get(f.rule) ?? []), f]);
  const rules = new Set([...ALWAYS, ...guardrails, ...byRule.keys()]);
  const out: ReportResult[] = [];
  for (const rule of [...rules].sort(byString)) {
    const found = byRule.get(rule) ?? [];
    if (found.length === 0) {
      out.push(result(rule, "pass", { message: PASS_TEXT[rule] ?? `no finding of ${rule}` }, ref));
      continue;
    }
    const value: ResultValue = found.some((f) => f.mode === "Enforce") ? "fail" : "warn";
    const policies = [...new Set(found.flatMap((f) => f.policies))].sort(byString);
    const reasons = [...new Set(found.map((f) => f.reason))].sort(byString);
    out.push(
      result(rule, value, joined(found), ref, {
        reason: reasons.join(","),
        mode: value === "fail" ? "Enforce" : "Audit",
        ...(policies.length > 0 && { policies: clip(policies.join(",")) }),
      }),
    );
  }
  return out;
}

/**
 * The namespace's Report; undefined when it has no profile (the report is then deleted). Profiles
 * not yet evaluated by the operator are left out until their status says what the policies found.
 */
export function buildNamespaceReport(
  namespace: string,
  profiles: readonly ProfileInput[],
  guardrails: GuardrailRules,
): OpenReport | undefined {
  if (profiles.length === 0) return undefined;
  return report(
    "Report",
    namespace,
    profiles.flatMap((p) => profileResults(namespace, p, guardrails)),
  );
}

export interface PolicyInput {
  name: string;
  uid?: string;
  /** The policy is invalid (status Ready=False InvalidSpec): `problems` are its errors. */
  invalid: boolean;
  /** status.problems: contradictions with other policies, entries that name nothing, or errors. */
  problems: FieldProblem[];
  /** The operator has not written the policy's status yet (left out). */
  pending?: boolean;
}

/** A policy problem's rule: a contradiction with another policy, or an entry that names nothing. */
export function policyRule(p: FieldProblem): "contradiction" | "references" {
  return p.message.startsWith("contradicts ") ? "contradiction" : "references";
}

const POLICY_PASS: Record<string, string> = {
  spec: "the policy is valid",
  contradiction: "no contradiction with another MeshwardPolicy",
  references: "every profile and namespace the policy names exists and is governed by it",
};

/** The ClusterReport of the MeshwardPolicies; undefined when there is none (the report is then deleted). */
export function buildClusterReport(policies: readonly PolicyInput[]): OpenReport | undefined {
  if (policies.length === 0) return undefined;
  const results: ReportResult[] = [];
  for (const p of policies) {
    if (p.pending) continue;
    const ref: ObjectRef = {
      apiVersion: API_VERSION,
      kind: POLICY_KIND,
      name: p.name,
      ...(p.uid && { uid: p.uid }),
    };
    if (p.invalid) {
      results.push(result("spec", "fail", joined(p.problems), ref, { reason: "InvalidSpec" }));
      continue;
    }
    results.push(result("spec", "pass", { message: POLICY_PASS.spec ?? "" }, ref));
    for (const rule of ["contradiction", "references"] as const) {
      const found = p.problems.filter((x) => policyRule(x) === rule);
      results.push(
        found.length === 0
          ? result(rule, "pass", { message: POLICY_PASS[rule] ?? "" }, ref)
          : result(rule, "warn", joined(found), ref),
      );
    }
  }
  return report("ClusterReport", undefined, results);
}
