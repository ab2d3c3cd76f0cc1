// What every scenario of `npm run bench` shares: the cluster's client and kubeconfig, the command's
// figures (fleet size, rounds…), the results table being filled, and the operator and fleet that
// one scenario hands to the next.
import type { KubeClient } from "../../operator/runtime/client.ts";
import type { Fleet, Op } from "../lib.ts";

export interface BenchConfig {
  /** Profiles started at once, and per namespace. */
  profiles: number;
  perNamespace: number;
  /** Profiles in one namespace, measured afterwards (0: skip). */
  single: number;
  /** Deletes and edits timed until corrected. */
  drift: number;
  /** Quarantines applied and lifted (0: skip). */
  quarantines: number;
  quietMinutes: number;
  concurrency: number;
  rounds: number;
  /** Objects meshward did not create, spread over each fleet's namespaces. */
  foreign: number;
  /** Every Nth namespace of each fleet in ambient mode (0: none). */
  ambientEvery: number;
}

export type Results = Record<string, string | number>;

export interface Harness {
  client: KubeClient;
  kubeconfig: string;
  cfg: BenchConfig;
  results: Results;
  /** Unique per run: namespaces' prefixes. */
  tag: string;
}

/** The operator started by the creation rounds and the fleet it reconciled, for what follows. */
export interface Running {
  op: Op;
  fleet: Fleet;
}

/** The idle RSS is read this long after the last profile was Ready. */
export const IDLE_RSS_MINUTES = 3;

export const seconds = (ms: number, digits = 2): number => +(ms / 1000).toFixed(digits);
export const megabytes = (bytes: number): number => +(bytes / 2 ** 20).toFixed(1);
