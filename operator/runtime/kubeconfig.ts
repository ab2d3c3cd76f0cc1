// Where the API server is and how to authenticate to it: a kubeconfig file (KUBECONFIG, several
// files merged like kubectl does, or ~/.kube/config) or the in-cluster service account. Supports
// what an operator needs: CA (file or data), TLS server name, insecure-skip-tls-verify, client
// certificates (file or data), bearer tokens (inline, token file, the in-cluster token that rotates),
// basic auth, and exec credential plugins (client.authentication.k8s.io, cached until expiry).
//
// Ours instead of @kubernetes/client-node's KubeConfig: importing client-node loads its generated
// API models at once (about 80 MB of RSS, ADR 7), and all the operator used from it was this.
// Connections are node:http(s) agents, not undici's (ADR 11): importing undici alone cost 150 ms
// of start and about 20 MB of RSS. The YAML parser is loaded only when a kubeconfig file is read:
// in a cluster there is none.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";

/** What the client needs: the server, a connection pool with the TLS settings, fresh auth headers. */
export interface KubeConfigSource {
  readonly server: string;
  /** The keep-alive connection pool for `server` (https with the cluster's TLS settings, or http). */
  agent(): http.Agent;
  headers(): Promise<Record<string, string>>;
}

/** yaml's `parse`, required on first use (a kubeconfig file), so that in-cluster start never loads it. */
function parseYaml(text: string): unknown {
  const yaml = createRequire(import.meta.url)("yaml") as { parse(text: string): unknown };
  return yaml.parse(text);
}

/** A cluster and a user, in the shape client-node's KubeConfig also returns (see fromClientNode). */
export interface ClusterData {
  server: string;
  caData?: string | undefined;
  caFile?: string | undefined;
  skipTLSVerify?: boolean | undefined;
  tlsServerName?: string | undefined;
}

export interface ExecConfig {
  apiVersion?: string;
  command: string;
  args?: string[] | null;
  env?: { name: string; value: string }[] | null;
}

export interface UserData {
  token?: string | undefined;
  tokenFile?: string | undefined;
  certData?: string | undefined;
  certFile?: string | undefined;
  keyData?: string | undefined;
  keyFile?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  exec?: ExecConfig | undefined;
  authProvider?: { name?: string; config?: Record<string, string> } | undefined;
}

export class KubeConfigError extends Error {
  override name = "KubeConfigError";
}

const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
/** Files re-read at most this often (a rotated service-account token is picked up). */
const FILE_TTL_MS = 60_000;
/** A kept-alive connection idle this long is closed (the agent's socket timeout). */
const IDLE_SOCKET_MS = 30_000;

