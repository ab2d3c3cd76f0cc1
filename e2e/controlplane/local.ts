// The local bed: etcd, kube-apiserver and kube-controller-manager as processes of this machine,
// built from the official Go modules (build.ts). Start, check, stop; the state file records them.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { freePort, portFree } from "../../test-support/harness/ports.ts";
import { type Binaries, TestbedError, log } from "./build.ts";
import { readServingCa, writeKubeconfig, writeServiceAccountKeys, writeTokens } from "./pki.ts";
import { probe, processAlive, type Running, startProcess, stopPid, waitReady } from "./process.ts";
import {
  AUDIT_LOG_PATH,
  CONTROLPLANE_STATE_DIR,
  ETCD_DATA_DIR,
  KUBECONFIG_PATH,
  LOG_DIR,
  PKI_DIR,
  type Pids,
  type Ports,
  type State,
  STATE_FILE,
  writeState,
} from "./state.ts";

const SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local";

const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
    verbs: ["create", "update", "patch", "delete", "deletecollection"]
  - level: None
`;

export type LocalOptions = {
  /** Audit log of all mutating requests at Metadata level in .cache/controlplane/logs/audit.log (default true). */
  audit?: boolean;
  /**
   * Extra kube-apiserver flags, e.g. ['--max-mutating-requests-inflight=10'];
   * they override the defaults of the same name. Env MESHWARD_APISERVER_ARGS
   * (whitespace separated) is added before these.
   */
  apiserverArgs?: string[];
  /** Extra kube-controller-manager flags (env MESHWARD_CONTROLLER_MANAGER_ARGS). */
  controllerManagerArgs?: string[];
  /** kube-apiserver port on 127.0.0.1 (default: env MESHWARD_APISERVER_PORT, else a free port). */
  apiserverPort?: number;
  /** Startup timeout per component in ms (default 120000). */
  timeoutMs?: number;
};

/** Parses ['--a=1', '--b', '2', '--c'] into an ordered map name -> value (undefined for bare flags). */
function parseFlags(args: string[]): Map<string, string | undefined> {
  const m = new Map<string, string | undefined>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? "";
    const next = args[i + 1];
    if (!a.startsWith("--")) throw new TestbedError(`expected a --flag, got "${a}"`);
    const eq = a.indexOf("=");
    if (eq > 0) m.set(a.slice(2, eq), a.slice(eq + 1));
    else if (next !== undefined && !next.startsWith("--")) {
      m.set(a.slice(2), next);
      i++;
    } else m.set(a.slice(2), undefined);
  }
  return m;
}

function flagsToArgs(m: Map<string, string | undefined>): string[] {
  return [...m].map(([k, v]) => (v === undefined ? `--${k}` : `--${k}=${v}`));
}

function envArgs(name: string): string[] {
  return (process.env[name] ?? "").split(/\s+/).filter(Boolean);
}

export type LocalPlan = {
  bins: Binaries;
  audit: boolean;
  apiserverExtra: string[];
  kcmExtra: string[];
  /** Same hash, same bed: a running bed with it is reused, one with another is restarted. */
  configHash: string;
};

export function plan(opts: LocalOptions, bins: Binaries): LocalPlan {
  const audit = opts.audit ?? process.env.MESHWARD_AUDIT !== "0";
  const apiserverExtra = [...envArgs("MESHWARD_APISERVER_ARGS"), ...(opts.apiserverArgs ?? [])];
  const kcmExtra = [...envArgs("MESHWARD_CONTROLLER_MANAGER_ARGS"), ...(opts.controllerManagerArgs ?? [])];
  parseFlags(apiserverExtra);
  parseFlags(kcmExtra);
  const configHash = createHash("sha256")
    .update(
      JSON.stringify([
        bins.etcd,
        bins.kubeApiserver,
        bins.kubeControllerManager,
        audit,
        apiserverExtra,
        kcmExtra,
        opts.apiserverPort ?? process.env.MESHWARD_APISERVER_PORT ?? "",
        // Fixed flags added since a bed may have started: a running one restarts with them.
        "allow-privileged",
      ]),
    )
    .digest("hex")
    .slice(0, 16);
  return { bins, audit, apiserverExtra, kcmExtra, configHash };
}

/** Every recorded process is alive and still its binary, and kube-apiserver answers /readyz. */
export async function localReady(s: State): Promise<boolean> {
  if (s.mode !== "local" || s.phase !== "running" || !s.server || !s.caFile || !s.bins) return false;
  if (!processAlive(s.pids.etcd, s.bins.etcd)) return false;
  if (!processAlive(s.pids.kubeApiserver, s.bins.kubeApiserver)) return false;
  if (!processAlive(s.pids.kubeControllerManager, s.bins.kubeControllerManager)) return false;
  let ca: string;
  try {
    ca = fs.readFileSync(s.caFile, "utf8");
  } catch {
    return false;
  }
  const r = await probe(`${s.server}/readyz`, { ca, token: s.adminToken });
  return r?.status === 200 && fs.existsSync(KUBECONFIG_PATH);
}

/** The recorded PIDs that are still alive (and still their binaries). */
export function alivePids(s: State): Pids {
  const alive: Pids = {};
  if (processAlive(s.pids.etcd, s.bins?.etcd)) alive.etcd = s.pids.etcd;
  if (processAlive(s.pids.kubeApiserver, s.bins?.kubeApiserver)) alive.kubeApiserver = s.pids.kubeApiserver;
  if (processAlive(s.pids.kubeControllerManager, s.bins?.kubeControllerManager))
    alive.kubeControllerManager = s.pids.kubeControllerManager;
  return alive;
}

function wipeLocalData(): void {
  for (const p of [ETCD_DATA_DIR, PKI_DIR, STATE_FILE]) fs.rmSync(p, { recursive: true, force: true });
}

/** Stops exactly the processes recorded in the state (SIGTERM, then SIGKILL) and deletes the data. */
export async function stopLocal(s: State | undefined): Promise<void> {
  if (s?.mode === "local") {
    // controller-manager first, etcd last, so nothing writes to a dead store.
    await stopPid(s.pids.kubeControllerManager, s.bins?.kubeControllerManager);
    await stopPid(s.pids.kubeApiserver, s.bins?.kubeApiserver);
    await stopPid(s.pids.etcd, s.bins?.etcd);
  }
  wipeLocalData();
  fs.rmSync(KUBECONFIG_PATH, { force: true });
}

/** Starts kube-apiserver with a recorded command line (also used by fault injection to restart it). */
export function startApiserverProcess(bin: string, argv: string[]): Running {
  return startProcess("kube-apiserver", bin, argv, LOG_DIR, CONTROLPLANE_STATE_DIR);
}

async function pickPorts(opts: LocalOptions): Promise<Ports> {
  const taken = new Set<number>();
  const fixed =
    opts.apiserverPort ??
    (process.env.MESHWARD_APISERVER_PORT ? Number(process.env.MESHWARD_APISERVER_PORT) : undefined);
  if (fixed !== undefined) {
    if (!Number.isInteger(fixed) || fixed <= 0 || fixed > 65535)
      throw new TestbedError(`invalid apiserver port ${fixed}`);
    if (!(await portFree(fixed)))
      throw new TestbedError(`port ${fixed} on 127.0.0.1 is already in use (wanted for kube-apiserver)`);
    taken.add(fixed);
  }
  const next = () =>
    freePort(taken).catch((e: unknown) => {
      throw new TestbedError(e instanceof Error ? e.message : String(e));
    });
  return {
    etcdClient: await next(),
    etcdPeer: await next(),
    kubeApiserver: fixed ?? (await next()),
    kubeControllerManager: await next(),
  };
}

/** Starts etcd, kube-apiserver and kube-controller-manager; on any failure stops what it started. */
export async function startLocal(p: LocalPlan, opts: LocalOptions): Promise<State> {
  const t0 = Date.now();
  const timeoutMs = opts.timeoutMs ?? 120_000;
  wipeLocalData();
  fs.mkdirSync(LOG_DIR, { recursive: true });
  fs.mkdirSync(PKI_DIR, { recursive: true, mode: 0o700 });
  if (p.audit) fs.rmSync(AUDIT_LOG_PATH, { force: true });
  const ports = await pickPorts(opts);

  // Service account signing keys, tokens, audit policy.
  const sa = writeServiceAccountKeys(PKI_DIR);
  const { tokenFile, adminToken, kcmToken } = writeTokens(PKI_DIR);
  const auditPolicy = path.join(PKI_DIR, "audit-policy.yaml");
  fs.writeFileSync(auditPolicy, AUDIT_POLICY);

  const { bins } = p;
  const state: State = {
    mode: "local",
    phase: "starting",
    configHash: p.configHash,
    kubernetesVersion: bins.kubernetesVersion,
    pids: {},
    bins: {
      etcd: bins.etcd,
      kubeApiserver: bins.kubeApiserver,
      kubeControllerManager: bins.kubeControllerManager,
    },
    ports,
    audit: p.audit,
  };
  const started: Running[] = [];
  /** Records a started component in the state file, then waits until `check` holds. */
  const launch = async (
    component: keyof Pids,
    r: Running,
    what: string,
    check: () => Promise<boolean>,
    port: number,
  ) => {
    started.push(r);
    state.pids[component] = r.pid;
    writeState(state);
    await waitReady(r, what, timeoutMs, check, port);
  };
  const start = (name: string, bin: string, args: string[]) =>
    startProcess(name, bin, args, LOG_DIR, CONTROLPLANE_STATE_DIR);
  try {
    // etcd
    const etcdUrl = `http://127.0.0.1:${ports.etcdClient}`;
    const peerUrl = `http://127.0.0.1:${ports.etcdPeer}`;
    const etcd = start("etcd", bins.etcd, [
      "--name=meshward",
      `--data-dir=${ETCD_DATA_DIR}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=meshward=${peerUrl}`,
      "--initial-cluster-state=new",
      "--unsafe-no-fsync=true",
      "--log-level=warn",
    ]);
    await launch(
      "etcd",
      etcd,
      "healthy",
      async () => {
        const r = await probe(`${etcdUrl}/health`);
        return r?.status === 200 && r.body.includes('"true"');
      },
      ports.etcdClient,
    );

    // kube-apiserver
    const certDir = path.join(PKI_DIR, "apiserver");
    const caFile = path.join(certDir, "apiserver.crt");
    const apiFlags = new Map<string, string | undefined>([
      ["etcd-servers", etcdUrl],
      ["bind-address", "127.0.0.1"],
      ["advertise-address", "127.0.0.1"],
      ["secure-port", String(ports.kubeApiserver)],
      ["cert-dir", certDir],
      ["token-auth-file", tokenFile],
      ["authorization-mode", "RBAC"],
      ["service-account-issuer", SERVICE_ACCOUNT_ISSUER],
      ["service-account-key-file", sa.publicKeyFile],
      ["service-account-signing-key-file", sa.privateKeyFile],
      ["service-cluster-ip-range", "10.96.0.0/16"],
      ["endpoint-reconciler-type", "none"],
      ["profiling", "false"],
      // As kubeadm and kind set it: privileged pods are admission's business (e2e/policy.e2e.test.ts
      // shows the admission policy refusing one), not refused by the API server's own validation.
      ["allow-privileged", "true"],
    ]);
    if (p.audit) {
      apiFlags.set("audit-policy-file", auditPolicy);
      apiFlags.set("audit-log-path", AUDIT_LOG_PATH);
      apiFlags.set("audit-log-format", "json");
      apiFlags.set("audit-log-maxsize", "200");
      apiFlags.set("audit-log-maxbackup", "1");
    }
    for (const [k, v] of parseFlags(p.apiserverExtra)) apiFlags.set(k, v);
    const server = `https://127.0.0.1:${ports.kubeApiserver}`;
    state.apiserverArgv = flagsToArgs(apiFlags);
    const apiserver = startApiserverProcess(bins.kubeApiserver, state.apiserverArgv);
    let ca: string | undefined;
    await launch(
      "kubeApiserver",
      apiserver,
      "ready",
      async () => {
        ca ??= readServingCa(caFile);
        if (!ca) return false;
        const r = await probe(`${server}/readyz`, { ca, token: adminToken });
        return r?.status === 200;
      },
      ports.kubeApiserver,
    );
    const servingCa = ca as string;
    state.server = server;
    state.caFile = caFile;
    state.adminToken = adminToken;
    writeKubeconfig(KUBECONFIG_PATH, server, servingCa, "meshward-admin", adminToken);
    const kcmKubeconfig = path.join(PKI_DIR, "kube-controller-manager.kubeconfig");
    writeKubeconfig(kcmKubeconfig, server, servingCa, "system:kube-controller-manager", kcmToken);

    // kube-controller-manager
    const kcmFlags = new Map<string, string | undefined>([
      ["kubeconfig", kcmKubeconfig],
      // No --authentication-kubeconfig: without a client CA the apiserver never publishes
      // kube-system/extension-apiserver-authentication and the delegated authenticator
      // would log an error for it forever. /healthz and /readyz are always allowed.
      ["authorization-kubeconfig", kcmKubeconfig],
      ["bind-address", "127.0.0.1"],
      ["secure-port", String(ports.kubeControllerManager)],
      ["cert-dir", path.join(PKI_DIR, "kube-controller-manager")],
      ["leader-elect", "false"],
      ["use-service-account-credentials", "true"],
      ["service-account-private-key-file", sa.privateKeyFile],
      ["root-ca-file", caFile],
      ["cluster-name", "meshward"],
      // No nodes, kubelets or cloud here: everything else (garbage collector,
      // namespace, serviceaccount, serviceaccount-token, deployment, ...) runs.
      [
        "controllers",
        "*,-certificatesigningrequest-signing-controller,-node-ipam-controller,-node-lifecycle-controller,-persistentvolume-attach-detach-controller",
      ],
      ["profiling", "false"],
    ]);
    for (const [k, v] of parseFlags(p.kcmExtra)) kcmFlags.set(k, v);
    const kcm = start("kube-controller-manager", bins.kubeControllerManager, flagsToArgs(kcmFlags));
    // Healthy, and the serviceaccount + token controllers have done their work.
    await launch(
      "kubeControllerManager",
      kcm,
      "ready",
      async () => {
        const h = await probe(`https://127.0.0.1:${ports.kubeControllerManager}/healthz`, {
          insecure: true,
        });
        if (h?.status !== 200) return false;
        const account = await probe(`${server}/api/v1/namespaces/default/serviceaccounts/default`, {
          ca: servingCa,
          token: adminToken,
        });
        return account?.status === 200;
      },
      ports.kubeControllerManager,
    );
    state.phase = "running";
    writeState(state);
    log(
      `control plane ready in ${((Date.now() - t0) / 1000).toFixed(1)}s (etcd, kube-apiserver, kube-controller-manager)`,
    );
    return state;
  } catch (e) {
    for (const r of started.reverse()) await stopPid(r.pid, undefined, 5000);
    wipeLocalData();
    throw e;
  }
}
