// Upstream CRDs (Istio, External Secrets Operator, Prometheus Operator, Network Policy API,
// OpenReports, Gateway API) pinned in upstream.json.
// They are fetched with `go mod download` (module proxy + checksum database),
// read from the Go module cache and never committed to this repository.
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as path from "node:path";
import {
  ApiextensionsV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  loadYaml,
  type KubernetesObject,
  type V1CustomResourceDefinition,
} from "@kubernetes/client-node";
import { parseAllDocuments, stringify } from "yaml";
import {
  CONTROLPLANE_DIR,
  REPO_ROOT,
  TestbedError,
  goModDownload,
  goModDownloadAsync,
  log,
} from "./build.ts";

export const FIELD_MANAGER = "meshward-testbed";

// prometheusOperator: only for validating the chart's ServiceMonitor, PodMonitor and PrometheusRule
// (e2e/chart.e2e.test.ts installs those three); the test bed does not install it by itself.
// networkPolicyApi: ClusterNetworkPolicy, for the platform tier (e2e/cluster-tier.e2e.test.ts);
// opt-in, never installed by default.
// openReports: Report and ClusterReport (openreports.io), for the operator's reports
// (e2e/openreports.e2e.test.ts); opt-in, never installed by default.
// gatewayApi: the standard channel's CRDs, for the ambient waypoint's Gateway
// (e2e/ambient-objects.e2e.test.ts); opt-in like networkPolicyApi. v1.6.3, the newest the Go toolchain
// of the test bed can download: v1.7.0 declares go 1.27, and go runs with GOTOOLCHAIN=local.
export type UpstreamName =
  "istio" | "externalSecrets" | "prometheusOperator" | "networkPolicyApi" | "openReports" | "gatewayApi";
export type UpstreamPin = { module: string; version: string; path: string };
export type UpstreamPins = Record<UpstreamName, UpstreamPin>;
export type UpstreamSelection = {
  istio?: boolean;
  eso?: boolean;
  networkPolicyApi?: boolean;
  openReports?: boolean;
  gatewayApi?: boolean;
};

export function upstreamPins(): UpstreamPins {
  const file = path.join(CONTROLPLANE_DIR, "upstream.json");
  return JSON.parse(fs.readFileSync(file, "utf8")) as UpstreamPins;
}

function yamlFilesUnder(p: string): string[] {
  const st = fs.statSync(p);
  if (st.isFile()) return [p];
  const out: string[] = [];
  for (const e of fs.readdirSync(p, { withFileTypes: true })) {
    const full = path.join(p, e.name);
    if (e.isDirectory()) out.push(...yamlFilesUnder(full));
    else if (/\.ya?ml$/.test(e.name)) out.push(full);
  }
  return out.sort();
}

/** Parses every YAML document of `files`; empty documents are dropped. */
export function readManifests(files: string[]): KubernetesObject[] {
  const objs: KubernetesObject[] = [];
  for (const f of files) {
    for (const doc of parseAllDocuments(fs.readFileSync(f, "utf8"))) {
      if (doc.errors.length) throw new TestbedError(`invalid YAML in ${f}: ${doc.errors[0]?.message}`);
      const o = doc.toJS() as KubernetesObject | null;
      if (o && typeof o === "object" && o.kind) objs.push(o);
    }
  }
  return objs;
}

function isCrd(o: KubernetesObject): o is V1CustomResourceDefinition & KubernetesObject {
  return o.kind === "CustomResourceDefinition" && (o.apiVersion ?? "").startsWith("apiextensions.k8s.io/");
}

/** A CRD and version an upstream pin must serve (checked at load). */
const REQUIRED: Partial<Record<UpstreamName, { name: string; version: string; what: string }>> = {
  externalSecrets: {
    name: "externalsecrets.external-secrets.io",
    version: "v1",
    what: "external-secrets.io/v1 ExternalSecret",
  },
  networkPolicyApi: {
    name: "clusternetworkpolicies.policy.networking.k8s.io",
    version: "v1beta1",
    what: "policy.networking.k8s.io/v1beta1 ClusterNetworkPolicy",
  },
  openReports: {
    name: "reports.openreports.io",
    version: "v1alpha1",
    what: "openreports.io/v1alpha1 Report",
  },
  gatewayApi: {
    name: "gateways.gateway.networking.k8s.io",
    version: "v1",
    what: "gateway.networking.k8s.io/v1 Gateway",
  },
};

type Loaded = { files: string[]; crds: V1CustomResourceDefinition[] };
const loaded = new Map<string, Loaded>();

