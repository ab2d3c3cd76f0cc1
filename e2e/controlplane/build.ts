// Builds (or reuses) the control plane binaries, and the helm CLI the chart tests use, from the Go
// wrapper modules in this directory. Binaries live outside the repository, in
//   ${XDG_CACHE_HOME:-$HOME/.cache}/meshward/controlplane/<key>/
// where <key> hashes the wrapper's go.mod, go.sum, Go sources and build flags.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { sleep } from "../../test-support/harness/wait.ts";
import { formatElapsed, startProgress } from "./progress.ts";

export const CONTROLPLANE_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(CONTROLPLANE_DIR, "..", "..");

const MIN_GO_MINOR = 26;
export const GO_MISSING_MESSAGE =
  "meshward test bed: Go >= 1.26 is needed to build the control plane (apt-get install golang or see https://go.dev/doc/install)";

/** An expected failure: the CLI prints `message` alone (no stack) and exits with `exitCode`. */
export class TestbedError extends Error {
  exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = "TestbedError";
    this.exitCode = exitCode;
  }
}

export type Binaries = {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  /** kubernetes version baked into the binaries, e.g. v1.36.3 */
  kubernetesVersion: string;
  /** etcd server module version, e.g. v3.6.16 */
  etcdVersion: string;
};

/** A Go program built from a wrapper module in this directory (see ensureGoTool). */
export type Component = {
  name: string;
  moduleDir: string;
  packages: string[];
  outputs: string[];
  ldflags: string;
  version: string;
  /** build tags (`go build -tags`), as the upstream release build sets them */
  tags?: string[];
};

export function log(msg: string): void {
  process.stderr.write(`[testbed] ${msg}\n`);
}

export function cacheRoot(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return path.join(base, "meshward", "controlplane");
}

/** Finds a Go >= 1.26 toolchain: $GO, `go` on PATH, then /usr/local/go/bin/go. */
export function findGo(): string {
  const candidates = [process.env.GO, "go", "/usr/local/go/bin/go"].filter((c): c is string => !!c);
  for (const go of candidates) {
    const r = spawnSync(go, ["env", "GOVERSION"], {
      encoding: "utf8",
      env: { ...process.env, GOTOOLCHAIN: "local" },
    });
    if (r.error || r.status !== 0) continue;
    const m = /^go1\.(\d+)/.exec(r.stdout.trim());
    if (m && Number(m[1]) >= MIN_GO_MINOR) return go;
  }
  throw new TestbedError(GO_MISSING_MESSAGE, 2);
}

/** Environment for every go invocation: no toolchain switching, no cgo, no user GOFLAGS surprises. */
export function goEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GOTOOLCHAIN: "local",
    CGO_ENABLED: "0",
    GOFLAGS: "-mod=readonly -buildvcs=false",
    ...extra,
  };
}

export function requireVersion(gomod: string, module: string): string {
  const re = new RegExp(
    `^\\s*(?:require\\s+)?${module.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}\\s+(v\\S+)`,
    "m",
  );
  const v = re.exec(gomod)?.[1];
  if (!v) throw new TestbedError(`cannot find ${module} in go.mod`);
  return v;
}

function components(): Component[] {
  const etcdDir = path.join(CONTROLPLANE_DIR, "etcd");
  const k8sDir = path.join(CONTROLPLANE_DIR, "kubernetes");
  const etcdVersion = requireVersion(
    fs.readFileSync(path.join(etcdDir, "go.mod"), "utf8"),
    "go.etcd.io/etcd/server/v3",
  );
  const k8sVersion = requireVersion(
    fs.readFileSync(path.join(k8sDir, "go.mod"), "utf8"),
    "k8s.io/kubernetes",
  );
  const vm = /^v(\d+)\.(\d+)\.\d+/.exec(k8sVersion);
  if (!vm) throw new TestbedError(`unexpected k8s.io/kubernetes version ${k8sVersion}`);
  // Same variables as upstream's hack/lib/version.sh sets, so /version and the
  // User-Agent of the components' clients tell the truth. The module zip carries
  // no commit id: report none (shown as "unknown") rather than "$Format:%H$".
  const versionFlags = ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"]
    .flatMap((pkg) => [
      `-X ${pkg}.gitVersion=${k8sVersion}`,
      `-X ${pkg}.gitMajor=${vm[1]}`,
      `-X ${pkg}.gitMinor=${vm[2]}`,
      `-X ${pkg}.gitCommit=`,
      `-X ${pkg}.gitTreeState=clean`,
    ])
    .join(" ");
  return [
    {
      name: "etcd",
      moduleDir: etcdDir,
      packages: ["."],
      outputs: ["etcd"],
      ldflags: "-s -w",
      version: etcdVersion,
    },
    {
      name: "kubernetes",
      moduleDir: k8sDir,
      packages: ["k8s.io/kubernetes/cmd/kube-apiserver", "k8s.io/kubernetes/cmd/kube-controller-manager"],
      outputs: ["kube-apiserver", "kube-controller-manager"],
      ldflags: `-s -w ${versionFlags}`,
      version: k8sVersion,
    },
  ];
}

