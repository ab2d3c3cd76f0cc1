// `npm run bench`: performance goals of the operator, measured on the test bed (or $KUBECONFIG with
// --use-kubeconfig). Writes docs/benchmarks.md. Not a test: it reports figures and targets.
//
//   npm run bench -- [--profiles 1000] [--per-namespace 10] [--single 500] [--drift 100]
//                    [--quiet-minutes 10] [--concurrency 4] [--out docs/benchmarks.md]
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import { up } from "../e2e/controlplane/cluster.ts";
import { API_VERSION, KIND, type ProfileStatus } from "../operator/api/schema.ts";
import { validateProfile } from "../operator/api/validate.ts";
import { buildProfile, indexProfiles, makeContext } from "../operator/builders/index.ts";
import { ApiError, KubeClient, type KubeObjectLike, resourcePath } from "../operator/runtime/client.ts";
import { CHILD_KINDS, PROFILES } from "../operator/reconcile/kinds.ts";
import { buildStatus } from "../operator/reconcile/status.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const { values: args } = parseArgs({
  options: {
    profiles: { type: "string", default: "1000" },
    "per-namespace": { type: "string", default: "10" },
    single: { type: "string", default: "500" },
    drift: { type: "string", default: "100" },
    "quiet-minutes": { type: "string", default: "10" },
    concurrency: { type: "string", default: "4" },
    out: { type: "string", default: path.join(ROOT, "docs/benchmarks.md") },
    "use-kubeconfig": { type: "boolean", default: false },
  },
});
const N = Number(args.profiles);
const PER_NS = Number(args["per-namespace"]);
const SINGLE = Number(args.single);
const DRIFT = Number(args.drift);
const QUIET_MIN = Number(args["quiet-minutes"]);
const CONC = Number(args.concurrency);
const NAMESPACES = { group: "", version: "v1", plural: "namespaces", kind: "Namespace", namespaced: false };

