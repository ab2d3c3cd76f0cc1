// How `meshward validate` reports (pure): text lines for people, JSON for scripts, JUnit XML for CI
// systems (one test case per file read; errors are failures, skipped-only files are skipped).
// Every string in the text and JUnit reports goes through escapeControls: file names, keys,
// messages and reasons come from tenants and must not reach a terminal raw.
import { isError } from "../api/validate.ts";
import type { CheckResult } from "./check.ts";
import { escapeControls } from "../api/escape.ts";
import type { FileProblem, LoadResult } from "./load.ts";
import { type BaselineEntry, baselineJson } from "./policy.ts";

export type ReportFormat = "text" | "json" | "junit" | "github" | "sarif" | "openreports";
export const REPORT_FORMATS: readonly ReportFormat[] = [
  "text",
  "json",
  "junit",
  "github",
  "sarif",
  "openreports",
];

/** "[SecretNotAllowed, Enforce, MeshwardPolicy default]" after a policy finding's message. */
function findingTag(p: FileProblem): string {
  const f = p.finding;
  if (!f) return "";
  return ` [${[f.reason, f.mode, f.policies.length > 0 ? `MeshwardPolicy ${f.policies.join(", ")}` : ""].filter(Boolean).join(", ")}]`;
}

/** "deploy/cart.yaml:12:9", or the file alone when the problem has no position. */
export function fileAt(p: Pick<FileProblem, "file" | "line" | "column">): string {
  if (p.file === "" || p.line === undefined) return p.file;
  return `${p.file}:${p.line}${p.column !== undefined ? `:${p.column}` : ""}`;
}

/** One problem as one line of text, its control characters escaped. */
export function formatProblem(p: FileProblem): string {
  const parts = [fileAt(p), p.profile, p.policy && `MeshwardPolicy ${p.policy}`, p.path].filter(
    (x) => x !== undefined && x !== "",
  );
  const level = isError(p) ? "error" : "warning";
  return escapeControls(`${[...parts, level].join(": ")}: ${p.message}${findingTag(p)}`);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** "3 other documents skipped (2 Deployment, 1 Kustomization)". */
export function skippedSummary(loaded: LoadResult): string {
  if (loaded.skipped.length === 0) return "";
  const byKind = new Map<string, number>();
  for (const s of loaded.skipped) byKind.set(s.kind || "no kind", (byKind.get(s.kind || "no kind") ?? 0) + 1);
  const kinds = [...byKind.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, n]) => `${n} ${k}`)
    .join(", ");
  return `${plural(loaded.skipped.length, "other document")} skipped (${kinds})`;
}

/** The text report: one line per note and problem, then a summary line; control characters escaped. */
export function textReport(command: string, loaded: LoadResult, result: CheckResult): string[] {
  const lines = loaded.notes.map((n) => `${n.file}: note: ${n.message}`);
  lines.push(...result.problems.map(formatProblem));
  const extra = [
    skippedSummary(loaded),
    loaded.notes.length > 0 ? plural(loaded.notes.length, "template") + " skipped" : "",
  ]
    .filter(Boolean)
    .join("; ");
  const n = loaded.policies.length;
  const policies = n === 0 ? "" : ` under ${n === 1 ? "1 MeshwardPolicy" : `${n} MeshwardPolicies`}`;
  const head =
    result.errors > 0
      ? plural(result.errors, "error")
      : `${plural(loaded.profiles.length, "profile")} valid${policies}${result.warnings > 0 ? `, ${plural(result.warnings, "warning")}` : ""}`;
  lines.push(`meshward ${command}: ${head}${extra ? `; ${extra}` : ""}`);
  return lines.map(escapeControls);
}

