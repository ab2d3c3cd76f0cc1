// The container image and the chart name the same versions as the project: the Node image tag is
// the Node the project is tested on (package-lock's "node"), the image and chart version are
// package.json's. The npm package installs from its tarball into an empty directory and its
// `meshward` runs there: compiled JavaScript only, no dev dependency.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "..");
const read = (f: string) => fs.readFileSync(path.join(ROOT, f), "utf8");
const pkg = JSON.parse(read("package.json")) as {
  name: string;
  version: string;
  license?: string;
  private?: boolean;
  homepage?: string;
  repository?: { type?: string; url?: string; directory?: string };
  bugs?: { url?: string };
  bin: Record<string, string>;
  main?: string;
  types?: string;
  exports?: Record<string, string>;
  files?: string[];
  engines?: { node?: string };
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const lock = JSON.parse(read("package-lock.json")) as { packages: Record<string, { version?: string }> };
const dockerfile = read("Dockerfile");

/** owner/name of the GitHub repository package.json names, or undefined. */
function githubRepository(): { owner: string; name: string } | undefined {
  const m = /^git\+https:\/\/github\.com\/([\w.-]+)\/([\w.-]+)\.git$/.exec(pkg.repository?.url ?? "");
  return m?.[1] && m[2] ? { owner: m[1], name: m[2] } : undefined;
}

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string>;
  env?: Record<string, string>;
}
interface Job {
  permissions?: Record<string, string>;
  env?: Record<string, string>;
  steps?: Step[];
}
const release = parse(read(".github/workflows/release.yml")) as { jobs: Record<string, Job> };

function arg(name: string): string | undefined {
  return new RegExp(`^ARG ${name}=(\\S*)$`, "m").exec(dockerfile)?.[1];
}

describe("packaging", () => {
  it("builds the image on the Node version the project is tested with", () => {
    const node = lock.packages["node_modules/node"]?.version;
    expect(node).toMatch(/^24\./);
    expect(arg("NODE_IMAGE")).toBe(`node:${node}-trixie-slim`);
  });

  it("labels the image with package.json's version", () => {
    expect(arg("VERSION")).toBe(pkg.version);
  });

  it("gives the chart package.json's version", () => {
    const chart = parse(read("charts/meshward/Chart.yaml")) as { version: string; appVersion: string };
    expect(chart.appVersion).toBe(pkg.version);
    expect(chart.version).toBe(pkg.version);
  });

  it("runs the image as the chart's non-root UID, with an exec-form entry point", () => {
    expect(dockerfile).toMatch(/^USER 65532:65532$/m);
    // node, its V8 flags (the benchmarks read them from here), the compiled operator.
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", ("--[a-z-]+=\d+", )*"dist\/operator\/main\.js"\]$/m);
    // The chart's default pod security context (values.yaml; OpenShift leaves it unset).
    const values = parse(read("charts/meshward/values.yaml")) as {
      podSecurityContext: { runAsUser: number; runAsGroup: number; runAsNonRoot: boolean };
    };
    expect(values.podSecurityContext).toMatchObject({
      runAsUser: 65532,
      runAsGroup: 65532,
      runAsNonRoot: true,
    });
  });
});

