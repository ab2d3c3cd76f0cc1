// Brings the real control plane up once for the whole e2e run (or uses $KUBECONFIG when set), and
// takes it down afterwards if this run started it (MESHWARD_KEEP_CLUSTER=1 keeps it for the next run).
import type { TestProject } from "vitest/node";
import { down, up } from "../controlplane/testbed.ts";

declare module "vitest" {
  export interface ProvidedContext {
    kubeconfig: string;
    ownCluster: boolean;
  }
}

let started = false;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.KUBECONFIG && process.env.MESHWARD_E2E_USE_KUBECONFIG === "1";
  if (external) {
    project.provide("kubeconfig", process.env.KUBECONFIG as string);
    project.provide("ownCluster", false);
  } else {
    const info = await up({});
    started = !info.reused;
    console.log(
      `e2e: control plane ${info.reused ? "reused" : "started"} (${info.kubernetesVersion}) in ${(info.upMs / 1000).toFixed(1)}s`,
    );
    project.provide("kubeconfig", info.kubeconfig);
    project.provide("ownCluster", true);
  }
  return async () => {
    if (started && process.env.MESHWARD_KEEP_CLUSTER !== "1") await down();
  };
}
