// The `meshward` command line: validate, render, graph, crds, admission. Bad input gets one line per problem
// and a documented exit code (docs/cli.md), never a stack trace. All I/O of the CLI is here and in
// load.ts; the checks, reports and drawings are pure.
import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { parse, stringify } from "yaml";
import { buildCrd, buildPolicyCrd } from "../api/crd.ts";
import { DEFAULT_PLATFORM } from "../builders/index.ts";
import { buildGraph } from "../graph/fleet.ts";
import { GRAPH_FORMATS, type GraphFormat, renderGraph } from "../graph/render.ts";
import { version } from "../version.ts";
import { isError } from "../api/validate.ts";
import { buildClusterTier, type ClusterNetworkPolicy } from "../policy/cluster-tier.ts";
import { admission } from "./admission.ts";
import { check, EXIT } from "./check.ts";
import { escapeControls } from "../api/escape.ts";
import { loadProfiles, type LoadResult, STDIN_LABEL } from "./load.ts";
import {
  applyPolicies,
  baselineJson,
  labelsOf,
  type NamespaceLabels,
  parseNamespaceLabels,
  type PolicyResult,
} from "./policy.ts";
import { dataplaneOf } from "../builders/dataplane.ts";
import { offlineReports, reportsYaml } from "./openreports.ts";
import { render } from "./render.ts";
import { parseExclude } from "./exclude.ts";
import { type ClusterSettings, clusterSettings } from "./settings.ts";
import { jsonReport, junitReport, REPORT_FORMATS, textReport } from "./report.ts";
import { githubReport, type Paths, repoPath, sarifReport, summaryLine } from "./ci-report.ts";
import * as path from "node:path";

