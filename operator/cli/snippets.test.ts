// The CI snippets of README.md and docs/cli.md work as written: each meshward command line is taken
// from the docs and run by a shell in a repository laid out as the snippet says (a service's
// repository, or a fleet's with services/ and platform/), with `npx --yes meshward@<version>`
// standing for this checkout's bin/meshward.js. A valid repository passes (a reference to another
// team's service does not fail a service's job); a broken one fails with the reason on stderr.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "meshward-snippets-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const NPX = /npx --yes meshward@\S+ /;

/** Every meshward command line in the YAML blocks of a Markdown file. */
function commands(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), "utf8");
  const out: string[] = [];
  for (const block of text.matchAll(/```yaml\n([\s\S]*?)```/g))
    for (const line of (block[1] ?? "").split("\n")) {
      const m = /^\s*(?:- run: |- )?(npx --yes meshward@\S+ .*)$/.exec(line);
      if (m?.[1]) out.push(m[1]);
    }
  return out;
}

const SNIPPETS = ["README.md", "docs/cli.md"].flatMap((f) => commands(f).map((c) => [f, c] as const));

function copy(from: string, to: string) {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
}

/** A service's repository: examples/service-repo, its profile calling another team's service. */
function serviceRepo(broken: boolean): string {
  const dir = fs.mkdtempSync(path.join(tmp, "service-"));
  fs.mkdirSync(path.join(dir, ".git"));
  for (const f of fs.readdirSync(path.join(ROOT, "examples/service-repo/deploy")))
    copy(path.join(ROOT, "examples/service-repo/deploy", f), path.join(dir, "deploy", f));
  const profile = path.join(dir, "deploy/security-profile.yaml");
  let text = `${fs.readFileSync(profile, "utf8")}      - service: payments/payments-api\n        ports: [8443]\n`;
  if (broken) text = text.replace("ports: [8080]", "ports: [80800]");
  fs.writeFileSync(profile, text);
  // What a real repository also holds, and the walk leaves out.
  copy(
    path.join(ROOT, "examples/invalid/port-out-of-range.yaml"),
    path.join(dir, "node_modules/x/profile.yaml"),
  );
  fs.mkdirSync(path.join(dir, ".github/workflows"), { recursive: true });
  fs.writeFileSync(path.join(dir, ".github/workflows/meshward.yml"), "on: pull_request\n");
  return dir;
}

/** A fleet's repository: every team's profile under services/, the platform's policy under platform/. */
function fleetRepo(broken: boolean): string {
  const dir = fs.mkdtempSync(path.join(tmp, "fleet-"));
  fs.mkdirSync(path.join(dir, ".git"));
  for (const f of ["checkout-api", "edge-api", "orders-api", "payments-api"])
    copy(path.join(ROOT, "examples/fleet", `${f}.yaml`), path.join(dir, "services", `${f}.yaml`));
  copy(path.join(ROOT, "examples/policies/platform.yaml"), path.join(dir, "platform/platform.yaml"));
  // Broken: a reference to a service that is not in the fleet, an error with --fleet.
  if (broken) fs.rmSync(path.join(dir, "services/orders-api.yaml"));
  return dir;
}

function runSnippet(command: string, cwd: string) {
  const local = command.replace(NPX, `"${process.execPath}" "${path.join(ROOT, "bin/meshward.js")}" `);
  const r = spawnSync("sh", ["-c", local], { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.trimEnd() };
}

/** The file a command's stdout is redirected to, if any. */
function redirect(command: string): string | undefined {
  return /> (\S+)\s*$/.exec(command)?.[1];
}

// Each test starts a Node process that loads the TypeScript sources: slow on a busy machine.
describe("the CI snippets in the docs", { timeout: 120_000 }, () => {
  it("are there: GitHub Actions and GitLab CI, for a service's repository and for a fleet's", () => {
    expect(commands("README.md").length).toBeGreaterThanOrEqual(1);
    const docs = commands("docs/cli.md");
    expect(docs.filter((c) => c.includes("--fleet") && c.includes("-o github"))).toHaveLength(1);
    expect(docs.filter((c) => c.includes("--fleet") && c.includes("-o junit"))).toHaveLength(1);
    expect(docs.filter((c) => !c.includes("--fleet") && c.includes("-o github"))).toHaveLength(1);
    expect(docs.filter((c) => !c.includes("--fleet") && c.includes("-o junit"))).toHaveLength(1);
    expect(docs.filter((c) => !c.includes("--fleet") && c.includes("-o sarif"))).toHaveLength(1);
  });

  for (const [file, command] of SNIPPETS) {
    // The layout is the one the snippet's inputs name: services/ in a fleet's repository, . in a
    // service's. A --fleet slipped into a service's snippet then fails on the other team's service.
    const fleet = / services\//.test(command);
    const repo = fleet ? fleetRepo : serviceRepo;

    it(`${file}: passes on a valid ${fleet ? "fleet" : "service"} repository: ${command}`, () => {
      const dir = repo(false);
      const r = runSnippet(command, dir);
      expect(r.stderr.split("\n").at(-1)).toMatch(/^meshward validate: \d+ profiles? valid.* in \d+ files?$/);
      expect(r.code).toBe(0);
      const out = redirect(command);
      const report = out ? fs.readFileSync(path.join(dir, out), "utf8") : r.stdout;
      if (command.includes("-o sarif")) expect(JSON.parse(report)).toMatchObject({ version: "2.1.0" });
      if (command.includes("-o junit")) expect(report).toMatch(/^<\?xml /);
      if (!fleet) {
        // The reference to another team's service: reported, not failed on.
        expect(r.stderr).toContain("1 warning");
        expect(report).toContain("payments/payments-api");
        expect(report).not.toContain("node_modules");
      }
      if (command.includes("-o github") && !fleet)
        expect(report).toMatch(
          /^::warning file=deploy\/security-profile.yaml,line=\d+,col=\d+,title=meshward UnknownReference::/m,
        );
    });

    it(`${file}: fails with the reason on stderr on a broken ${fleet ? "fleet" : "service"} repository: ${command}`, () => {
      const r = runSnippet(command, repo(true));
      expect(r.code).toBe(1);
      expect(r.stderr.split("\n").at(-1)).toMatch(
        fleet
          ? /^meshward validate: 1 error.*; first error: services\/payments-api.yaml:\d+:\d+: payments\/payments-api: spec\.egress\.to\[\d\]\.service: ServiceSecurityProfile orders\/orders-api is not in the fleet/
          : /^meshward validate: 1 error.*; first error: deploy\/security-profile.yaml:\d+:\d+: inventory\/inventory-api: spec\.ingress\[0\]\.ports\[0\]: must be at most 65535$/,
      );
    });
  }
});
