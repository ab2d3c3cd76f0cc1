// `npm run demo`: the main job in one command. Uses the current kubeconfig when a cluster answers,
// otherwise brings up the local test bed; installs the CRDs; starts the operator; applies
// examples/fleet; waits until every profile is Ready; prints a table; then shows drift being
// detected and corrected live. Ctrl-C stops it cleanly (`--once` stops after the drift step).
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { parse } from "yaml";
import { down, up } from "../e2e/controlplane/testbed.ts";
import { applyManifests, readManifests, repoCrdFiles } from "../e2e/controlplane/upstream.ts";
import type { ProfileStatus } from "../operator/api/schema.ts";
import { ApiError, KubeClient, type KubeObjectLike, resourcePath } from "../operator/runtime/client.ts";
import { CHILD_KINDS, EVENTS, PROFILES } from "../operator/reconcile/kinds.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const once = process.argv.includes("--once");
const NAMESPACES = { group: "", version: "v1", plural: "namespaces", kind: "Namespace", namespaced: false };

function say(msg: string): void {
  process.stdout.write(`${msg}\n`);
}

async function reachable(kubeconfig: string): Promise<KubeClient | undefined> {
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const client = new KubeClient(kc);
    await client.get("/version", AbortSignal.timeout(3000));
    return client;
  } catch {
    return undefined;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const candidate = process.env.KUBECONFIG ?? path.join(os.homedir(), ".kube/config");
  let kubeconfig = candidate;
  let client = fs.existsSync(candidate) ? await reachable(candidate) : undefined;
  let ownCluster = false;
  if (client) {
    say(`Using the cluster of ${candidate}.`);
    say("Installing the ServiceSecurityProfile CRD (Istio and ESO CRDs must already be there).");
    await applyManifests(candidate, readManifests(repoCrdFiles()));
  } else {
    say(
      "No reachable cluster in the current kubeconfig: starting the local test bed (etcd, kube-apiserver, kube-controller-manager; the first run builds them from Go modules, ~6 minutes).",
    );
    const info = await up({});
    ownCluster = !info.reused;
    kubeconfig = info.kubeconfig;
    client = await reachable(kubeconfig);
    if (!client) throw new Error("the test bed did not answer");
    say(
      `Test bed ${info.reused ? "reused" : "started"}: Kubernetes ${info.kubernetesVersion}, Istio and External Secrets CRDs installed.`,
    );
  }

  const port = await freePort();
  const logFile = path.join(ROOT, ".cache/demo-operator.log");
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const out = fs.openSync(logFile, "w");
  const operator: ChildProcess = spawn(
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
    ],
    { stdio: ["ignore", out, out] },
  );
  say(
    `Operator started (pid ${operator.pid}; logs in ${path.relative(ROOT, logFile)}; metrics on http://127.0.0.1:${port}/metrics).`,
  );

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say("\nStopping the operator…");
    operator.kill("SIGTERM");
    await new Promise((r) => operator.once("exit", r));
    if (ownCluster) {
      say("Stopping the test bed…");
      await down();
    }
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));
  operator.once("exit", (code) => {
    if (!stopping) {
      say(`The operator exited (${code}); see ${logFile}`);
      void stop(1);
    }
  });

  const fleetDir = path.join(ROOT, "examples/fleet");
  const profiles = fs
    .readdirSync(fleetDir)
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => parse(fs.readFileSync(path.join(fleetDir, f), "utf8")) as KubeObjectLike);
  for (const ns of new Set(profiles.map((p) => p.metadata?.namespace ?? ""))) {
    await client
      .apply(
        resourcePath(NAMESPACES, undefined, ns),
        { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
        "meshward-demo",
        true,
      )
      .catch((e: unknown) => {
        if (!(e instanceof ApiError && e.status === 409)) throw e;
      });
  }
  for (const p of profiles) {
    await client.apply(
      resourcePath(PROFILES, p.metadata?.namespace, p.metadata?.name),
      p,
      "meshward-demo",
      true,
    );
  }
  say(`Applied ${profiles.length} profiles from examples/fleet. Waiting until every one is Ready…`);

  type P = KubeObjectLike & { status?: ProfileStatus };
  const deadline = Date.now() + 60_000;
  let rows: P[];
  for (;;) {
    rows = await Promise.all(
      profiles.map((p) => client.get<P>(resourcePath(PROFILES, p.metadata?.namespace, p.metadata?.name))),
    );
    const ready = rows.filter((r) =>
      r.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
    );
    if (ready.length === rows.length || Date.now() > deadline) break;
    await sleep(250);
  }
  const cond = (p: P, t: string) => p.status?.conditions?.find((c) => c.type === t);
  const table = [["PROFILE", "READY", "DRIFTED", "OBJECTS", "REASON"]];
  for (const r of rows) {
    table.push([
      `${r.metadata?.namespace}/${r.metadata?.name}`,
      cond(r, "Ready")?.status ?? "-",
      cond(r, "Drifted")?.status ?? "-",
      String(r.status?.objects?.length ?? 0),
      cond(r, "Ready")?.reason ?? "",
    ]);
  }
  const widths = table[0]?.map((_, i) => Math.max(...table.map((row) => (row[i] ?? "").length))) ?? [];
  say("");
  for (const row of table) say(row.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  "));
  say("");

  const ap = CHILD_KINDS.find((k) => k.resource.kind === "AuthorizationPolicy");
  if (ap) {
    say("Drift: deleting AuthorizationPolicy payments/payments-api behind meshward's back…");
    const t0 = Date.now();
    await client.delete(resourcePath(ap.resource, "payments", "payments-api"));
    for (;;) {
      const evs = await client.get<{ items: { reason: string; note: string }[] }>(
        resourcePath(EVENTS, "payments"),
      );
      const hit = evs.items.find(
        (e) => e.reason === "DriftCorrected" && e.note.includes("AuthorizationPolicy payments-api"),
      );
      if (hit) {
        say(`Event DriftCorrected after ${Date.now() - t0} ms: ${hit.note}`);
        break;
      }
      if (Date.now() - t0 > 15_000) {
        say("No DriftCorrected event within 15 s: see the operator log.");
        break;
      }
      await sleep(100);
    }
  }
  if (once) return stop(0);
  say(
    "\nThe operator keeps running. Try: kubectl --kubeconfig " +
      kubeconfig +
      " get ssp -A   (Ctrl-C stops the demo)",
  );
  await new Promise(() => undefined);
}

main().catch((e: unknown) => {
  process.stderr.write(`demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
