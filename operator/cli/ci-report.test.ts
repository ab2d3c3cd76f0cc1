// The CI formats: GitHub annotations, SARIF 2.1.0 (checked against its JSON schema), and the summary
// line every validate format leaves on stderr.
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import Ajv from "ajv";
import { afterAll, describe, expect, it } from "vitest";
import { githubReport, type Paths, repoPath, ruleOf, sarifReport } from "./ci-report.ts";
import type { CheckResult } from "./check.ts";
import type { FileProblem } from "./load.ts";
import { run } from "./main.ts";

const require = createRequire(import.meta.url);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "meshward-ci-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A repository laid out like a service's: .git, deploy/ with a profile, a Deployment. */
const repo = path.join(tmp, "repo");
fs.mkdirSync(path.join(repo, ".git"), { recursive: true });
fs.mkdirSync(path.join(repo, "deploy"), { recursive: true });
const cart = path.join(repo, "deploy", "cart.yaml");
fs.writeFileSync(
  cart,
  `apiVersion: meshward.io/v1alpha1
kind: ServiceSecurityProfile
metadata: {name: cart, namespace: shop}
spec:
  selector: {app: cart}
  ingress:
    - from: [{service: web}]
      ports: [70000]
  egress:
    to: [{service: payments/api, ports: [443]}]
`,
);
const web = path.join(repo, "deploy", "web.yaml");
fs.writeFileSync(
  web,
  `apiVersion: meshward.io/v1alpha1
kind: ServiceSecurityProfile
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  egress:
    to: [{service: payments/api, ports: [443]}]
`,
);
fs.writeFileSync(
  path.join(repo, "deploy", "deployment.yaml"),
  "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n",
);

function validate(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = run(["validate", ...args], { out: (s) => out.push(s), err: (s) => err.push(s), cwd: repo });
  return { code, out: out.join(""), err: err.join("\n") };
}

const PATHS: Paths = { root: "/repo", cwd: "/repo" };

function result(problems: FileProblem[]): CheckResult {
  return { problems, errors: problems.length, warnings: 0, exitCode: 1 };
}

describe("repoPath", () => {
  const cases: [string, Paths, string | undefined][] = [
    ["deploy/a.yaml", PATHS, "deploy/a.yaml"],
    ["a.yaml", { root: "/repo", cwd: "/repo/deploy" }, "deploy/a.yaml"],
    ["/repo/deploy/a.yaml", { root: "/repo", cwd: "/elsewhere" }, "deploy/a.yaml"],
    ["../outside.yaml", PATHS, undefined],
    ["<stdin>", PATHS, undefined],
    ["", PATHS, undefined],
  ];
  it.each(cases)("%s from %o is %s", (file, paths, want) => expect(repoPath(file, paths)).toBe(want));
});

describe("-o github", () => {
  it("one annotation per problem on its file, line and column; errors and warnings", () => {
    const r = validate("-o", "github", path.join(repo, "deploy"));
    expect(r.code).toBe(1);
    const lines = r.out.trimEnd().split("\n");
    expect(lines).toContain(
      "::error file=deploy/cart.yaml,line=8,col=15,title=meshward InvalidProfile::shop/cart%3A spec.ingress[0].ports[0]%3A must be at most 65535".replace(
        /%3A/g,
        ":",
      ),
    );
    expect(
      lines.filter((l) =>
        l.startsWith("::warning file=deploy/web.yaml,line=7,col=11,title=meshward UnknownReference::"),
      ),
    ).toHaveLength(1);
    expect(lines.every((l) => /^::(error|warning) /.test(l))).toBe(true);
    expect(r.err).toMatch(/^meshward validate: 1 error, 3 warnings in 3 files; first error: /);
  });

  // GitHub reads a command up to the end of the line; its message escapes %, CR and LF, its
  // properties also ":" and ",". Control characters are escaped (escapeControls) first.
  const escapes: [string, Partial<FileProblem>, string][] = [
    [
      "percent in a message",
      { message: "100% sure" },
      "::error file=a.yaml,line=1,col=2,title=meshward InvalidProfile::p: 100%25 sure",
    ],
    [
      "a newline cannot start another command",
      { message: "x\n::error::forged" },
      "::error file=a.yaml,line=1,col=2,title=meshward InvalidProfile::p: x\\n::error::forged",
    ],
    [
      "a carriage return and ESC",
      { message: "a\rb\u001b[31m" },
      "::error file=a.yaml,line=1,col=2,title=meshward InvalidProfile::p: a\\rb\\x1b[31m",
    ],
    [
      "a file name with colon, comma and percent",
      { file: "a:b,c%.yaml" },
      "::error file=a%3Ab%2Cc%25.yaml,line=1,col=2,title=meshward InvalidProfile::p: m",
    ],
    [
      "a finding: its reason is the title",
      {
        message: "m",
        finding: {
          reason: "SecretNotAllowed",
          rule: "guardrails.secrets",
          mode: "Enforce",
          policies: ["default"],
        },
      },
      "::error file=a.yaml,line=1,col=2,title=meshward SecretNotAllowed::p: m [SecretNotAllowed, Enforce, MeshwardPolicy default]",
    ],
    [
      "a file outside the repository: named in the message",
      { file: "../x.yaml" },
      "::error title=meshward InvalidProfile::../x.yaml:1:2: p: m",
    ],
  ];
  it.each(escapes)("%s", (_, over, want) => {
    const p: FileProblem = { file: "a.yaml", path: "p", message: "m", line: 1, column: 2, ...over };
    expect(githubReport(result([p]), PATHS)).toBe(`${want}\n`);
  });
});

