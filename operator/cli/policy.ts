// The platform's MeshwardPolicies applied offline, with the engine the operator runs
// (operator/policy/fleet.ts): `meshward validate` reports the same findings as the cluster's status
// (Finding.path and Finding.message, verbatim), and `meshward render` builds the same effective
// profiles (offending parts removed under Enforce, baseline rules added) and quarantine objects.
// Pure: the namespace labels are what the flags say.
import { DNS_LABEL, type EgressTarget, type IngressRule, LABEL_KEY, LABEL_VALUE } from "../api/schema.ts";
import type { KubeObject } from "../builders/meta.ts";
import type { PlatformDefaults } from "../builders/context.ts";
import { defaultNamespaceLabels, evaluateFleet, type NamespaceDecision } from "../policy/fleet.ts";
import { policyStatus } from "../policy/status.ts";
import type { BaselineMark } from "../policy/types.ts";
import type { FileProblem, LoadedProfile, LoadResult } from "./load.ts";

/** Extra labels per namespace (--namespace-labels), added to kubernetes.io/metadata.name. */
export type NamespaceLabels = ReadonlyMap<string, Readonly<Record<string, string>>>;

/** A baseline rule the policies added to a profile, with the rule itself (for render). */
export interface BaselineEntry extends BaselineMark {
  profile: string;
  file: string;
  rule: IngressRule | EgressTarget;
}

export interface PolicyResult {
  /** The profiles to build, as the cluster would: effective specs; an overlap loser is left out. */
  effective: LoadedProfile[];
  /** Findings (Enforce: error, Audit: warning) and policy problems (contradictions: warnings). */
  problems: FileProblem[];
  baseline: BaselineEntry[];
  /** Quarantine objects (DENY AuthorizationPolicy, isolating NetworkPolicies). */
  quarantine: KubeObject[];
  /** Per namespace of the inputs: whether the namespace-wide default deny is created. */
  namespaces: Map<string, NamespaceDecision>;
}

export interface PolicyOptions {
  now: Date;
  trustDomain: string;
  dns: PlatformDefaults["dns"];
  namespaceLabels: NamespaceLabels;
  /** The inputs are the whole fleet: an approval or quarantine of a profile not given is reported. */
  fleet: boolean;
}

/** A baseline entry as the JSON outputs show it (the file is already on the profile). */
export function baselineJson(entries: readonly BaselineEntry[]): Omit<BaselineEntry, "file">[] {
  return entries.map((b) => ({ profile: b.profile, path: b.path, policies: b.policies, rule: b.rule }));
}

export function labelsOf(extra: NamespaceLabels): (namespace: string) => Record<string, string> {
  return (ns) => ({ ...defaultNamespaceLabels(ns), ...extra.get(ns) });
}

/** Where a baseline mark points in the effective spec ("spec.ingress[2]", "spec.egress.to[0]"). */
function ruleAt(
  spec: LoadedProfile["profile"]["spec"],
  path: string,
): IngressRule | EgressTarget | undefined {
  const m = /^spec\.(ingress|egress\.to)\[(\d+)\]$/.exec(path);
  if (!m) return undefined;
  const i = Number(m[2]);
  return m[1] === "ingress" ? spec.ingress?.[i] : spec.egress?.to?.[i];
}

export function applyPolicies(loaded: LoadResult, opts: PolicyOptions): PolicyResult {
  const labels = labelsOf(opts.namespaceLabels);
  const fleet = evaluateFleet(
    {
      profiles: loaded.profiles.map((l) => l.profile),
      policies: loaded.policies.map((l) => l.policy),
      now: opts.now,
      namespaceLabels: labels,
    },
    { trustDomain: opts.trustDomain, dns: opts.dns },
  );
  const effective: LoadedProfile[] = [];
  const problems: FileProblem[] = [];
  const baseline: BaselineEntry[] = [];
  for (const l of loaded.profiles) {
    const key = `${l.profile.metadata.namespace}/${l.profile.metadata.name}`;
    const outcome = fleet.outcomes.get(key);
    if (!outcome) continue;
    for (const f of outcome.findings)
      problems.push({
        file: l.file,
        profile: key,
        path: f.path,
        message: f.message,
        severity: f.mode === "Enforce" ? "error" : "warning",
        finding: { reason: f.reason, rule: f.rule, mode: f.mode, policies: f.policies },
      });
    if (!outcome.effective) continue;
    effective.push({ file: l.file, profile: outcome.effective });
    for (const b of outcome.baseline) {
      const rule = ruleAt(outcome.effective.spec, b.path);
      if (rule) baseline.push({ ...b, profile: key, file: l.file, rule });
    }
  }
  problems.push(...salvagedFindings(loaded, labels, opts));
  problems.push(...policyProblems(loaded, labels, opts));
  return { effective, problems, baseline, quarantine: fleet.quarantine, namespaces: fleet.namespaces };
}

