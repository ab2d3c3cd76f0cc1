// Kyverno on the test bed, as local processes: its CRDs, its default install manifest without the
// Deployments and Services (upstream's "debug-deploy" way of running Kyverno outside the cluster),
// the admission controller serving its webhooks on 127.0.0.1 (--serverIP) and the background
// controller, each with its own ServiceAccount token and upstream's RBAC, with leader election.
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tls from "node:tls";
import type { KubernetesObject } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import type { KyvernoBinaries } from "../../e2e/controlplane/kyverno.ts";
import { applyManifests } from "../../e2e/controlplane/upstream.ts";
import { ApiError, type KubeClient, resourcePath } from "../../operator/runtime/client.ts";
import { freePort } from "../../test-support/harness/ports.ts";
import { sleep } from "../../test-support/harness/wait.ts";
import { log } from "../lib.ts";
import { serviceAccountKubeconfig, serviceAccountUser } from "./identity.ts";
import { POLICY_NAME } from "./policy.ts";

export const KYVERNO_NAMESPACE = "kyverno";
const ADMISSION_SA = "kyverno-admission-controller";
const BACKGROUND_SA = "kyverno-background-controller";
export const KYVERNO_USERS = [
  serviceAccountUser(KYVERNO_NAMESPACE, ADMISSION_SA),
  serviceAccountUser(KYVERNO_NAMESPACE, BACKGROUND_SA),
];

const CLUSTER_POLICIES = {
  group: "kyverno.io",
  version: "v1",
  plural: "clusterpolicies",
  kind: "ClusterPolicy",
  namespaced: false,
};
const VALIDATING_WEBHOOKS = {
  group: "admissionregistration.k8s.io",
  version: "v1",
  plural: "validatingwebhookconfigurations",
  kind: "ValidatingWebhookConfiguration",
  namespaced: false,
};
const MUTATING_WEBHOOKS = { ...VALIDATING_WEBHOOKS, plural: "mutatingwebhookconfigurations" };

type Container = { name: string; args?: string[]; env?: { name: string; value?: string }[] };
type Deployment = KubernetesObject & { spec: { template: { spec: { containers: Container[] } } } };

function yamlFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? yamlFiles(p) : /\.ya?ml$/.test(e.name) ? [p] : [];
  });
}

function readYaml(file: string): KubernetesObject[] {
  return parseAllDocuments(fs.readFileSync(file, "utf8"))
    .map((d) => d.toJS() as KubernetesObject | null)
    .filter((o): o is KubernetesObject => !!o?.kind);
}

/** Args and plain env of a Deployment's container in upstream's default install manifest. */
function upstreamContainer(
  install: KubernetesObject[],
  deployment: string,
): { args: string[]; env: Record<string, string> } {
  const d = install.find((o) => o.kind === "Deployment" && o.metadata?.name === deployment) as
    Deployment | undefined;
  const c = d?.spec.template.spec.containers[0];
  if (!c) throw new Error(`no Deployment ${deployment} in Kyverno's install manifest`);
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  return { args: c.args ?? [], env };
}