const log = (m: string) => process.stdout.write(`[bench] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function pool<T>(items: T[], width: number, fn: (t: T, i: number) => Promise<void>): Promise<void> {
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

function spec(i: number, count: number) {
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

interface Fleet {
  namespaces: string[];
  profiles: { namespace: string; name: string }[];
}

/** Creates `count` profiles, `perNs` per namespace; references stay inside a namespace. */
async function createFleet(client: KubeClient, prefix: string, count: number, perNs: number): Promise<Fleet> {
  const namespaces = Array.from({ length: Math.ceil(count / perNs) }, (_, i) => `${prefix}-${i}`);
  await pool(namespaces, 8, async (ns) => {
    await client.apply(
      resourcePath(NAMESPACES, undefined, ns),
      { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
      "bench",
      true,
    );
  });
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
  return { namespaces, profiles };
}

async function deleteNamespaces(client: KubeClient, namespaces: string[]): Promise<void> {
  await pool(namespaces, 8, async (ns) => {
    await client.delete(resourcePath(NAMESPACES, undefined, ns)).catch(() => undefined);
  });
  for (;;) {
    const list = await client.get<{ items: KubeObjectLike[] }>(resourcePath(NAMESPACES));
    const left = list.items.filter((n) => namespaces.includes(n.metadata?.name ?? "")).length;
    if (left === 0) return;
    await sleep(500);
  }
}

/** The floor: a bare client applying the same objects plus one status patch per profile. */
async function floor(client: KubeClient, fleet: Fleet): Promise<number> {
  const raws = await Promise.all(
    fleet.profiles.map((p) => client.get<KubeObjectLike>(resourcePath(PROFILES, p.namespace, p.name))),
  );
  const parsed = raws.map((r) => {
    const v = validateProfile(r);
    if (!v.ok) throw new Error("bench profile invalid");
    v.profile.metadata.uid = r.metadata?.uid as string;
    return v.profile;
  });
  const ctx = makeContext({ profiles: indexProfiles(parsed) });
  const t0 = performance.now();
  await pool(parsed, CONC, async (p) => {
    const built = buildProfile(p, ctx);
    for (const o of built.objects) {
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

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

interface Op {
  proc: ChildProcess;
  port: number;
  metric(name: string, label?: string): Promise<number>;
  writes(): Promise<number>;
  stop(): Promise<void>;
}

async function startOperator(kubeconfig: string, extra: string[] = []): Promise<Op> {
  const port = await freePort();
  const logFile = path.join(ROOT, `.cache/bench-operator-${Date.now()}.log`);
  const out = fs.openSync(logFile, "w");
  const proc = spawn(
    process.execPath,
    [
      path.join(ROOT, "operator/main.ts"),
      "--kubeconfig",
      kubeconfig,
      "--leader-election",
      "false",
      "--metrics-port",
      String(port),
      "--metrics-host",
      "127.0.0.1",
      "--concurrency",
      String(CONC),
      "--log-level",
      "warn",
      ...extra,
    ],
    { stdio: ["ignore", out, out] },
  );
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  const metric = async (name: string, label?: string) => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    let sum = 0;
    for (const line of text.split("\n")) {
      if (!line.startsWith(name) || (label && !line.includes(label))) continue;
      const rest = line.slice(name.length);
      if (rest[0] !== " " && rest[0] !== "{") continue;
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
    return sum;
  };
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (proc.exitCode !== null) throw new Error(`operator exited; see ${logFile}`);
    await sleep(50);
  }
  return {
    proc,
    port,
    metric,
    async writes() {
      let n = 0;
      for (const verb of ["apply", "create", "update", "patch", "delete"])
        n += await metric("meshward_api_requests_total", `verb="${verb}"`);
      return n;
    },
    async stop() {
      proc.kill("SIGTERM");
      await exited;
    },
  };
}

async function waitAllReady(
  client: KubeClient,
  namespaces: string[],
  count: number,
  timeoutMs = 900_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let ready = 0;
    await pool(namespaces, 8, async (ns) => {
      const list = await client.get<{ items: (KubeObjectLike & { status?: ProfileStatus })[] }>(
        resourcePath(PROFILES, ns),
      );
      ready += list.items.filter(
        (p) =>
          p.status?.observedGeneration === p.metadata?.generation &&
          p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
      ).length;
    });
    if (ready >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${ready}/${count} Ready after ${timeoutMs / 1000}s`);
    await sleep(200);
  }
}

async function settle(op: Op): Promise<void> {
  // Settled: queue empty and no reconcile for a second.
  let last = -1;
  for (;;) {
    const n = await op.metric("meshward_reconciles_total");
    const depth = await op.metric("meshward_queue_depth");
    if (n === last && depth === 0) return;
    last = n;
    await sleep(1000);
  }
}

function readProc(pid: number): { rssMb: number; cpuTicks: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return { rssMb: rss, cpuTicks: Number(stat[11]) + Number(stat[12]) };
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

async function driftLatencies(client: KubeClient, fleet: Fleet, count: number): Promise<number[]> {
  const pa = CHILD_KINDS.find((k) => k.resource.kind === "PeerAuthentication")?.resource;
  const np = CHILD_KINDS.find((k) => k.resource.kind === "NetworkPolicy")?.resource;
  if (!pa || !np) throw new Error("kinds");
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const p = fleet.profiles[(i * 7919) % fleet.profiles.length] as { namespace: string; name: string };
    const t0 = performance.now();
    if (i % 2 === 0) {
      const before = await client.get<KubeObjectLike>(resourcePath(pa, p.namespace, p.name));
      await client.delete(resourcePath(pa, p.namespace, p.name));
      for (;;) {
        const cur = await client
          .get<KubeObjectLike>(resourcePath(pa, p.namespace, p.name))
          .catch((e: unknown) => {
            if (e instanceof ApiError && e.status === 404) return undefined;
            throw e;
          });
        if (cur && cur.metadata?.uid !== before.metadata?.uid) break;
        await sleep(5);
      }
    } else {
      await client.request("PATCH", resourcePath(np, p.namespace, p.name), {
        body: { spec: { policyTypes: ["Ingress"] } },
        contentType: "application/merge-patch+json",
        query: { fieldManager: "bench-intruder" },
      });
      for (;;) {
        const cur = await client.get<{ spec: { policyTypes: string[] } }>(
          resourcePath(np, p.namespace, p.name),
        );
        if (cur.spec.policyTypes.length === 2) break;
        await sleep(5);
      }
    }
    out.push(performance.now() - t0);
  }
  return out;
}

