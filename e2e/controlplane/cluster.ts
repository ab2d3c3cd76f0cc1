// meshward e2e test bed: a real local Kubernetes control plane (etcd,
// kube-apiserver, kube-controller-manager built from the official Go modules)
// or, with --kind / MESHWARD_TESTBED=kind, a kind cluster.
//
//   node e2e/controlplane/cluster.ts up [--no-istio] [--no-eso] [--kind] [--no-audit] [--apiserver-arg=--flag=value ...]
//   node e2e/controlplane/cluster.ts down
//   node e2e/controlplane/cluster.ts status
//   node e2e/controlplane/cluster.ts build
//   node e2e/controlplane/cluster.ts helm [helm args...]
//
// The admin kubeconfig is written to .cache/kubeconfig at the repository root.
import { spawn, spawnSync } from "node:child_process";
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as https from "node:https";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import {
  REPO_ROOT,
  TestbedError,
  ensureBinaries,
  ensureHelm,
  log,
  withLock,
  type Binaries,
} from "./build.ts";
import { installRepoCrds, installUpstreamCrds, uninstallUpstreamCrds } from "./upstream.ts";

export {
  REPO_ROOT,
  TestbedError,
  ensureBinaries,
  ensureHelm,
  findGo,
  cacheRoot,
  GO_MISSING_MESSAGE,
  type Binaries,
} from "./build.ts";
export {
  FIELD_MANAGER,
  applyManifests,
  installRepoCrds,
  installUpstreamCrds,
  readManifests,
  repoCrdFiles,
  uninstallIstioCrds,
  uninstallUpstreamCrds,
  upstreamCrdFiles,
  upstreamCrds,
  upstreamPins,
  waitForCrds,
  type UpstreamName,
  type UpstreamPin,
  type UpstreamPins,
  type UpstreamSelection,
} from "./upstream.ts";

export const CACHE_DIR = path.join(REPO_ROOT, ".cache");
export const KUBECONFIG_PATH = path.join(CACHE_DIR, "kubeconfig");
export const CONTROLPLANE_STATE_DIR = path.join(CACHE_DIR, "controlplane");
export const LOG_DIR = path.join(CONTROLPLANE_STATE_DIR, "logs");
export const AUDIT_LOG_PATH = path.join(LOG_DIR, "audit.log");
const STATE_FILE = path.join(CONTROLPLANE_STATE_DIR, "state.json");
/** up/down hold this lock (a directory `<LOCK>.lock`) so that two of them never race. */
const LOCK = path.join(CONTROLPLANE_STATE_DIR, "testbed");
const ETCD_DATA_DIR = path.join(CONTROLPLANE_STATE_DIR, "etcd-data");
const PKI_DIR = path.join(CONTROLPLANE_STATE_DIR, "pki");
const KIND_CLUSTER = process.env.MESHWARD_KIND_CLUSTER || "meshward";
const SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local";

export type UpOptions = {
  /** Install the pinned Istio CRDs (default true). */
  istio?: boolean;
  /** Install the pinned External Secrets Operator CRDs (default true). */
  eso?: boolean;
  /** Use a kind cluster instead of local processes (default: env MESHWARD_TESTBED === 'kind'). */
  kind?: boolean;
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

export type Pids = { etcd?: number; kubeApiserver?: number; kubeControllerManager?: number };
export type Ports = {
  etcdClient: number;
  etcdPeer: number;
  kubeApiserver: number;
  kubeControllerManager: number;
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

type State = {
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

// ---------------------------------------------------------------- utilities

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function readState(): State | undefined {
  try {
    return JSON.parse(fs.readFileSync(STATE_FILE, "utf8")) as State;
  } catch {
    return undefined;
  }
}

function writeState(s: State): void {
  fs.mkdirSync(CONTROLPLANE_STATE_DIR, { recursive: true });
  fs.writeFileSync(`${STATE_FILE}.tmp`, JSON.stringify(s, null, 2), { mode: 0o600 });
  fs.renameSync(`${STATE_FILE}.tmp`, STATE_FILE);
}

function tailFile(file: string, lines = 15): string {
  try {
    const all = fs.readFileSync(file, "utf8").trimEnd().split("\n");
    return all
      .slice(-lines)
      .map((l) => `  | ${l.length > 400 ? `${l.slice(0, 400)}...` : l}`)
      .join("\n");
  } catch {
    return "  | (log file missing)";
  }
}

/** Alive and not a zombie; when `bin` is given (Linux), its argv[0] must be that binary (guards against PID reuse). */
function processAlive(pid: number | undefined, bin?: string): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  if (!fs.existsSync("/proc/self/stat")) return true;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) return false;
    if (bin) return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0] === bin;
    return true;
  } catch {
    return false;
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host: "127.0.0.1", exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * A free port below Linux's ephemeral range (32768-60999 by default). Ports from that range can be
 * taken as the source port of any outgoing connection while a component is down, and then the
 * component (e.g. kube-apiserver restarted by a fault test) cannot listen on its port again.
 */
async function freePort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const candidate = 20000 + Math.floor(Math.random() * 12000);
    if (taken.has(candidate) || !(await portFree(candidate))) continue;
    taken.add(candidate);
    return candidate;
  }
  throw new TestbedError("could not find a free TCP port on 127.0.0.1 between 20000 and 32000");
}

