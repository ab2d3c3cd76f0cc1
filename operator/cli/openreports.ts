// `meshward validate -o openreports` (pure): the Reports and the ClusterReport the operator would
// write (--openreports, operator/reconcile/reports.ts) for the profiles and policies given, built by
// the same builder (operator/reports/build.ts) from the same inputs the operator takes from the
// cluster: for a profile, its validation errors or what the policies found (as its
// status.policy.findings would hold them: the first 32, each message clipped as there); for a
// policy among the inputs, its validity and its problems (contradictions; with --fleet, entries
// that name nothing). Policies given with --policy govern the profiles but are not reported: they
// belong to the platform team's repository, whose own run reports them.
// Output: multi-document YAML (Report per namespace, sorted, then the ClusterReport), as
// `meshward render` prints, for `kubectl apply -f -`.
import { stringify } from "yaml";
import { isError } from "../api/validate.ts";
import { governingPolicies } from "../policy/combine.ts";
import {
  buildClusterReport,
  buildNamespaceReport,
  type FieldProblem,
  type FindingInput,
  guardrailRules,
  type OpenReport,
  type PolicyInput,
  type ProfileInput,
} from "../reports/build.ts";
import type { FileProblem, LoadResult } from "./load.ts";

/** What the operator's status keeps of a profile's findings (operator/reconcile/status.ts). */
const STATUS_FINDINGS = 32;
const STATUS_POLICIES = 16;
const STATUS_MESSAGE = 4000;
/** What a policy's status keeps of an invalid policy's problems (operator/reconcile/platform.ts). */
const STATUS_POLICY_PROBLEMS = 64;

function statusClip(s: string): string {
  return s.length > STATUS_MESSAGE ? `${s.slice(0, STATUS_MESSAGE - 1)}…` : s;
}

/**
 * A problem's field as the cluster names it: without the "document 2: " or "items[0]: " the CLI
 * puts first to say where in the file it is.
 */
export function fieldOf(path: string): string {
  return path.replace(/^(?:document \d+(?:: |$))?(?:items\[\d+\](?:: |$))?/, "");
}

const field = (p: FileProblem): FieldProblem => ({ path: fieldOf(p.path), message: p.message });

/** Errors of documents that are not valid (no code: InvalidProfile or InvalidPolicy). */
const invalidity = (p: FileProblem) => isError(p) && p.code === undefined && !p.finding && !p.io;

export interface OfflineReportInput {
  loaded: LoadResult;
  /** The problems of loading and of the policies (loaded.problems and applyPolicies' problems), before --strict. */
  problems: readonly FileProblem[];
  /** Whether a file was read through --policy (its policies govern, and are not reported). */
  viaPolicyFlag: (file: string) => boolean;
  /** A namespace's labels, as for the policies' namespaceSelector (--namespace-labels). */
  labels: (namespace: string) => Readonly<Record<string, string>>;
}

/** The reports, Reports by namespace first (sorted), then the ClusterReport; none without profiles or policies. */
export function offlineReports(input: OfflineReportInput): OpenReport[] {
  const { loaded, problems, labels, viaPolicyFlag } = input;
  const byNamespace = new Map<string, ProfileInput[]>();
  const add = (namespace: string, p: ProfileInput) =>
    byNamespace.set(namespace, [...(byNamespace.get(namespace) ?? []), p]);
  for (const l of loaded.profiles) {
    const { namespace, name } = l.profile.metadata;
    const key = `${namespace}/${name}`;
    const findings: FindingInput[] = problems
      .filter((p) => p.finding && p.profile === key && p.file === l.file)
      .slice(0, STATUS_FINDINGS)
      .map((p) => {
        const f = p.finding as NonNullable<FileProblem["finding"]>;
        return {
          path: p.path,
          message: statusClip(p.message),
          reason: f.reason,
          rule: f.rule,
          mode: f.mode,
          policies: f.policies.slice(0, STATUS_POLICIES),
        };
      });
    add(namespace, { name, invalid: [], findings });
  }
  // Invalid profiles: one per file and name, with the errors of their spec. One without a namespace
  // has no namespace report to go in (its errors are on stderr like every other format's).
  const invalid = new Map<string, { namespace: string; name: string; problems: FieldProblem[] }>();
  for (const p of problems) {
    if (!p.profile || p.policy || !invalidity(p)) continue;
    const slash = p.profile.indexOf("/");
    const namespace = p.profile.slice(0, slash);
    const name = p.profile.slice(slash + 1);
    const loadedAs = (l: LoadResult["profiles"][number]) =>
      l.file === p.file && `${l.profile.metadata.namespace}/${l.profile.metadata.name}` === p.profile;
    if (namespace === "?" || loaded.profiles.some(loadedAs)) continue;
    const k = `${p.file}\u0000${p.profile}`;
    const entry = invalid.get(k) ?? { namespace, name, problems: [] };
    entry.problems.push(field(p));
    invalid.set(k, entry);
  }
  for (const e of invalid.values())
    add(e.namespace, { name: e.name, invalid: e.problems, findings: undefined });

  const valid = loaded.policies.map((l) => l.policy);
  const out: OpenReport[] = [];
  for (const namespace of [...byNamespace.keys()].sort()) {
    const profiles = byNamespace.get(namespace) ?? [];
    const rules = guardrailRules(governingPolicies(valid, labels(namespace)));
    const r = buildNamespaceReport(namespace, profiles, rules);
    if (r) out.push(r);
  }

  const policies: PolicyInput[] = [];
  for (const l of loaded.policies) {
    if (l.viaFlag) continue;
    const name = l.policy.metadata.name;
    policies.push({
      name,
      invalid: false,
      problems: problems
        .filter((p) => p.policy === name && p.file === l.file && p.code === "PolicyConflict")
        .map(field),
    });
  }
  const invalidPolicies = new Map<string, FieldProblem[]>();
  for (const p of problems) {
    if (!p.policy || !invalidity(p) || viaPolicyFlag(p.file)) continue;
    if (loaded.policies.some((l) => l.policy.metadata.name === p.policy)) continue;
    invalidPolicies.set(p.policy, [...(invalidPolicies.get(p.policy) ?? []), field(p)]);
  }
  for (const [name, ps] of invalidPolicies)
    policies.push({ name, invalid: true, problems: ps.slice(0, STATUS_POLICY_PROBLEMS) });
  policies.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const cluster = buildClusterReport(policies);
  if (cluster) out.push(cluster);
  return out;
}

/** The reports as multi-document YAML; empty when there is none. */
export function reportsYaml(reports: readonly OpenReport[]): string {
  return reports.map((r) => stringify(r, { lineWidth: 0 })).join("---\n");
}
