// `npm run bench:server-cost`: what the operator's extra work costs etcd and the API server, each
// part measured alone on the local test bed (CPU of both processes from /proc): N Events, and N
// creates with and without a watcher on them (the operator watches everything it writes; the
// floor's bare client does not). Prints one line per part; the figures go in docs/benchmarks.md.
//
//   npm run bench:server-cost -- [--count 3500] [--concurrency 4]
import { KubeClient, resourcePath } from "../operator/runtime/client.ts";
import { loadKubeConfig } from "../operator/runtime/kubeconfig.ts";
import { EVENTS, SERVICE_ACCOUNTS } from "../operator/reconcile/kinds.ts";
import { commandOptions, KEEP_TESTBED } from "./args.ts";
import { cleanup, deleteNamespaces, log, pool, serverCpuMs, started } from "./lib.ts";
import { applyNamespace } from "../test-support/harness/namespaces.ts";
import { runCommand, Teardown } from "../test-support/harness/teardown.ts";
import { useTestbed } from "../test-support/harness/testbed.ts";
import { sleep } from "../test-support/harness/wait.ts";

const args = commandOptions(
  "npm run bench:server-cost",
  "The CPU etcd and the API server spend on N Events, and on N creates with and without a watcher.",
  {
    count: { type: "number", default: 3500, min: 1, help: "writes per part" },
    concurrency: { type: "number", default: 4, min: 1, help: "requests in flight" },
    "keep-testbed": KEEP_TESTBED,
  },
);
const N = args.count;
const LABEL = "app.kubernetes.io/managed-by";

const teardown = new Teardown(log);

/** Runs `part` and prints the server's CPU over it (after 5 s for the last part's work to settle). */
async function measure(label: string, part: () => Promise<void>): Promise<void> {
  await sleep(5_000);
  const server = serverCpuMs();
  if (server === undefined) throw new Error("the local test bed's process ids are not known");
  const client = process.cpuUsage();
  const t0 = performance.now();
  await part();
  const wall = (performance.now() - t0) / 1000;
  const serverMs = (serverCpuMs() ?? NaN) - server;
  const c = process.cpuUsage(client);
  log(
    `${label}: ${wall.toFixed(1)} s; etcd + API server CPU ${(serverMs / 1000).toFixed(1)} s ` +
      `(${(serverMs / N).toFixed(2)} ms a write); this client's CPU ${((c.user + c.system) / 1e6).toFixed(1)} s`,
  );
}

async function main(): Promise<void> {
  const bed = await useTestbed(teardown, { up: { audit: false }, keep: args["keep-testbed"], log });
  const client = new KubeClient(loadKubeConfig(bed.kubeconfig));
  teardown.add("namespaces", () => cleanup(bed.stopsAtEnd() ? undefined : client));
  const tag = Date.now().toString(36);
  const namespaces = Array.from({ length: 100 }, (_, i) => `cost-${tag}-${i}`);
  for (const ns of namespaces) started.namespaces.add(ns);
  await pool(namespaces, 8, (ns) => applyNamespace(client, ns, "bench"));
  const writes = Array.from({ length: N }, (_, i) => ({
    ns: namespaces[i % namespaces.length] as string,
    i,
  }));
  const each = (write: (ns: string, i: number) => Promise<unknown>) => () =>
    pool(writes, args.concurrency, async ({ ns, i }) => {
      await write(ns, i);
    });

  // As the operator's recorder sends them (operator/reconcile/events.ts).
  await measure(
    `${N} Events`,
    each((ns, i) =>
      client.request("POST", resourcePath(EVENTS, ns), {
        verb: "create",
        body: {
          apiVersion: "events.k8s.io/v1",
          kind: "Event",
          metadata: { name: `svc-${i}.${i.toString(16)}`, namespace: ns },
          eventTime: new Date().toISOString().replace("Z", "000Z"),
          reportingController: "meshward.io/operator",
          reportingInstance: "bench",
          action: "Reconcile",
          reason: "Created",
          note: `created ServiceAccount svc-${i}, PeerAuthentication svc-${i}`,
          type: "Normal",
          regarding: {
            apiVersion: "meshward.io/v1alpha1",
            kind: "ServiceSecurityProfile",
            name: `svc-${i}`,
            namespace: ns,
          },
        },
      }),
    ),
  );
  const serviceAccount = (prefix: string) => (ns: string, i: number) =>
    client.request("POST", resourcePath(SERVICE_ACCOUNTS, ns), {
      verb: "create",
      body: {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: `${prefix}-${i}`, namespace: ns, labels: { [LABEL]: "bench" } },
      },
    });
  await measure(`${N} ServiceAccounts, no watcher`, each(serviceAccount("a")));
  // One watch on them, as the operator's informer has (label-selected, every namespace).
  const stop = new AbortController();
  let seen = 0;
  const watching = client
    .watch(
      resourcePath(SERVICE_ACCOUNTS),
      { labelSelector: `${LABEL}=bench`, resourceVersion: "0" },
      () => seen++,
      stop.signal,
    )
    .catch((e: unknown) => {
      if (!stop.signal.aborted) throw e;
    });
  await sleep(3_000);
  seen = 0;
  await measure(`${N} ServiceAccounts, one watcher`, each(serviceAccount("b")));
  await sleep(2_000);
  log(`the watcher received ${seen} events`);
  stop.abort();
  await watching;
  await deleteNamespaces(client, namespaces);
}

void runCommand("bench:server-cost", main, teardown);
