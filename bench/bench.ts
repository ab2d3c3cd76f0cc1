// `npm run bench`: performance goals of the operator, measured on the test bed (or $KUBECONFIG with
// --use-kubeconfig). Writes its section of docs/benchmarks.md. Not a test: it reports figures and targets.
//
//   npm run bench -- [--profiles 1000] [--per-namespace 10] [--single 500] [--drift 100] [--quarantine 5]
//                    [--quiet-minutes 10] [--concurrency 4] [--rounds 1] [--foreign 0] [--ambient-every 0]
//                    [--ratio-only]
//                    [--out docs/benchmarks.md]
import * as path from "node:path";
import { KubeClient } from "../operator/runtime/client.ts";
import { loadKubeConfig } from "../operator/runtime/kubeconfig.ts";
import { buildOperator, cleanup, deleteNamespaces, log } from "./lib.ts";
import { commandOptions, fleetOptions, KEEP_TESTBED } from "./args.ts";
import { writeSection } from "./section.ts";
import { creation } from "./scenarios/creation.ts";
import { drift } from "./scenarios/drift.ts";
import type { Harness } from "./scenarios/harness.ts";
import { benchSection } from "./scenarios/report.ts";
import { idle, noWrites, quarantine, singleNamespace } from "./scenarios/steady.ts";
import { runCommand, Teardown } from "../test-support/harness/teardown.ts";
import { useTestbed } from "../test-support/harness/testbed.ts";
import { installUpstreamCrds } from "../e2e/controlplane/upstream.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const args = commandOptions(
  "npm run bench",
  "The operator's performance goals, measured on the local test bed; writes its section of docs/benchmarks.md.",
  {
    ...fleetOptions(1000, "profiles started at once"),
    single: {
      type: "number",
      default: 500,
      help: "profiles in one namespace, measured afterwards (0: skip)",
    },
    drift: { type: "number", default: 100, help: "deletes and edits timed until corrected" },
    quarantine: {
      type: "number",
      default: 5,
      help: "quarantines applied and lifted, timed to the last object changed (0: skip)",
    },
    "quiet-minutes": { type: "number", default: 10, help: "quiet minutes before the drift is timed again" },
    concurrency: { type: "number", default: 4, min: 1, help: "the operator's --concurrency and the floor's" },
    rounds: {
      type: "number",
      default: 1,
      min: 1,
      help: "floor and operator rounds on fresh fleets, which goes first alternating (the last round's floor goes first); the ratio is the median of the rounds'",
    },
    foreign: {
      type: "number",
      default: 0,
      help: "objects meshward did not create (NetworkPolicies, ExternalSecrets, AuthorizationPolicies) spread over each fleet's namespaces before the clock starts",
    },
    "ambient-every": {
      type: "number",
      default: 0,
      help: "every Nth namespace of each fleet in Istio's ambient mode (2: half of them; 0: none); installs the Gateway API CRDs for the waypoints",
    },
    out: {
      type: "string",
      default: path.join(ROOT, "docs/benchmarks.md"),
      help: "the file whose section is written",
    },
    "use-kubeconfig": {
      type: "boolean",
      help: "measure on the cluster of $KUBECONFIG, not the local test bed",
    },
    "ratio-only": {
      type: "boolean",
      help: "measure only the floor and operator rounds; print the figures, write no section",
    },
    "keep-testbed": KEEP_TESTBED,
  },
);
const cfg = {
  profiles: args.profiles,
  perNamespace: args["per-namespace"],
  single: args.single,
  drift: args.drift,
  quarantines: args.quarantine,
  quietMinutes: args["quiet-minutes"],
  concurrency: args.concurrency,
  rounds: args.rounds,
  foreign: args.foreign,
  ambientEvery: args["ambient-every"],
};

const teardown = new Teardown(log);

/**
 * The scenarios in order, on one harness: creation rounds (floor against operator), idle memory and
 * CPU, no writes on restart and resync, drift with quiet minutes, quarantine, one crowded namespace.
 */
async function main(): Promise<void> {
  const bed =
    args["use-kubeconfig"] && process.env.KUBECONFIG
      ? undefined
      : await useTestbed(teardown, { up: { audit: false }, keep: args["keep-testbed"], log });
  const kubeconfig = bed?.kubeconfig ?? (process.env.KUBECONFIG as string);
  // The ambient waypoints are Gateways: without the Gateway API, those profiles are not Ready.
  if (bed && cfg.ambientEvery > 0) await installUpstreamCrds(kubeconfig, { gatewayApi: true });
  buildOperator();
  const client = new KubeClient(loadKubeConfig(kubeconfig));
  // The namespaces need deleting only from a cluster that stays up.
  teardown.add("operators and namespaces", () => cleanup(bed?.stopsAtEnd() ? undefined : client));
  const version = (await client.get<{ gitVersion: string }>("/version")).gitVersion;
  const h: Harness = { client, kubeconfig, cfg, results: {}, tag: Date.now().toString(36) };

  const { op, fleet } = await creation(h);
  if (args["ratio-only"]) {
    await op.stop();
    await deleteNamespaces(client, fleet.namespaces);
    process.stdout.write(`${JSON.stringify(h.results, null, 2)}\n`);
    return;
  }
  await idle(h, op);
  await noWrites(h, op, fleet);
  const drifted = await drift(h, fleet);
  if (cfg.quarantines > 0) await quarantine(h, fleet);
  await drifted.op.stop();
  await deleteNamespaces(client, fleet.namespaces);
  if (cfg.single > 0) await singleNamespace(h);

  // Only this command's section: the Kyverno comparison (bench/peer/) and notes by hand stay.
  // One section per fleet size: a 10,000-profile run does not replace the 1,000-profile one.
  // With foreign objects or ambient namespaces, a section of its own: it does not replace the run
  // without them.
  const N = cfg.profiles;
  writeSection(
    args.out,
    `main N=${N}${cfg.foreign > 0 ? ` foreign=${cfg.foreign}` : ""}${cfg.ambientEvery > 0 ? ` ambient-every=${cfg.ambientEvery}` : ""}`,
    benchSection(h, version),
  );
  log(`wrote ${path.relative(ROOT, args.out)}`);
  process.stdout.write(`${JSON.stringify(h.results, null, 2)}\n`);
}

void runCommand("bench", main, teardown);