type Named<T> = { name: string } & T;
interface RawConfig {
  "current-context"?: string;
  clusters?: Named<{ cluster?: Record<string, unknown> }>[];
  users?: Named<{ user?: Record<string, unknown> }>[];
  contexts?: Named<{ context?: { cluster?: string; user?: string } }>[];
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** Relative paths in a kubeconfig are relative to the file. */
function rel(file: string, p: unknown): string | undefined {
  const s = str(p);
  return s === undefined ? undefined : path.resolve(path.dirname(file), s);
}

/** Loads the kubeconfig: `file`, else $KUBECONFIG (files merged, first wins), ~/.kube/config, in-cluster. */
export function loadKubeConfig(file?: string, env: NodeJS.ProcessEnv = process.env): KubeConfigSource {
  const files = file
    ? [file]
    : (env.KUBECONFIG ?? "")
        .split(path.delimiter)
        .filter(Boolean)
        .filter((f) => fs.existsSync(f));
  if (files.length === 0 && !file) {
    const home = path.join(os.homedir(), ".kube", "config");
    if (fs.existsSync(home)) files.push(home);
  }
  if (files.length === 0) {
    if (env.KUBERNETES_SERVICE_HOST) return inCluster(env);
    throw new KubeConfigError(
      "no kubeconfig: pass --kubeconfig (or set KUBECONFIG), create ~/.kube/config, or run in a cluster",
    );
  }
  return fromFiles(files);
}

function fromFiles(files: string[]): KubeConfigSource {
  let current: string | undefined;
  const clusters = new Map<string, ClusterData>();
  const users = new Map<string, UserData>();
  const contexts = new Map<string, { cluster?: string; user?: string }>();
  for (const f of files) {
    let raw: RawConfig;
    try {
      raw = (parseYaml(fs.readFileSync(f, "utf8")) ?? {}) as RawConfig;
    } catch (e) {
      throw new KubeConfigError(`kubeconfig ${f}: ${e instanceof Error ? e.message : String(e)}`);
    }
    current ??= str(raw["current-context"]);
    for (const c of raw.clusters ?? []) {
      const d = c.cluster ?? {};
      if (clusters.has(c.name)) continue;
      clusters.set(c.name, {
        server: str(d.server) ?? "",
        caData: str(d["certificate-authority-data"]),
        caFile: rel(f, d["certificate-authority"]),
        skipTLSVerify: d["insecure-skip-tls-verify"] === true,
        tlsServerName: str(d["tls-server-name"]),
      });
    }
    for (const u of raw.users ?? []) {
      const d = u.user ?? {};
      if (users.has(u.name)) continue;
      const exec = d.exec as ExecConfig | undefined;
      users.set(u.name, {
        token: str(d.token),
        tokenFile: rel(f, d.tokenFile),
        certData: str(d["client-certificate-data"]),
        certFile: rel(f, d["client-certificate"]),
        keyData: str(d["client-key-data"]),
        keyFile: rel(f, d["client-key"]),
        username: str(d.username),
        password: str(d.password),
        exec: exec && { ...exec, command: exec.command },
        authProvider: d["auth-provider"] as UserData["authProvider"],
      });
    }
    for (const c of raw.contexts ?? []) if (!contexts.has(c.name)) contexts.set(c.name, c.context ?? {});
  }
  const where = files.join(path.delimiter);
  if (!current)
    throw new KubeConfigError(
      `kubeconfig ${where}: no current-context; set one (kubectl config use-context NAME)`,
    );
  const ctx = contexts.get(current);
  if (!ctx) throw new KubeConfigError(`kubeconfig ${where}: current-context "${current}" is not in contexts`);
  const cluster = ctx.cluster ? clusters.get(ctx.cluster) : undefined;
  if (!cluster?.server)
    throw new KubeConfigError(`kubeconfig ${where}: context "${current}" names no cluster with a server`);
  const user = (ctx.user ? users.get(ctx.user) : undefined) ?? {};
  return fromData(cluster, user);
}

function inCluster(env: NodeJS.ProcessEnv): KubeConfigSource {
  const host = env.KUBERNETES_SERVICE_HOST ?? "";
  const port = env.KUBERNETES_SERVICE_PORT ?? "443";
  return fromData(
    {
      server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
      caFile: path.join(SA_DIR, "ca.crt"),
    },
    { tokenFile: path.join(SA_DIR, "token") },
  );
}

/**
 * A source from a client-node KubeConfig object (read through its plain getters, without importing
 * client-node): the e2e tests, the benchmark and the demo keep loading kubeconfigs with it.
 */
export function fromClientNode(kc: {
  getCurrentCluster(): ClusterData | null;
  getCurrentUser(): UserData | null;
}): KubeConfigSource {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeConfigError("the kubeconfig has no current cluster");
  return fromData(cluster, kc.getCurrentUser() ?? {});
}

function cachedFile(file: string): () => string {
  let value = "";
  let at = -Infinity;
  return () => {
    const now = performance.now();
    if (now - at > FILE_TTL_MS) {
      value = fs.readFileSync(file, "utf8").trim();
      at = now;
    }
    return value;
  };
}

function b64(data: string): string {
  return Buffer.from(data, "base64").toString("utf8");
}

export function fromData(cluster: ClusterData, user: UserData): KubeConfigSource {
  if (user.authProvider && user.authProvider.name !== "tokenFile") {
    throw new KubeConfigError(
      `kubeconfig user: auth-provider "${user.authProvider.name ?? ""}" is not supported; use an exec credential plugin (users[].user.exec), a token or a client certificate`,
    );
  }
  const tokenFile = user.tokenFile ?? user.authProvider?.config?.tokenFile;
  const token = user.token ? () => user.token as string : tokenFile ? cachedFile(tokenFile) : undefined;
  const exec = user.exec ? execCredential(user.exec) : undefined;
  const ca = cluster.caData
    ? b64(cluster.caData)
    : cluster.caFile
      ? fs.readFileSync(cluster.caFile, "utf8")
      : undefined;
  const cert = user.certData
    ? b64(user.certData)
    : user.certFile
      ? fs.readFileSync(user.certFile, "utf8")
      : undefined;
  const key = user.keyData
    ? b64(user.keyData)
    : user.keyFile
      ? fs.readFileSync(user.keyFile, "utf8")
      : undefined;
  const server = cluster.server.replace(/\/$/, "");
  let agent: http.Agent | undefined;
  return {
    server,
    // One pool per source: connections are kept alive and reused (as client-go's transport does);
    // an idle one is closed after 30 s, before the API server's own idle timeout (90 s) can close
    // it under a request about to be sent on it.
    agent: () =>
      (agent ??= server.startsWith("http:")
        ? new http.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS })
        : new https.Agent({
            keepAlive: true,
            timeout: IDLE_SOCKET_MS,
            ...(ca && { ca }),
            ...(cert && { cert }),
            ...(key && { key }),
            ...(cluster.tlsServerName && { servername: cluster.tlsServerName }),
            rejectUnauthorized: !cluster.skipTLSVerify,
          })),
    headers: async (): Promise<Record<string, string>> => {
      if (exec) return { Authorization: `Bearer ${await exec()}` };
      if (token) return { Authorization: `Bearer ${token()}` };
      if (user.username && user.password)
        return {
          Authorization: `Basic ${Buffer.from(`${user.username}:${user.password}`).toString("base64")}`,
        };
      return {};
    },
  };
}

/** Runs the plugin for a token, and again once the token it gave has expired (or after 5 minutes). */
function execCredential(cfg: ExecConfig): () => Promise<string> {
  let token: string | undefined;
  let until = 0;
  let running: Promise<string> | undefined;
  const run = () =>
    new Promise<string>((resolve, reject) => {
      const env = { ...process.env };
      for (const e of cfg.env ?? []) env[e.name] = e.value;
      execFile(cfg.command, cfg.args ?? [], { env, timeout: 60_000 }, (err, stdout) => {
        if (err) return reject(new KubeConfigError(`exec credential plugin ${cfg.command}: ${err.message}`));
        try {
          const out = JSON.parse(stdout) as { status?: { token?: string; expirationTimestamp?: string } };
          const t = out.status?.token;
          if (!t)
            throw new Error(
              "no status.token in its ExecCredential (client certificates from a plugin are not supported)",
            );
          token = t;
          const exp = Date.parse(out.status?.expirationTimestamp ?? "");
          until = Number.isFinite(exp) ? exp - 10_000 : Date.now() + 300_000;
          resolve(t);
        } catch (e) {
          reject(
            new KubeConfigError(
              `exec credential plugin ${cfg.command}: ${e instanceof Error ? e.message : String(e)}`,
            ),
          );
        }
      });
    });
  return async () => {
    if (token && Date.now() < until) return token;
    running ??= run().finally(() => (running = undefined));
    return running;
  };
}
