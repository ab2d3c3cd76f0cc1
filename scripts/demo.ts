// `npm run demo`: the main job in one command. Uses the current kubeconfig when a cluster answers,
// otherwise brings up the local test bed; installs the CRDs; starts the operator; applies
// examples/fleet; waits until every profile is Ready; prints a table; then shows drift being
// detected and corrected live. Ctrl-C stops it cleanly (`--once` stops after the drift step).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { parse } from "yaml";
import { applyManifests, readManifests, repoCrdFiles } from "../e2e/controlplane/upstream.ts";
import type { ProfileStatus } from "../operator/api/schema.ts";
import { ApiError, KubeClient, type KubeObjectLike, resourcePath } from "../operator/runtime/client.ts";
import { CHILD_KINDS, EVENTS, PROFILES } from "../operator/reconcile/kinds.ts";
import { applyNamespace } from "../test-support/harness/namespaces.ts";
import { startOperator } from "../test-support/harness/operator.ts";
import { runCommand, Teardown } from "../test-support/harness/teardown.ts";
import { useTestbed } from "../test-support/harness/testbed.ts";
import { sleep } from "../test-support/harness/wait.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const once = process.argv.includes("--once");

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

const teardown = new Teardown(say);

async function main(): Promise<void> {
  const candidate = process.env.KUBECONFIG ?? path.join(os.homedir(), ".kube/config");
  let kubeconfig = candidate;
  let client = fs.existsSync(candidate) ? await reachable(candidate) : undefined;
  if (client) {
    say(`Using the cluster of ${candidate}.`);
    say("Installing the ServiceSecurityProfile CRD (Istio and ESO CRDs must already be there).");
    await applyManifests(candidate, readManifests(repoCrdFiles()));
  } else {
    say(
      "No reachable cluster in the current kubeconfig: starting the local test bed (etcd, kube-apiserver, kube-controller-manager; the first run builds them from Go modules, ~6 minutes).",
    );
    const info = await useTestbed(teardown, { log: say });
    kubeconfig = info.kubeconfig;
    client = await reachable(kubeconfig);
    if (!client) throw new Error("the test bed did not answer");
    say(
      `Test bed ${info.reused ? "reused" : "started"}: Kubernetes ${info.kubernetesVersion}, Istio and External Secrets CRDs installed.`,
    );
  }

  const logFile = path.join(ROOT, ".cache/demo-operator.log");
  const operator = await startOperator({ kubeconfig, name: "demo-operator", logFile });
  teardown.add("the operator", async () => {
    say("Stopping the operator…");
    await operator.stop();
  });
  say(
    `Operator started (pid ${operator.proc.pid}; logs in ${path.relative(ROOT, logFile)}; metrics on http://127.0.0.1:${operator.port}/metrics).`,
  );
  void operator.exited.then((code) => {
    if (teardown.started) return;
    say(`The operator exited (${code}); see ${logFile}`);
    void teardown.run().then(() => process.exit(1));
  });

  const fleetDir = path.join(ROOT, "examples/fleet");
  const profiles = fs
    .readdirSync(fleetDir)
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => parse(fs.readFileSync(path.join(fleetDir, f), "utf8")) as KubeObjectLike);
  for (const ns of new Set(profiles.map((p) => p.metadata?.namespace ?? ""))) {
    await applyNamespace(client, ns, "meshward-demo").catch((e: unknown) => {
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
  if (once) return;
  say(
    "\nThe operator keeps running. Try: kubectl --kubeconfig " +
      kubeconfig +
      " get ssp -A   (Ctrl-C stops the demo)",
  );
  await new Promise(() => undefined);
}

void runCommand("demo", main, teardown, { signalExitCode: 0 });