/** The helm CLI (helm/ wrapper module), versioned like upstream's Makefile does it. */
function helmComponent(): Component {
  const dir = path.join(CONTROLPLANE_DIR, "helm");
  const gomod = fs.readFileSync(path.join(dir, "go.mod"), "utf8");
  const version = requireVersion(gomod, "helm.sh/helm/v3");
  // Upstream derives the default Kubernetes version of `helm template`/`lint` from client-go's
  // module version (v0.X.Y -> 1.X), for both the chartutil capabilities and the lint rules.
  const cg = /^v0\.(\d+)\./.exec(requireVersion(gomod, "k8s.io/client-go"));
  if (!cg) throw new TestbedError("unexpected k8s.io/client-go version in helm/go.mod");
  const ldflags = [
    "-s -w",
    `-X helm.sh/helm/v3/internal/version.version=${version}`,
    "-X helm.sh/helm/v3/internal/version.gitCommit=",
    "-X helm.sh/helm/v3/internal/version.gitTreeState=clean",
    ...["pkg/lint/rules", "pkg/chartutil"].flatMap((pkg) => [
      `-X helm.sh/helm/v3/${pkg}.k8sVersionMajor=1`,
      `-X helm.sh/helm/v3/${pkg}.k8sVersionMinor=${cg[1]}`,
    ]),
  ].join(" ");
  return {
    name: "helm",
    moduleDir: dir,
    packages: ["helm.sh/helm/v3/cmd/helm"],
    outputs: ["helm"],
    ldflags,
    version,
  };
}

function buildArgs(c: Component, outDir: string): string[] {
  const tags = c.tags?.length ? ["-tags", c.tags.join(",")] : [];
  return ["build", "-trimpath", ...tags, "-ldflags", c.ldflags, "-o", outDir + path.sep, ...c.packages];
}

