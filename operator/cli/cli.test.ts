// The CLI on bad input: one line per problem, non-zero exit, no stack trace.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run } from "./main.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "meshward-cli-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = run(args, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join(""), err: err.join("\n") };
}

function write(name: string, content: string | Buffer): string {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, content);
  return f;
}

describe("meshward CLI", () => {
  it("validates the fleet", () => {
    const r = cli("validate", path.join(ROOT, "examples/fleet"), "--now", "2026-11-20T00:00:00Z");
    expect(r.err).toContain("5 profiles valid");
    expect(r.code).toBe(0);
  });

  it("lists every problem of examples/invalid with file and field, exit 1", () => {
    const r = cli("validate", path.join(ROOT, "examples/invalid"), "--now", "2026-11-20T00:00:00Z");
    expect(r.code).toBe(1);
    const lines = r.err.split("\n").filter((l) => l.includes(": error: "));
    expect(lines.length).toBe(fs.readdirSync(path.join(ROOT, "examples/invalid")).length);
    expect(r.err).toContain(
      "port-out-of-range.yaml: invalid/bad-port: spec.ingress[0].ports[0]: error: must be at most 65535",
    );
  });

  it("renders without crashing and prints objects", () => {
    const r = cli("render", path.join(ROOT, "examples/fleet"), "--now", "2026-11-20T00:00:00Z");
    expect(r.code).toBe(0);
    expect(r.out).toContain("kind: AuthorizationPolicy");
  });

  // Exit 1: the input was read and is invalid. Exit 2: it could not be read (an I/O error).
  const bad: [string, () => string, RegExp, number][] = [
    ["not YAML", () => write("bad.yaml", "a: [1, 2\nb: }"), /not valid YAML \(line \d+\)/, 1],
    [
      "a misspelt meshward kind",
      () =>
        write(
          "kind.yaml",
          "apiVersion: meshward.io/v1alpha1\nkind: ServiceSecurityProfil\nmetadata: {name: a, namespace: b}\nspec: {}\n",
        ),
      /kind: error: must be ServiceSecurityProfile/,
      1,
    ],
    [
      "missing fields",
      () =>
        write(
          "empty-spec.yaml",
          "apiVersion: meshward.io/v1alpha1\nkind: ServiceSecurityProfile\nmetadata: {name: a}\n",
        ),
      /metadata.namespace: error: is required/,
      1,
    ],
    [
      "a 5 MB file",
      () => write("big.yaml", `# ${"x".repeat(5 * 1024 * 1024)}\n`),
      /file is too large \(5\.2 MB; the limit is 1 MiB\)/,
      1,
    ],
    ["a binary file", () => write("bin.yaml", Buffer.from([0, 1, 2, 3])), /not a text file/, 1],
    ["a missing file", () => path.join(tmp, "nope.yaml"), /no such file or directory/, 2],
    [
      "a symlink loop",
      () => {
        const d = path.join(tmp, "loop");
        fs.mkdirSync(d, { recursive: true });
        fs.symlinkSync(d, path.join(d, "self"));
        fs.symlinkSync(path.join(d, "b"), path.join(d, "a"));
        fs.symlinkSync(path.join(d, "a"), path.join(d, "b"));
        return d;
      },
      /symbolic links/,
      2,
    ],
    [
      "a YAML alias bomb",
      () =>
        write(
          "bomb.yaml",
          `a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n`,
        ),
      /YAML|alias/i,
      1,
    ],
  ];
  for (const [what, make, message, code] of bad) {
    it(`explains ${what} in one line, exit ${code}`, () => {
      const r = cli("validate", make());
      expect(r.code).toBe(code);
      expect(r.err).toMatch(message);
      expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
    });
  }

  it("rejects unknown commands and flags with usage, exit 2", () => {
    expect(cli("frobnicate").code).toBe(2);
    expect(cli("render", "--mesh-mode", "mesh", "x").err).toContain("--mesh-mode must be sidecar or ambient");
    expect(cli("validate").code).toBe(2);
  });

  it("prints the CRD", () => {
    const r = cli("crds");
    expect(r.out).toContain("name: servicesecurityprofiles.meshward.io");
  });
});