describe("npm package", () => {
  it("is publishable: not private, a files whitelist, a bin, the Node it needs, built before packing", () => {
    expect(pkg.private).toBeUndefined();
    expect(pkg.files).toContain("dist/operator/");
    expect(pkg.files).toContain("LICENSE");
    // Nothing in the package reads crds/: `meshward crds` prints them from the schemas.
    expect(pkg.files).not.toContain("crds/");
    expect(pkg.bin.meshward).toBe("bin/meshward.js");
    expect(pkg.scripts.prepack).toBe("npm run build");
  });

  it("needs the Node it is tested on: engines' lower bound is the `node` devDependency's", () => {
    // Every test (and .ci/run, the CI job) runs on node_modules/.bin/node, the `node` devDependency.
    const tested = /^\^(\d+\.\d+\.\d+)$/.exec(pkg.devDependencies.node ?? "")?.[1];
    expect(tested).toBeDefined();
    expect(pkg.engines?.node).toBe(`>=${tested}`);
    expect(lock.packages["node_modules/node"]?.version).toMatch(new RegExp(`^${tested?.split(".")[0]}\\.`));
  });

  it("has what npm publish --provenance checks: repository (the workflow's), homepage, bugs, license", () => {
    // The registry refuses a provenance statement whose source repository is not package.json's
    // repository.url; the release workflow compares the two before anything is published.
    const gh = githubRepository();
    expect(gh, `repository.url ${pkg.repository?.url}`).toBeDefined();
    expect(pkg.repository?.type).toBe("git");
    expect(pkg.repository?.directory).toBeUndefined(); // package.json is at the repository root
    const web = `https://github.com/${gh?.owner}/${gh?.name}`;
    expect(pkg.homepage).toBe(`${web}#readme`);
    expect(pkg.bugs?.url).toBe(`${web}/issues`);
    expect(pkg.license).toBe("Apache-2.0");
    const license = read("LICENSE");
    expect(license).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
    expect(license).toContain("END OF TERMS AND CONDITIONS");

    const check = release.jobs.version?.steps?.find((s) => s.run?.includes("repository.url"));
    expect(check?.env?.REPOSITORY).toBe("${{ github.server_url }}/${{ github.repository }}");
    expect(check?.run).toContain('[ "$url" != "git+$REPOSITORY.git" ]');
    expect(check?.run).toContain("exit 1");
  });

  it("npm pack --dry-run lists LICENSE, README.md, package.json and the bin; the registry reads this package.json", () => {
    // --ignore-scripts: no compile (prepack), so this stays quick; the tarball test below builds.
    const listed = JSON.parse(
      execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts", "--loglevel=error"], {
        cwd: ROOT,
        encoding: "utf8",
      }),
    ) as { name: string; version: string; files: { path: string }[] }[];
    const files = listed[0]?.files.map((f) => f.path) ?? [];
    for (const f of ["LICENSE", "README.md", "package.json", "bin/meshward.js"]) expect(files).toContain(f);
    expect(listed[0]).toMatchObject({ name: pkg.name, version: pkg.version });
  });

  it("offers the CLI only: no main, no types, nothing importable but package.json", () => {
    expect(pkg.main).toBeUndefined();
    expect(pkg.types).toBeUndefined();
    expect(pkg.exports).toEqual({ "./package.json": "./package.json" });
  });

  it("the release workflow publishes with provenance: id-token, the registry, --provenance --access public", () => {
    const npmJob = release.jobs.npm;
    expect(npmJob?.permissions).toEqual({ contents: "read", "id-token": "write" });
    const setup = npmJob?.steps?.find((s) => s.uses?.startsWith("actions/setup-node@"));
    expect(setup?.with?.["registry-url"]).toBe("https://registry.npmjs.org");
    expect(Number(setup?.with?.["node-version"])).toBe(
      Number(pkg.devDependencies.node?.replace(/^\^(\d+).*/, "$1")),
    );
    const publish = npmJob?.steps?.find((s) => s.run?.startsWith("npm publish"));
    expect(publish?.run?.trim()).toBe("npm publish --provenance --access public");
    expect(publish?.env?.NODE_AUTH_TOKEN).toBe("${{ secrets.NPM_TOKEN }}");
  });

  it("the chart's default image is the one the release workflow pushes", () => {
    // release.yml: ghcr.io/<lower-case repository owner>/meshward, tagged with package.json's version
    // (= the chart's appVersion, the default tag); the version job checks the owner is package.json's.
    expect(release.jobs.image?.env?.IMAGE).toBe("ghcr.io/${{ needs.version.outputs.owner }}/meshward");
    const values = parse(read("charts/meshward/values.yaml")) as {
      image: { repository: string; tag: string; digest: string };
    };
    expect(values.image.repository).toBe(`ghcr.io/${githubRepository()?.owner.toLowerCase()}/meshward`);
    expect(values.image.tag).toBe("");
    expect(values.image.digest).toBe("");
    const chart = parse(read("charts/meshward/Chart.yaml")) as { appVersion: string };
    expect(chart.appVersion).toBe(pkg.version);
    const meta = release.jobs.image?.steps?.find((s) => s.id === "meta");
    expect(meta?.with?.tags).toContain("type=semver,pattern={{version}}");
  });

  // npm pack (prepack compiles), then npm install of the tarball into an empty directory, as a
  // service team's CI would; runtime dependencies come from the npm cache or the registry.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "meshward-pack-"));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const npm = (args: string[], cwd: string) =>
    execFileSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], {
      cwd,
      encoding: "utf8",
      env: { ...process.env, npm_config_update_notifier: "false" },
    });

  it("installs from its tarball and runs `meshward` from compiled JavaScript", { timeout: 600_000 }, () => {
    const packed = JSON.parse(npm(["pack", "--json", "--pack-destination", tmp], ROOT)) as {
      filename: string;
      files: { path: string }[];
    }[];
    const entry = packed[0];
    if (!entry) throw new Error("npm pack listed no tarball");
    const files = entry.files.map((f) => f.path);
    expect(files).toContain("LICENSE");
    expect(files).toContain("README.md");
    expect(files).toContain("bin/meshward.js");
    // No stale entry in "files": each one the package names is in the tarball.
    for (const f of (pkg.files ?? []).filter((f) => !f.startsWith("!")))
      expect(
        files.some((p) => p === f || p.startsWith(f)),
        f,
      ).toBe(true);
    expect(files).toContain("dist/operator/cli/main.js");
    expect(files.filter((f) => f.endsWith(".ts"))).toEqual([]);
    expect(
      files.filter((f) => /(^|\/)(e2e|scripts|bench|examples)\/|\.test\.|fuzz\/|testing\//.test(f)),
    ).toEqual([]);

    const app = path.join(tmp, "app");
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "service-repo", private: true }));
    npm(["install", "--prefer-offline", "--omit=dev", path.join(tmp, entry.filename)], app);
    const installed = path.join(app, "node_modules");
    // No dev dependency came along (typescript, vitest, ...). Type packages are left out of the
    // check: @kubernetes/client-node itself depends on @types/node.
    for (const dev of Object.keys(pkg.devDependencies).filter((d) => !d.startsWith("@types/")))
      expect(fs.existsSync(path.join(installed, dev)), dev).toBe(false);

    const bin = path.join(installed, ".bin", "meshward");
    const meshward = (...args: string[]) => spawnSync(bin, args, { cwd: app, encoding: "utf8" });
    const version = meshward("--version");
    expect(version.stdout.trim()).toBe(`meshward ${pkg.version}`);
    expect(version.status).toBe(0);

    const ok = meshward("validate", path.join(ROOT, "examples/service-repo"));
    expect(ok.stderr).toContain("1 profile valid");
    expect(ok.status).toBe(0);
    const bad = meshward(
      "validate",
      "-o",
      "json",
      path.join(ROOT, "examples/invalid/port-out-of-range.yaml"),
    );
    expect(JSON.parse(bad.stdout)).toMatchObject({ valid: false, errors: 1 });
    expect(bad.status).toBe(1);

    // The CLI only: its modules cannot be imported from the package; its package.json can.
    const importer = (spec: string) =>
      spawnSync(process.execPath, ["--input-type=module", "-e", `await import(${JSON.stringify(spec)})`], {
        cwd: app,
        encoding: "utf8",
      });
    for (const spec of ["meshward", "meshward/dist/operator/cli/main.js"])
      expect(importer(spec).stderr, spec).toContain("ERR_PACKAGE_PATH_NOT_EXPORTED");
    const own = spawnSync(process.execPath, ["-p", 'require("meshward/package.json").version'], {
      cwd: app,
      encoding: "utf8",
    });
    expect(own.stdout.trim()).toBe(pkg.version);
    const installedPkg = JSON.parse(
      fs.readFileSync(path.join(installed, "meshward/package.json"), "utf8"),
    ) as {
      repository?: unknown;
    };
    expect(installedPkg.repository).toEqual(pkg.repository);
    expect(fs.readFileSync(path.join(installed, "meshward/LICENSE"), "utf8")).toBe(read("LICENSE"));
  });
});
