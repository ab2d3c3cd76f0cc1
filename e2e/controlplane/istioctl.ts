// istioctl, Istio's own CLI, built from the istioctl/ wrapper module (a `tool` line for
// istio.io/istio/istioctl/cmd/istioctl). The tests use it as a second opinion on what meshward
// generates: `istioctl validate` (Istio's validation webhook logic) and `istioctl analyze`
// (its analyzers), both offline.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { CONTROLPLANE_DIR, type Component, ensureGoTool, requireVersion, TestbedError } from "./build.ts";

const ISTIO_MODULE = "istio.io/istio";

/** istio.io/istio is published without semver tags: its version is a pseudo-version (see README). */
export function istioctlComponent(): Component {
  const dir = path.join(CONTROLPLANE_DIR, "istioctl");
  const gomod = fs.readFileSync(path.join(dir, "go.mod"), "utf8");
  const version = requireVersion(gomod, ISTIO_MODULE);
  const revision = /-([0-9a-f]{12})$/.exec(version)?.[1];
  if (!revision) throw new TestbedError(`unexpected ${ISTIO_MODULE} version ${version} in istioctl/go.mod`);
  const api = requireVersion(gomod, "istio.io/api");
  // The variables upstream's common/scripts/report_build_info.sh sets. The module zip has no git
  // metadata: the revision is the pseudo-version's commit prefix, the tag is the API it pins.
  const pkg = `${ISTIO_MODULE}/pkg/version`;
  const ldflags = [
    "-s -w",
    `-X ${pkg}.buildVersion=${version}`,
    `-X ${pkg}.buildGitRevision=${revision}`,
    `-X ${pkg}.buildStatus=Clean`,
    `-X ${pkg}.buildTag=${api}`,
    `-X ${pkg}.buildOS=${process.platform}`,
    `-X ${pkg}.buildArch=${process.arch === "x64" ? "amd64" : process.arch}`,
  ].join(" ");
  return {
    name: "istioctl",
    moduleDir: dir,
    packages: [`${ISTIO_MODULE}/istioctl/cmd/istioctl`],
    outputs: ["istioctl"],
    ldflags,
    version,
    // STANDARD_TAGS of upstream's Makefile.core.mk, used for its release istioctl.
    tags: ["vtprotobuf", "disable_pgv"],
  };
}

/** Returns the istioctl binary, building it first (minutes, see README) if the cache has none. */
export async function ensureIstioctl(): Promise<{ istioctl: string; version: string }> {
  const c = istioctlComponent();
  const dir = await ensureGoTool(c);
  return { istioctl: path.join(dir, "istioctl"), version: c.version };
}

export type IstioctlResult = { status: number; stdout: string; stderr: string };

/** Runs istioctl offline: no kubeconfig is read, whatever the caller's environment holds. */
export function runIstioctl(istioctl: string, args: string[], cwd?: string): IstioctlResult {
  const r = spawnSync(istioctl, args, {
    cwd,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", KUBECONFIG: "/dev/null" },
  });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

// `node e2e/controlplane/istioctl.ts [args...]`: build if needed, then run istioctl.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { istioctl } = await ensureIstioctl();
  const args = process.argv.slice(2);
  if (args.length === 0) {
    process.stdout.write(`${istioctl}\n`);
  } else {
    const r = spawnSync(istioctl, args, { stdio: "inherit" });
    process.exit(r.status ?? 1);
  }
}
