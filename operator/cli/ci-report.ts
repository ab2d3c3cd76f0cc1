// `meshward validate` for CI systems (pure): GitHub workflow commands (annotations on the file and
// line of each problem), SARIF 2.1.0 (code scanning), and the one-line summary every format ends
// with on stderr, so that a job's log says why it failed even when the report went to a file.
// Tenant strings (file names, keys, messages) have their control characters escaped first
// (escapeControls), then whatever the format needs on top.
import * as path from "node:path";
import { escapeControls } from "../api/escape.ts";
import { isError } from "../api/validate.ts";
import type { FindingReason } from "../policy/types.ts";
import type { CheckResult } from "./check.ts";
import { type FileProblem, type LoadResult, PROBLEM_CODES, STDIN_LABEL } from "./load.ts";
import { fileAt, formatProblem } from "./report.ts";

/** Where the report's paths are relative to: the repository root, and the directory inputs are named from. */
export interface Paths {
  /** Absolute: the repository's top directory (where .git is), else the working directory. */
  root: string;
  /** Absolute: the working directory the input names are relative to. */
  cwd: string;
}

/** A file name as the repository knows it (deploy/cart.yaml), or undefined for stdin or a file outside it. */
export function repoPath(file: string, paths: Paths): string | undefined {
  if (file === "" || file === STDIN_LABEL) return undefined;
  const rel = path.relative(paths.root, path.resolve(paths.cwd, file));
  if (rel === "" || rel.startsWith("..") || path.isAbsolute(rel)) return undefined;
  return rel.split(path.sep).join("/");
}

/** The rule a problem falls under: a finding's reason, else its code. */
export function ruleOf(p: FileProblem): string {
  if (p.finding) return p.finding.reason;
  return p.code ?? (p.policy !== undefined ? "InvalidPolicy" : "InvalidProfile");
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * The last line on stderr, whatever the format: "meshward validate: 2 errors, 1 warning in 3 files;
 * first error: deploy/cart.yaml:12:15: shop/cart: spec.ingress[0].ports[0]: must be at most 65535".
 */
export function summaryLine(command: string, loaded: LoadResult, result: CheckResult): string {
  const files = plural(loaded.files.length, "file");
  const warnings = result.warnings > 0 ? `, ${plural(result.warnings, "warning")}` : "";
  const first = result.problems.find(isError);
  if (result.errors > 0 && first)
    return escapeControls(
      `meshward ${command}: ${plural(result.errors, "error")}${warnings} in ${files}; first error: ${formatProblem(first).replace(/: error: /, ": ")}`,
    );
  const n = loaded.policies.length;
  const policies = n === 0 ? "" : ` under ${n === 1 ? "1 MeshwardPolicy" : `${n} MeshwardPolicies`}`;
  return `meshward ${command}: ${plural(loaded.profiles.length, "profile")} valid${policies}${warnings} in ${files}`;
}

/** GitHub's escaping of a workflow command's message. */
function ghData(s: string): string {
  return escapeControls(s).replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

/** GitHub's escaping of a workflow command's property value (file, title): also ":" and ",". */
function ghProperty(s: string): string {
  return ghData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");
}

/** The message without the file, position and level: "shop/cart: spec.x: must be ... [reason, mode, ...]". */
function bareMessage(p: FileProblem): string {
  return formatProblem({ ...p, file: "", line: undefined, column: undefined }).replace(
    /(^|: )(error|warning): /,
    "$1",
  );
}

/**
 * One `::error` or `::warning` workflow command per problem, on the problem's file, line and
 * column: GitHub shows each as an annotation on the pull request's diff.
 */
export function githubReport(result: CheckResult, paths: Paths): string {
  const lines = result.problems.map((p) => {
    const file = repoPath(p.file, paths);
    const props = [
      file !== undefined && `file=${ghProperty(file)}`,
      file !== undefined && p.line !== undefined && `line=${p.line}`,
      file !== undefined && p.column !== undefined && `col=${p.column}`,
      `title=${ghProperty(`meshward ${ruleOf(p)}`)}`,
    ].filter(Boolean);
    // A problem outside the repository (or on stdin) names its file in the message.
    const where = file === undefined && p.file !== "" ? `${fileAt(p)}: ` : "";
    return `::${isError(p) ? "error" : "warning"} ${props.join(",")}::${ghData(where + bareMessage(p))}`;
  });
  return lines.length > 0 ? `${lines.join("\n")}\n` : "";
}

const SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json";
const INFORMATION_URI = "https://github.com/meshward/meshward/blob/main/docs/cli.md";

/** What each policy finding's reason means, as a SARIF rule's description. */
const REASON_TEXT: Record<FindingReason, string> = {
  SecretNotAllowed: "a MeshwardPolicy does not allow this secret's store or remote key",
  EgressCidrNotAllowed: "a MeshwardPolicy does not allow egress to this address range",
  EgressHostNotAllowed: "a MeshwardPolicy does not allow egress to this host",
  ExceptionNotAllowed: "a MeshwardPolicy does not allow this exception (its type or length)",
  PendingApproval: "an exception takes effect only once a MeshwardPolicy approves it",
  SelectorOverlap: "the selector can match the pods of an older profile, which keeps them",
  Quarantined: "a MeshwardPolicy quarantines this profile or its namespace",
};

function ruleText(id: string): string {
  return (PROBLEM_CODES as Record<string, string>)[id] ?? REASON_TEXT[id as FindingReason] ?? id;
}

/** SARIF 2.1.0: one run, the rules that occur, one result per problem with its file and region. */
export function sarifReport(result: CheckResult, paths: Paths, version: string): string {
  const ids = [...new Set(result.problems.map(ruleOf))].sort();
  const results = result.problems.map((p) => {
    const uri = repoPath(p.file, paths);
    const where = uri === undefined && p.file !== "" ? `${fileAt(p)}: ` : "";
    const logical = p.profile ?? (p.policy !== undefined ? `MeshwardPolicy/${p.policy}` : undefined);
    return {
      ruleId: ruleOf(p),
      ruleIndex: ids.indexOf(ruleOf(p)),
      level: isError(p) ? "error" : "warning",
      message: { text: escapeControls(where + bareMessage(p)) },
      ...(uri !== undefined && {
        locations: [
          {
            physicalLocation: {
              artifactLocation: { uri: encodeURI(uri), uriBaseId: "%SRCROOT%" },
              ...(p.line !== undefined && {
                region: { startLine: p.line, ...(p.column !== undefined && { startColumn: p.column }) },
              }),
            },
            ...(logical !== undefined && {
              logicalLocations: [{ fullyQualifiedName: logical, kind: "resource" }],
            }),
          },
        ],
      }),
      ...(p.path !== "" && { properties: { path: p.path } }),
    };
  });
  const root = paths.root.split(path.sep).join("/");
  const log = {
    $schema: SARIF_SCHEMA,
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "meshward",
            version,
            informationUri: INFORMATION_URI,
            rules: ids.map((id) => ({
              id,
              shortDescription: { text: ruleText(id) },
              helpUri: INFORMATION_URI,
            })),
          },
        },
        originalUriBaseIds: {
          "%SRCROOT%": { uri: `file://${encodeURI(root.startsWith("/") ? root : `/${root}`)}/` },
        },
        results,
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
