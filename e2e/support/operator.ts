// The real operator as a separate process for e2e tests (test-support/harness/operator.ts), with the
// e2e defaults: the test bed's admin kubeconfig, debug logs in .cache/e2e, its name as its identity.
import * as path from "node:path";
import { type OperatorProcess, startOperator as start } from "../../test-support/harness/operator.ts";
import { kubeconfigPath } from "./kube.ts";

export type { OperatorProcess };

const LOG_DIR = path.resolve(import.meta.dirname, "../../.cache/e2e");
let seq = 0;

export interface StartOptions {
  name?: string;
  /** Extra flags; they come last, so they win over the defaults. */
  args?: string[];
  /** Wait until /readyz answers 200 (default true). */
  ready?: boolean;
  /** The operator's credentials; default: the test bed's admin kubeconfig. */
  kubeconfig?: string;
  /** Run this entry point instead of operator/main.ts (e.g. the compiled dist/operator/main.js). */
  entry?: string;
}

/** Flags for a replica that takes part in leader election on Lease `lease` in `namespace`. */
export function leaderElectionArgs(namespace: string, lease: string): string[] {
  return ["--leader-election", "true", "--leader-election-namespace", namespace, "--lease-name", lease];
}

export function startOperator(opts: StartOptions = {}): Promise<OperatorProcess> {
  return start({
    ...opts,
    name: opts.name ?? `operator-${++seq}`,
    kubeconfig: opts.kubeconfig ?? kubeconfigPath(),
    logDir: LOG_DIR,
    logLevel: "debug",
    identity: true,
  });
}
