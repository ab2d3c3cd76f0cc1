// HashiCorp Vault for the e2e test bed: the real server, built from the Go module proxy (wrapper
// module in vault/, see README.md "Vault") and run as a local dev-mode process on loopback (in
// memory, unsealed, KV v2 at secret/, a root token the caller chooses). Started on demand:
//
//   const vault = await startVault();                 // builds on first use (minutes), then ~1 s
//   await vault.request("PUT", "sys/auth/kubernetes", { type: "kubernetes" });
//   ...
//   await vault.stop();
//
//   node e2e/controlplane/vault.ts build   # only build (or find) the binary, prints its path
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { freePort } from "../../test-support/harness/ports.ts";
import {
  CONTROLPLANE_DIR,
  REPO_ROOT,
  TestbedError,
  ensureGoTool,
  log,
  requireVersion,
  type Component,
} from "./build.ts";

export const VAULT_MODULE = "github.com/hashicorp/vault";

/** The vault binary (vault/ wrapper module; its main package is the module root, a `tool` line). */
export function vaultComponent(): Component {
  const dir = path.join(CONTROLPLANE_DIR, "vault");
  const version = requireVersion(fs.readFileSync(path.join(dir, "go.mod"), "utf8"), VAULT_MODULE);
  return {
    name: "vault",
    moduleDir: dir,
    packages: [VAULT_MODULE],
    outputs: ["vault"],
    // As upstream's scripts/ci-helper.sh: -s -w and the version package's variables. The module
    // zip carries no commit id; the version itself is embedded from version/VERSION.
    ldflags: `-s -w -X ${VAULT_MODULE}/version.GitCommit= -X ${VAULT_MODULE}/version.BuildDate=`,
    version,
  };
}

/** Returns the vault binary, building it first (minutes, see README) if not cached. */
export async function ensureVault(): Promise<{ bin: string; version: string }> {
  const c = vaultComponent();
  const dir = await ensureGoTool(c);
  return { bin: path.join(dir, "vault"), version: c.version };
}

const LOG_DIR = path.join(REPO_ROOT, ".cache", "controlplane", "logs");

/** Vault's answer to an API call that failed: the status and Vault's own `errors`. */
export class VaultError extends Error {
  status: number;
  errors: string[];
  constructor(method: string, apiPath: string, status: number, errors: string[]) {
    super(`vault ${method} /v1/${apiPath}: HTTP ${status}: ${errors.join("; ") || "(no message)"}`);
    this.name = "VaultError";
    this.status = status;
    this.errors = errors;
  }
}

export type VaultProcess = {
  pid: number;
  version: string;
  /** http://127.0.0.1:<port> (dev mode listens without TLS) */
  address: string;
  rootToken: string;
  logFile: string;
  /**
   * One call of Vault's HTTP API (`apiPath` without /v1/), as root unless `token` is given; the
   * parsed answer (undefined for 204). A non-2xx answer throws VaultError with Vault's messages.
   */
  request<T = unknown>(
    method: string,
    apiPath: string,
    body?: unknown,
    token?: string,
  ): Promise<T | undefined>;
  /** SIGTERM, then SIGKILL after 10 s; resolves when the process is gone. */
  stop(): Promise<void>;
};

/** The flags of a dev-mode server on loopback (in memory, unsealed; no ~/.vault-token written). */
export function vaultArgs(port: number, rootToken: string): string[] {
  return [
    "server",
    "-dev",
    `-dev-listen-address=127.0.0.1:${port}`,
    `-dev-root-token-id=${rootToken}`,
    "-dev-no-store-token",
    "-log-level=info",
  ];
}

async function vaultRequest<T>(
  address: string,
  token: string,
  method: string,
  apiPath: string,
  body?: unknown,
): Promise<T | undefined> {
  const res = await fetch(`${address}/v1/${apiPath}`, {
    method,
    headers: { "X-Vault-Token": token, ...(body !== undefined && { "Content-Type": "application/json" }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) {
    let errors: string[];
    try {
      errors = (JSON.parse(text) as { errors?: string[] }).errors ?? [];
    } catch {
      errors = [text.trim()];
    }
    throw new VaultError(method, apiPath, res.status, errors);
  }
  return text ? (JSON.parse(text) as T) : undefined;
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/**
 * Starts a dev-mode Vault on a free loopback port and waits until it is unsealed and active
 * (`sys/health` answers 200). The caller stops it (`stop()`, in afterAll).
 */
export async function startVault(
  opts: { logFile?: string; rootToken?: string; timeoutMs?: number } = {},
): Promise<VaultProcess> {
  const { bin, version } = await ensureVault();
  const logFile = opts.logFile ?? path.join(LOG_DIR, "vault.log");
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const port = await freePort();
  const rootToken = opts.rootToken ?? `root-${randomBytes(12).toString("hex")}`;
  const args = vaultArgs(port, rootToken);
  const fd = fs.openSync(logFile, "w");
  // The root token is in the command line on purpose: a throw-away dev server on loopback.
  fs.writeSync(fd, `# ${new Date().toISOString()} ${bin} ${args.join(" ")}\n`);
  // VAULT_* of the caller's environment (a real VAULT_ADDR or VAULT_TOKEN) must not leak in.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("VAULT_")));
  const child = spawn(bin, args, { stdio: ["ignore", fd, fd], env });
  fs.closeSync(fd);
  let exited: string | undefined;
  const gone = new Promise<void>((resolve) => {
    child.on("exit", (code, signal) => {
      exited = `exit ${code ?? signal}`;
      resolve();
    });
    child.on("error", (e) => {
      exited = e.message;
      resolve();
    });
  });
  const pid = child.pid;
  if (!pid) throw new TestbedError(`vault: could not start ${bin}`);
  const address = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (exited) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await gone;
    clearTimeout(timer);
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (exited)
      throw new TestbedError(`vault ${exited} during startup; last lines of ${logFile}:\n${tail(logFile)}`);
    const healthy = await fetch(`${address}/v1/sys/health`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (healthy) break;
    if (Date.now() > deadline) {
      await stop();
      throw new TestbedError(
        `vault did not become healthy at ${address} in time; last lines of ${logFile}:\n${tail(logFile)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  log(`vault ${version} running (pid ${pid}, ${address}, log ${logFile})`);
  return {
    pid,
    version,
    address,
    rootToken,
    logFile,
    request: (method, apiPath, body, token) =>
      vaultRequest(address, token ?? rootToken, method, apiPath, body),
    stop,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv[2] !== "build") {
    process.stderr.write("usage: node e2e/controlplane/vault.ts build\n");
    process.exit(2);
  }
  ensureVault().then(
    (b) => process.stdout.write(`${JSON.stringify(b, null, 2)}\n`),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
