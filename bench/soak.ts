// `npm run soak`: churn on many profiles for a long time, with periodic drift and API server
// restarts. Every 10 s it records the operator's RSS, heap, event-loop lag, queue depth and API
// request rate. Fails if memory keeps growing or a profile ends unconverged. Not run in CI.
//
//   npm run soak -- [--minutes 60] [--profiles 1000] [--per-namespace 10] [--out docs/soak]
import * as fs from "node:fs";
import * as path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { killApiserver, startApiserver } from "../e2e/controlplane/faults.ts";
import { API_VERSION, KIND } from "../operator/api/schema.ts";
import { KubeClient, resourcePath } from "../operator/runtime/client.ts";
import { CHILD_KINDS, PROFILES } from "../operator/reconcile/kinds.ts";
import {
  cleanup,
  createFleet,
  deleteNamespaces,
  log,
  type Op,
  readProc,
  spec,
  buildOperator,
  startOperator,
  waitAllReady,
} from "./lib.ts";
import { commandOptions, fleetOptions, KEEP_TESTBED } from "./args.ts";
import { runCommand, Teardown } from "../test-support/harness/teardown.ts";
import { useTestbed } from "../test-support/harness/testbed.ts";
import { sleep } from "../test-support/harness/wait.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const args = commandOptions(
  "npm run soak",
  "Churn, drift and API server restarts on many profiles for a long time; fails on memory growth or an unconverged profile.",
  {
    minutes: { type: "number", default: 60, help: "how long" },
    ...fleetOptions(1000, "profiles"),
    out: {
      type: "string",
      default: path.join(ROOT, "docs/soak"),
      help: "directory for soak.json and soak.svg",
    },
    "keep-testbed": KEEP_TESTBED,
  },
);
const { minutes: MINUTES, profiles: N, "per-namespace": PER_NS } = args;

interface Sample {
  t: number;
  rssMb: number;
  heapMb: number;
  lagP99Ms: number;
  queueDepth: number;
  requestsPerSec: number;
}

async function sample(op: Op, t0: number, lastRequests: { n: number; at: number }): Promise<Sample> {
  const requests = await op.metric("meshward_api_requests_total");
  const now = Date.now();
  const rate = (requests - lastRequests.n) / ((now - lastRequests.at) / 1000);
  lastRequests.n = requests;
  lastRequests.at = now;
  return {
    t: Math.round((now - t0) / 1000),
    rssMb: +readProc(op.proc.pid as number).rssMb.toFixed(1),
    heapMb: +((await op.metric("nodejs_heap_size_used_bytes")) / 2 ** 20).toFixed(1),
    lagP99Ms: +((await op.metric("nodejs_eventloop_lag_p99_seconds")) * 1000).toFixed(1),
    queueDepth: await op.metric("workqueue_depth"),
    requestsPerSec: +rate.toFixed(1),
  };
}

