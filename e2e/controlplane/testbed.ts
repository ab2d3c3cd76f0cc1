// The test bed's API: up (start or reuse, then install the CRDs), down, status. A local control
// plane (local.ts) by default, a kind cluster (kind.ts) with `kind: true` or MESHWARD_TESTBED=kind.
// The admin kubeconfig is written to .cache/kubeconfig at the repository root.
import * as fs from "node:fs";
import { TestbedError, ensureBinaries, log, withLock } from "./build.ts";
import { downKind, upKind, serverVersion } from "./kind.ts";
import { alivePids, type LocalOptions, localReady, plan, startLocal, stopLocal } from "./local.ts";
import { processAlive } from "./process.ts";
import {
  AUDIT_LOG_PATH,
  CONTROLPLANE_STATE_DIR,
  KUBECONFIG_PATH,
  LOCK,
  LOG_DIR,
  type Pids,
  type Ports,
  type State,
  readState,
} from "./state.ts";
import { installRepoCrds, installUpstreamCrds, uninstallUpstreamCrds } from "./upstream.ts";

export type UpOptions = LocalOptions & {
  /** Install the pinned Istio CRDs (default true). */
  istio?: boolean;
  /** Install the pinned External Secrets Operator CRDs (default true). */
  eso?: boolean;
  /** Use a kind cluster instead of local processes (default: env MESHWARD_TESTBED === 'kind'). */
  kind?: boolean;
};

export type ClusterInfo = {
  mode: "local" | "kind";
  /** Admin kubeconfig (.cache/kubeconfig). */
  kubeconfig: string;
  /** https://127.0.0.1:PORT for the local control plane. */
  server: string;
  /** true when an already running test bed was reused. */
  reused: boolean;
  /** Kubernetes version built (local) or reported by the server (kind). */
  kubernetesVersion: string;
  pids?: Pids;
  ports?: Ports;
  logDir?: string;
  auditLog?: string;
  /** Wall time of up() in ms. */
  upMs: number;
};

export type Status = {
  running: boolean;
  mode?: "local" | "kind";
  kubeconfig?: string;
  server?: string;
  pids?: Pids;
  /** PIDs recorded in the state file that are still alive. */
  alive?: Pids;
  ready?: boolean;
  kubernetesVersion?: string;
};

/**
 * Starts the test bed (or reuses a running one with the same configuration),
 * writes .cache/kubeconfig and installs the Istio/ESO CRDs (unless disabled)
 * and everything under crds/. Reusing with istio/eso disabled removes those CRDs.
 */
export async function up(opts: UpOptions = {}): Promise<ClusterInfo> {
  fs.mkdirSync(CONTROLPLANE_STATE_DIR, { recursive: true });
  return withLock(LOCK, () => upLocked(opts), "up/down");
}

async function upLocked(opts: UpOptions): Promise<ClusterInfo> {
  const t0 = Date.now();
  const useKind = opts.kind ?? process.env.MESHWARD_TESTBED === "kind";
  const istio = opts.istio ?? true;
  const eso = opts.eso ?? true;
  const prev = readState();
  let state: State;
  let reused = false;
  let kubernetesVersion: string;

  if (useKind) {
    if (prev?.mode === "local" && (await localReady(prev))) {
      throw new TestbedError("a local test bed is running; run `down` before `up --kind`");
    }
    ({ state, reused } = await upKind());
    kubernetesVersion = await serverVersion(KUBECONFIG_PATH);
  } else {
    if (prev?.mode === "kind") {
      throw new TestbedError(
        `the test bed is the kind cluster "${prev.kindCluster}"; run \`down\` first or use --kind`,
      );
    }
    const bins = await ensureBinaries();
    const p = plan(opts, bins);
    if (prev && prev.configHash === p.configHash && (await localReady(prev))) {
      state = prev;
      reused = true;
    } else {
      if (prev) {
        if (await localReady(prev)) log("configuration changed: restarting the control plane");
        await stopLocal(prev);
      }
      state = await startLocal(p, opts);
    }
    kubernetesVersion = bins.kubernetesVersion;
  }

  const kubeconfig = KUBECONFIG_PATH;
  if (reused && (!istio || !eso)) await uninstallUpstreamCrds(kubeconfig, { istio: !istio, eso: !eso });
  await installUpstreamCrds(kubeconfig, { istio, eso });
  const n = await installRepoCrds(kubeconfig);
  if (n) log(`applied ${n} objects from crds/`);

  return {
    mode: state.mode,
    kubeconfig,
    server: state.server ?? "",
    reused,
    kubernetesVersion,
    pids: state.mode === "local" ? state.pids : undefined,
    ports: state.ports,
    logDir: state.mode === "local" ? LOG_DIR : undefined,
    auditLog: state.mode === "local" && state.audit ? AUDIT_LOG_PATH : undefined,
    upMs: Date.now() - t0,
  };
}

/** Stops exactly the processes recorded in the state file (SIGTERM, then SIGKILL) and deletes the data. */
export async function down(): Promise<{ stopped: boolean }> {
  fs.mkdirSync(CONTROLPLANE_STATE_DIR, { recursive: true });
  return withLock(LOCK, downLocked, "up/down");
}

async function downLocked(): Promise<{ stopped: boolean }> {
  const s = readState();
  if (s?.mode === "kind") {
    downKind(s);
    return { stopped: true };
  }
  const any = !!s && Object.values(s.pids).some((pid) => processAlive(pid));
  await stopLocal(s);
  return { stopped: any };
}

export async function status(): Promise<Status> {
  const s = readState();
  if (!s) return { running: false };
  if (s.mode === "kind") {
    let ready = false;
    try {
      await serverVersion(KUBECONFIG_PATH);
      ready = true;
    } catch {
      // unreachable
    }
    return { running: ready, ready, mode: "kind", kubeconfig: KUBECONFIG_PATH };
  }
  const ready = await localReady(s);
  return {
    running: ready,
    ready,
    mode: "local",
    kubeconfig: KUBECONFIG_PATH,
    server: s.server,
    pids: s.pids,
    alive: alivePids(s),
    kubernetesVersion: s.kubernetesVersion,
  };
}
