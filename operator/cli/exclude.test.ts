// --exclude patterns and the default excludes of a directory walk.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type Exclude, isDefaultExcluded, isExcluded, parseExclude } from "./exclude.ts";
import { run } from "./main.ts";

function ex(pattern: string): Exclude {
  const e = parseExclude(pattern);
  if (typeof e === "string") throw new Error(e);
  return e;
}

describe("isExcluded", () => {
  // pattern, path as walked, path below the input, a directory?, excluded?
  const cases: [string, string, string, boolean, boolean][] = [
    ["legacy/", "deploy/legacy", "legacy", true, true],
    ["legacy/", "deploy/legacy", "legacy", false, false], // a trailing slash: directories only
    ["legacy", "deploy/legacy", "legacy", false, true],
    ["*.tmpl.yaml", "deploy/a/b.tmpl.yaml", "a/b.tmpl.yaml", false, true],
    ["*.tmpl.yaml", "deploy/a/b.yaml", "a/b.yaml", false, false],
    ["deploy/legacy/**", "deploy/legacy/x/y.yaml", "legacy/x/y.yaml", false, true],
    ["deploy/legacy/**", "deploy/current/y.yaml", "current/y.yaml", false, false],
    ["legacy/*.yaml", "deploy/legacy/a.yaml", "legacy/a.yaml", false, true], // below the input
    ["legacy/*.yaml", "deploy/legacy/x/a.yaml", "legacy/x/a.yaml", false, false], // * stays in one name
    ["**/test-*.yaml", "a/b/test-1.yaml", "b/test-1.yaml", false, true],
    ["**/test-*.yaml", "test-1.yaml", "test-1.yaml", false, true],
    ["/charts", "charts", "charts", true, true],
    ["/charts", "deploy/charts", "charts", true, true], // anchored to the input too
    ["./deploy/a.yaml", "deploy/a.yaml", "a.yaml", false, true],
    ["a?.yaml", "ab.yaml", "ab.yaml", false, true],
    ["a?.yaml", "a/b.yaml", "a/b.yaml", false, false],
    ["a.yaml", "axyaml", "axyaml", false, false], // "." is not a wildcard
  ];
  it.each(cases)("%s on %s (below: %s, directory: %s): %s", (pattern, walked, below, dir, want) => {
    expect(isExcluded([ex(pattern)], walked, below, dir) !== undefined).toBe(want);
  });

  it("refuses empty and negated patterns with what to write", () => {
    expect(parseExclude("")).toMatch(/--exclude takes a path pattern such as node_modules\//);
    expect(parseExclude("!keep.yaml")).toMatch(/not "!keep.yaml"/);
  });

  it("defaults: node_modules and dot-directories, not dot-files", () => {
    expect(isDefaultExcluded("node_modules", true)).toBe(true);
    expect(isDefaultExcluded(".git", true)).toBe(true);
    expect(isDefaultExcluded(".github", true)).toBe(true);
    expect(isDefaultExcluded(".gitlab-ci.yml", false)).toBe(false);
    expect(isDefaultExcluded("deploy", true)).toBe(false);
  });
});

describe("validate on a repository with node_modules/, .git/, .github/", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "meshward-exclude-"));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const bad = "apiVersion: meshward.io/v1alpha1\nkind: ServiceSecurityProfile\nmetadata: {name: x}\n";
  const good =
    "apiVersion: meshward.io/v1alpha1\nkind: ServiceSecurityProfile\nmetadata: {name: a, namespace: shop}\nspec: {selector: {app: a}}\n";
  for (const [f, text] of [
    ["deploy/profile.yaml", good],
    ["deploy/legacy/old.yaml", bad],
    ["node_modules/pkg/profile.yaml", bad],
    [".git/x.yaml", bad],
    [".github/workflows/ci.yaml", "on: pull_request\n"],
  ]) {
    fs.mkdirSync(path.dirname(path.join(tmp, f as string)), { recursive: true });
    fs.writeFileSync(path.join(tmp, f as string), text as string);
  }
  // A broken link under node_modules/ is excluded before it is read.
  fs.symlinkSync(path.join(tmp, "nowhere"), path.join(tmp, "node_modules", "broken.yaml"));

  function validate(...args: string[]) {
    const err: string[] = [];
    const code = run(["validate", ...args], { out: () => undefined, err: (s) => err.push(s) });
    return { code, err: err.join("\n") };
  }

  it("skips node_modules/ and dot-directories by default, and what --exclude names", () => {
    const r = validate(tmp);
    expect(r.err).toContain("legacy/old.yaml");
    expect(r.err).not.toContain("node_modules");
    expect(r.err).not.toContain(".git");
    expect(r.code).toBe(1);
    const excluded = validate(tmp, "--exclude", "legacy/");
    expect(excluded.err).toBe("meshward validate: 1 profile valid");
    expect(excluded.code).toBe(0);
  });

  it("--no-default-excludes walks them; a directory named as an input is always read", () => {
    const all = validate(tmp, "--no-default-excludes", "--exclude", "legacy/");
    expect(all.err).toContain("node_modules/pkg/profile.yaml");
    expect(all.err).toContain(".git/x.yaml");
    expect(all.code).toBe(2); // the broken link is an I/O error once it is walked
    const named = validate(path.join(tmp, ".github"), path.join(tmp, "deploy", "profile.yaml"));
    expect(named.err).toContain("1 other document skipped");
    expect(named.code).toBe(0);
  });

  it("a bad pattern is a usage error", () => {
    expect(validate(tmp, "--exclude", "").code).toBe(2);
  });
});