type HttpResult = { status: number; body: string };

function httpGet(
  url: string,
  opts: { ca?: string; token?: string; insecure?: boolean } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === "https:" ? https : http;
    const req = mod.get(
      u,
      {
        ca: opts.ca,
        rejectUnauthorized: !opts.insecure,
        headers: opts.token ? { Authorization: `Bearer ${opts.token}` } : {},
        timeout: 5000,
        agent: false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}

async function tryGet(
  url: string,
  opts: { ca?: string; token?: string; insecure?: boolean } = {},
): Promise<HttpResult | undefined> {
  try {
    return await httpGet(url, opts);
  } catch {
    return undefined;
  }
}

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

// ------------------------------------------------------------ process control

type Running = {
  name: string;
  pid: number;
  logFile: string;
  exit?: { code: number | null; signal: string | null };
};

function startProcess(name: string, bin: string, args: string[]): Running {
  const logFile = path.join(LOG_DIR, `${name}.log`);
  const fd = fs.openSync(logFile, "w");
  fs.writeSync(fd, `# ${new Date().toISOString()} ${bin} ${args.join(" ")}\n`);
  const child = spawn(bin, args, { detached: true, stdio: ["ignore", fd, fd], cwd: CONTROLPLANE_STATE_DIR });
  fs.closeSync(fd);
  const r: Running = { name, pid: child.pid ?? 0, logFile };
  child.on("exit", (code, signal) => (r.exit = { code, signal }));
  child.on("error", (e) => (r.exit = { code: -1, signal: e.message }));
  child.unref();
  if (!r.pid) throw new TestbedError(`${name}: could not start ${bin}`);
  return r;
}

function startupFailure(p: Running, what: string, port?: number): TestbedError {
  const logText = tailFile(p.logFile, 15);
  const inUse =
    /address already in use/i.test(logText) && port ? ` (port ${port} on 127.0.0.1 is already in use)` : "";
  return new TestbedError(
    `${p.name} ${what}${inUse}; last lines of ${path.relative(process.cwd(), p.logFile) || p.logFile}:\n${logText}`,
  );
}

async function waitFor(
  p: Running,
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
  port?: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (p.exit) {
      throw startupFailure(
        p,
        `exited during startup (${p.exit.signal ? `signal ${p.exit.signal}` : `exit code ${p.exit.code}`})`,
        port,
      );
    }
    if (!processAlive(p.pid)) throw startupFailure(p, "exited during startup", port);
    if (await check()) return;
    if (Date.now() > deadline) throw startupFailure(p, `was not ${what} after ${timeoutMs / 1000}s`, port);
    await sleep(150);
  }
}

async function stopPid(pid: number | undefined, bin: string | undefined, graceMs = 10_000): Promise<void> {
  if (!pid || !processAlive(pid, bin)) return;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!processAlive(pid)) return;
    await sleep(100);
  }
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return;
  }
  const killDeadline = Date.now() + 5000;
  while (Date.now() < killDeadline && processAlive(pid)) await sleep(100);
}

// --------------------------------------------------------------- kubeconfig

function writeKubeconfig(file: string, server: string, caPem: string, user: string, token: string): void {
  const cfg = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "meshward",
        cluster: { server, "certificate-authority-data": Buffer.from(caPem).toString("base64") },
      },
    ],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: "meshward", context: { cluster: "meshward", user } }],
    "current-context": "meshward",
  };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, stringify(cfg), { mode: 0o600 });
}