function svgPlot(samples: Sample[]): string {
  const W = 800;
  const H = 300;
  const pad = 40;
  const maxT = Math.max(1, ...samples.map((s) => s.t));
  const maxY = Math.max(1, ...samples.map((s) => s.rssMb));
  const line = (key: keyof Sample, color: string, scale: number) =>
    `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${samples
      .map(
        (s) =>
          `${(pad + (s.t / maxT) * (W - 2 * pad)).toFixed(1)},${(H - pad - (Number(s[key]) / scale) * (H - 2 * pad)).toFixed(1)}`,
      )
      .join(" ")}"/>`;
  const maxRate = Math.max(1, ...samples.map((s) => s.requestsPerSec));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<line x1="${pad}" y1="${H - pad}" x2="${W - pad}" y2="${H - pad}" stroke="black"/><line x1="${pad}" y1="${pad}" x2="${pad}" y2="${H - pad}" stroke="black"/>`,
    line("rssMb", "#c0392b", maxY),
    line("heapMb", "#2980b9", maxY),
    line("requestsPerSec", "#7f8c8d", maxRate),
    `<text x="${pad}" y="${pad - 8}">RSS (red) and heap used (blue), 0–${maxY.toFixed(0)} MB; API requests/s (grey), 0–${maxRate.toFixed(0)}; time 0–${maxT} s</text>`,
    "</svg>",
  ].join("\n");
}

const teardown = new Teardown(log);

async function main(): Promise<void> {
  const info = await useTestbed(teardown, { up: { audit: false }, keep: args["keep-testbed"], log });
  const kc = new KubeConfig();
  kc.loadFromFile(info.kubeconfig);
  const client = new KubeClient(kc);
  teardown.add("operators and namespaces", () => cleanup(info.stopsAtEnd() ? undefined : client));
  buildOperator();
  log(`soak: ${N} profiles for ${MINUTES} minutes`);
  const fleet = await createFleet(client, `soak${Date.now().toString(36)}`, N, PER_NS);
  let op = await startOperator(info.kubeconfig, 4);
  await waitAllReady(client, fleet.namespaces, N);
  const t0 = Date.now();
  const end = t0 + MINUTES * 60_000;
  const samples: Sample[] = [];
  const last = { n: await op.metric("meshward_api_requests_total"), at: Date.now() };
  const pa = CHILD_KINDS.find((k) => k.resource.kind === "PeerAuthentication")?.resource;
  let tick = 0;
  while (Date.now() < end) {
    tick++;
    // churn: a few profile updates and a drift every 10 s; an API server restart every 10 minutes
    for (let k = 0; k < 5; k++) {
      const i = Math.floor(Math.random() * N);
      const p = fleet.profiles[i];
      if (!p) continue;
      const local = i % PER_NS;
      await client
        .apply(
          resourcePath(PROFILES, p.namespace, p.name),
          {
            apiVersion: API_VERSION,
            kind: KIND,
            metadata: { name: p.name, namespace: p.namespace },
            spec: {
              ...spec(local, PER_NS),
              ingress: [{ from: [{ service: `svc-${(local + 1) % PER_NS}` }], ports: [8080 + (tick % 3)] }],
            },
          },
          "soak",
          true,
        )
        .catch(() => undefined);
    }
    const victim = fleet.profiles[tick % N];
    if (victim && pa)
      await client.delete(resourcePath(pa, victim.namespace, victim.name)).catch(() => undefined);
    if (tick % 60 === 0) {
      log("fault: restarting kube-apiserver");
      await killApiserver("SIGKILL");
      await sleep(2000);
      await startApiserver();
    }
    await sleep(10_000);
    const s = await sample(op, t0, last).catch(() => undefined);
    if (s) {
      samples.push(s);
      log(JSON.stringify(s));
    }
    if (op.proc.exitCode !== null) {
      log("the operator exited; restarting it (counts as a failure)");
      op = await startOperator(info.kubeconfig, 4);
    }
  }
  await waitAllReady(client, fleet.namespaces, N, 300_000);
  const failures: string[] = [];
  // Unbounded growth: the last quarter's mean RSS must not exceed the second quarter's by more than 25 %.
  const q = Math.floor(samples.length / 4);
  if (q >= 2) {
    const mean = (xs: Sample[]) => xs.reduce((a, s) => a + s.rssMb, 0) / xs.length;
    const early = mean(samples.slice(q, 2 * q));
    const late = mean(samples.slice(3 * q));
    if (late > early * 1.25) failures.push(`RSS grew from ${early.toFixed(0)} MB to ${late.toFixed(0)} MB`);
  }
  await op.stop();
  fs.mkdirSync(args.out, { recursive: true });
  fs.writeFileSync(
    path.join(args.out, "soak.json"),
    JSON.stringify({ minutes: MINUTES, profiles: N, samples, failures }, null, 1),
  );
  fs.writeFileSync(path.join(args.out, "soak.svg"), svgPlot(samples));
  await deleteNamespaces(client, fleet.namespaces);
  if (failures.length > 0) throw new Error(failures.join("; "));
  log(
    `soak passed: ${samples.length} samples, every profile converged; wrote ${path.relative(ROOT, args.out)}/soak.{json,svg}`,
  );
}

void runCommand("soak", main, teardown);
