// The CLI on bad input: one line per problem, non-zero exit, no stack trace.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { validatePolicy } from "../api/validate-policy.ts";
import { validateProfile } from "../api/validate.ts";
import { admissionManifest } from "./admission.ts";
import { buildPerimeter } from "../perimeter/admission.ts";
import { evaluateProfile } from "../policy/engine.ts";
import { defaultNamespaceLabels } from "../policy/fleet.ts";
import { run } from "./main.ts";
import type { FileProblem, LoadResult } from "./load.ts";
import { formatProblem, junitReport, textReport } from "./report.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "meshward-cli-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function cli(...args: string[]) {
  return cliWithStdin(undefined, ...args);
}

function cliWithStdin(stdin: string | undefined, ...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = run(args, {
    out: (s) => out.push(s),
    err: (s) => err.push(s),
    ...(stdin !== undefined && { readStdin: () => stdin }),
  });
  return { code, out: out.join(""), err: err.join("\n") };
}

const NOW = ["--now", "2026-11-20T00:00:00Z"];
const FLEET = path.join(ROOT, "examples/fleet");
const SERVICE_REPO = path.join(ROOT, "examples/service-repo");
const fleetFile = (name: string) => path.join(FLEET, `${name}.yaml`);

/** A profile as YAML, for fleets written in a test. */
function profileYaml(ns: string, name: string, spec: string): string {
  return `apiVersion: meshward.io/v1alpha1\nkind: ServiceSecurityProfile\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n  selector: {app: ${name}}\n${spec}`;
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
      "port-out-of-range.yaml:12:15: invalid/bad-port: spec.ingress[0].ports[0]: error: must be at most 65535",
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
    expect(r.out).toContain("name: meshwardpolicies.meshward.io");
    // The same as crds/ (generated by npm run gen from the same builders).
    const docs = parseAllDocuments(r.out).map((d) => d.toJS() as unknown);
    for (const f of ["meshward.io_servicesecurityprofiles.yaml", "meshward.io_meshwardpolicies.yaml"])
      expect(docs).toContainEqual(parse(fs.readFileSync(path.join(ROOT, "crds", f), "utf8")));
  });
});

describe("meshward validate on real repositories", () => {
  it("accepts a service's folder: Deployment, Service, kustomization.yaml and one profile, exit 0", () => {
    const r = cli("validate", SERVICE_REPO);
    expect(r.err).toBe(
      "meshward validate: 1 profile valid; 3 other documents skipped (1 Deployment, 1 Kustomization, 1 Service)",
    );
    expect(r.code).toBe(0);
  });

  it("reads the chart's folder without an error: templates get a note, other documents are skipped", () => {
    const r = cli("validate", path.join(ROOT, "charts/meshward"));
    expect(r.err).not.toContain(": error:");
    expect(r.err).toMatch(/templates\/deployment\.yaml: note: skipped: a template/);
    expect(r.err).toMatch(/templates\/crd\.yaml: note: skipped: a template/);
    expect(r.code).toBe(0);
  });

  it("reads rendered objects without an error", () => {
    const rendered = cli("render", FLEET, ...NOW);
    expect(rendered.code).toBe(0);
    const file = write("rendered.yaml", rendered.out);
    const r = cli("validate", file);
    expect(r.err).not.toContain(": error:");
    expect(r.err).toMatch(/\d+ other documents skipped \(\d+ AuthorizationPolicy, /);
    expect(r.code).toBe(0);
    // Profiles and their rendered objects side by side: the profiles are checked, the rest skipped.
    const both = cli("validate", FLEET, file, ...NOW);
    expect(both.err).toMatch(/^meshward validate: 5 profiles valid; \d+ other documents skipped/m);
    expect(both.code).toBe(0);
  });

  it("reads standard input for -", () => {
    const r = cliWithStdin(
      fs.readFileSync(path.join(SERVICE_REPO, "deploy/security-profile.yaml"), "utf8"),
      "validate",
      "-",
    );
    expect(r.err).toBe("meshward validate: 1 profile valid");
    expect(r.code).toBe(0);
    const bad = cliWithStdin(
      "apiVersion: meshward.io/v1alpha1\nkind: ServiceSecurityProfile\n",
      "validate",
      "-",
    );
    expect(bad.err).toContain("<stdin>:1:1: metadata: error: is required");
    expect(bad.code).toBe(1);
  });

  it("with --strict, warnings and unknown fields of meshward's kinds fail; other kinds do not", () => {
    const r = cli("validate", "--strict", SERVICE_REPO);
    expect(r.err).toBe(
      "meshward validate: 1 profile valid; 3 other documents skipped (1 Deployment, 1 Kustomization, 1 Service)",
    );
    expect(r.code).toBe(0);
    const warned = cli("validate", fleetFile("orders-api"));
    expect(warned.code).toBe(0);
    expect(cli("validate", "--strict", fleetFile("orders-api")).code).toBe(1);

    // Fields Kubernetes does not know outside spec: a warning, an error with --strict.
    const typo = write(
      "top-level-typo.yaml",
      "apiVersion: meshward.io/v1alpha1\nkind: ServiceSecurityProfile\nmetadata:\n  name: a\n  namespace: shop\n  lables: {team: x}\nspec: {selector: {app: a}}\nspecs: {}\n",
    );
    const loose = cli("validate", typo);
    expect(loose.code).toBe(0);
    expect(loose.err).toContain(
      `${typo}:6:3: shop/a: metadata: warning: unknown field "lables" (did you mean "labels"?): ServiceSecurityProfile has no such field`,
    );
    expect(loose.err).toContain(
      `${typo}:8:1: shop/a: (root): warning: unknown field "specs" (did you mean "spec"?)`,
    );
    const strict = cli("validate", "--strict", typo);
    expect(strict.code).toBe(1);
    expect(strict.err).toContain(`${typo}:6:3: shop/a: metadata: error: unknown field "lables"`);
    // The same fields on a Deployment are not meshward's business.
    const deployment = write(
      "deployment-extra.yaml",
      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a, lables: {}}\nspecs: {}\n",
    );
    const withDeployment = cli(
      "validate",
      "--strict",
      deployment,
      path.join(SERVICE_REPO, "deploy/security-profile.yaml"),
    );
    expect(withDeployment.err).toBe(
      "meshward validate: 1 profile valid; 1 other document skipped (1 Deployment)",
    );
    expect(withDeployment.code).toBe(0);
  });

  it("with --no-skip-unknown, each unknown document is an error", () => {
    const r = cli("validate", "--no-skip-unknown", SERVICE_REPO);
    expect(r.err.split("\n").filter((l) => l.includes("is not a meshward kind"))).toHaveLength(3);
    expect(r.code).toBe(1);
  });

  it("warns about an input without any profile; --strict fails on it", () => {
    const dir = path.join(tmp, "no-profiles");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "svc.yaml"), "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n");
    const r = cli("validate", dir);
    expect(r.err).toContain(
      "warning: no ServiceSecurityProfile found (1 file read, 1 other document skipped)",
    );
    expect(r.code).toBe(0);
    expect(cli("validate", "--strict", dir).code).toBe(1);
  });
});