export interface KyvernoRun {
  bins: KyvernoBinaries;
  admission: ChildProcess;
  background: ChildProcess;
  /** Command lines, for the report. */
  commands: { admission: string[]; background: string[] };
  logDir: string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

function start(
  name: string,
  bin: string,
  args: string[],
  env: Record<string, string>,
  logDir: string,
): ChildProcess {
  const out = fs.openSync(path.join(logDir, `${name}.log`), "w");
  const proc = spawn(bin, args, {
    stdio: ["ignore", out, out],
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
  });
  fs.closeSync(out);
  running.add(proc);
  proc.once("exit", () => running.delete(proc));
  return proc;
}

async function stopProc(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  proc.kill("SIGTERM");
  const killed = await Promise.race([exited.then(() => true), sleep(15_000).then(() => false)]);
  if (!killed) {
    proc.kill("SIGKILL");
    await exited;
  }
}

/** Stops every Kyverno process this module started (also used by the signal handlers). */
export async function stopAllKyverno(): Promise<void> {
  await Promise.all([...running].map(stopProc));
}

/** Synchronous last resort for process exit: SIGKILL whatever is still running. */
export function killAllKyvernoSync(): void {
  for (const p of running) if (p.exitCode === null) p.kill("SIGKILL");
}

/**
 * Kyverno's CRDs and default manifests (no Deployments, no Services), and RBAC for the generated
 * kinds (the aggregated ClusterRoles upstream documents for generate rules). Returns the manifests
 * of config/install-latest-testing.yaml, whose containers' arguments the controllers run with.
 */
async function installKyverno(adminKubeconfig: string, bins: KyvernoBinaries): Promise<KubernetesObject[]> {
  const moduleDir = path.dirname(bins.crdDir);
  log(`kyverno ${bins.version}: installing CRDs from ${bins.crdDir}`);
  await applyManifests(adminKubeconfig, yamlFiles(bins.crdDir).flatMap(readYaml), 120_000);
  const install = readYaml(path.join(moduleDir, "install-latest-testing.yaml"));
  const keep = install.filter(
    (o) => !["CustomResourceDefinition", "Deployment", "Service"].includes(o.kind ?? ""),
  );
  log(
    `kyverno: applying ${keep.length} objects of config/install-latest-testing.yaml (no Deployments, Services, CRDs)`,
  );
  await applyManifests(adminKubeconfig, keep);
  const generated = [
    { apiGroups: [""], resources: ["serviceaccounts"] },
    { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"] },
    { apiGroups: ["security.istio.io"], resources: ["peerauthentications", "authorizationpolicies"] },
  ].map((r) => ({ ...r, verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] }));
  // The trigger: without reading profiles Kyverno accepts the policy (Ready) but never generates
  // for them (its admission controller logs "disallowed operation" for get/list/watch at -v=3).
  generated.push({
    apiGroups: ["meshward.io"],
    resources: ["servicesecurityprofiles"],
    verbs: ["get", "list", "watch"],
  });
  await applyManifests(
    adminKubeconfig,
    ["admission-controller", "background-controller"].map((c) => ({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: {
        name: `kyverno:${c}:bench-generate`,
        labels: { [`rbac.kyverno.io/aggregate-to-${c}`]: "true" },
      },
      rules: generated,
    })) as KubernetesObject[],
  );
  return install;
}

/**
 * Installs Kyverno's CRDs and default manifests (no Deployments, no Services), adds RBAC for the
 * generated kinds (the aggregated ClusterRoles upstream documents for generate rules), writes one
 * kubeconfig per controller and starts both. Resolves when the policy webhooks are registered.
 */
export async function startKyverno(
  client: KubeClient,
  adminKubeconfig: string,
  workDir: string,
  bins: KyvernoBinaries,
): Promise<KyvernoRun> {
  const install = await installKyverno(adminKubeconfig, bins);

  const logDir = path.join(workDir, "logs");
  fs.mkdirSync(logDir, { recursive: true });
  const admissionKc = await serviceAccountKubeconfig(
    client,
    adminKubeconfig,
    KYVERNO_NAMESPACE,
    ADMISSION_SA,
    path.join(workDir, "kyverno-admission.kubeconfig"),
  );
  const backgroundKc = await serviceAccountKubeconfig(
    client,
    adminKubeconfig,
    KYVERNO_NAMESPACE,
    BACKGROUND_SA,
    path.join(workDir, "kyverno-background.kubeconfig"),
  );
  const tufRoot = path.join(workDir, "sigstore");
  fs.mkdirSync(tufRoot, { recursive: true });

  const webhookPort = await freePort();
  const a = upstreamContainer(install, "kyverno-admission-controller");
  const admissionArgs = [
    ...a.args,
    `--kubeconfig=${admissionKc}`,
    `--serverIP=127.0.0.1:${webhookPort}`,
    "--webhookServerHost=127.0.0.1",
    `--webhookServerPort=${webhookPort}`,
    "--metricsHost=127.0.0.1",
    `--metricsPort=${await freePort()}`,
    "--controllerRuntimeMetricsAddress=0",
    // KYVERNO_DEBUG=1: its admission requests and authorization checks in the log (logs/).
    ...(process.env.KYVERNO_DEBUG ? ["--v=6", "--dumpPayload=true"] : []),
  ];
  const common = { KYVERNO_NAMESPACE, TUF_ROOT: tufRoot };
  const admission = start(
    "kyverno-admission-controller",
    bins.kyverno,
    admissionArgs,
    {
      ...a.env,
      ...common,
      KYVERNO_POD_NAME: "kyverno-admission-controller-local",
      KYVERNO_DEPLOYMENT: "kyverno-admission-controller",
    },
    logDir,
  );
  const b = upstreamContainer(install, "kyverno-background-controller");
  const backgroundArgs = [
    ...b.args,
    `--kubeconfig=${backgroundKc}`,
    "--metricsHost=127.0.0.1",
    `--metricsPort=${await freePort()}`,
    "--controllerRuntimeMetricsAddress=0",
  ];
  const background = start(
    "kyverno-background-controller",
    bins.backgroundController,
    backgroundArgs,
    { ...b.env, ...common, KYVERNO_POD_NAME: "kyverno-background-controller-local" },
    logDir,
  );
  const run: KyvernoRun = {
    bins,
    admission,
    background,
    commands: { admission: admissionArgs, background: backgroundArgs },
    logDir,
    async stop() {
      await Promise.all([stopProc(admission), stopProc(background)]);
    },
  };
  try {
    await waitFor("Kyverno's webhook configurations", 300_000, run, async () => {
      const v = await client.get<{ items: unknown[] }>(resourcePath(VALIDATING_WEBHOOKS));
      return v.items.length > 0;
    });
    // Its certificate controller writes the serving certificate into a Secret after start; until
    // then every handshake fails ("tls: internal error") and the API server refuses what the
    // webhooks cover. Ready means a TLS handshake with the webhook server succeeds.
    await waitFor("a TLS handshake with Kyverno's webhook server", 300_000, run, () =>
      handshake(webhookPort),
    );
  } catch (e) {
    await run.stop();
    throw e;
  }
  return run;
}

/** True when a TLS handshake with 127.0.0.1:port completes (the certificate is not checked). */
function handshake(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false, timeout: 5_000 }, () => {
      socket.end();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
    socket.on("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function waitFor(
  what: string,
  timeoutMs: number,
  run: KyvernoRun,
  ok: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const [name, p] of [
      ["admission controller", run.admission],
      ["background controller", run.background],
    ] as const) {
      if (p.exitCode !== null) throw new Error(`Kyverno's ${name} exited (${p.exitCode}); see ${run.logDir}`);
    }
    if (await ok().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`no ${what} after ${timeoutMs / 1000} s; see ${run.logDir}`);
    await sleep(500);
  }
}