const USAGE = `Usage: meshward <command> [options] <file|dir|->...

Commands:
  validate <file|dir|->...  check profiles and platform policies; every problem with file, profile and field
  render <file|dir|->...    print every object the profiles produce (YAML); references resolve among the inputs
  graph <file|dir|->...     draw who may call whom (Mermaid, Graphviz DOT or SVG)
  crds                      print the CustomResourceDefinitions (ServiceSecurityProfile, MeshwardPolicy)
  admission                 print the ValidatingAdmissionPolicies and bindings of the workload baseline
                            (or, with --perimeter, of the perimeter around meshward)

Inputs: files, directories (read recursively, *.yaml and *.yml; node_modules/, dot-directories and
--exclude patterns left out) and - for standard input. Documents
that are not meshward kinds (Deployments, Services, kustomization.yaml, ...) are skipped and counted;
Helm templates ({{ ... }}) are skipped with a note.

Platform policies: MeshwardPolicy documents among the inputs or given with --policy are applied as
the operator applies them: an Enforce finding is an error, an Audit finding a warning, each with the
message the cluster puts in the profile's status. render prints the effective profiles (refused
parts left out, baseline rules added and marked by a comment) and the quarantine objects.

Options:
  -o, --output <format>     validate: text (default), json, junit, github (annotations), sarif,
                            openreports (the operator's Reports and ClusterReport, YAML);
                            render and admission: yaml (default), json; graph: mermaid (default),
                            dot, svg. Every validate format ends with a summary line on stderr
  --policy <file|dir>       MeshwardPolicies to apply (repeatable); only policies are read from it
  --namespace-labels <ns:k=v,...>
                            labels of a namespace, added to kubernetes.io/metadata.name (repeatable),
                            to try policies with a namespaceSelector, e.g. shop:tier=prod,team=a, or
                            a data plane, e.g. shop:istio.io/dataplane-mode=ambient. Namespace
                            manifests among the inputs give their labels too (the flag wins)
  --fleet                   the inputs are the whole fleet: a service: reference to a profile that is
                            not among them is an error (otherwise a warning)
  --strict                  warnings (Audit findings and unknown fields of meshward's kinds too)
                            and an input without profiles fail (exit 1); other kinds are skipped
  --skip-unknown            skip documents that are not meshward kinds (default; --no-skip-unknown
                            makes each an error)
  --exclude <pattern>       leave out what a directory walk finds that matches (repeatable; as in
                            .gitignore: legacy/, *.tmpl.yaml, deploy/old/**)
  --no-default-excludes     also walk node_modules/ and dot-directories (.git/, .github/), which are
                            left out by default; a path named as an input is always read
  --trust-domain <td>       SPIFFE trust domain (default cluster.local)
  --dataplane <mode>        sidecar (default) or ambient: the data plane of namespaces whose labels
                            name none; a namespace's own Istio labels (from a Namespace manifest among
                            the inputs, or --namespace-labels) and a profile's spec.dataplaneMode win,
                            as in the cluster. render builds each profile for its data plane
  --mesh-mode <mode>        the same, named as the operator's flag and the chart's value meshMode
  --max-exception-days <n>  how far ahead an exception may expire, as the operator's flag (default 90)
  --secret-refresh-interval <d>
                            ExternalSecrets' refresh interval when a secret sets none (default 1h)
  --values <file>           the chart's values file the cluster is installed with: trustDomain,
                            meshMode, maxExceptionDays and secretRefreshInterval from it (flags win)
  --now <time>              evaluate exceptions and approvals at this RFC 3339 time instead of now
  --cluster-tier            render: also the ClusterNetworkPolicies (policy.networking.k8s.io/v1beta1)
                            of the platform tier: denied egress ranges and quarantine (Admin), the
                            namespace default deny (Baseline)
  -h, --help                show this help
  -v, --version             print the version

admission options:
  --mode <mode>             Deny, Warn or Audit (default; with --perimeter: Deny)
  --namespace-selector <k=v,...>
                            bind only in namespaces with all these labels (default: every namespace
                            that holds profiles)
  --policy <file|dir>       instead of --mode and --namespace-selector: one pair of bindings per
                            MeshwardPolicy with spec.admission, with its mode and namespaceSelector
  --perimeter               instead: the perimeter's policies and bindings (tenants' writes of
                            NetworkPolicies, External Secrets and Istio kinds; meshward's label; no
                            profiles in system namespaces; meshward fenced to its own objects)
  --operator <ns/name>      with --perimeter: meshward's ServiceAccount (default meshward-system/meshward)
  --mesh-root <namespace>   with --perimeter: Istio's root namespace (default istio-system)

Exit codes: 0 valid; 1 invalid (an error, or with --strict a warning); 2 usage or I/O error (bad flag,
missing or unreadable file); 3 internal error (a bug: please report it).
`;

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  /** Reads all of standard input (for the argument "-"). */
  readStdin?: () => string;
  /** The working directory, for file paths relative to the repository in CI reports (default: the process's). */
  cwd?: string;
}

const OUTPUTS: Record<string, readonly string[]> = {
  validate: REPORT_FORMATS,
  render: ["yaml", "json"],
  graph: GRAPH_FORMATS,
  admission: ["yaml", "json"],
};

function usageError(io: Io, message: string): number {
  // The message quotes arguments and file names as given.
  io.err(`meshward: ${escapeControls(message)}\nRun meshward --help for usage.`);
  return EXIT.usage;
}

function parseOptions(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    allowNegative: true,
    options: {
      output: { type: "string", short: "o" },
      fleet: { type: "boolean", default: false },
      strict: { type: "boolean", default: false },
      "skip-unknown": { type: "boolean", default: true },
      exclude: { type: "string", multiple: true },
      "default-excludes": { type: "boolean", default: true },
      "trust-domain": { type: "string" },
      "max-exception-days": { type: "string" },
      "secret-refresh-interval": { type: "string" },
      values: { type: "string" },
      "mesh-mode": { type: "string" },
      dataplane: { type: "string" },
      now: { type: "string" },
      policy: { type: "string", multiple: true },
      "namespace-labels": { type: "string", multiple: true },
      mode: { type: "string" },
      "namespace-selector": { type: "string" },
      perimeter: { type: "boolean", default: false },
      "cluster-tier": { type: "boolean", default: false },
      operator: { type: "string" },
      "mesh-root": { type: "string" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "v" },
    },
  });
}

