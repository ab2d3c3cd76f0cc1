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
    expect(bad.err).toContain("<stdin>: metadata: error: is required");
    expect(bad.code).toBe(1);
  });

  it("with --strict, unknown kinds and warnings fail", () => {
    const r = cli("validate", "--strict", SERVICE_REPO);
    expect(r.err).toContain(
      "deployment.yaml: error: kind Deployment (apps/v1) is not a meshward kind (--strict fails on it)",
    );
    expect(r.code).toBe(1);
    const warned = cli("validate", fleetFile("orders-api"));
    expect(warned.code).toBe(0);
    expect(cli("validate", "--strict", fleetFile("orders-api")).code).toBe(1);
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
      "orders-api.yaml: orders/orders-api: spec.ingress[0].from[0].service: warning: no ServiceSecurityProfile payments/payments-api is not among the files given",
    );
    const fleet = cli("validate", "--fleet", fleetFile("orders-api"));
    expect(fleet.err).toContain(
      "spec.ingress[0].from[0].service: error: no ServiceSecurityProfile payments/payments-api is not in the fleet",
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
      `${api}: shop/api: spec.ingress[0].from[0].service: warning: admits shop/web, but shop/web (${web}) declares no egress to shop/api`,
    );
    expect(r.err).toContain(
      `${api}: shop/api: spec.egress.to[0].service: warning: declares egress to shop/db, but shop/db (${db}) does not admit shop/api`,
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
      `${api}: shop/api: spec.egress.to[0].ports: warning: declares egress to shop/cart on UDP port 514, but shop/cart (${cart}) admits shop/api only on TCP port 514: make the ports and protocols agree`,
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
      /<testcase classname="meshward.validate" name="[^"]*port-out-of-range.yaml">\n\s+<failure type="error" message="1 error: spec.ingress\[0\].ports\[0\]: must be at most 65535">/,
    );
    expect(r.out).toMatch(/name="[^"]*security-profile.yaml"\/>/);
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
    ])
      expect(help).toContain(word);
  });

  it("standard input that cannot be read is an I/O error", () => {
    const r = cli("validate", "-");
    expect(r.err).toContain("<stdin>: error: standard input is not available");
    expect(r.code).toBe(2);
  });

  it("render -o json prints the objects as a JSON list", () => {
    const r = cli("render", "-o", "json", fleetFile("orders-api"), ...NOW);
    const objects = JSON.parse(r.out) as { kind: string }[];
    expect(objects.map((o) => o.kind)).toContain("AuthorizationPolicy");
    expect(r.code).toBe(0);
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