/** Applies the ClusterPolicy and waits until Kyverno reports it Ready and its webhook covers profiles. */
export async function applyPolicy(
  client: KubeClient,
  run: KyvernoRun,
  policy: Record<string, unknown>,
): Promise<void> {
  await client.apply(resourcePath(CLUSTER_POLICIES, undefined, POLICY_NAME), policy, "bench-peer", true);
  await waitFor(`Ready ClusterPolicy ${POLICY_NAME}`, 300_000, run, async () => {
    const p = await client.get<{ status?: { conditions?: { type: string; status: string }[] } }>(
      resourcePath(CLUSTER_POLICIES, undefined, POLICY_NAME),
    );
    return !!p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
  });
  await waitFor("webhook rule for ServiceSecurityProfiles", 300_000, run, async () => {
    const all = [
      ...(await client.get<{ items: unknown[] }>(resourcePath(VALIDATING_WEBHOOKS))).items,
      ...(await client.get<{ items: unknown[] }>(resourcePath(MUTATING_WEBHOOKS))).items,
    ];
    return JSON.stringify(all).includes("servicesecurityprofiles");
  });
}

/** Deletes the webhook configurations Kyverno registered (so a stopped Kyverno blocks nothing). */
export async function deleteKyvernoWebhooks(client: KubeClient): Promise<void> {
  for (const r of [VALIDATING_WEBHOOKS, MUTATING_WEBHOOKS]) {
    const list = await client.get<{
      items: { metadata?: { name?: string; labels?: Record<string, string> } }[];
    }>(resourcePath(r));
    for (const w of list.items) {
      if (
        w.metadata?.labels?.["webhook.kyverno.io/managed-by"] !== "kyverno" &&
        !w.metadata?.name?.startsWith("kyverno-")
      )
        continue;
      await client.delete(resourcePath(r, undefined, w.metadata.name)).catch((e: unknown) => {
        if (!(e instanceof ApiError && e.status === 404)) throw e;
      });
    }
  }
}
