// Where the test bed keeps its files, and its state file (.cache/controlplane/state.json): what runs,
// on which ports, with which binaries and flags, so that `down`, `status` and fault injection find
// exactly the processes `up` started.
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "./build.ts";

export const CACHE_DIR = path.join(REPO_ROOT, ".cache");
export const KUBECONFIG_PATH = path.join(CACHE_DIR, "kubeconfig");
export const CONTROLPLANE_STATE_DIR = path.join(CACHE_DIR, "controlplane");
export const LOG_DIR = path.join(CONTROLPLANE_STATE_DIR, "logs");
export const AUDIT_LOG_PATH = path.join(LOG_DIR, "audit.log");
export const STATE_FILE = path.join(CONTROLPLANE_STATE_DIR, "state.json");
/** up/down hold this lock (a directory `<LOCK>.lock`) so that two of them never race. */
export const LOCK = path.join(CONTROLPLANE_STATE_DIR, "testbed");
export const ETCD_DATA_DIR = path.join(CONTROLPLANE_STATE_DIR, "etcd-data");
export const PKI_DIR = path.join(CONTROLPLANE_STATE_DIR, "pki");

export type Pids = { etcd?: number; kubeApiserver?: number; kubeControllerManager?: number };
export type Ports = {
  etcdClient: number;
  etcdPeer: number;
  kubeApiserver: number;
  kubeControllerManager: number;
};

export type State = {
  mode: "local" | "kind";
  phase: "starting" | "running";
  configHash?: string;
  kubernetesVersion?: string;
  kindCluster?: string;
  server?: string;
  adminToken?: string;
  caFile?: string;
  pids: Pids;
  bins?: { etcd?: string; kubeApiserver?: string; kubeControllerManager?: string };
  ports?: Ports;
  audit?: boolean;
  /** kube-apiserver's command line, so fault tests can kill and restart it alone. */
  apiserverArgv?: string[];
};

export function readState(): State | undefined {
  try {
    return JSON.parse(fs.readFileSync(STATE_FILE, "utf8")) as State;
  } catch {
    return undefined;
  }
}

export function writeState(s: State): void {
  fs.mkdirSync(CONTROLPLANE_STATE_DIR, { recursive: true });
  fs.writeFileSync(`${STATE_FILE}.tmp`, JSON.stringify(s, null, 2), { mode: 0o600 });
  fs.renameSync(`${STATE_FILE}.tmp`, STATE_FILE);
}

export function removeState(): void {
  fs.rmSync(STATE_FILE, { force: true });
}