/** `version`, `help`, `-v`, `-h`, or no command: the answer's exit code; undefined for a command. */
function versionOrHelp(
  v: { version?: boolean; help?: boolean },
  command: string | undefined,
  io: Io,
): number | undefined {
  if (v.version || command === "version") {
    io.out(`meshward ${version()}`);
    return EXIT.valid;
  }
  if (!v.help && command !== undefined && command !== "help") return undefined;
  if (command === undefined && !v.help) {
    io.err(USAGE);
    return EXIT.usage;
  }
  io.out(USAGE);
  return EXIT.valid;
}

export function run(argv: string[], io: Io): number {
  let parsed;
  try {
    parsed = parseOptions(argv);
  } catch (e) {
    return usageError(io, (e as Error).message);
  }
  const v = parsed.values;
  const [command, ...paths] = parsed.positionals;
  const asked = versionOrHelp(v, command, io);
  if (asked !== undefined || command === undefined) return asked ?? EXIT.usage;
  for (const flag of ["mesh-mode", "dataplane"] as const) {
    const mode = v[flag];
    if (mode !== undefined && mode !== "sidecar" && mode !== "ambient")
      return usageError(io, `--${flag} must be sidecar or ambient, not "${mode}"`);
  }
  if (v.dataplane !== undefined && v["mesh-mode"] !== undefined && v.dataplane !== v["mesh-mode"])
    return usageError(
      io,
      `--dataplane ${v.dataplane} and --mesh-mode ${v["mesh-mode"]} disagree: they name the same setting; give one of them`,
    );
  const now = v.now ? new Date(v.now) : new Date();
  if (Number.isNaN(now.getTime())) {
    return usageError(io, `--now must be an RFC 3339 time such as 2026-12-31T00:00:00Z, not "${v.now}"`);
  }
  if (command === "crds") {
    io.out([buildCrd(), buildPolicyCrd()].map((c) => stringify(c, { lineWidth: 0 })).join("---\n"));
    return EXIT.valid;
  }
  const formats = OUTPUTS[command];
  if (!formats)
    return usageError(
      io,
      `unknown command "${command}"; the commands are validate, render, graph, crds, admission`,
    );
  const output = v.output ?? formats[0] ?? "";
  if (!formats.includes(output)) {
    return usageError(io, `meshward ${command} -o must be one of ${formats.join(", ")}, not "${output}"`);
  }
  if (command === "admission") {
    const r = admission({
      inputs: paths,
      output: output as "yaml" | "json",
      mode: v.mode,
      namespaceSelector: v["namespace-selector"],
      policyPaths: v.policy,
      readStdin: io.readStdin,
      ...(v.perimeter && { perimeter: { operator: v.operator, meshRoot: v["mesh-root"] } }),
    });
    if ("usage" in r) return usageError(io, r.usage);
    for (const line of r.err) io.err(line);
    if (r.out) io.out(r.out);
    return r.code;
  }
  if (v.perimeter) return usageError(io, "--perimeter is an option of meshward admission only");
  if (v["cluster-tier"] && command !== "render")
    return usageError(io, "--cluster-tier is an option of meshward render only");
  for (const flag of ["mode", "namespace-selector", "operator", "mesh-root"] as const)
    if (v[flag] !== undefined) return usageError(io, `--${flag} is an option of meshward admission only`);
  const flagLabels = parseNamespaceLabels(v["namespace-labels"] ?? []);
  if (typeof flagLabels === "string") return usageError(io, flagLabels);
  if (paths.length === 0) {
    return usageError(
      io,
      `meshward ${command}: name at least one file or directory (or - for standard input)`,
    );
  }

  const excludes = [];
  for (const pattern of v.exclude ?? []) {
    const e = parseExclude(pattern);
    if (typeof e === "string") return usageError(io, e);
    excludes.push(e);
  }
  const settings = readSettings(v);
  if (typeof settings === "string") return usageError(io, settings);
  const loaded = loadProfiles(paths, {
    readStdin: io.readStdin,
    policyPaths: v.policy ?? [],
    walk: { excludes, defaultExcludes: v["default-excludes"] },
  });
  const namespaceLabels = mergeNamespaceLabels(loaded, flagLabels);
  const trustDomain = settings.trustDomain;
  const defaults = {
    ...DEFAULT_PLATFORM,
    maxExceptionDays: settings.maxExceptionDays,
    secretRefreshInterval: settings.secretRefreshInterval,
  };
  const policy = applyPolicies(loaded, {
    now,
    trustDomain,
    dns: DEFAULT_PLATFORM.dns,
    namespaceLabels,
    fleet: v.fleet,
  });
  const labels = labelsOf(namespaceLabels);
  const built = render(
    policy.effective,
    { trustDomain, meshMode: settings.meshMode, defaults, now },
    v["cluster-tier"] ? { ...policy, clusterTier: clusterTier(loaded, policy, trustDomain) } : policy,
    (ns) => dataplaneOf(labels(ns), undefined, settings.meshMode),
  );
  const result = check(loaded, [...built.problems, ...policy.problems], {
    fleet: v.fleet,
    strict: v.strict,
    skipUnknown: v["skip-unknown"],
  });

  if (command === "validate")
    return writeValidation(io, output, {
      loaded,
      result,
      policy,
      labels,
      viaPolicyFlag: underAny(v.policy ?? []),
    });
  return writeRendered(io, command, output, { loaded, result, policy, built });
}

