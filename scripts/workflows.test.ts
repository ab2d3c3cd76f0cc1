// The GitHub Actions workflows (.github/workflows/) checked with actionlint, built from the Go module
// proxy on first use (e2e/controlplane/actionlint/). Any finding fails the test; a deliberately
// broken workflow (testdata/workflows/broken.yml) shows that it can.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureActionlint } from "../e2e/controlplane/actionlint.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const WORKFLOWS = path.join(ROOT, ".github", "workflows");
const BROKEN = path.join(import.meta.dirname, "testdata", "workflows", "broken.yml");

interface Finding {
  message: string;
  filepath: string;
  line: number;
  column: number;
  kind: string;
}

let actionlint = "";
// A first build of actionlint takes about a minute to a few on a busy machine (README).
beforeAll(async () => {
  actionlint = await ensureActionlint();
}, 900_000);

/**
 * actionlint on the given files, with its shellcheck and pyflakes integrations off, so the result
 * does not depend on what else the machine has installed.
 */
function lint(files: string[]): { exitCode: number | null; findings: Finding[]; stderr: string } {
  const r = spawnSync(actionlint, ["-shellcheck=", "-pyflakes=", "-format", "{{json .}}", ...files], {
    cwd: ROOT,
    encoding: "utf8",
  });
  if (r.error) throw new Error(`${actionlint}: ${r.error.message}`);
  const findings = r.stdout.trim() ? (JSON.parse(r.stdout) as Finding[]) : [];
  return { exitCode: r.status, findings, stderr: r.stderr };
}

describe("GitHub Actions workflows", () => {
  const files = fs
    .readdirSync(WORKFLOWS)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => path.join(WORKFLOWS, f));

  it("there are a CI and a release workflow", () => {
    expect(files.map((f) => path.basename(f)).sort()).toEqual(["ci.yml", "release.yml"]);
  });

  it("actionlint finds nothing in any of them", () => {
    const r = lint(files);
    const report = r.findings.map(
      (f) => `${path.relative(ROOT, f.filepath)}:${f.line}:${f.column}: ${f.message} [${f.kind}]`,
    );
    expect(report).toEqual([]);
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
  });

  it("actionlint fails a broken workflow, naming each mistake", () => {
    const r = lint([BROKEN]);
    expect(r.exitCode).toBe(1);
    const kinds = r.findings.map((f) => `${f.line}:${f.kind}`);
    expect(kinds).toEqual(["13:expression", "14:job-needs", "18:permissions", "22:action"]);
  });
});