describe("fleet checks across the inputs", () => {
  it("a reference to a profile not given is a warning, and an error with --fleet", () => {
    const r = cli("validate", fleetFile("orders-api"));
    expect(r.err).toContain(
      "orders-api.yaml:12:11: orders/orders-api: spec.ingress[0].from[0].service: warning: ServiceSecurityProfile payments/payments-api is not among the files given (with the whole fleet as input, --fleet makes this an error); this entry allows nothing until it exists",
    );
    const fleet = cli("validate", "--fleet", fleetFile("orders-api"));
    expect(fleet.err).toContain(
      "spec.ingress[0].from[0].service: error: ServiceSecurityProfile payments/payments-api is not in the fleet",
    );
    expect(fleet.code).toBe(1);
    expect(cli("validate", "--fleet", FLEET, ...NOW).code).toBe(0);
  });

  it("suggests the profile a misspelt reference meant", () => {
    const dir = path.join(tmp, "typo-fleet");
    fs.mkdirSync(dir);
    fs.copyFileSync(fleetFile("payments-api"), path.join(dir, "payments-api.yaml"));
    fs.copyFileSync(fleetFile("checkout-api"), path.join(dir, "checkout-api.yaml"));
    fs.copyFileSync(fleetFile("edge-api"), path.join(dir, "edge-api.yaml"));
    fs.writeFileSync(
      path.join(dir, "orders-api.yaml"),
      profileYaml(
        "orders",
        "orders-api",
        "  ingress:\n    - from: [{service: payments/payment-api}]\n      ports: [8080]\n",
      ),
    );
    const r = cli("validate", "--fleet", dir, ...NOW);
    expect(r.err).toContain("did you mean payments/payments-api?");
    expect(r.code).toBe(1);
  });

  it("reports one-sided declarations in both directions, naming both files", () => {
    const dir = path.join(tmp, "one-sided");
    fs.mkdirSync(dir);
    const api = write(
      "one-sided/api.yaml",
      profileYaml(
        "shop",
        "api",
        "  ingress:\n    - from: [{service: web}]\n  egress:\n    to: [{service: db}]\n",
      ),
    );
    const web = write("one-sided/web.yaml", profileYaml("shop", "web", ""));
    const db = write("one-sided/db.yaml", profileYaml("shop", "db", ""));
    const r = cli("validate", dir);
    expect(r.err).toContain(
      `${api}:7:15: shop/api: spec.ingress[0].from[0].service: warning: admits shop/web, but shop/web (${web}) declares no egress to shop/api`,
    );
    expect(r.err).toContain(
      `${api}:9:11: shop/api: spec.egress.to[0].service: warning: declares egress to shop/db, but shop/db (${db}) does not admit shop/api`,
    );
    expect(r.code).toBe(0);
    expect(cli("validate", "--strict", dir).code).toBe(1);
  });

  it("--fleet: egress on UDP to a port the callee admits on TCP only is one-sided, naming both protocols", () => {
    const dir = path.join(tmp, "one-sided-protocol");
    fs.mkdirSync(dir);
    const api = write(
      "one-sided-protocol/api.yaml",
      profileYaml("shop", "api", "  egress:\n    to: [{service: cart, ports: [514], protocol: UDP}]\n"),
    );
    const cart = write(
      "one-sided-protocol/cart.yaml",
      profileYaml("shop", "cart", "  ingress:\n    - from: [{service: api}]\n      ports: [514]\n"),
    );
    const r = cli("validate", "--fleet", dir);
    expect(r.err).toContain(
      `${api}:7:26: shop/api: spec.egress.to[0].ports: warning: declares egress to shop/cart on UDP port 514, but shop/cart (${cart}) admits shop/api only on TCP port 514: make the ports and protocols agree`,
    );
    expect(r.code).toBe(0);
    expect(cli("validate", "--fleet", "--strict", dir).code).toBe(1);
    fs.writeFileSync(
      cart,
      profileYaml(
        "shop",
        "cart",
        "  ingress:\n    - from: [{service: api}]\n      ports: [514]\n      protocol: UDP\n",
      ),
    );
    const fixed = cli("validate", "--fleet", "--strict", dir);
    expect(fixed.err).not.toContain("make the ports and protocols agree");
    expect(fixed.code).toBe(0);
  });
});

describe("output formats and exit codes", () => {
  it("-o json: the verdict, every problem and every skipped document", () => {
    const r = cli("validate", "-o", "json", SERVICE_REPO, fleetFile("orders-api"));
    const j = JSON.parse(r.out) as {
      valid: boolean;
      exitCode: number;
      profiles: { name: string }[];
      problems: { severity: string; path: string }[];
      skipped: { kind: string }[];
    };
    expect(j.valid).toBe(true);
    expect(j.exitCode).toBe(0);
    expect(j.profiles.map((p) => p.name)).toEqual(["inventory-api", "orders-api"]);
    expect(j.problems).toMatchObject([{ severity: "warning", path: "spec.ingress[0].from[0].service" }]);
    expect(j.skipped.map((s) => s.kind).sort()).toEqual(["Deployment", "Kustomization", "Service"]);
    expect(r.code).toBe(0);
  });

  it("-o junit: one test case per file, errors as failures, files without profiles skipped", () => {
    const r = cli(
      "validate",
      "-o",
      "junit",
      SERVICE_REPO,
      path.join(ROOT, "examples/invalid/port-out-of-range.yaml"),
    );
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="meshward validate" tests="5" failures="1" errors="0" skipped="3">/,
    );
    expect(r.out).toMatch(
      /<testcase classname="meshward.validate" name="[^"]*port-out-of-range.yaml" file="examples\/invalid\/port-out-of-range.yaml" line="12">\n\s+<failure type="error" message="1 error: spec.ingress\[0\].ports\[0\]: must be at most 65535">/,
    );
    expect(r.out).toMatch(
      /name="[^"]*security-profile.yaml" file="examples\/service-repo\/deploy\/security-profile.yaml"\/>/,
    );
    // The log says why the job failed, though the report went to stdout.
    expect(r.err).toMatch(
      /^meshward validate: 1 error in 5 files; first error: \S*port-out-of-range.yaml:12:15: invalid\/bad-port: spec.ingress\[0\].ports\[0\]: must be at most 65535$/,
    );
    expect(r.out).toMatch(/<skipped message="no meshward kinds \(1 document skipped\)"\/>/);
    // Well formed: every opened element is closed.
    for (const tag of ["testsuites", "testsuite", "failure"])
      expect(r.out.split(`<${tag} `).length).toBe(r.out.split(`</${tag}>`).length);
  });

  it("escapes XML in JUnit names and messages", () => {
    const f = write("a<&>.yaml", profileYaml("a", "b", '  driftPolicy: "x"\n'));
    const r = cli("validate", "-o", "junit", f);
    expect(r.out).not.toContain("a<&>");
    expect(r.out).toContain("a&lt;&amp;&gt;.yaml");
    expect(r.code).toBe(1);
  });

  const codes: [string, string[], number][] = [
    ["a valid fleet", ["validate", FLEET, ...NOW], 0],
    ["warnings only", ["validate", fleetFile("orders-api")], 0],
    ["an invalid profile", ["validate", path.join(ROOT, "examples/invalid/port-out-of-range.yaml")], 1],
    ["a warning with --strict", ["validate", "--strict", fleetFile("orders-api")], 1],
    ["a missing file", ["validate", path.join(ROOT, "examples/nope")], 2],
    [
      "a missing file next to an invalid one",
      ["validate", "examples/nope", path.join(ROOT, "examples/invalid")],
      2,
    ],
    ["an unknown flag", ["validate", "--frobnicate", FLEET], 2],
    ["an unknown output format", ["validate", "-o", "xml", FLEET], 2],
    ["no input", ["validate"], 2],
    ["no command", [], 2],
    ["--help", ["--help"], 0],
    ["--version", ["--version"], 0],
  ];
  for (const [what, args, code] of codes)
    it(`exits ${code} for ${what}`, () => expect(cli(...args).code).toBe(code));

  it("--version prints package.json's version; --help the commands, formats and exit codes", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string };
    expect(cli("--version").out).toBe(`meshward ${pkg.version}`);
    expect(cli("-v").out).toBe(`meshward ${pkg.version}`);
    const help = cli("--help").out;
    for (const word of [
      "validate",
      "render",
      "graph",
      "--fleet",
      "--strict",
      "junit",
      "mermaid",
      "Exit codes",
      "admission",
      "--policy",
      "--namespace-labels",
      "--namespace-selector",
      "Deny, Warn or Audit (default; with --perimeter: Deny)",
    ])
      expect(help).toContain(word);
  });

  it("standard input that cannot be read is an I/O error", () => {
    const r = cli("validate", "-");
    expect(r.err).toContain("<stdin>: error: standard input is not available");
    expect(r.code).toBe(2);
  });

  it("render -o json prints the objects and the baseline rules policies added", () => {
    const r = cli("render", "-o", "json", fleetFile("orders-api"), ...NOW);
    const j = JSON.parse(r.out) as { objects: { kind: string }[]; baseline: unknown[] };
    expect(j.objects.map((o) => o.kind)).toContain("AuthorizationPolicy");
    expect(j.baseline).toEqual([]);
    expect(r.code).toBe(0);
  });
});