/**
 * The policies' findings on what is valid of each invalid profile (operator/cli/salvage.ts), so a
 * pull request learns every problem at once. Evaluated next to the valid profiles, which they do
 * not affect: the cluster would refuse the invalid profile, so the verdicts on the others stand.
 */
function salvagedFindings(
  loaded: LoadResult,
  labels: (ns: string) => Record<string, string>,
  opts: PolicyOptions,
): FileProblem[] {
  const keyOf = (l: LoadedProfile) => `${l.profile.metadata.namespace}/${l.profile.metadata.name}`;
  const valid = new Set(loaded.profiles.map(keyOf));
  const salvaged = (loaded.salvaged ?? []).filter((s) => !valid.has(keyOf(s)));
  if (salvaged.length === 0) return [];
  const fleet = evaluateFleet(
    {
      profiles: [...loaded.profiles, ...salvaged].map((l) => l.profile),
      policies: loaded.policies.map((l) => l.policy),
      now: opts.now,
      namespaceLabels: labels,
    },
    { trustDomain: opts.trustDomain, dns: opts.dns },
  );
  const out: FileProblem[] = [];
  for (const s of salvaged) {
    const key = keyOf(s);
    for (const f of fleet.outcomes.get(key)?.findings ?? [])
      out.push({
        file: s.file,
        profile: key,
        path: s.mapPath(f.path),
        message: f.message,
        severity: f.mode === "Enforce" ? "error" : "warning",
        finding: { reason: f.reason, rule: f.rule, mode: f.mode, policies: f.policies },
      });
  }
  return out;
}

/**
 * What the cluster reports in a policy's status (contradictions with other policies, approvals of
 * missing profiles), as warnings on the policy's file. Profiles not among the inputs are reported
 * missing only with --fleet: a service's repository holds one profile, not the fleet.
 */
function policyProblems(
  loaded: LoadResult,
  labels: (ns: string) => Record<string, string>,
  opts: PolicyOptions,
): FileProblem[] {
  if (loaded.policies.length === 0) return [];
  const policies = loaded.policies.map((l) => l.policy);
  const profiles = loaded.profiles.map((l) => l.profile);
  const namespaces = [...new Set(profiles.map((p) => p.metadata.namespace))]
    .sort()
    .map((name) => ({ name, labels: labels(name) }));
  const out: FileProblem[] = [];
  for (const l of loaded.policies) {
    const status = policyStatus({ policy: l.policy, policies, namespaces, profiles, now: opts.now });
    for (const p of status.problems) {
      if (!opts.fleet && /does not exist|which this policy does not govern/.test(p.message)) continue;
      out.push({
        file: l.file,
        policy: l.policy.metadata.name,
        ...p,
        severity: "warning",
        code: "PolicyConflict",
      });
    }
  }
  return out;
}

/**
 * Parses --namespace-labels values: "shop:team=a,tier=prod" (repeatable; a later value for the same
 * namespace adds to it). Returns a usage error message for a malformed value.
 */
export function parseNamespaceLabels(values: readonly string[]): NamespaceLabels | string {
  const out = new Map<string, Record<string, string>>();
  for (const v of values) {
    const colon = v.indexOf(":");
    const ns = v.slice(0, colon);
    if (colon <= 0 || !DNS_LABEL.test(ns))
      return `--namespace-labels must be <namespace>:<key>=<value>[,<key>=<value>...], e.g. shop:team=checkout,tier=prod, not "${v}"`;
    const labels = parseLabels(v.slice(colon + 1), "--namespace-labels");
    if (typeof labels === "string") return labels;
    out.set(ns, { ...out.get(ns), ...labels });
  }
  return out;
}

/** "k=v,k2=v2" as labels, or a usage error message naming the flag. */
export function parseLabels(text: string, flag: string): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const pair of text.split(",")) {
    const eq = pair.indexOf("=");
    const key = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (eq <= 0 || !LABEL_KEY.test(key) || !LABEL_VALUE.test(value))
      return `${flag}: "${pair}" is not a label: write key=value pairs separated by commas, e.g. team=checkout,tier=prod`;
    out[key] = value;
  }
  return out;
}
