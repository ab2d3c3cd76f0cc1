// Shared by the benchmark and the soak: fleets of profiles, a bare-client floor, the operator as a process.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { API_VERSION, KIND, type ProfileStatus } from "../operator/api/schema.ts";
import { validateProfile } from "../operator/api/validate.ts";
import {
  buildNamespaceDefaultDeny,
  buildProfile,
  indexProfiles,
  makeContext,
} from "../operator/builders/index.ts";
import type { KubeObject } from "../operator/builders/meta.ts";
import { type KubeClient, type KubeObjectLike, resourcePath } from "../operator/runtime/client.ts";
import { Informer } from "../operator/runtime/informer.ts";
import { createLogger } from "../operator/runtime/log.ts";
import { CHILD_KINDS, PROFILES } from "../operator/reconcile/kinds.ts";
import { buildStatus } from "../operator/reconcile/status.ts";
import {
  applyNamespace,
  deleteNamespaces as deleteNamespacesAndWait,
} from "../test-support/harness/namespaces.ts";
import {
  killOperators,
  type OperatorProcess,
  startOperator as startHarnessOperator,
  sumMetric,
} from "../test-support/harness/operator.ts";
import { sleep } from "../test-support/harness/wait.ts";
import { readState } from "../e2e/controlplane/state.ts";

const ROOT = path.resolve(import.meta.dirname, "..");

export const log = (m: string) => process.stdout.write(`[bench] ${m}\n`);

export async function pool<T>(
  items: T[],
  width: number,
  fn: (t: T, i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i] as T, i);
      }
    }),
  );
}

export function spec(i: number, count: number) {
  const name = (k: number) => `svc-${((k % count) + count) % count}`;
  return {
    selector: { app: name(i) },
    ingress: [
      {
        from: [{ service: name(i + 1) }, { namespace: "gateways" }],
        ports: [8080],
        http: { methods: ["GET", "POST"], paths: ["/v1/*"] },
      },
    ],
    egress: {
      to: [
        { service: name(i - 1), ports: [8080] },
        { cidr: "10.20.0.0/16", ports: [5432] },
      ],
    },
    secrets: [
      {
        name: `${name(i)}-db`,
        storeRef: { name: "vault" },
        data: [{ secretKey: "password", remoteRef: { key: name(i) } }],
      },
    ],
  };
}

export interface Fleet {
  namespaces: string[];
  profiles: { namespace: string; name: string }[];
  /** The namespaces labelled for Istio's ambient mode (the others have no data-plane label: sidecar). */
  ambient?: ReadonlySet<string>;
}

/** Istio's label that puts a namespace in ambient mode. */
const AMBIENT = { "istio.io/dataplane-mode": "ambient" };

/**
 * Creates `count` profiles, `perNs` per namespace; references stay inside a namespace. With
 * `ambientEvery` N > 0, every Nth namespace (the first included) is labelled for ambient mode.
 */
export async function createFleet(
  client: KubeClient,
  prefix: string,
  count: number,
  perNs: number,
  ambientEvery = 0,
): Promise<Fleet> {
  const namespaces = Array.from({ length: Math.ceil(count / perNs) }, (_, i) => `${prefix}-${i}`);
  const ambient = new Set(namespaces.filter((_, i) => ambientEvery > 0 && i % ambientEvery === 0));
  for (const ns of namespaces) started.namespaces.add(ns);
  await pool(namespaces, 8, (ns) =>
    applyNamespace(client, ns, "bench", ambient.has(ns) ? AMBIENT : undefined),
  );
  const profiles = Array.from({ length: count }, (_, i) => ({
    namespace: namespaces[Math.floor(i / perNs)] as string,
    name: `svc-${i % perNs}`,
    i: i % perNs,
  }));
  await pool(profiles, 8, async (p) => {
    await client.apply(
      resourcePath(PROFILES, p.namespace, p.name),
      {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name: p.name, namespace: p.namespace },
        spec: spec(p.i, Math.min(perNs, count)),
      },
      "bench",
      true,
    );
  });
  return { namespaces, profiles, ambient };
}

/** Deletes the namespaces and waits until they are gone (their profiles and objects with them). */
export async function deleteNamespaces(client: KubeClient, namespaces: string[]): Promise<void> {
  for (const ns of namespaces) started.namespaces.delete(ns);
  await deleteNamespacesAndWait(client, namespaces);
}

/**
 * The floor: a bare client applying the same objects (each profile's, and each namespace's default
 * deny, and in ambient its shared waypoint, before its first profile's) plus one status patch per
 * profile.
 */
