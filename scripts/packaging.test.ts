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
  version: string;
  private?: boolean;
  bin: Record<string, string>;
  files?: string[];
  engines?: { node?: string };
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const lock = JSON.parse(read("package-lock.json")) as { packages: Record<string, { version?: string }> };
const dockerfile = read("Dockerfile");

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
    expect(pkg.bin.meshward).toBe("bin/meshward.js");
    expect(pkg.engines?.node).toMatch(/^>=\d+(\.\d+){0,2}$/);
    expect(pkg.scripts.prepack).toBe("npm run build");
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
    expect(files).toContain("bin/meshward.js");
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
  });
});