describe("-o sarif", () => {
  const schema = JSON.parse(
    fs.readFileSync(require.resolve("@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json"), "utf8"),
  ) as object;
  const ajv = new Ajv({ schemaId: "id", allErrors: true });
  ajv.addMetaSchema(require("ajv/lib/refs/json-schema-draft-04.json") as object);
  const valid = ajv.compile(schema);

  it("is valid SARIF 2.1.0: rules, results with level, message and location relative to the repository", () => {
    const r = validate("-o", "sarif", path.join(repo, "deploy"));
    expect(r.code).toBe(1);
    const log = JSON.parse(r.out) as {
      version: string;
      runs: {
        tool: { driver: { name: string; version: string; rules: { id: string }[] } };
        results: {
          ruleId: string;
          ruleIndex: number;
          level: string;
          message: { text: string };
          locations: { physicalLocation: { artifactLocation: { uri: string }; region: object } }[];
        }[];
      }[];
    };
    expect(valid(log), ajv.errorsText(valid.errors)).toBe(true);
    expect(log.version).toBe("2.1.0");
    const [sarifRun] = log.runs;
    expect(sarifRun?.tool.driver.name).toBe("meshward");
    expect(sarifRun?.tool.driver.rules.map((x) => x.id)).toEqual([
      "InvalidProfile",
      "OneSided",
      "UnknownReference",
    ]);
    const invalid = sarifRun?.results.find((x) => x.level === "error");
    expect(invalid).toMatchObject({
      ruleId: "InvalidProfile",
      ruleIndex: 0,
      message: { text: "shop/cart: spec.ingress[0].ports[0]: must be at most 65535" },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: "deploy/cart.yaml", uriBaseId: "%SRCROOT%" },
            region: { startLine: 8, startColumn: 15 },
          },
        },
      ],
    });
    expect(r.err).toMatch(/^meshward validate: 1 error, 3 warnings in 3 files; first error: /);
  });

  it("stays valid with no problem, with a problem without a file, and with stdin", () => {
    const ok = validate("-o", "sarif", web);
    expect(ok.code).toBe(0);
    expect(valid(JSON.parse(ok.out)), ajv.errorsText(valid.errors)).toBe(true);
    const empty = validate(
      "-o",
      "sarif",
      path.join(repo, "deploy", "deployment.yaml"),
      path.join(repo, ".git"),
    );
    expect(valid(JSON.parse(empty.out)), ajv.errorsText(valid.errors)).toBe(true);
    const out: string[] = [];
    run(["validate", "-o", "sarif", "-"], {
      out: (s) => out.push(s),
      err: () => undefined,
      readStdin: () => "apiVersion: meshward.io/v1alpha1\nkind: ServiceSecurityProfile\n",
    });
    const log = JSON.parse(out.join("")) as {
      runs: { results: { locations?: unknown; message: { text: string } }[] }[];
    };
    expect(valid(log), ajv.errorsText(valid.errors)).toBe(true);
    expect(log.runs[0]?.results[0]?.locations).toBeUndefined();
    expect(log.runs[0]?.results[0]?.message.text).toMatch(/^<stdin>:\d+:\d+: /);
  });

  it("a schema check that can fail: a result without a message is refused", () => {
    const bad = JSON.parse(sarifReport(result([{ file: "a.yaml", path: "", message: "m" }]), PATHS, "1")) as {
      runs: { results: Record<string, unknown>[] }[];
    };
    expect(valid(bad)).toBe(true);
    delete bad.runs[0]?.results[0]?.message;
    expect(valid(bad)).toBe(false);
  });
});

describe("the summary line on stderr, whatever the format", () => {
  for (const format of ["json", "junit", "github", "sarif"])
    it(`-o ${format}`, () => {
      const bad = validate("-o", format, cart);
      expect(bad.err).toBe(
        `meshward validate: 1 error, 2 warnings in 1 file; first error: ${cart}:8:15: shop/cart: spec.ingress[0].ports[0]: must be at most 65535`,
      );
      const good = validate("-o", format, web);
      expect(good.err).toBe("meshward validate: 1 profile valid, 1 warning in 1 file");
    });

  it("escapes tenant strings in it", () => {
    const f = path.join(repo, "deploy", "evil\u001b[31m.yaml");
    fs.writeFileSync(
      f,
      "apiVersion: meshward.io/v1alpha1\nkind: ServiceSecurityProfile\nmetadata: {name: a, namespace: b}\nspec: {}\n",
    );
    const r = validate("-o", "json", f);
    expect(r.err).toContain("evil\\x1b[31m.yaml");
    expect(r.err).not.toContain("\u001b");
    fs.rmSync(f);
  });
});

describe("-o junit", () => {
  it("test cases carry file (relative to the repository) and line; standard input has no file", () => {
    const r = validate("-o", "junit", cart);
    expect(r.out).toMatch(
      /<testcase classname="meshward.validate" name="[^"]*cart.yaml" file="deploy\/cart.yaml" line="8">/,
    );
    const out: string[] = [];
    run(["validate", "-o", "junit", "-"], {
      out: (s) => out.push(s),
      err: () => undefined,
      readStdin: () => "apiVersion: meshward.io/v1alpha1\nkind: ServiceSecurityProfile\n",
      cwd: repo,
    });
    expect(out.join("")).toMatch(/<testcase classname="meshward.validate" name="&lt;stdin&gt;" line="1">/);
  });
});

describe("ruleOf", () => {
  it("a finding's reason, else the problem's code, else InvalidProfile or InvalidPolicy", () => {
    expect(ruleOf({ file: "", path: "", message: "" })).toBe("InvalidProfile");
    expect(ruleOf({ file: "", path: "", message: "", policy: "p" })).toBe("InvalidPolicy");
    expect(ruleOf({ file: "", path: "", message: "", code: "OneSided" })).toBe("OneSided");
  });
});