export async function floor(client: KubeClient, fleet: Fleet, concurrency: number): Promise<number> {
  // Untimed: the profiles' uids, 16 reads at a time (10,000 at once open as many connections, and
  // the API server answers some of them after the client's 30 s deadline).
  const raws: KubeObjectLike[] = [];
  await pool(fleet.profiles, 16, async (p, i) => {
    raws[i] = await client.get<KubeObjectLike>(resourcePath(PROFILES, p.namespace, p.name));
  });
  const parsed = raws.map((r) => {
    const v = validateProfile(r);
    if (!v.ok) throw new Error("bench profile invalid");
    v.profile.metadata.uid = r.metadata?.uid as string;
    return v.profile;
  });
  const sidecar = makeContext({ profiles: indexProfiles(parsed) });
  const ambient = { ...sidecar, meshMode: "ambient" as const };
  const firsts = new Set<string>();
  const waypoints = new Set<string>();
  const t0 = performance.now();
  await pool(parsed, concurrency, async (p) => {
    const namespace = p.metadata.namespace;
    const built = buildProfile(p, fleet.ambient?.has(namespace) ? ambient : sidecar);
    const shared: KubeObject[] = firsts.has(namespace) ? [] : [buildNamespaceDefaultDeny(namespace)];
    firsts.add(namespace);
    if (built.shared?.length && !waypoints.has(namespace)) {
      waypoints.add(namespace);
      shared.push(...built.shared);
    }
    for (const o of [...shared, ...built.objects]) {
      const kind = CHILD_KINDS.find((k) => k.resource.kind === o.kind);
      if (!kind) continue;
      await client.apply(
        resourcePath(kind.resource, o.metadata.namespace, o.metadata.name),
        o,
        "bench-floor",
        false,
      );
    }
    const status: ProfileStatus = buildStatus(
      {
        generation: 1,
        objects: [],
        conflicts: [],
        drift: [],
        missing: [],
        warnings: [],
        failures: [],
        exceptions: [],
      },
      undefined,
      new Date(),
    );
    await client.apply(
      resourcePath(PROFILES, p.metadata.namespace, p.metadata.name, "status"),
      {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name: p.metadata.name, namespace: p.metadata.namespace },
        status,
      },
      "bench-floor-status",
      true,
    );
  });
  return performance.now() - t0;
}

/** Namespaces the bench created and has not deleted yet: cleanup() deletes them, whatever happens. */
export const started = { namespaces: new Set<string>() };

/** Stops every operator the bench started and, given a client, deletes the namespaces it created. */
export async function cleanup(client: KubeClient | undefined): Promise<void> {
  killOperators();
  const namespaces = [...started.namespaces];
  started.namespaces.clear();
  if (client && namespaces.length > 0) {
    log(`cleaning up ${namespaces.length} namespaces…`);
    await deleteNamespacesAndWait(client, namespaces).catch((e: unknown) =>
      log(`could not delete every namespace: ${e instanceof Error ? e.message : String(e)}`),
    );
  }
}

export type Op = OperatorProcess;

/** The compiled operator, as the image runs it (buildOperator() makes it). */
export const OPERATOR_ENTRY = path.join(ROOT, "dist/operator/main.js");

/** Compiles the operator (npm run build) so that the bench measures what the image runs. */
export function buildOperator(): void {
  log("compiling the operator (npm run build): the bench runs dist/, as the image does…");
  execFileSync("npm", ["run", "--silent", "build"], { cwd: ROOT, stdio: "inherit" });
}

/**
 * The node flags of the image's ENTRYPOINT (`["node", <flags>…, "dist/operator/main.js"]`): the
 * Dockerfile is their one source, so the bench measures the operator with the flags it ships with.
 */
export function imageNodeFlags(dockerfile: string): string[] {
  const line = dockerfile.split("\n").find((l) => l.startsWith("ENTRYPOINT "));
  if (!line) throw new Error("the Dockerfile has no ENTRYPOINT");
  const argv = JSON.parse(line.slice("ENTRYPOINT ".length)) as unknown;
  if (!Array.isArray(argv) || argv[0] !== "node" || argv.at(-1) !== "dist/operator/main.js")
    throw new Error(`ENTRYPOINT is not ["node", <flags>…, "dist/operator/main.js"]: ${line}`);
  return argv.slice(1, -1).map(String);
}

/**
 * The environment the image's runtime stage sets (`ENV NAME=value …` lines after the last `FROM`),
 * e.g. MALLOC_ARENA_MAX: like the node flags, the bench takes it from the Dockerfile.
 */
