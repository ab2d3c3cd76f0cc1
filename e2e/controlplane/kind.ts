// The test bed as a kind cluster (`up --kind`, MESHWARD_TESTBED=kind): create or reuse it, export
// its kubeconfig to .cache/kubeconfig, delete it.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { TestbedError, log } from "./build.ts";
import { CACHE_DIR, KUBECONFIG_PATH, type State, removeState, writeState } from "./state.ts";

export const KIND_CLUSTER = process.env.MESHWARD_KIND_CLUSTER || "meshward";

function kind(args: string[], inherit = false): { status: number; stdout: string; stderr: string } {
  // Progress output goes to stderr: stdout of the CLI is kept for the `export KUBECONFIG=...` line.
  const r = spawnSync("kind", args, { encoding: "utf8", stdio: inherit ? ["ignore", 2, 2] : "pipe" });
  if (r.error) {
    const enoent = (r.error as NodeJS.ErrnoException).code === "ENOENT";
    throw new TestbedError(
      enoent
        ? "kind is not installed (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)"
        : `kind: ${r.error.message}`,
    );
  }
  return { status: r.status ?? 1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

export async function upKind(): Promise<{ state: State; reused: boolean }> {
  const clusters = kind(["get", "clusters"])
    .stdout.split("\n")
    .map((l) => l.trim());
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  let reused = true;
  if (clusters.includes(KIND_CLUSTER)) {
    const r = kind(["export", "kubeconfig", "--name", KIND_CLUSTER, "--kubeconfig", KUBECONFIG_PATH]);
    if (r.status !== 0)
      throw new TestbedError(`kind export kubeconfig failed: ${r.stderr.trim().split("\n").pop()}`);
  } else {
    reused = false;
    log(`creating kind cluster ${KIND_CLUSTER}`);
    const r = kind(
      ["create", "cluster", "--name", KIND_CLUSTER, "--kubeconfig", KUBECONFIG_PATH, "--wait", "120s"],
      true,
    );
    if (r.status !== 0)
      throw new TestbedError(`kind create cluster --name ${KIND_CLUSTER} failed (exit ${r.status})`);
  }
  const state: State = { mode: "kind", phase: "running", kindCluster: KIND_CLUSTER, pids: {} };
  writeState(state);
  return { state, reused };
}

export function downKind(s: State): void {
  const r = kind(["delete", "cluster", "--name", s.kindCluster ?? KIND_CLUSTER], true);
  if (r.status !== 0) throw new TestbedError(`kind delete cluster failed (exit ${r.status})`);
  removeState();
  fs.rmSync(KUBECONFIG_PATH, { force: true });
}

/** The Kubernetes version the server of `kubeconfig` reports. */
export async function serverVersion(kubeconfig: string): Promise<string> {
  const { KubeConfig, VersionApi } = await import("@kubernetes/client-node");
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return (await kc.makeApiClient(VersionApi).getCode()).gitVersion;
}
