// External Secrets Operator for the e2e test bed: the real ESO controller, built from the Go
// module proxy (wrapper module in eso/, see README.md "External Secrets Operator") and run as a
// local process against the test bed's API server. Started on demand by the tests that need it:
//
//   const eso = await startEso({ kubeconfig });   // builds on first use (minutes), then ~1 s
//   ...
//   await eso.stop();
//
//   node e2e/controlplane/eso.ts build             # only build (or find) the binary
//   node e2e/controlplane/eso.ts run               # run it in the foreground against .cache/kubeconfig
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
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

const ESO_MODULE = "github.com/external-secrets/external-secrets";
const LOG_DIR = path.join(REPO_ROOT, ".cache", "controlplane", "logs");

/** The ESO controller (eso/ wrapper module; its main package is the module root, a `tool` line). */
export function esoComponent(): Component {
  const dir = path.join(CONTROLPLANE_DIR, "eso");
  const version = requireVersion(fs.readFileSync(path.join(dir, "go.mod"), "utf8"), ESO_MODULE);
  return {
    name: "external-secrets",
    moduleDir: dir,
    packages: [ESO_MODULE],
    outputs: ["external-secrets"],
    // Upstream's Makefile sets no version variables: the binary reports none.
    ldflags: "-s -w",
    version,
  };
}

/** Returns the ESO controller binary, building it first (minutes, see README) if not cached. */
export async function ensureEso(): Promise<{ bin: string; version: string }> {
  const c = esoComponent();
  const dir = await ensureGoTool(c);
  return { bin: path.join(dir, "external-secrets"), version: c.version };
}

export type EsoOptions = {
  kubeconfig: string;
  /** Log file; default .cache/controlplane/logs/external-secrets.log */
  logFile?: string;
  /**
   * Watch ExternalSecrets (and SecretStores) in this namespace only (ESO's --namespace), so that a
   * test's ESO leaves other tests' ExternalSecrets alone. ClusterSecretStores are always watched.
   */
  namespace?: string;
  /** How often (Cluster)SecretStores are re-validated; ESO's default is 5m. */
  storeRequeueInterval?: string;
  /**
   * ESO's Vault token cache (--experimental-enable-vault-token-cache): ESO keeps its Vault token
   * instead of revoking it after each read, so the leases issued with it (dynamic credentials) live
   * to their own TTL.
   */
  vaultTokenCache?: boolean;
  /** Max wait for the metrics endpoint to answer (the controller has started its manager). */
  timeoutMs?: number;
};

export type EsoProcess = {
  pid: number;
  version: string;
  metricsUrl: string;
  logFile: string;
  /** SIGTERM, then SIGKILL after 10 s; resolves when the process is gone. */
  stop(): Promise<void>;
};

function metricsUp(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 2000, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
  });
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** The flags ESO runs with here: no webhooks, no leader election, metrics on loopback. */
export function esoArgs(
  metricsPort: number,
  opts: Pick<EsoOptions, "storeRequeueInterval" | "namespace" | "vaultTokenCache"> = {},
): string[] {
  return [
    // The root command is the controller alone; the webhook and cert-controller are subcommands
    // that are never started, and the CRDs are installed without conversion webhooks.
    `--metrics-addr=127.0.0.1:${metricsPort}`,
    "--enable-leader-election=false",
    "--concurrent=2",
    "--loglevel=info",
    "--zap-time-encoding=iso8601",
    `--store-requeue-interval=${opts.storeRequeueInterval ?? "10s"}`,
    ...(opts.namespace ? [`--namespace=${opts.namespace}`] : []),
    ...(opts.vaultTokenCache ? ["--experimental-enable-vault-token-cache"] : []),
  ];
}

/**
 * Starts the ESO controller against `kubeconfig` and waits until its metrics endpoint answers.
 * The caller stops it (`stop()`); a test that forgets leaves a process behind, so call it in
 * afterAll.
 */
export async function startEso(opts: EsoOptions): Promise<EsoProcess> {
  const { bin, version } = await ensureEso();
  const logFile = opts.logFile ?? path.join(LOG_DIR, "external-secrets.log");
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const port = await freePort();
  const args = esoArgs(port, opts);
  const fd = fs.openSync(logFile, "w");
  fs.writeSync(fd, `# ${new Date().toISOString()} KUBECONFIG=${opts.kubeconfig} ${bin} ${args.join(" ")}\n`);
  // controller-runtime reads the kubeconfig from $KUBECONFIG (its --kubeconfig flag is a Go flag
  // that ESO's cobra command does not parse).
  const child = spawn(bin, args, {
    stdio: ["ignore", fd, fd],
    env: { ...process.env, KUBECONFIG: opts.kubeconfig },
  });
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
  if (!pid) throw new TestbedError(`external-secrets: could not start ${bin}`);
  const metricsUrl = `http://127.0.0.1:${port}/metrics`;
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
      throw new TestbedError(
        `external-secrets ${exited} during startup; last lines of ${logFile}:\n${tail(logFile)}`,
      );
    if (await metricsUp(metricsUrl)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new TestbedError(
        `external-secrets did not serve ${metricsUrl} in time; last lines of ${logFile}:\n${tail(logFile)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  log(`external-secrets ${version} running (pid ${pid}, metrics ${metricsUrl}, log ${logFile})`);
  return { pid, version, metricsUrl, logFile, stop };
}

async function main(argv: string[]): Promise<number> {
  switch (argv[0]) {
    case "build": {
      const r = await ensureEso();
      process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      return 0;
    }
    case "run": {
      const eso = await startEso({ kubeconfig: path.join(REPO_ROOT, ".cache", "kubeconfig") });
      process.stdout.write(`external-secrets pid ${eso.pid}; log ${eso.logFile}; Ctrl-C stops it\n`);
      await new Promise<void>((resolve) => process.once("SIGINT", () => void eso.stop().then(resolve)));
      return 0;
    }
    default:
      process.stderr.write("usage: node e2e/controlplane/eso.ts build|run\n");
      return 2;
  }
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(import.meta.url))) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`meshward test bed: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(e instanceof TestbedError ? e.exitCode : 1);
    },
  );
}