export function imageEnv(dockerfile: string): Record<string, string> {
  const lines = dockerfile.split("\n");
  const lastFrom = lines.findLastIndex((l) => l.startsWith("FROM "));
  const env: Record<string, string> = {};
  for (const line of lines.slice(lastFrom + 1).filter((l) => l.startsWith("ENV "))) {
    for (const word of line.slice("ENV ".length).trim().split(/\s+/)) {
      const eq = word.indexOf("=");
      if (eq < 1 || /["'\\$]/.test(word))
        throw new Error(`ENV is not NAME=value words without quotes or variables: ${line}`);
      env[word.slice(0, eq)] = word.slice(eq + 1);
    }
  }
  return env;
}

/** The project's Dockerfile's node flags and environment: what the bench runs the operator with. */
export function imageSettings(): { nodeFlags: string[]; env: Record<string, string> } {
  const dockerfile = fs.readFileSync(path.join(ROOT, "Dockerfile"), "utf8");
  return { nodeFlags: imageNodeFlags(dockerfile), env: imageEnv(dockerfile) };
}

/**
 * The operator with the bench's settings: the compiled operator with the image's node flags and
 * environment (unless `nodeArgs` is given), `concurrency` workers, warn logs in .cache/, 300 s to
 * get ready.
 */
export function startOperator(
  kubeconfig: string,
  concurrency: number,
  extra: string[] = [],
  nodeArgs?: string[],
): Promise<Op> {
  if (!fs.existsSync(OPERATOR_ENTRY))
    throw new Error(`${OPERATOR_ENTRY} is missing: call buildOperator() first`);
  const image = imageSettings();
  return startHarnessOperator({
    kubeconfig,
    name: "bench-operator",
    logDir: path.join(ROOT, ".cache"),
    logLevel: "warn",
    entry: OPERATOR_ENTRY,
    nodeArgs: nodeArgs ?? image.nodeFlags,
    env: nodeArgs ? {} : image.env,
    args: ["--concurrency", String(concurrency), ...extra],
    readyTimeoutMs: 300_000,
  });
}

/**
 * Another controller's condition on every profile (status server-side applied by its own field
 * manager): meshward must not write because of it.
 */
export async function addForeignConditions(client: KubeClient, fleet: Fleet): Promise<void> {
  await pool(fleet.profiles, 8, async (p) => {
    await client.apply(
      resourcePath(PROFILES, p.namespace, p.name, "status"),
      {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name: p.name, namespace: p.namespace },
        status: {
          conditions: [
            {
              type: "example.com/Audited",
              status: "True",
              reason: "Reviewed",
              message: "written by another controller",
              lastTransitionTime: new Date().toISOString(),
            },
          ],
        },
      },
      "bench-other-controller",
      true,
    );
  });
}

/** Ready at the profile's current generation, with meshward's Ready condition True. */
export function isReady(p: KubeObjectLike & { status?: ProfileStatus }): boolean {
  return (
    p.status?.observedGeneration === p.metadata?.generation &&
    (p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false)
  );
}

export interface ReadyWatch {
  /** Resolves once `count` profiles of the namespaces are Ready at once; rejects after `timeoutMs`. */
  wait(count: number, timeoutMs?: number): Promise<void>;
  stop(): void;
}

/**
 * Follows the readiness of the profiles of `namespaces` with one watch (the runtime's informer), so
 * that measuring costs the API server one event per status write, not a list of every pending
 * namespace every 200 ms (load the floor never has). Resolves once the initial list is cached: start
 * it before the clock.
 */
export async function watchReady(client: KubeClient, namespaces: string[]): Promise<ReadyWatch> {
  const wanted = new Set(namespaces);
  const ready = new Set<string>();
  let changed: (() => void) | undefined;
  const stop = new AbortController();
  const informer = new Informer<KubeObjectLike>({
    client,
    resource: PROFILES,
    log: createLogger("error"),
    // Only what readiness needs is kept.
    transform: (o) => {
      const p = o as KubeObjectLike & { status?: ProfileStatus };
      const m = p.metadata ?? {};
      return {
        metadata: { name: m.name, namespace: m.namespace, resourceVersion: m.resourceVersion },
        ready: isReady(p),
      } as KubeObjectLike;
    },
  });
  informer.on((type, o) => {
    const ns = o.metadata?.namespace ?? "";
    if (!wanted.has(ns)) return;
    const key = `${ns}/${o.metadata?.name ?? ""}`;
    if (type !== "delete" && (o as { ready?: boolean }).ready) ready.add(key);
    else ready.delete(key);
    changed?.();
  });
  void informer.start(stop.signal);
  await informer.waitForSync(stop.signal);
  return {
    async wait(count, timeoutMs = 900_000) {
      const deadline = Date.now() + timeoutMs;
      while (ready.size < count) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`only ${ready.size}/${count} Ready after ${timeoutMs / 1000}s`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(left, 1000));
          changed = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        changed = undefined;
      }
    },
    stop: () => stop.abort(),
  };
}

/** Waits until `count` profiles of the namespaces are Ready (one watch; see watchReady). */
export async function waitAllReady(
  client: KubeClient,
  namespaces: string[],
  count: number,
  timeoutMs = 900_000,
): Promise<void> {
  const w = await watchReady(client, namespaces);
  try {
    await w.wait(count, timeoutMs);
  } finally {
    w.stop();
  }
}