function loadUpstream(name: UpstreamName): Loaded {
  const pin = upstreamPins()[name];
  if (!pin) throw new TestbedError(`upstream.json has no entry "${name}"`);
  const key = `${pin.module}@${pin.version}/${pin.path}`;
  const hit = loaded.get(key);
  if (hit) return hit;
  const dl = goModDownload(pin.module, pin.version);
  const root = path.join(dl.Dir as string, pin.path);
  if (!fs.existsSync(root)) throw new TestbedError(`${pin.module}@${pin.version} has no ${pin.path}`);
  const files: string[] = [];
  const crds: V1CustomResourceDefinition[] = [];
  for (const f of yamlFilesUnder(root)) {
    const found = readManifests([f]).filter(isCrd);
    if (found.length) {
      files.push(f);
      crds.push(...found);
    }
  }
  if (files.length === 0) throw new TestbedError(`no CustomResourceDefinition under ${root}`);
  const required = REQUIRED[name];
  if (required) {
    const crd = crds.find((c) => c.metadata?.name === required.name);
    const v = crd?.spec.versions.find((x) => x.name === required.version);
    if (!v?.served) throw new TestbedError(`${pin.module}@${pin.version} does not serve ${required.what}`);
  }
  const r = { files, crds };
  loaded.set(key, r);
  return r;
}

/**
 * Downloads a pinned upstream module, if not yet in the module cache, without blocking the event
 * loop (progress lines every 20 s): loadUpstream's synchronous download then finds it at once.
 */
export async function fetchUpstream(name: UpstreamName): Promise<void> {
  const pin = upstreamPins()[name];
  if (!pin) throw new TestbedError(`upstream.json has no entry "${name}"`);
  if (loaded.has(`${pin.module}@${pin.version}/${pin.path}`)) return;
  await goModDownloadAsync(pin.module, pin.version);
}

/**
 * Paths (inside the read-only Go module cache) of the CRD YAML files of a pinned
 * upstream project. Downloads the module on first use.
 */
export function upstreamCrdFiles(name: UpstreamName): string[] {
  return [...loadUpstream(name).files];
}

/** The parsed CustomResourceDefinitions of a pinned upstream project. */
export function upstreamCrds(name: UpstreamName): V1CustomResourceDefinition[] {
  return loadUpstream(name).crds;
}

/** CRDs and other manifests from `crds/` at the repository root (recursively), if that directory exists. */
export function repoCrdFiles(): string[] {
  const dir = path.join(REPO_ROOT, "crds");
  return fs.existsSync(dir) ? yamlFilesUnder(dir) : [];
}

export function loadKubeConfig(kubeconfig: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return kc;
}

function errText(e: unknown): string {
  const err = e as { code?: number; body?: unknown; message?: string };
  let body = "";
  if (typeof err.body === "string") {
    try {
      body = (JSON.parse(err.body) as { message?: string }).message ?? err.body;
    } catch {
      body = err.body;
    }
  } else if (err.body && typeof err.body === "object") {
    body = (err.body as { message?: string }).message ?? "";
  }
  return [err.code ? `HTTP ${err.code}` : "", body || err.message || String(e)].filter(Boolean).join(": ");
}