describe("tenant strings in text output", () => {
  /** Code units a terminal acts on rather than shows: C0, DEL, C1, bidi overrides and isolates. */
  const raw = (s: string, allow = "") =>
    [...s].filter((ch) => {
      const c = ch.charCodeAt(0);
      const control =
        c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
      return control && !allow.includes(ch);
    });
  // An escape sequence that recolours, one that clears the screen, a CR and a newline that forge a
  // line, a bidi override, a C1 CSI.
  const evil = "\x1b[31mred\x1b[0m\x1b[2J\rok\nforged: error: x\t\u202eevil\u2066\x9b1m";
  const problem: FileProblem = {
    file: `repo/${evil}.yaml`,
    profile: "shop/api",
    path: `spec.secrets[0].data[0].remoteRef.key`,
    message: `remote key "${evil}" is not allowed`,
    severity: "error",
    finding: {
      reason: "SecretNotAllowed",
      rule: "guardrails.secrets",
      mode: "Enforce",
      policies: [`p${evil}`],
    },
  };
  const loaded: LoadResult = {
    profiles: [],
    policies: [],
    problems: [problem],
    skipped: [{ file: `repo/${evil}`, document: "", apiVersion: "v1", kind: `Kind${evil}` }],
    notes: [{ file: `chart/${evil}.yaml`, message: `Helm template ${evil}` }],
    files: [problem.file],
  };
  const result = { problems: [problem], errors: 1, warnings: 0, exitCode: 1 };

  it("formats a finding as one line with its control characters escaped", () => {
    const line = formatProblem(problem);
    expect(raw(line)).toEqual([]);
    expect(line).toContain(
      "\\x1b[31mred\\x1b[0m\\x1b[2J\\rok\\nforged: error: x\\t\\u202eevil\\u2066\\x9b1m",
    );
    expect(line).toContain("MeshwardPolicy p\\x1b[31m");
  });

  it("text report: one line per note, problem and summary, none raw", () => {
    const lines = textReport("validate", loaded, result);
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(raw(line)).toEqual([]);
    expect(lines[0]).toContain("chart/\\x1b[31m");
    expect(lines[2]).toContain("(1 Kind\\x1b[31m");
  });

  it("JUnit report: control characters escaped in names, attributes and bodies", () => {
    const xml = junitReport(loaded, result);
    expect(raw(xml, "\n")).toEqual([]);
    expect(xml).toContain('name="repo/\\x1b[31mred');
    expect(xml).toContain(
      'message="1 error: spec.secrets[0].data[0].remoteRef.key: remote key &quot;\\x1b[31m',
    );
    // The body keeps one line per problem: the newline inside the message is escaped.
    expect(xml).toMatch(/<failure [^>]*>[^\n]*<\/failure>/);
  });

  it("validate, render and graph print file names, keys and paths escaped", () => {
    const dir = path.join(tmp, "escapes");
    fs.mkdirSync(dir, { recursive: true });
    const bad = path.join(dir, "bad\x1b[1m\u202e.yaml");
    fs.writeFileSync(bad, profileYaml("a", "b", `  "x\\e[31mred\\r\\u202eevil\\n": 1\n`));
    const good = path.join(dir, "good.yaml");
    fs.writeFileSync(
      good,
      profileYaml(
        "a",
        "c",
        `  ingress:\n    - from: [{namespace: d}]\n      ports: [8080]\n      http: {paths: ["/v1/\\e[2J\\u202ex\\u2066", "/v2/\\r\\n\\t"]}\n`,
      ),
    );
    const v = cli("validate", bad);
    expect(v.code).toBe(1);
    expect(raw(v.err, "\n")).toEqual([]);
    expect(v.err.split("\n")).toHaveLength(2);
    expect(v.err).toContain(
      'bad\\x1b[1m\\u202e.yaml:6:3: a/b: spec: error: unknown field "x\\x1b[31mred\\r\\u202eevil\\n"',
    );
    const j = cli("validate", "-o", "junit", bad);
    expect(raw(j.out, "\n")).toEqual([]);
    for (const format of ["mermaid", "dot", "svg"]) {
      const g = cli("graph", "-o", format, good);
      expect(g.code).toBe(0);
      expect(raw(g.out, "\n")).toEqual([]);
      // DOT reads a backslash as an escape of its own: it is doubled there, to show as typed.
      const shown = format === "dot" ? "/v1/\\\\x1b[2J\\\\u202ex\\\\u2066" : "/v1/\\x1b[2J\\u202ex\\u2066";
      expect(g.out).toContain(shown);
    }
    const r = cli("render", good);
    expect(raw(r.err, "\n")).toEqual([]);
    expect(r.code).toBe(0);
  });

  it("usage errors quote arguments escaped", () => {
    const r = cli("validate", "-o", "x\x1b[2J\u202e", FLEET);
    expect(r.code).toBe(2);
    expect(raw(r.err, "\n")).toEqual([]);
    expect(r.err).toContain('not "x\\x1b[2J\\u202e"');
  });
});