type Loaded = ReturnType<typeof loadProfiles>;
type Checked = ReturnType<typeof check>;
type Policies = ReturnType<typeof applyPolicies>;

/** meshward validate: the report in the chosen format; the exit code says whether it passed. */
function writeValidation(
  io: Io,
  output: string,
  {
    loaded,
    result,
    policy,
    labels,
    viaPolicyFlag,
  }: {
    loaded: Loaded;
    result: Checked;
    policy: Policies;
    labels: ReturnType<typeof labelsOf>;
    viaPolicyFlag: (file: string) => boolean;
  },
): number {
  const command = "validate";
  if (output === "text") {
    for (const line of textReport(command, loaded, result)) io.err(line);
    return result.exitCode;
  }
  const paths = repoPaths(io.cwd ?? process.cwd());
  if (output === "json") io.out(jsonReport(loaded, result, policy.baseline));
  else if (output === "junit")
    // A file outside the repository keeps the name it was given; standard input has none.
    io.out(
      junitReport(
        loaded,
        result,
        (f) => repoPath(f, paths) ?? (f === STDIN_LABEL ? undefined : f || undefined),
      ),
    );
  else if (output === "github") io.out(githubReport(result, paths));
  else if (output === "openreports")
    io.out(
      reportsYaml(
        offlineReports({
          loaded,
          problems: [...loaded.problems, ...policy.problems],
          labels,
          viaPolicyFlag,
        }),
      ),
    );
  else io.out(sarifReport(result, paths, version()));
  // The report may go to a file: the log still says why the job failed.
  io.err(summaryLine(command, loaded, result));
  return result.exitCode;
}

/** meshward render and graph: problems on stderr, the objects or the graph on stdout. */
function writeRendered(
  io: Io,
  command: string,
  output: string,
  {
    loaded,
    result,
    policy,
    built,
  }: { loaded: Loaded; result: Checked; policy: Policies; built: ReturnType<typeof render> },
): number {
  // render and graph: problems on stderr, the result on stdout only when the inputs are valid. A
  // policy's finding does not stop them: they show what the cluster would apply (refused parts
  // left out), and still exit 1 for an Enforce finding.
  const lines = textReport(command, loaded, result);
  for (const line of lines.slice(0, -1)) io.err(line);
  const blocking = result.exitCode === EXIT.usage || result.problems.some((p) => isError(p) && !p.finding);
  if (blocking) {
    io.err(`${lines.at(-1) ?? ""}; nothing ${command === "render" ? "rendered" : "drawn"}`);
    return result.exitCode;
  }
  if (policy.baseline.length > 0)
    io.err(
      `meshward ${command}: ${policy.baseline.length} baseline rule${policy.baseline.length === 1 ? "" : "s"} added by MeshwardPolicies (${[...new Set(policy.baseline.map((b) => b.profile))].join(", ")})`,
    );
  if (result.exitCode !== EXIT.valid)
    io.err(`${lines.at(-1) ?? ""}; what the cluster would apply is printed (the refused parts left out)`);
  if (command === "render")
    io.out(
      output === "json"
        ? `${JSON.stringify({ objects: built.objects, baseline: baselineJson(policy.baseline) }, null, 2)}\n`
        : built.yaml,
    );
  else io.out(renderGraph(buildGraph(policy.effective), output as GraphFormat));
  return result.exitCode;
}