/** Short hash of the wrapper module (go.mod, go.sum, *.go) plus build flags and target platform. */
function componentKey(c: Component): string {
  const h = createHash("sha256");
  const files = fs
    .readdirSync(c.moduleDir)
    .filter((f) => f === "go.mod" || f === "go.sum" || f.endsWith(".go"))
    .sort();
  for (const f of files) {
    h.update(`${f}\0`);
    h.update(fs.readFileSync(path.join(c.moduleDir, f)));
    h.update("\0");
  }
  h.update(
    JSON.stringify({
      args: buildArgs(c, "OUT"),
      env: goEnv({}).GOFLAGS,
      cgo: 0,
      platform: `${process.platform}/${process.arch}`,
    }),
  );
  return `${c.name}-${c.version}-${h.digest("hex").slice(0, 12)}`;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Simple cross-process lock (mkdir is atomic); stale locks of dead processes are taken over. */
export async function withLock<T>(dir: string, fn: () => Promise<T>, what = "build"): Promise<T> {
  const lock = `${dir}.lock`;
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  let announced = false;
  let stopProgress: (() => void) | undefined;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, "pid"), String(process.pid));
      stopProgress?.();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") {
        stopProgress?.();
        throw e;
      }
      let owner = 0;
      try {
        owner = Number(fs.readFileSync(path.join(lock, "pid"), "utf8"));
      } catch {
        // lock dir created but pid not yet written
      }
      if (owner && !pidAlive(owner)) {
        fs.rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (!announced) {
        // A build's log is in <dir>.tmp-<pid>/ while it runs.
        const theirLog = what === "build" && owner ? `${dir}.tmp-${owner}/build.log` : undefined;
        log(
          `waiting for another ${what} (pid ${owner || "?"}) to finish: ${lock}${theirLog ? `; follow it: tail -f ${theirLog}` : ""}`,
        );
        stopProgress = startProgress(`waiting for another ${what} (pid ${owner || "?"})`, log, {
          ...(theirLog && { logFile: theirLog }),
        });
        announced = true;
      }
      await sleep(1000);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

function tail(file: string, lines: number): string {
  try {
    const text = fs.readFileSync(file, "utf8").trimEnd().split("\n");
    return text.slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

async function buildComponent(go: string, c: Component): Promise<string> {
  const dir = path.join(cacheRoot(), componentKey(c));
  const have = () => c.outputs.every((o) => fs.existsSync(path.join(dir, o)));
  if (have()) return dir;
  return withLock(dir, async () => {
    if (have()) return dir;
    const tmp = `${dir}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    const buildLog = path.join(tmp, "build.log");
    const args = buildArgs(c, tmp);
    const step = `building ${c.outputs.join(", ")} ${c.version}`;
    log(`${step} (a first build takes minutes; follow it: tail -f ${buildLog})`);
    const stopProgress = startProgress(step, log, { logFile: buildLog });
    const started = Date.now();
    const fd = fs.openSync(buildLog, "w");
    fs.writeSync(
      fd,
      `$ cd ${c.moduleDir} && ${go} ${args.map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(" ")}\n`,
    );
    const code = await new Promise<number>((resolve) => {
      const child = spawn(go, args, { cwd: c.moduleDir, env: goEnv(), stdio: ["ignore", fd, fd] });
      child.on("error", () => resolve(-1));
      child.on("exit", (status) => resolve(status ?? -1));
    }).finally(stopProgress);
    fs.closeSync(fd);
    if (code !== 0) {
      const failedLog = path.join(cacheRoot(), `${c.name}-build-failed.log`);
      fs.copyFileSync(buildLog, failedLog);
      fs.rmSync(tmp, { recursive: true, force: true });
      throw new TestbedError(
        `go build of ${c.name} failed (exit ${code}); last lines of ${failedLog}:\n${tail(failedLog, 20)}`,
      );
    }
    const secs = ((Date.now() - started) / 1000).toFixed(0);
    fs.appendFileSync(buildLog, `built in ${secs}s\n`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
    log(
      `built ${c.name} in ${formatElapsed(Date.now() - started)} -> ${dir} (log: ${path.join(dir, "build.log")})`,
    );
    return dir;
  });
}

/** Returns the binaries, building them first if the cache has none for the current go.mod/go.sum. */
export async function ensureBinaries(): Promise<Binaries> {
  const dirs = new Map<string, { dir: string; version: string }>();
  let go = "";
  for (const c of components()) {
    let dir = path.join(cacheRoot(), componentKey(c));
    if (!c.outputs.every((o) => fs.existsSync(path.join(dir, o)))) {
      go ||= findGo();
      dir = await buildComponent(go, c);
    }
    dirs.set(c.name, { dir, version: c.version });
  }
  const etcd = dirs.get("etcd") as { dir: string; version: string };
  const k8s = dirs.get("kubernetes") as { dir: string; version: string };
  return {
    etcd: path.join(etcd.dir, "etcd"),
    kubeApiserver: path.join(k8s.dir, "kube-apiserver"),
    kubeControllerManager: path.join(k8s.dir, "kube-controller-manager"),
    kubernetesVersion: k8s.version,
    etcdVersion: etcd.version,
  };
}

/**
 * Builds (or finds in the cache) any Go program described by `c` and returns the directory that
 * holds its outputs. New tools of the test bed (istioctl, ESO, Kyverno, gopher-lua, actionlint...)
 * each describe their wrapper module in a file of their own and call this.
 */
export async function ensureGoTool(c: Component): Promise<string> {
  const dir = path.join(cacheRoot(), componentKey(c));
  if (c.outputs.every((o) => fs.existsSync(path.join(dir, o)))) return dir;
  return buildComponent(findGo(), c);
}

/** Returns the helm binary, building it first (about a minute or two, see README) if not cached. */
export async function ensureHelm(): Promise<{ helm: string; version: string }> {
  const c = helmComponent();
  const dir = await ensureGoTool(c);
  return { helm: path.join(dir, "helm"), version: c.version };
}

export type ModuleDownload = { Path: string; Version: string; Dir?: string; GoMod?: string; Error?: string };

/**
 * `go mod download MOD@VER` without blocking the event loop, with the progress lines of a long
 * step (a first download of a large module can take minutes on a slow link). Then goModDownload
 * finds it in the module cache at once.
 */
export async function goModDownloadAsync(module: string, version: string): Promise<void> {
  const go = findGo();
  const step = `downloading ${module}@${version} (go mod download)`;
  const started = Date.now();
  log(step);
  const stop = startProgress(step, log);
  const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
    let stderr = "";
    const child = spawn(go, ["mod", "download", `${module}@${version}`], {
      cwd: os.tmpdir(),
      env: goEnv({ GOFLAGS: "", GO111MODULE: "on" }),
      stdio: ["ignore", "ignore", "pipe"],
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", (e) => resolve({ code: -1, stderr: e.message }));
    child.on("exit", (status) => resolve({ code: status ?? -1, stderr }));
  }).finally(stop);
  if (r.code !== 0)
    throw new TestbedError(
      `go mod download ${module}@${version} failed: ${r.stderr.trim().split("\n").pop() || `exit ${r.code}`}`,
    );
  log(`downloaded ${module}@${version} in ${formatElapsed(Date.now() - started)}`);
}

/** `go mod download -json MOD@VER`: fetched through GOPROXY and verified against the checksum database. */
export function goModDownload(module: string, version: string): ModuleDownload {
  const go = findGo();
  const r = spawnSync(go, ["mod", "download", "-json", `${module}@${version}`], {
    cwd: os.tmpdir(),
    encoding: "utf8",
    env: goEnv({ GOFLAGS: "", GO111MODULE: "on" }),
    maxBuffer: 16 * 1024 * 1024,
  });
  let info: ModuleDownload | undefined;
  try {
    info = JSON.parse(r.stdout) as ModuleDownload;
  } catch {
    // fall through
  }
  if (r.status !== 0 || !info || info.Error || !info.Dir) {
    const why = info?.Error || r.stderr.trim().split("\n").pop() || r.error?.message || `exit ${r.status}`;
    throw new TestbedError(`go mod download ${module}@${version} failed: ${why}`);
  }
  return info;
}