describe("meshward graph", () => {
  it("draws the fleet as Mermaid by default, or DOT, or SVG", () => {
    const m = cli("graph", FLEET, ...NOW);
    expect(m.out).toMatch(/^flowchart LR\n/);
    expect(m.out).toContain('-->|"8080 POST /v1/charges /v1/refunds/*"|');
    expect(cli("graph", "-o", "dot", FLEET).out).toMatch(/^digraph meshward \{/);
    expect(cli("graph", "-o", "svg", FLEET).out).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(m.code).toBe(0);
  });

  it("refuses an output it cannot draw, and draws nothing from invalid profiles", () => {
    expect(cli("graph", "-o", "png", FLEET).code).toBe(2);
    const r = cli("graph", path.join(ROOT, "examples/invalid/port-out-of-range.yaml"));
    expect(r.out).toBe("");
    expect(r.err).toContain("nothing drawn");
    expect(r.code).toBe(1);
  });
});

describe("platform policies offline: the cluster's answer", () => {
  const SHOP_CART = profileYaml(
    "shop",
    "cart",
    `  secrets:
    - name: db
      storeRef: {kind: ClusterSecretStore, name: vault}
      data:
        - {secretKey: password, remoteRef: {key: payments/db, property: password}}
        - {secretKey: user, remoteRef: {key: shop/db, property: user}}
`,
  );
  function policyYaml(name: string, spec: string): string {
    return `apiVersion: meshward.io/v1alpha1\nkind: MeshwardPolicy\nmetadata: {name: ${name}}\nspec:\n${spec}`;
  }
  const secretsPolicy = (mode: string, extra = "") =>
    policyYaml(
      "default",
      `  guardrails:
    secrets:
      mode: ${mode}
      stores: [{kind: ClusterSecretStore, name: vault, keys: ["{namespace}/*"]}]
${extra}`,
    );
  /** The finding the operator's engine gives for the same inputs (what it writes in status). */
  function engineFindings(profileText: string, policyText: string) {
    const prof = validateProfile(parse(profileText));
    const pol = validatePolicy(parse(policyText));
    if (!prof.ok || !pol.ok) throw new Error("fixture invalid");
    return evaluateProfile({
      profile: prof.profile,
      namespaceProfiles: [prof.profile],
      policies: [pol.policy],
      namespaceLabels: defaultNamespaceLabels(prof.profile.metadata.namespace),
      now: new Date(NOW[1] as string),
    }).findings;
  }

  it("a foreign secret key: refused under Enforce, warned under Audit, with the message the cluster gives", () => {
    const dir = path.join(tmp, "secrets");
    fs.mkdirSync(dir, { recursive: true });
    const prof = write("secrets/cart.yaml", SHOP_CART);
    const enforce = write("secrets-enforce.yaml", secretsPolicy("Enforce"));
    const audit = write("secrets-audit.yaml", secretsPolicy("Audit"));
    const [finding] = engineFindings(SHOP_CART, secretsPolicy("Enforce"));
    expect(finding).toMatchObject({
      reason: "SecretNotAllowed",
      path: "spec.secrets[0].data[0].remoteRef.key",
    });
    const message = finding?.message ?? "";
    expect(message).toContain('does not allow remote key "payments/db" from ClusterSecretStore vault');

    const e = cli("validate", prof, "--policy", enforce, ...NOW);
    expect(e.err).toContain(
      `${prof}:10:45: shop/cart: spec.secrets[0].data[0].remoteRef.key: error: ${message} [SecretNotAllowed, Enforce, MeshwardPolicy default]`,
    );
    expect(e.err).toContain("meshward validate: 1 error");
    expect(e.code).toBe(1);

    const a = cli("validate", prof, "--policy", audit, ...NOW);
    expect(a.err).toContain(
      `${prof}:10:45: shop/cart: spec.secrets[0].data[0].remoteRef.key: warning: ${message} [SecretNotAllowed, Audit, MeshwardPolicy default]`,
    );
    expect(a.err).toContain("1 profile valid under 1 MeshwardPolicy, 1 warning");
    expect(a.code).toBe(0);
    expect(cli("validate", "--strict", prof, "--policy", audit, ...NOW).code).toBe(1);

    // The policy among the inputs (a directory) counts the same as --policy.
    fs.copyFileSync(enforce, path.join(dir, "policy.yaml"));
    expect(cli("validate", dir, ...NOW).err).toContain(`error: ${message}`);
    fs.rmSync(path.join(dir, "policy.yaml"));

    // JSON and JUnit carry the finding too.
    const j = JSON.parse(cli("validate", "-o", "json", prof, "--policy", enforce, ...NOW).out) as {
      policies: { name: string }[];
      problems: Record<string, unknown>[];
    };
    expect(j.policies).toEqual([{ file: enforce, name: "default" }]);
    expect(j.problems).toEqual([
      {
        file: prof,
        profile: "shop/cart",
        path: "spec.secrets[0].data[0].remoteRef.key",
        line: 10,
        column: 45,
        severity: "error",
        message,
        reason: "SecretNotAllowed",
        rule: "guardrails.secrets",
        mode: "Enforce",
        policies: ["default"],
      },
    ]);
    const x = cli("validate", "-o", "junit", prof, "--policy", audit, ...NOW).out;
    expect(x).toContain("<system-out>");
    expect(x).toContain("SecretNotAllowed, Audit");
    expect(cli("validate", "-o", "junit", prof, "--policy", enforce, ...NOW).out).toContain(
      '<failure type="error" message="1 error: spec.secrets[0].data[0].remoteRef.key: MeshwardPolicy default',
    );

    // render: what the cluster applies. Enforce leaves the refused key out (exit 1), Audit keeps it.
    const re = cli("render", prof, "--policy", enforce, ...NOW);
    expect(re.code).toBe(1);
    expect(re.err).toContain("what the cluster would apply is printed (the refused parts left out)");
    const secret = (out: string) =>
      parseAllDocuments(out)
        .map((d) => d.toJS() as { kind: string; spec: { data: { remoteRef: { key: string } }[] } })
        .find((o) => o.kind === "ExternalSecret");
    expect(secret(re.out)?.spec.data.map((d) => d.remoteRef.key)).toEqual(["shop/db"]);
    const ra = cli("render", prof, "--policy", audit, ...NOW);
    expect(ra.code).toBe(0);
    expect(secret(ra.out)?.spec.data.map((d) => d.remoteRef.key)).toEqual(["payments/db", "shop/db"]);
  });

  it("a self-written exception is PendingApproval until the policy approves it", () => {
    const prof = profileYaml(
      "legacy",
      "billing",
      `  mtls: {mode: Permissive}
  exceptions:
    - {type: PermissiveMtls, reason: "old clients", ticket: SEC-1, expires: "2026-12-01T00:00:00Z"}
`,
    );
    const pending = policyYaml("default", "  guardrails:\n    exceptions: {mode: Enforce}\n");
    const approved = policyYaml(
      "default",
      `  guardrails:
    exceptions:
      mode: Enforce
      approvals: [{profile: legacy/billing, type: PermissiveMtls, expires: "2026-12-15T00:00:00Z"}]
`,
    );
    const f = write("billing.yaml", prof);
    const [finding] = engineFindings(prof, pending);
    expect(finding?.reason).toBe("PendingApproval");
    const r = cli("validate", f, "--policy", write("pending.yaml", pending), ...NOW);
    expect(r.err).toContain(
      `${f}:8:7: legacy/billing: spec.exceptions[0]: error: ${finding?.message} [PendingApproval, Enforce, MeshwardPolicy default]`,
    );
    expect(r.err).toContain(
      "ask the platform team for an approval {profile: legacy/billing, type: PermissiveMtls, expires: 2026-12-01T00:00:00Z}",
    );
    expect(r.code).toBe(1);
    // Enforcement stays on: rendered without the exception (STRICT mTLS).
    expect(cli("render", f, "--policy", write("pending.yaml", pending), ...NOW).out).toContain(
      "mode: STRICT",
    );
    const ok = cli("validate", f, "--policy", write("approved.yaml", approved), ...NOW);
    expect(ok.err).toBe("meshward validate: 1 profile valid under 1 MeshwardPolicy");
    expect(ok.code).toBe(0);
    expect(cli("render", f, "--policy", write("approved.yaml", approved), ...NOW).out).toContain(
      "mode: PERMISSIVE",
    );
  });

  it("two profiles in the input whose selectors overlap: the newer builds nothing (no policy needed)", () => {
    const a = write(
      "overlap-a.yaml",
      "apiVersion: meshward.io/v1alpha1\nkind: ServiceSecurityProfile\nmetadata: {name: a-shop, namespace: shop}\nspec:\n  selector: {app: shop}\n",
    );
    const b = write(
      "overlap-b.yaml",
      "apiVersion: meshward.io/v1alpha1\nkind: ServiceSecurityProfile\nmetadata: {name: b-web, namespace: shop}\nspec:\n  selector: {app: shop, tier: web}\n",
    );
    const r = cli("validate", a, b, ...NOW);
    expect(r.err).toContain(
      `${b}:5:3: shop/b-web: spec.selector: error: spec.selector {app: shop, tier: web} can match the same pods as ServiceSecurityProfile shop/a-shop (selector {app: shop}), which is older and keeps them`,
    );
    expect(r.err).toContain("[SelectorOverlap, Enforce]");
    expect(r.code).toBe(1);
    const rendered = cli("render", a, b, ...NOW);
    expect(rendered.out).toContain("# from ServiceSecurityProfile shop/a-shop");
    expect(rendered.out).not.toContain("shop/b-web");
    expect(rendered.code).toBe(1);
  });

  it("overlap offline is ordered by metadata.creationTimestamp when the files carry it, as in the cluster", () => {
    const doc = (name: string, selector: string, created?: string) =>
      `apiVersion: meshward.io/v1alpha1\nkind: ServiceSecurityProfile\nmetadata:\n  name: ${name}\n  namespace: shop\n${created ? `  creationTimestamp: "${created}"\n` : ""}spec:\n  selector: ${selector}\n`;
    // b-web was created first: it keeps the pods although its name sorts after a-shop's.
    const a = write("dated-a.yaml", doc("a-shop", "{app: shop}", "2026-03-01T00:00:00Z"));
    const b = write("dated-b.yaml", doc("b-web", "{app: shop, tier: web}", "2026-01-01T00:00:00Z"));
    const r = cli("validate", a, b, ...NOW);
    expect(r.err).toContain(
      `${a}:8:3: shop/a-shop: spec.selector: error: spec.selector {app: shop} can match the same pods as ServiceSecurityProfile shop/b-web (selector {app: shop, tier: web}), which is older and keeps them`,
    );
    expect(r.err).not.toContain("shop/b-web: spec.selector");
    // A profile without a timestamp (not applied yet) is newer than every dated one.
    const c = write("undated-c.yaml", doc("0-first", "{app: shop, tier: web, x: y}"));
    const u = cli("validate", b, c, ...NOW);
    expect(u.err).toContain(`${c}:7:3: shop/0-first: spec.selector: error:`);
    expect(u.err).toContain("which is older and keeps them");
  });

  it("render shows baseline rules as coming from the policy, in valid YAML, and the quarantine objects", () => {
    const pol = write(
      "baseline.yaml",
      policyYaml(
        "scrape",
        `  baseline:
    ingress:
      - from: [{serviceAccount: {namespace: monitoring, name: prometheus}}]
        ports: [15090]
  quarantine:
    identities: [{profile: shop/cart, reason: INC-7}]
`,
      ),
    );
    const web = write("web.yaml", profileYaml("shop", "web", ""));
    const cart = write("cart.yaml", profileYaml("shop", "cart", ""));
    const r = cli("render", web, cart, "--policy", pol, ...NOW);
    expect(r.out).toContain(
      '# baseline rule from MeshwardPolicy scrape: spec.ingress[0] {"from":[{"serviceAccount":{"namespace":"monitoring","name":"prometheus"}}],"ports":[15090],"requireToken":false}\n# from ServiceSecurityProfile shop/web',
    );
    const docs = parseAllDocuments(r.out);
    for (const d of docs) expect(d.errors).toEqual([]);
    const objs = docs.map(
      (d) => d.toJS() as { kind: string; metadata: { name: string; namespace: string }; spec: unknown },
    );
    const webPolicy = objs.find((o) => o.kind === "AuthorizationPolicy" && o.metadata.name === "web");
    expect(JSON.stringify(webPolicy?.spec)).toContain("cluster.local/ns/monitoring/sa/prometheus");
    // Quarantined: no baseline for shop/cart, a DENY in istio-system and an isolating NetworkPolicy.
    expect(
      objs.find((o) => o.kind === "AuthorizationPolicy" && o.metadata.namespace === "istio-system"),
    ).toMatchObject({
      metadata: { name: "meshward-quarantine" },
      spec: {
        action: "DENY",
        rules: [{ from: [{ source: { principals: ["cluster.local/ns/shop/sa/cart"] } }] }],
      },
    });
    expect(
      objs.some((o) => o.kind === "NetworkPolicy" && o.metadata.name === "meshward-quarantine-cart"),
    ).toBe(true);
    expect(r.err).toContain(
      "shop/cart: spec: error: this profile's identity is quarantined by MeshwardPolicy scrape",
    );
    expect(r.code).toBe(1);

    const j = JSON.parse(cli("render", "-o", "json", web, "--policy", pol, ...NOW).out) as {
      baseline: unknown[];
    };
    expect(j.baseline).toEqual([
      {
        profile: "shop/web",
        path: "spec.ingress[0]",
        policies: ["scrape"],
        rule: {
          from: [{ serviceAccount: { namespace: "monitoring", name: "prometheus" } }],
          ports: [15090],
          requireToken: false,
        },
      },
    ]);
    const v = JSON.parse(cli("validate", "-o", "json", web, "--policy", pol, ...NOW).out) as {
      baseline: unknown[];
    };
    expect(v.baseline).toEqual(j.baseline);
  });

  it("render and validate show a quarantined namespace: its objects, every profile of it quarantined", () => {
    const pol = write(
      "ns-quarantine.yaml",
      policyYaml(
        "lockdown",
        `  quarantine:
    identities: [{namespace: shop, reason: INC-9}]
`,
      ),
    );
    const cart = write("cart.yaml", profileYaml("shop", "cart", ""));
    const api = write("api.yaml", profileYaml("pay", "api", ""));
    const r = cli("render", cart, api, "--policy", pol, ...NOW);
    const objs = parseAllDocuments(r.out).map(
      (d) => d.toJS() as { kind: string; metadata: { name: string; namespace: string }; spec: unknown },
    );
    const at = (kind: string, ns: string, name: string) =>
      objs.find((o) => o.kind === kind && o.metadata.namespace === ns && o.metadata.name === name)?.spec;
    expect(at("AuthorizationPolicy", "istio-system", "meshward-quarantine")).toEqual({
      action: "DENY",
      rules: [{ from: [{ source: { namespaces: ["shop"] } }] }],
    });
    expect(at("AuthorizationPolicy", "shop", "meshward-quarantine")).toEqual({ action: "DENY", rules: [{}] });
    expect(at("NetworkPolicy", "shop", "meshward-quarantine")).toMatchObject({ podSelector: {} });
    expect(r.out).toContain(
      "# emergency quarantine (MeshwardPolicy spec.quarantine)\napiVersion: networking.k8s.io/v1",
    );
    for (const out of [r, cli("validate", cart, api, "--policy", pol, ...NOW)]) {
      expect(out.err).toContain(
        "shop/cart: spec: error: this profile's identity is quarantined by MeshwardPolicy lockdown",
      );
      expect(out.err).not.toContain("pay/api: spec: error");
      expect(out.code).toBe(1);
    }
  });

  it("render --cluster-tier adds the platform tier's ClusterNetworkPolicies, and only then", () => {
    const pol = write(
      "cluster-tier.yaml",
      policyYaml(
        "platform",
        `  namespaceSelector: {team: shop}
  guardrails:
    egressCidrs: {mode: Enforce, denied: [169.254.169.254/32]}
  quarantine:
    identities: [{profile: shop/cart, reason: INC-7}]
`,
      ),
    );
    const web = write("web.yaml", profileYaml("shop", "web", ""));
    const cart = write("cart.yaml", profileYaml("shop", "cart", ""));
    type Obj = { kind: string; metadata: { name: string }; spec: { tier: string } };
    const tier = (out: string) =>
      parseAllDocuments(out)
        .map((d) => d.toJS() as Obj)
        .filter((o) => o.kind === "ClusterNetworkPolicy")
        .map((o) => `${o.spec.tier}/${o.metadata.name}`);
    const r = cli("render", web, cart, "--policy", pol, "--cluster-tier", ...NOW);
    expect(tier(r.out)).toEqual([
      "Admin/meshward-quarantine.shop.cart",
      "Admin/meshward-egress-platform",
      "Baseline/meshward-default-deny",
    ]);
    expect(r.out).toContain("# platform tier (Admin), where the ClusterNetworkPolicy CRD is installed\n");
    // The namespaced objects stay: the tier is in addition, for clusters that have the CRD.
    expect(r.out).toContain("name: meshward-quarantine-cart");
    expect(tier(cli("render", web, cart, "--policy", pol, ...NOW).out)).toEqual([]);
    const j = JSON.parse(
      cli("render", "-o", "json", web, cart, "--policy", pol, "--cluster-tier", ...NOW).out,
    ) as {
      objects: Obj[];
    };
    expect(j.objects.filter((o) => o.kind === "ClusterNetworkPolicy")).toHaveLength(3);
    const v = cli("validate", web, "--cluster-tier");
    expect(v.err).toContain("--cluster-tier is an option of meshward render only");
    expect(v.code).toBe(2);
  });

  it("adoption in Audit: no namespace default deny rendered; an egress range outside the allowed one is left out", () => {
    const pol = write(
      "adoption.yaml",
      policyYaml(
        "shared",
        `  guardrails:
    adoption: {mode: Audit}
    egressCidrs: {mode: Enforce, allowed: [10.0.0.0/8]}
`,
      ),
    );
    const prof = write(
      "egress.yaml",
      profileYaml(
        "shared",
        "api",
        "  egress:\n    to:\n      - {cidr: 0.0.0.0/0, ports: [443]}\n      - {cidr: 10.1.0.0/16, ports: [5432]}\n",
      ),
    );
    const r = cli("render", prof, "--policy", pol, ...NOW);
    expect(r.out).not.toContain("name: meshward-default-deny");
    expect(r.out).toContain(
      "# no namespace-wide default deny in shared: adoption is Audit (MeshwardPolicy shared)",
    );
    expect(r.out).toContain("cidr: 10.1.0.0/16");
    expect(r.out).not.toContain("0.0.0.0/0");
    expect(r.err).toContain(
      "shared/api: spec.egress.to[0].cidr: error: MeshwardPolicy shared allows egress only inside 10.0.0.0/8: narrow 0.0.0.0/0 to an allowed range",
    );
    expect(r.code).toBe(1);
    // Without the policy: the default deny and the wide range, as written.
    const plain = cli("render", prof, ...NOW);
    expect(plain.out).toContain("name: meshward-default-deny");
    expect(plain.out).toContain("0.0.0.0/0");
  });

  it("a namespaceSelector governs only the namespaces whose labels match (--namespace-labels)", () => {
    const prof = write("ns-cart.yaml", SHOP_CART);
    const pol = write(
      "prod.yaml",
      policyYaml(
        "prod",
        `  namespaceSelector: {tier: prod}
  guardrails:
    secrets:
      mode: Enforce
      stores: [{kind: ClusterSecretStore, name: vault, keys: ["{namespace}/*"]}]
`,
      ),
    );
    expect(cli("validate", prof, "--policy", pol, ...NOW).code).toBe(0);
    const r = cli("validate", prof, "--policy", pol, "--namespace-labels", "shop:tier=prod,team=a", ...NOW);
    expect(r.err).toContain("MeshwardPolicy prod does not allow remote key");
    expect(r.code).toBe(1);
    for (const bad of ["shop", "shop:tier", "Shop:tier=prod", "shop:tier=prod,=x"]) {
      const u = cli("validate", prof, "--namespace-labels", bad);
      expect(u.err, bad).toMatch(/--namespace-labels/);
      expect(u.code, bad).toBe(2);
    }
  });

  it("a bad policy: file, policy, field and what to write; exit 1 like an invalid profile", () => {
    const pol = write(
      "bad-policy.yaml",
      policyYaml(
        "team-keys",
        `  guardrails:
    secrets:
      mode: Enforce
      stores: [{name: vault, keys: ["{team}/*"]}]
`,
      ),
    );
    const prof = write("ok.yaml", profileYaml("shop", "ok", ""));
    const r = cli("validate", prof, "--policy", pol, ...NOW);
    expect(r.err).toContain(
      `${pol}:8:37: MeshwardPolicy team-keys: spec.guardrails.secrets.stores[0].keys[0]: error: key patterns use letters, digits`,
    );
    expect(r.err).toContain("the placeholders {namespace} and {profile}, e.g. {namespace}/*");
    expect(r.code).toBe(1);
    expect(cli("render", prof, "--policy", pol, ...NOW).out).toBe("");
    // A namespaced policy, a profile given as --policy, a duplicate name.
    const ns = write(
      "ns-policy.yaml",
      policyYaml("x", "  {}\n").replace("{name: x}", "{name: x, namespace: y}"),
    );
    expect(cli("validate", prof, "--policy", ns).err).toContain(
      "MeshwardPolicy x: metadata.namespace: error: must be omitted: a MeshwardPolicy is cluster-scoped",
    );
    const asPolicy = cli("validate", prof, "--policy", write("other.yaml", profileYaml("shop", "other", "")));
    expect(asPolicy.err).toContain("--policy reads MeshwardPolicies only, not ServiceSecurityProfile");
    const dup = write(
      "dup.yaml",
      `${policyYaml("default", "  {}\n")}\n---\n${policyYaml("default", "  {}\n")}`,
    );
    expect(cli("validate", dup).err).toContain(
      "document 2: metadata.name: error: MeshwardPolicy default is also defined in",
    );
    expect(cli("validate", prof, "--policy", path.join(tmp, "missing.yaml")).code).toBe(2);
  });

  it("reads policies as kubectl get -o yaml prints them (a v1 List, with status and server fields)", () => {
    const list = write(
      "kubectl-list.yaml",
      `apiVersion: v1
kind: List
metadata: {resourceVersion: ""}
items:
  - apiVersion: meshward.io/v1alpha1
    kind: MeshwardPolicy
    metadata:
      name: default
      uid: 0b7c5b9e-1111-4222-8333-944455556666
      generation: 3
      resourceVersion: "812"
      creationTimestamp: "2026-11-01T00:00:00Z"
      managedFields: [{manager: kubectl, operation: Apply}]
    spec:
      guardrails:
        secrets:
          mode: Enforce
          stores: [{kind: ClusterSecretStore, name: vault, keys: ["{namespace}/*"]}]
    status:
      namespaceCount: 4
      conditions: [{type: Ready, status: "True", reason: Evaluated, message: "", lastTransitionTime: "2026-11-01T00:00:00Z"}]
`,
    );
    const r = cli("validate", write("list-cart.yaml", SHOP_CART), "--policy", list, ...NOW);
    expect(r.err).toContain('error: MeshwardPolicy default does not allow remote key "payments/db"');
    expect(r.code).toBe(1);
  });

  it("a folder of policies alone is valid input; contradictions are reported as in the policy's status", () => {
    const dir = path.join(tmp, "platform");
    fs.mkdirSync(dir, { recursive: true });
    const store = (name: string) =>
      policyYaml(
        name,
        `  guardrails:\n    secrets:\n      mode: Enforce\n      stores: [{name: ${name}, keys: ["{namespace}/*"]}]\n`,
      );
    fs.writeFileSync(path.join(dir, "vault.yaml"), store("vault"));
    expect(cli("validate", dir).err).toBe("meshward validate: 0 profiles valid under 1 MeshwardPolicy");
    fs.writeFileSync(path.join(dir, "aws.yaml"), store("aws"));
    const r = cli("validate", dir, write("c.yaml", profileYaml("shop", "c", "")));
    expect(r.err).toContain(
      "vault.yaml:8:7: MeshwardPolicy vault: spec.guardrails.secrets.stores: warning: contradicts MeshwardPolicy aws",
    );
    expect(r.code).toBe(0);
  });
});

describe("the example fleet under the example platform policy (examples/policies)", () => {
  const POLICIES = path.join(ROOT, "examples/policies");

  it("validates with one Audit finding, the approved exception honoured, a baseline rule per profile", () => {
    const r = cli("validate", "-o", "json", FLEET, "--policy", POLICIES, ...NOW);
    const j = JSON.parse(r.out) as {
      problems: { profile: string; reason: string; mode: string; severity: string }[];
      baseline: { profile: string; path: string }[];
    };
    expect(j.problems).toMatchObject([
      { profile: "legacy/legacy-billing", reason: "SecretNotAllowed", mode: "Audit", severity: "warning" },
    ]);
    expect(j.baseline.map((b) => b.profile)).toEqual([
      "checkout/checkout-api",
      "edge/edge-api",
      "legacy/legacy-billing",
      "orders/orders-api",
      "payments/payments-api",
    ]);
    expect(r.code).toBe(0);
    const rendered = cli("render", FLEET, "--policy", POLICIES, ...NOW).out;
    expect(rendered).toContain("mode: PERMISSIVE"); // legacy-billing's approved exception
    expect(rendered.split("# baseline rule from MeshwardPolicy platform: spec.ingress[")).toHaveLength(6);
  });

  it("meshward admission --policy binds with the policy's mode", () => {
    const objs = parseAllDocuments(cli("admission", "--policy", POLICIES).out).map(
      (d) => d.toJS() as { kind: string; metadata: { name: string }; spec: { validationActions?: string[] } },
    );
    expect(
      objs.filter((o) => o.kind === "ValidatingAdmissionPolicyBinding").map((o) => o.spec.validationActions),
    ).toEqual([["Warn"], ["Warn"]]);
  });
});

describe("meshward admission", () => {
  it("prints the admission policies and bindings: mode Audit by default, --mode, --namespace-selector", () => {
    const r = cli("admission");
    expect(r.out).toBe(admissionManifest({ mode: "Audit" }));
    expect(r.code).toBe(0);
    const kinds = parseAllDocuments(r.out).map((d) => (d.toJS() as { kind: string }).kind);
    expect(kinds).toEqual([
      "ValidatingAdmissionPolicy",
      "ValidatingAdmissionPolicy",
      "ValidatingAdmissionPolicyBinding",
      "ValidatingAdmissionPolicyBinding",
    ]);
    const d = cli("admission", "--mode", "Deny", "--namespace-selector", "team=shop,tier=prod");
    expect(d.out).toBe(
      admissionManifest({ mode: "Deny", namespaceSelector: { team: "shop", tier: "prod" } }),
    );
    expect(d.out).toContain("validationActions:\n    - Deny\n");
    expect(d.out).toContain("matchLabels:\n        team: shop\n        tier: prod\n");
    const j = JSON.parse(cli("admission", "-o", "json", "--mode", "Audit").out) as { kind: string }[];
    expect(j).toHaveLength(4);
  });

  it("--policy: one pair of bindings per MeshwardPolicy with spec.admission", () => {
    const pol = write(
      "admission.yaml",
      "apiVersion: meshward.io/v1alpha1\nkind: MeshwardPolicy\nmetadata: {name: prod}\nspec:\n  namespaceSelector: {tier: prod}\n  admission: {mode: Deny}\n---\napiVersion: meshward.io/v1alpha1\nkind: MeshwardPolicy\nmetadata: {name: other}\nspec: {}\n",
    );
    const r = cli("admission", "--policy", pol);
    const objs = parseAllDocuments(r.out).map(
      (d) => d.toJS() as { kind: string; metadata: { name: string }; spec: Record<string, unknown> },
    );
    expect(objs.map((o) => `${o.kind} ${o.metadata.name}`)).toEqual([
      "ValidatingAdmissionPolicy meshward-profile-serviceaccount",
      "ValidatingAdmissionPolicy meshward-workload-baseline",
      "ValidatingAdmissionPolicyBinding meshward-profile-serviceaccount-prod",
      "ValidatingAdmissionPolicyBinding meshward-workload-baseline-prod",
    ]);
    expect(objs[2]?.spec).toMatchObject({
      validationActions: ["Deny"],
      matchResources: { namespaceSelector: { matchLabels: { tier: "prod" } } },
    });
    expect(r.code).toBe(0);
    const none = cli(
      "admission",
      "--policy",
      write(
        "no-admission.yaml",
        "apiVersion: meshward.io/v1alpha1\nkind: MeshwardPolicy\nmetadata: {name: a}\nspec: {}\n",
      ),
    );
    expect(none.err).toContain("no MeshwardPolicy among 1 sets spec.admission");
  });

  it("bad flags and bad policies: a clear message, exit 2 or 1", () => {
    expect(cli("admission", "--mode", "Block").err).toContain(
      '--mode must be one of Deny, Warn, Audit, not "Block"',
    );
    expect(cli("admission", "--mode", "Block").code).toBe(2);
    expect(cli("admission", "--namespace-selector", "team").err).toContain("--namespace-selector");
    expect(cli("admission", "--policy", "x.yaml", "--mode", "Deny").err).toContain("exclude each other");
    expect(cli("admission", "extra.yaml").code).toBe(2);
    expect(cli("validate", FLEET, "--mode", "Deny").err).toContain(
      "--mode is an option of meshward admission only",
    );
    const bad = write(
      "bad-admission.yaml",
      "apiVersion: meshward.io/v1alpha1\nkind: MeshwardPolicy\nmetadata: {name: a}\nspec:\n  admission: {mode: Block}\n",
    );
    const r = cli("admission", "--policy", bad);
    expect(r.err).toContain(`${bad}:5:15: MeshwardPolicy a: spec.admission.mode: error:`);
    expect(r.out).toBe("");
    expect(r.code).toBe(1);
  });
  it("--perimeter prints the perimeter's objects for the operator's ServiceAccount", () => {
    const r = cli(
      "admission",
      "--perimeter",
      "--operator",
      "platform/mw",
      "--mesh-root",
      "mesh",
      "-o",
      "json",
    );
    expect(r.code).toBe(0);
    const objs = JSON.parse(r.out) as { kind: string; metadata: { name: string }; spec: unknown }[];
    expect(objs.map((o) => o.metadata.name)).toEqual(
      buildPerimeter({ operator: { namespace: "platform", name: "mw" }, meshRootNamespace: "mesh" }).map(
        (o) => o.metadata.name,
      ),
    );
    expect(r.out).toContain("system:serviceaccount:platform:mw");
    expect(JSON.stringify(objs.find((o) => o.metadata.name === "meshward-operator-fence"))).toContain(
      "'mesh'",
    );
    expect(cli("admission", "--perimeter", "--operator", "mw").err).toContain(
      "--operator must be meshward's ServiceAccount as <namespace>/<name>",
    );
    expect(cli("admission", "--perimeter", "--policy", "x.yaml").err).toContain("exclude each other");
    expect(cli("validate", FLEET, "--perimeter").err).toContain(
      "--perimeter is an option of meshward admission only",
    );
    expect(cli("validate", FLEET, "--operator", "a/b").code).toBe(2);
  });
});

describe("cluster settings offline: the chart's values and the operator's flags", () => {
  const profile = () =>
    write(
      "long-exception.yaml",
      profileYaml(
        "shop",
        "legacy",
        '  mtls: {mode: Permissive}\n  exceptions:\n    - {type: PermissiveMtls, expires: "2027-05-01T00:00:00Z", reason: migrating the legacy clients, ticket: OPS-1}\n',
      ),
    );

  it("the exception limit is the chart's default 90 days unless --max-exception-days or --values say more", () => {
    const f = profile();
    const strict = cli("validate", f, ...NOW);
    expect(strict.err).toContain(
      "spec.exceptions[0].expires: error: is more than 90 days ahead, the longest exception the platform allows",
    );
    expect(strict.code).toBe(1);
    expect(cli("validate", f, "--max-exception-days", "180", ...NOW).code).toBe(0);
    const values = write(
      "values.yaml",
      "maxExceptionDays: 180\nsecretRefreshInterval: 15m\ntrustDomain: prod.example\n",
    );
    expect(cli("validate", f, "--values", values, ...NOW).code).toBe(0);
    // The flag wins over the values file.
    expect(cli("validate", f, "--values", values, "--max-exception-days", "30", ...NOW).err).toContain(
      "is more than 30 days ahead",
    );
    // The other settings reach what is rendered.
    const plain = write(
      "plain.yaml",
      profileYaml(
        "shop",
        "api",
        "  ingress: [{from: [{serviceAccount: {namespace: shop, name: web}}], ports: [80]}]\n",
      ),
    );
    const rendered = cli("render", plain, "--values", values, ...NOW).out;
    expect(rendered).toContain("prod.example/ns/");
  });

  it("a bad setting is a usage error naming the flag or the values key", () => {
    const f = profile();
    const flag = cli("validate", f, "--max-exception-days", "forever");
    expect(flag.code).toBe(2);
    expect(flag.err).toContain("--max-exception-days: ");
    const values = write("bad-values.yaml", "maxExceptionDays: 5000\n");
    const v = cli("validate", f, "--values", values);
    expect(v.code).toBe(2);
    expect(v.err).toContain(`maxExceptionDays in ${values}: `);
    expect(cli("validate", f, "--values", path.join(tmp, "nope.yaml")).err).toContain("no such file");
  });
});