async function pool<T>(items: T[], width: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

type RawResponse = { status: number; body: string };

/** One request with the kubeconfig's credentials, body sent verbatim (no client-side model round trip). */
async function rawRequest(
  kc: KubeConfig,
  method: string,
  urlPath: string,
  body?: string,
  contentType?: string,
): Promise<RawResponse> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new TestbedError("kubeconfig has no current cluster");
  const u = new URL(cluster.server.replace(/\/+$/, "") + urlPath);
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const headers: Record<string, string> = { Accept: "application/json" };
  for (const [k, v] of Object.entries(opts.headers ?? {})) if (typeof v === "string") headers[k] = v;
  if (body !== undefined) {
    headers["Content-Type"] = contentType ?? "application/json";
    headers["Content-Length"] = String(Buffer.byteLength(body));
  }
  const mod = u.protocol === "http:" ? http : https;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      {
        ...opts,
        method,
        headers,
        protocol: u.protocol,
        hostname: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        timeout: 60_000,
      },
      (res) => {
        let data = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (data += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: data }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${urlPath}: timeout`)));
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/**
 * Server-side applies `objects` (field manager meshward-testbed, force) and waits for CRDs to be Established.
 * CRDs are sent as read from YAML; other kinds go through @kubernetes/client-node's generic object API.
 */
export async function applyManifests(
  kubeconfig: string,
  objects: KubernetesObject[],
  timeoutMs = 60_000,
): Promise<void> {
  if (objects.length === 0) return;
  const kc = loadKubeConfig(kubeconfig);
  // CRDs first so that objects of their kinds (if any) can follow.
  const crds = objects.filter(isCrd);
  const rest = objects.filter((o) => !isCrd(o));
  const query = `?fieldManager=${encodeURIComponent(FIELD_MANAGER)}&force=true`;
  const fail = (o: KubernetesObject, why: string) =>
    new TestbedError(`server-side apply of ${o.kind} ${o.metadata?.name} failed: ${why}`);
  await pool(crds, 4, async (o) => {
    const name = o.metadata?.name;
    if (!name) throw fail(o, "no metadata.name");
    let r: RawResponse;
    try {
      r = await rawRequest(
        kc,
        "PATCH",
        `/apis/${o.apiVersion}/customresourcedefinitions/${name}${query}`,
        JSON.stringify(o),
        PatchStrategy.ServerSideApply,
      );
    } catch (e) {
      throw fail(o, errText(e));
    }
    if (r.status < 200 || r.status > 299) throw fail(o, errText({ code: r.status, body: r.body }));
  });
  await waitForCrds(
    kubeconfig,
    crds.map((c) => c.metadata?.name as string),
    "established",
    timeoutMs,
  );
  if (rest.length === 0) return;
  const client = KubernetesObjectApi.makeApiClient(kc);
  await pool(rest, 4, async (o) => {
    try {
      // loadYaml turns the plain object into the client's model type so that nothing is dropped on serialization.
      await client.patch(
        loadYaml<KubernetesObject>(stringify(o)),
        undefined,
        undefined,
        FIELD_MANAGER,
        true,
        PatchStrategy.ServerSideApply,
      );
    } catch (e) {
      throw fail(o, errText(e));
    }
  });
}

/** Polls until every named CRD is Established (or, with 'gone', no longer exists). */
export async function waitForCrds(
  kubeconfig: string,
  names: string[],
  want: "established" | "gone",
  timeoutMs = 60_000,
): Promise<void> {
  if (names.length === 0) return;
  const api = loadKubeConfig(kubeconfig).makeApiClient(ApiextensionsV1Api);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const list = await api.listCustomResourceDefinition();
    const byName = new Map(list.items.map((c) => [c.metadata?.name ?? "", c]));
    const pending = names.filter((n) => {
      const c = byName.get(n);
      if (want === "gone") return !!c;
      return !c?.status?.conditions?.some((x) => x.type === "Established" && x.status === "True");
    });
    if (pending.length === 0) return;
    if (Date.now() > deadline) {
      throw new TestbedError(
        `CRDs not ${want === "gone" ? "deleted" : "Established"} after ${timeoutMs / 1000}s: ${pending.join(", ")}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

function selected(which: UpstreamSelection): UpstreamName[] {
  const names: UpstreamName[] = [];
  if (which.istio) names.push("istio");
  if (which.eso) names.push("externalSecrets");
  if (which.networkPolicyApi) names.push("networkPolicyApi");
  if (which.openReports) names.push("openReports");
  if (which.gatewayApi) names.push("gatewayApi");
  return names;
}

/**
 * Installs the selected pinned CRDs (Istio and ESO by default; the Network Policy API,
 * OpenReports and the Gateway API only when asked for) and waits until they are Established.
 */
export async function installUpstreamCrds(
  kubeconfig: string,
  which: UpstreamSelection = { istio: true, eso: true },
): Promise<void> {
  for (const n of selected(which)) {
    const pin = upstreamPins()[n];
    await fetchUpstream(n);
    const crds = upstreamCrds(n);
    const started = Date.now();
    await applyManifests(kubeconfig, crds as KubernetesObject[]);
    log(
      `installed ${crds.length} CRDs from ${pin.module}@${pin.version} in ${((Date.now() - started) / 1000).toFixed(1)}s`,
    );
  }
}

/** Deletes the selected pinned CRDs (and so all their objects) and waits until they are gone. */
export async function uninstallUpstreamCrds(kubeconfig: string, which: UpstreamSelection): Promise<void> {
  const api = loadKubeConfig(kubeconfig).makeApiClient(ApiextensionsV1Api);
  const names = selected(which).flatMap((n) => upstreamCrds(n).map((c) => c.metadata?.name as string));
  // A CRD deleted while its storage is still initializing (just installed, or just after an API
  // server start) makes the API server's CRD finalizer fail and back off for minutes: wait until
  // each resource can be listed first.
  const kc = loadKubeConfig(kubeconfig);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  await pool(names, 4, async (name) => {
    const crd = await api.readCustomResourceDefinition({ name }).catch(() => undefined);
    const version = crd?.spec.versions.find((v) => v.storage)?.name;
    if (!crd || !version) return;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ok = await objects.list(`${crd.spec.group}/${version}`, crd.spec.names.kind).then(
        () => true,
        () => false,
      );
      if (ok || Date.now() > deadline) return;
      await new Promise((r) => setTimeout(r, 200));
    }
  });
  await pool(names, 4, async (name) => {
    try {
      await api.deleteCustomResourceDefinition({ name });
    } catch (e) {
      if ((e as { code?: number }).code !== 404)
        throw new TestbedError(`deleting CRD ${name} failed: ${errText(e)}`);
    }
  });
  await waitForCrds(kubeconfig, names, "gone", 120_000);
}

/** Removes the Istio CRDs, e.g. to test the operator on a cluster without Istio. */
export async function uninstallIstioCrds(kubeconfig: string): Promise<void> {
  await uninstallUpstreamCrds(kubeconfig, { istio: true });
}

/** Applies every YAML under `crds/` at the repository root (if present); returns how many objects. */
export async function installRepoCrds(kubeconfig: string): Promise<number> {
  const objs = readManifests(repoCrdFiles());
  await applyManifests(kubeconfig, objs);
  return objs.length;
}