// ---------------------------------------------------------------- local mode

const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
    verbs: ["create", "update", "patch", "delete", "deletecollection"]
  - level: None
`;

type LocalPlan = {
  bins: Binaries;
  audit: boolean;
  apiserverExtra: string[];
  kcmExtra: string[];
  configHash: string;
};

function plan(opts: UpOptions, bins: Binaries): LocalPlan {
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

async function localReady(s: State): Promise<boolean> {
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
  const r = await tryGet(`${s.server}/readyz`, { ca, token: s.adminToken });
  return r?.status === 200 && fs.existsSync(KUBECONFIG_PATH);
}

function wipeLocalData(): void {
  for (const p of [ETCD_DATA_DIR, PKI_DIR, STATE_FILE]) fs.rmSync(p, { recursive: true, force: true });
}

async function stopLocal(s: State | undefined): Promise<void> {
  if (s?.mode === "local") {
    // controller-manager first, etcd last, so nothing writes to a dead store.
    await stopPid(s.pids.kubeControllerManager, s.bins?.kubeControllerManager);
    await stopPid(s.pids.kubeApiserver, s.bins?.kubeApiserver);
    await stopPid(s.pids.etcd, s.bins?.etcd);
  }
  wipeLocalData();
  fs.rmSync(KUBECONFIG_PATH, { force: true });
}

async function startLocal(p: LocalPlan, opts: UpOptions): Promise<State> {
  const t0 = Date.now();
  const timeoutMs = opts.timeoutMs ?? 120_000;
  wipeLocalData();
  fs.mkdirSync(LOG_DIR, { recursive: true });
  fs.mkdirSync(PKI_DIR, { recursive: true, mode: 0o700 });
  if (p.audit) fs.rmSync(AUDIT_LOG_PATH, { force: true });

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
  const ports: Ports = {
    etcdClient: await freePort(taken),
    etcdPeer: await freePort(taken),
    kubeApiserver: fixed ?? (await freePort(taken)),
    kubeControllerManager: await freePort(taken),
  };

  // Service account signing keys, tokens, audit policy.
  const { publicKey, privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
  });
  const saPub = path.join(PKI_DIR, "sa.pub");
  const saKey = path.join(PKI_DIR, "sa.key");
  fs.writeFileSync(saPub, publicKey);
  fs.writeFileSync(saKey, privateKey, { mode: 0o600 });
  const adminToken = randomBytes(32).toString("hex");
  const kcmToken = randomBytes(32).toString("hex");
  const tokenFile = path.join(PKI_DIR, "tokens.csv");
  fs.writeFileSync(
    tokenFile,
    `${adminToken},meshward-admin,meshward-admin,"system:masters"\n` +
      `${kcmToken},system:kube-controller-manager,system:kube-controller-manager\n`,
    { mode: 0o600 },
  );
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
  try {
    // etcd
    const etcdUrl = `http://127.0.0.1:${ports.etcdClient}`;
    const peerUrl = `http://127.0.0.1:${ports.etcdPeer}`;
    const etcd = startProcess("etcd", bins.etcd, [
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
    started.push(etcd);
    state.pids.etcd = etcd.pid;
    writeState(state);
    await waitFor(
      etcd,
      "healthy",
      timeoutMs,
      async () => {
        const r = await tryGet(`${etcdUrl}/health`);
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
      ["service-account-key-file", saPub],
      ["service-account-signing-key-file", saKey],
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
    const apiserver = startProcess("kube-apiserver", bins.kubeApiserver, state.apiserverArgv);
    started.push(apiserver);
    state.pids.kubeApiserver = apiserver.pid;
    writeState(state);
    let ca = "";
    await waitFor(
      apiserver,
      "ready",
      timeoutMs,
      async () => {
        if (!ca) {
          try {
            ca = fs.readFileSync(caFile, "utf8");
          } catch {
            return false;
          }
          if (!ca.includes("END CERTIFICATE")) ca = "";
          if (!ca) return false;
        }
        const r = await tryGet(`${server}/readyz`, { ca, token: adminToken });
        return r?.status === 200;
      },
      ports.kubeApiserver,
    );
    state.server = server;
    state.caFile = caFile;
    state.adminToken = adminToken;
    writeKubeconfig(KUBECONFIG_PATH, server, ca, "meshward-admin", adminToken);
    const kcmKubeconfig = path.join(PKI_DIR, "kube-controller-manager.kubeconfig");
    writeKubeconfig(kcmKubeconfig, server, ca, "system:kube-controller-manager", kcmToken);

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
      ["service-account-private-key-file", saKey],
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
    const kcm = startProcess("kube-controller-manager", bins.kubeControllerManager, flagsToArgs(kcmFlags));
    started.push(kcm);
    state.pids.kubeControllerManager = kcm.pid;
    writeState(state);
    // Healthy, and the serviceaccount + token controllers have done their work.
    await waitFor(
      kcm,
      "ready",
      timeoutMs,
      async () => {
        const h = await tryGet(`https://127.0.0.1:${ports.kubeControllerManager}/healthz`, {
          insecure: true,
        });
        if (h?.status !== 200) return false;
        const sa = await tryGet(`${server}/api/v1/namespaces/default/serviceaccounts/default`, {
          ca,
          token: adminToken,
        });
        return sa?.status === 200;
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

// ----------------------------------------------------------------- kind mode

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

async function upKind(): Promise<{ state: State; reused: boolean }> {
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

async function serverVersion(kubeconfig: string): Promise<string> {
  const { KubeConfig, VersionApi } = await import("@kubernetes/client-node");
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return (await kc.makeApiClient(VersionApi).getCode()).gitVersion;
}

// ------------------------------------------------------------------- public

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
// ------------------------------------------------------------ fault injection

function runningLocalState(): State & { ports: Ports; bins: NonNullable<State["bins"]> } {
  const s = readState();
  if (!s || s.mode !== "local" || !s.ports || !s.bins || !s.apiserverArgv) {
    throw new TestbedError("fault injection needs a running local test bed (not kind)");
  }
  return s as State & { ports: Ports; bins: NonNullable<State["bins"]> };
}

/** Kills kube-apiserver (SIGKILL by default) and waits until it is gone. etcd keeps running. */
export async function killApiserver(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
  const s = runningLocalState();
  const pid = s.pids.kubeApiserver;
  if (!pid || !processAlive(pid, s.bins.kubeApiserver)) return;
  process.kill(pid, signal);
  for (let i = 0; i < 200 && processAlive(pid, s.bins.kubeApiserver); i++) await sleep(50);
}

/** Starts kube-apiserver again with the same flags, and waits for /readyz. */
export async function startApiserver(timeoutMs = 60_000): Promise<void> {
  const s = runningLocalState();
  const bin = s.bins.kubeApiserver as string;
  if (s.pids.kubeApiserver && processAlive(s.pids.kubeApiserver, bin)) return;
  const apiserver = startProcess("kube-apiserver", bin, s.apiserverArgv as string[]);
  s.pids.kubeApiserver = apiserver.pid;
  writeState(s);
  const ca = fs.readFileSync(s.caFile as string, "utf8");
  await waitFor(
    apiserver,
    "ready",
    timeoutMs,
    async () => (await tryGet(`${s.server}/readyz`, { ca, token: s.adminToken as string }))?.status === 200,
    s.ports.kubeApiserver,
  );
}

/** Compacts etcd up to its current revision: watches from older resourceVersions get 410 Gone. */
export async function compactEtcd(): Promise<number> {
  const s = runningLocalState();
  const url = `http://127.0.0.1:${s.ports.etcdClient}`;
  const post = async (p: string, body: unknown) => {
    const r = await fetch(`${url}${p}`, { method: "POST", body: JSON.stringify(body) });
    if (r.status !== 200) {
      const text = await r.text();
      // kube-apiserver compacts etcd itself every few minutes: already compacted is fine.
      if (text.includes("required revision has been compacted")) return {};
      throw new TestbedError(`etcd ${p}: HTTP ${r.status} ${text}`);
    }
    return (await r.json()) as { header?: { revision?: string } };
  };
  const head = await post("/v3/kv/range", { key: Buffer.from("/").toString("base64"), limit: 1 });
  const revision = Number(head.header?.revision ?? 0);
  await post("/v3/kv/compaction", { revision: String(revision), physical: true });
  return revision;
}

export async function down(): Promise<{ stopped: boolean }> {
  fs.mkdirSync(CONTROLPLANE_STATE_DIR, { recursive: true });
  return withLock(LOCK, downLocked, "up/down");
}

async function downLocked(): Promise<{ stopped: boolean }> {
  const s = readState();
  if (s?.mode === "kind") {
    const r = kind(["delete", "cluster", "--name", s.kindCluster ?? KIND_CLUSTER], true);
    if (r.status !== 0) throw new TestbedError(`kind delete cluster failed (exit ${r.status})`);
    fs.rmSync(STATE_FILE, { force: true });
    fs.rmSync(KUBECONFIG_PATH, { force: true });
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
  const alive: Pids = {};
  if (processAlive(s.pids.etcd, s.bins?.etcd)) alive.etcd = s.pids.etcd;
  if (processAlive(s.pids.kubeApiserver, s.bins?.kubeApiserver)) alive.kubeApiserver = s.pids.kubeApiserver;
  if (processAlive(s.pids.kubeControllerManager, s.bins?.kubeControllerManager))
    alive.kubeControllerManager = s.pids.kubeControllerManager;
  const ready = await localReady(s);
  return {
    running: ready,
    ready,
    mode: "local",
    kubeconfig: KUBECONFIG_PATH,
    server: s.server,
    pids: s.pids,
    alive,
    kubernetesVersion: s.kubernetesVersion,
  };
}

// ---------------------------------------------------------------------- CLI

const USAGE = `usage: node e2e/controlplane/cluster.ts <command>
  up [--no-istio] [--no-eso] [--kind] [--no-audit] [--apiserver-arg=--flag=value ...] [--controller-manager-arg=...]
  down
  status
  build                 (the control plane binaries and helm)
  helm [args...]        (runs the helm built from e2e/controlplane/helm, building it first if needed)`;

async function main(argv: string[]): Promise<number> {
  const cmd = argv[0];
  const rest = argv.slice(1);
  switch (cmd) {
    case "up": {
      const opts: UpOptions = { apiserverArgs: [], controllerManagerArgs: [] };
      for (const a of rest) {
        if (a === "--no-istio") opts.istio = false;
        else if (a === "--no-eso") opts.eso = false;
        else if (a === "--kind") opts.kind = true;
        else if (a === "--audit") opts.audit = true;
        else if (a === "--no-audit") opts.audit = false;
        else if (a.startsWith("--apiserver-arg="))
          opts.apiserverArgs?.push(a.slice("--apiserver-arg=".length));
        else if (a.startsWith("--controller-manager-arg="))
          opts.controllerManagerArgs?.push(a.slice("--controller-manager-arg=".length));
        else throw new TestbedError(`unknown option ${a}\n${USAGE}`, 2);
      }
      const info = await up(opts);
      const what = info.mode === "kind" ? `kind cluster ${KIND_CLUSTER}` : `control plane ${info.server}`;
      log(
        `${info.reused ? "reused" : "started"} ${what} (kubernetes ${info.kubernetesVersion}) in ${(info.upMs / 1000).toFixed(1)}s`,
      );
      process.stdout.write(`export KUBECONFIG=${info.kubeconfig}\n`);
      return 0;
    }
    case "down": {
      const r = await down();
      log(r.stopped ? "test bed stopped" : "no running test bed (cleaned up its data)");
      return 0;
    }
    case "status": {
      const s = await status();
      process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
      return s.running ? 0 : 1;
    }
    case "build": {
      const b = await ensureBinaries();
      const h = await ensureHelm();
      process.stdout.write(`${JSON.stringify({ ...b, helm: h.helm, helmVersion: h.version }, null, 2)}\n`);
      return 0;
    }
    case "helm": {
      const { helm } = await ensureHelm();
      const r = spawnSync(helm, rest, { stdio: "inherit" });
      if (r.error) throw new TestbedError(`cannot run ${helm}: ${r.error.message}`);
      return r.status ?? 1;
    }
    default:
      process.stderr.write(`${USAGE}\n`);
      return 2;
  }
}

function isMain(): boolean {
  if (!process.argv[1]) return false;
  try {
    return fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      if (e instanceof TestbedError) {
        const msg = e.message.startsWith("meshward test bed:")
          ? e.message
          : `meshward test bed: ${e.message}`;
        process.stderr.write(`${msg}\n`);
        process.exit(e.exitCode);
      }
      process.stderr.write(`meshward test bed: unexpected error: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