export async function settle(op: Op): Promise<void> {
  // Settled: queue empty and no reconcile for a second.
  let last = -1;
  for (;;) {
    const n = await op.metric("controller_runtime_reconcile_total");
    const depth = await op.metric("workqueue_depth");
    if (n === last && depth === 0) return;
    last = n;
    await sleep(1000);
  }
}

/**
 * CPU used so far (ms) by the local test bed's etcd and kube-apiserver, from the bed's state file;
 * undefined for another cluster. The difference over a phase is the server's work for it.
 */
export function serverCpuMs(): number | undefined {
  const pids = readState()?.pids;
  if (pids?.etcd === undefined || pids.kubeApiserver === undefined) return undefined;
  return (readProc(pids.etcd).cpuTicks + readProc(pids.kubeApiserver).cpuTicks) * 10;
}

export function readProc(pid: number): { rssMb: number; cpuTicks: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return { rssMb: rss, cpuTicks: Number(stat[11]) + Number(stat[12]) };
}

/** Where a process's RSS is (MB): anonymous memory (V8's heap and the rest), the node binary's own pages, malloc's heap, everything else. */
export interface RssParts {
  anonymous: number;
  binary: number;
  malloc: number;
  other: number;
}

/** Sums the Rss lines of /proc/PID/smaps by mapping; `binary` is the mapping of the file `exe`. */
export function rssParts(smaps: string, exe: string): RssParts {
  const kb = { anonymous: 0, binary: 0, malloc: 0, other: 0 };
  let part: keyof RssParts = "other";
  for (const line of smaps.split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const name = head[1] ?? "";
      part = name === "" ? "anonymous" : name === exe ? "binary" : name === "[heap]" ? "malloc" : "other";
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) kb[part] += Number(rss[1]);
  }
  const mb = (k: number) => +(k / 1024).toFixed(1);
  return { anonymous: mb(kb.anonymous), binary: mb(kb.binary), malloc: mb(kb.malloc), other: mb(kb.other) };
}

/** RssParts of a running process (Linux). */
export function readRssParts(pid: number): RssParts {
  return rssParts(fs.readFileSync(`/proc/${pid}/smaps`, "utf8"), fs.readlinkSync(`/proc/${pid}/exe`));
}

export function formatRssParts(p: RssParts): string {
  return `anonymous ${p.anonymous}, node binary ${p.binary}, malloc ${p.malloc}, other ${p.other}`;
}

/** The median: the middle value, or the mean of the two middle values of an even count. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length / 2;
  return Number.isInteger(mid) ? ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2 : (s[Math.floor(mid)] ?? NaN);
}

/** Nearest-rank percentile (for latencies: always one of the measured values). */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

/**
 * Where the operator's time went between two scrapes of its metrics: reconciles and their mean
 * length, the mean wait in the queue, and V8's garbage-collection pauses by kind (count, seconds,
 * and how many took 100 ms or more). Explains a latency figure from the operator's side.
 */
export function timeBreakdown(before: Map<string, number>, after: Map<string, number>): string {
  const d = (name: string, labels?: Record<string, string>) =>
    sumMetric(after, name, labels) - sumMetric(before, name, labels);
  const ms = (s: number, n: number) =>
    n === 0 ? "–" : s / n >= 10 ? `${(s / n).toFixed(0)} s` : `${((s / n) * 1000).toFixed(1)} ms`;
  const reconciles = d("controller_runtime_reconcile_time_seconds_count");
  const waits = d("workqueue_queue_duration_seconds_count");
  // The tails a mean hides: reconciles of 50 ms or more, queue waits of 10 ms or more (bucket bounds).
  const over = (name: string, n: number, le: string, label: string) => {
    const long = n - d(`${name}_bucket`, { le });
    return long > 0 ? `, ${long} ≥ ${label}` : "";
  };
  const parts = [
    `${reconciles} reconciles, mean ${ms(d("controller_runtime_reconcile_time_seconds_sum"), reconciles)}${over("controller_runtime_reconcile_time_seconds", reconciles, "0.05", "50 ms")}`,
    `mean queue wait ${ms(d("workqueue_queue_duration_seconds_sum"), waits)}${over("workqueue_queue_duration_seconds", waits, "0.01", "10 ms")}`,
  ];
  for (const kind of ["major", "minor", "incremental"]) {
    const count = d("nodejs_gc_duration_seconds_count", { kind });
    if (count === 0) continue;
    const long = count - d("nodejs_gc_duration_seconds_bucket", { kind, le: "0.1" });
    const secs = d("nodejs_gc_duration_seconds_sum", { kind });
    parts.push(`GC ${kind} ${count} (${secs.toFixed(2)} s${long > 0 ? `, ${long} ≥ 100 ms` : ""})`);
  }
  return parts.join("; ");
}