export function jsonReport(
  loaded: LoadResult,
  result: CheckResult,
  baseline: readonly BaselineEntry[] = [],
): string {
  const out = {
    valid: result.exitCode === 0,
    exitCode: result.exitCode,
    profiles: loaded.profiles.map((l) => ({
      file: l.file,
      namespace: l.profile.metadata.namespace,
      name: l.profile.metadata.name,
    })),
    policies: loaded.policies.map((l) => ({ file: l.file, name: l.policy.metadata.name })),
    errors: result.errors,
    warnings: result.warnings,
    problems: result.problems.map((p) => ({
      file: p.file,
      ...(p.profile && { profile: p.profile }),
      ...(p.policy && { policy: p.policy }),
      path: p.path,
      ...(p.line !== undefined && { line: p.line, column: p.column }),
      severity: isError(p) ? "error" : "warning",
      message: p.message,
      // A policy finding: reason, rule, mode and policies as in the profile's status.policy.findings.
      ...p.finding,
    })),
    baseline: baselineJson(baseline),
    skipped: loaded.skipped,
    notes: loaded.notes,
    files: loaded.files,
  };
  return `${JSON.stringify(out, null, 2)}\n`;
}

/**
 * One line of text as XML character data or attribute value. Its control characters are escaped
 * first (most are not allowed in XML 1.0 at all, and CI systems show the rest raw).
 */
function xml(s: string): string {
  return escapeControls(s)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/** Problems as XML character data, one line each. */
function xmlLines(problems: FileProblem[]): string {
  return problems.map((p) => xml(formatProblem(p))).join("\n");
}

/**
 * JUnit XML: one test case per file; problems not tied to a file get a case of their own. A case
 * carries `file` (as `fileName` says: relative to the repository root for CI systems that annotate
 * it) and `line` (of its first error, else of its first warning).
 */
export function junitReport(
  loaded: LoadResult,
  result: CheckResult,
  fileName: (file: string) => string | undefined = (f) => f || undefined,
): string {
  const files = [...loaded.files];
  for (const p of result.problems) if (!files.includes(p.file)) files.push(p.file);
  const cases: string[] = [];
  let failures = 0;
  let skippedCases = 0;
  for (const file of files) {
    const name = file || "(inputs)";
    const mine = result.problems.filter((p) => p.file === file);
    const errors = mine.filter(isError);
    const warnings = mine.filter((p) => !isError(p));
    const profiles =
      loaded.profiles.filter((l) => l.file === file).length +
      loaded.policies.filter((l) => l.file === file).length;
    const body: string[] = [];
    if (errors.length > 0) {
      failures++;
      const first = errors[0] as FileProblem;
      body.push(
        `      <failure type="error" message="${xml(`${plural(errors.length, "error")}: ${[first.path, first.message].filter(Boolean).join(": ")}`)}">${xmlLines(errors)}</failure>`,
      );
    } else if (profiles === 0) {
      const note = loaded.notes.find((n) => n.file === file);
      const skipped = loaded.skipped.filter((s) => s.file === file).length;
      skippedCases++;
      body.push(
        `      <skipped message="${xml(note ? note.message : `no meshward kinds (${plural(skipped, "document")} skipped)`)}"/>`,
      );
    }
    if (warnings.length > 0) body.push(`      <system-out>${xmlLines(warnings)}</system-out>`);
    const fileAttr = fileName(file);
    const line = (errors[0] ?? warnings[0])?.line;
    const attrs = [
      `classname="meshward.validate"`,
      `name="${xml(name)}"`,
      fileAttr !== undefined && `file="${xml(fileAttr)}"`,
      line !== undefined && `line="${line}"`,
    ]
      .filter(Boolean)
      .join(" ");
    cases.push(
      body.length > 0
        ? `    <testcase ${attrs}>\n${body.join("\n")}\n    </testcase>`
        : `    <testcase ${attrs}/>`,
    );
  }
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="meshward validate" tests="${cases.length}" failures="${failures}" errors="0" skipped="${skippedCases}">`,
    `  <testsuite name="meshward validate" tests="${cases.length}" failures="${failures}" errors="0" skipped="${skippedCases}">`,
    ...cases,
    `  </testsuite>`,
    `</testsuites>`,
    ``,
  ].join("\n");
}