async function main(): Promise<void> {
  const kubeconfig =
    args["use-kubeconfig"] && process.env.KUBECONFIG
      ? process.env.KUBECONFIG
      : (await up({ audit: false })).kubeconfig;
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const client = new KubeClient(kc);
  const version = (await client.get<{ gitVersion: string }>("/version")).gitVersion;
  const results: Record<string, string | number> = {};
  const tag = Date.now().toString(36);

  log(`creating ${N} profiles for the floor and ${N} for the operator (${PER_NS} per namespace)…`);
  const floorFleet = await createFleet(client, `bf${tag}`, N, PER_NS);
  const fleet = await createFleet(client, `bo${tag}`, N, PER_NS);
  log("floor: bare client server-side-applying the same objects + one status patch per profile…");
  const floorMs = await floor(client, floorFleet);
  results.floorSeconds = +(floorMs / 1000).toFixed(2);
  log(`floor ${results.floorSeconds}s; deleting its namespaces…`);
  await deleteNamespaces(client, floorFleet.namespaces);

  log("operator: start → every profile Ready…");
  const t0 = performance.now();
  let op = await startOperator(kubeconfig);
  await waitAllReady(client, fleet.namespaces, N);
  const opMs = performance.now() - t0;
  results.operatorSeconds = +(opMs / 1000).toFixed(2);
  results.ratio = +(opMs / floorMs).toFixed(2);
  results.operatorRequests = await op.metric("meshward_api_requests_total");
  results.operatorWrites = await op.writes();
  log(`operator ${results.operatorSeconds}s (ratio ${results.ratio}); settling…`);
  await settle(op);

  log("idle: RSS and CPU over 30 s…");
  const a = readProc(op.proc.pid as number);
  await sleep(30_000);
  const b = readProc(op.proc.pid as number);
  results.rssMb = +b.rssMb.toFixed(1);
  results.idleCpuPercent = +(((b.cpuTicks - a.cpuTicks) / 100 / 30) * 100).toFixed(2);

  log("restart with every profile in sync: counting writes…");
  await op.stop();
  op = await startOperator(kubeconfig);
  for (;;) {
    if ((await op.metric("meshward_reconciles_total")) >= N) break;
    await sleep(250);
  }
  await settle(op);
  results.restartReconciles = await op.metric("meshward_reconciles_total");
  results.restartWrites = await op.writes();
  await op.stop();

  log("full resync (1-minute resync period): counting writes…");
  op = await startOperator(kubeconfig, ["--resync-minutes", "1"]);
  await settle(op);
  const beforeResync = await op.metric("meshward_reconciles_total");
  const writesBeforeResync = await op.writes();
  await sleep(65_000);
  await settle(op);
  results.resyncReconciles = (await op.metric("meshward_reconciles_total")) - beforeResync;
  results.resyncWrites = (await op.writes()) - writesBeforeResync;
  await op.stop();

  op = await startOperator(kubeconfig);
  await settle(op);
  log(`drift: ${DRIFT} deletes and edits…`);
  const lat = await driftLatencies(client, fleet, DRIFT);
  results.driftP50Ms = Math.round(percentile(lat, 50));
  results.driftP99Ms = Math.round(percentile(lat, 99));
  log(`drift p50 ${results.driftP50Ms} ms, p99 ${results.driftP99Ms} ms; quiet for ${QUIET_MIN} minutes…`);
  await sleep(QUIET_MIN * 60_000);
  const lat2 = await driftLatencies(client, fleet, DRIFT);
  results.quietMinutes = QUIET_MIN;
  results.driftAfterQuietP50Ms = Math.round(percentile(lat2, 50));
  results.driftAfterQuietP99Ms = Math.round(percentile(lat2, 99));
  results.rssAfterDriftMb = +readProc(op.proc.pid as number).rssMb.toFixed(1);
  await op.stop();
  await deleteNamespaces(client, fleet.namespaces);

  if (SINGLE > 0) {
    log(`${SINGLE} profiles in one namespace…`);
    const one = await createFleet(client, `bs${tag}`, SINGLE, SINGLE);
    const t1 = performance.now();
    op = await startOperator(kubeconfig);
    await waitAllReady(client, one.namespaces, SINGLE);
    results.singleNamespaceSeconds = +((performance.now() - t1) / 1000).toFixed(2);
    await settle(op);
    results.singleNamespaceRssMb = +readProc(op.proc.pid as number).rssMb.toFixed(1);
    await op.stop();
    await deleteNamespaces(client, one.namespaces);
  }

  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, Kubernetes ${version} (local test bed, same machine)`;
  const row = (what: string, value: string | number, target: string, ok?: boolean) =>
    `| ${what} | ${value} | ${target} | ${ok === undefined ? "" : ok ? "met" : "**not met**"} |`;
  const md = [
    "# Benchmarks",
    "",
    "`npm run bench` (bench/bench.ts) against the local test bed. The API server, etcd, the operator and the",
    "benchmark client share the same machine, so absolute times include their contention.",
    "",
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${machine}`,
    `- Command: \`npm run bench -- ${process.argv.slice(2).join(" ")}\` (${N} profiles, ${PER_NS} per namespace, concurrency ${CONC}); each profile makes 6 objects (ServiceAccount, PeerAuthentication, AuthorizationPolicy, NetworkPolicy, ExternalSecret, and references to two other profiles) plus the namespace default deny.`,
    "",
    "| Measure | Result | Target | |",
    "| --- | --- | --- | --- |",
    row(
      `Floor: bare client applies the same objects + 1 status patch per profile (s)`,
      results.floorSeconds ?? "",
      "",
    ),
    row(`Operator: start → all ${N} profiles Ready (s)`, results.operatorSeconds ?? "", ""),
    row("Ratio operator / floor", results.ratio ?? "", "≤ 1.10", Number(results.ratio) <= 1.1),
    row(
      "API requests / writes by the operator to get there",
      `${results.operatorRequests} / ${results.operatorWrites}`,
      "",
    ),
    row(
      `Writes during a full resync (${results.resyncReconciles} reconciles)`,
      results.resyncWrites ?? "",
      "0",
      results.resyncWrites === 0,
    ),
    row(
      `Writes during a restart with ${N} in-sync profiles (${results.restartReconciles} reconciles)`,
      results.restartWrites ?? "",
      "0",
      results.restartWrites === 0,
    ),
    row(
      `Drift correction latency p50 / p99 over ${DRIFT} deletes and edits (ms)`,
      `${results.driftP50Ms} / ${results.driftP99Ms}`,
      "p99 ≤ 1000",
      Number(results.driftP99Ms) <= 1000,
    ),
    row(
      `… after ${QUIET_MIN} quiet minutes (ms)`,
      `${results.driftAfterQuietP50Ms} / ${results.driftAfterQuietP99Ms}`,
      "p99 ≤ 1000",
      Number(results.driftAfterQuietP99Ms) <= 1000,
    ),
    row(
      `Operator RSS at ${N} profiles, idle (MB)`,
      results.rssMb ?? "",
      "≤ 120",
      Number(results.rssMb) <= 120,
    ),
    row("Operator idle CPU (% of one core, 30 s)", results.idleCpuPercent ?? "", ""),
    row(
      `${SINGLE} profiles in one namespace: start → all Ready (s)`,
      results.singleNamespaceSeconds ?? "",
      "",
    ),
    row(`RSS with ${SINGLE} profiles in one namespace (MB)`, results.singleNamespaceRssMb ?? "", ""),
    "",
    "Latency is measured from the client's delete or edit to the client seeing the restored object (polling every 5 ms), so it includes the watch delay, the queue and the write.",
    "",
    "```json",
    JSON.stringify(results, null, 2),
    "```",
    "",
  ].join("\n");
  fs.writeFileSync(args.out as string, md);
  log(`wrote ${path.relative(ROOT, args.out as string)}`);
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