/** Labels of the Namespace manifests among the inputs, with --namespace-labels added on top. */
function mergeNamespaceLabels(loaded: LoadResult, flags: NamespaceLabels): NamespaceLabels {
  const out = new Map<string, Record<string, string>>();
  for (const n of loaded.namespaces ?? []) out.set(n.name, { ...out.get(n.name), ...n.labels });
  for (const [ns, l] of flags) out.set(ns, { ...out.get(ns), ...l });
  return out;
}

/** The cluster's settings from --values (the chart's values file) and the flags that override it. */
function readSettings(v: ReturnType<typeof parseOptions>["values"]): ClusterSettings | string {
  let values: unknown;
  if (v.values !== undefined) {
    try {
      values = parse(fs.readFileSync(v.values, "utf8"));
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      return `--values ${v.values}: ${err.code === "ENOENT" ? "no such file" : `cannot be read as YAML: ${err.message.split("\n")[0] ?? ""}`}`;
    }
  }
  return clusterSettings(values, v.values, {
    trustDomain: v["trust-domain"],
    meshMode: v.dataplane ?? v["mesh-mode"],
    maxExceptionDays: v["max-exception-days"],
    secretRefreshInterval: v["secret-refresh-interval"],
  });
}

/** Whether a file is one of `paths` or under one of them (the files read through --policy). */
function underAny(paths: readonly string[]): (file: string) => boolean {
  const roots = paths.map((p) => path.resolve(p));
  return (file) => {
    const f = path.resolve(file);
    return roots.some((r) => f === r || f.startsWith(`${r}${path.sep}`));
  };
}

/** The repository the working directory is in (the nearest directory up with .git), else the working directory. */
function repoPaths(cwd: string): Paths {
  const abs = path.resolve(cwd);
  for (let dir = abs; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, ".git"))) return { root: dir, cwd: abs };
    if (path.dirname(dir) === dir) return { root: abs, cwd: abs };
  }
}

/** The platform tier for the inputs: the default deny goes where render puts the namespaced one. */
function clusterTier(loaded: LoadResult, policy: PolicyResult, trustDomain: string): ClusterNetworkPolicy[] {
  const withDeny = [...new Set(policy.effective.map((l) => l.profile.metadata.namespace))].filter(
    (ns) => policy.namespaces.get(ns)?.createDefaultDeny !== false,
  );
  return buildClusterTier(
    loaded.policies.map((l) => l.policy),
    loaded.profiles.map((l) => l.profile),
    { trustDomain, dns: DEFAULT_PLATFORM.dns },
    withDeny,
  );
}

export function main(): void {
  let code: number;
  try {
    code = run(process.argv.slice(2), {
      out: (s) => process.stdout.write(s.endsWith("\n") ? s : `${s}\n`),
      err: (s) => process.stderr.write(s.endsWith("\n") ? s : `${s}\n`),
      readStdin: () => fs.readFileSync(0, "utf8"),
    });
  } catch (e) {
    process.stderr.write(
      `meshward: internal error: ${escapeControls(e instanceof Error ? e.message : String(e))} (please report this)\n`,
    );
    if (process.env.MESHWARD_DEBUG) process.stderr.write(`${(e as Error).stack ?? ""}\n`);
    code = EXIT.internal;
  }
  process.exitCode = code;
}
