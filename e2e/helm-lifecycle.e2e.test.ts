// The Helm lifecycle on the real test bed, with the helm the tests build: `helm install` onto a
// cluster without meshward's CRDs (the default policy comes from a post-install hook, ADR 23),
// `helm upgrade` from the previous chart with profiles present, `helm uninstall` with crds.keep
// true and false; and the conventional values (nameOverride, fullnameOverride, commonLabels,
// probes) rendered with `helm template`. The operator's pods never run here (no kubelet): the
// assertions are on the API objects. The file removes meshward's two CRDs first and applies crds/
// again at the end, as the other files expect the test bed.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, parseAllDocuments, stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ensureHelm } from "./controlplane/build.ts";
import { installRepoCrds } from "./controlplane/upstream.ts";
import { ApiError, type KubeClient, type KubeObjectLike, resourcePath } from "../operator/runtime/client.ts";
import { CRDS, PROFILES } from "../operator/reconcile/kinds.ts";
import {
  createNamespace,
  deleteNamespace,
  getOrUndefined,
  kube,
  kubeconfigPath,
  waitFor,
} from "./support/kube.ts";
import { applyProfile, getProfile } from "./support/profiles.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const WORK = path.join(ROOT, ".cache/e2e/helm-lifecycle");
// The chart before its default policy became a post-install hook (ADR 23): the "previous version"
// the upgrade starts from. Replace it by the last release's tag once a chart has been released.
const PREVIOUS_CHART_COMMIT = "5f8be8675118e43128b5620f3617a758f1eee361";
const PREVIOUS_CHART_VERSION = "0.0.0-previous";
// Not "meshward": on a real cluster an actual installation's cluster-scoped objects stay untouched
// (and this file runs only on the test bed, below).
const RELEASE = "lc";
const FULLNAME = "lc-meshward";
const POLICY_NAME = `${FULLNAME}-default`;
const CRD_NAMES = ["servicesecurityprofiles.meshward.io", "meshwardpolicies.meshward.io"];
const CHART_VERSION = (
  parse(fs.readFileSync(path.join(ROOT, "charts/meshward/Chart.yaml"), "utf8")) as {
    version: string;
  }
).version;

type Obj = KubeObjectLike & { spec?: Record<string, unknown> };
type Crd = Obj & {
  spec: { versions: unknown[] };
  status?: { conditions?: { type: string; status: string }[] };
};
const POLICIES = {
  group: "meshward.io",
  version: "v1alpha1",
  plural: "meshwardpolicies",
  kind: "MeshwardPolicy",
  namespaced: false,
};
const policyPath = resourcePath(POLICIES, undefined, POLICY_NAME);
const crdPath = (name: string) => resourcePath(CRDS, undefined, name);

let helmBin = "";
let client: KubeClient;
const namespaces: string[] = [];

function helm(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const home = (d: string) => path.join(WORK, "helm", d);
  const r = spawnSync(helmBin, args, {
    cwd: ROOT,
    encoding: "utf8",
    env: {
      ...process.env,
      KUBECONFIG: kubeconfigPath(),
      HELM_CACHE_HOME: home("cache"),
      HELM_CONFIG_HOME: home("config"),
      HELM_DATA_HOME: home("data"),
    },
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs helm and fails with its output unless it succeeds. */
function helmOk(...args: string[]): string {
  const r = helm(...args);
  if (r.status !== 0) throw new Error(`helm ${args.join(" ")} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

function template(...args: string[]): Obj[] {
  return parseAllDocuments(
    helmOk("template", RELEASE, "charts/meshward", "--namespace", "meshward-system", ...args),
  )
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => !!o?.kind);
}

function releaseStatus(ns: string): string | undefined {
  const r = helm("status", RELEASE, "-n", ns, "-o", "json");
  if (r.status !== 0) return undefined;
  return (JSON.parse(r.stdout) as { info: { status: string } }).info.status;
}

/** Kinds and names of the release's own objects (its manifest; hooks are not in it). */
function releaseManifest(ns: string): Obj[] {
  return parseAllDocuments(helmOk("get", "manifest", RELEASE, "-n", ns))
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => !!o?.kind);
}

async function crd(name: string): Promise<Crd | undefined> {
  return getOrUndefined<Crd>(client, crdPath(name));
}

async function waitEstablished(): Promise<Crd[]> {
  return Promise.all(
    CRD_NAMES.map((n) =>
      waitFor(`CRD ${n} Established`, async () => {
        const c = await crd(n);
        return c?.status?.conditions?.some((x) => x.type === "Established" && x.status === "True") && c;
      }),
    ),
  );
}

async function waitCrdsGone(timeoutMs = 120_000): Promise<void> {
  await waitFor(
    "meshward's CRDs to be gone",
    async () => (await Promise.all(CRD_NAMES.map(crd))).every((c) => !c),
    timeoutMs,
    200,
  );
}

async function policy(): Promise<Obj | undefined> {
  return getOrUndefined<Obj>(client, policyPath);
}

/** The previous chart, from git, with a version of its own so that the upgrade shows on each object. */
function previousChart(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "meshward-previous-chart-"));
  try {
    execFileSync("git", ["cat-file", "-e", `${PREVIOUS_CHART_COMMIT}^{commit}`], {
      cwd: ROOT,
      stdio: "pipe",
    });
  } catch {
    throw new Error(
      `commit ${PREVIOUS_CHART_COMMIT} (the previous chart) is not in this clone: fetch the whole history (git fetch --unshallow, or actions/checkout with fetch-depth: 0)`,
    );
  }
  const tar = execFileSync("git", ["archive", PREVIOUS_CHART_COMMIT, "charts/meshward"], { cwd: ROOT });
  execFileSync("tar", ["-x", "-C", dir], { input: tar });
  const chartFile = path.join(dir, "charts/meshward/Chart.yaml");
  const chart = parse(fs.readFileSync(chartFile, "utf8")) as Record<string, unknown>;
  fs.writeFileSync(chartFile, stringify({ ...chart, version: PREVIOUS_CHART_VERSION }));
  return path.join(dir, "charts/meshward");
}

const onTestBed = inject("ownCluster");

describe("conventional values (helm template)", () => {
  beforeAll(async () => {
    helmBin = (await ensureHelm()).helm;
  });

  it("nameOverride and fullnameOverride name every object, the default policy and the Lease", () => {
    const named = template("--set", "nameOverride=ward");
    const deploy = named.find((o) => o.kind === "Deployment");
    expect(deploy?.metadata?.name).toBe("lc-ward");
    expect(deploy?.metadata?.labels?.["app.kubernetes.io/name"]).toBe("ward");
    expect((deploy?.spec?.selector as { matchLabels: Record<string, string> }).matchLabels).toEqual({
      "app.kubernetes.io/name": "ward",
      "app.kubernetes.io/instance": RELEASE,
    });
    expect(named.find((o) => o.kind === "MeshwardPolicy")?.metadata?.name).toBe("lc-ward-default");

    const full = template("--set", "fullnameOverride=platform-guard");
    const d = full.find((o) => o.kind === "Deployment") as Obj;
    expect(d.metadata?.name).toBe("platform-guard");
    const args = (
      d.spec?.template as { spec: { serviceAccountName: string; containers: { args: string[] }[] } }
    ).spec;
    expect(args.serviceAccountName).toBe("platform-guard");
    expect(args.containers[0]?.args).toContain("--lease-name=platform-guard-leader");
    expect(full.find((o) => o.kind === "ServiceAccount")?.metadata?.name).toBe("platform-guard");
    expect(full.find((o) => o.kind === "MeshwardPolicy")?.metadata?.name).toBe("platform-guard-default");
    // The name stays the chart's: the selector does not change with fullnameOverride.
    expect(d.metadata?.labels?.["app.kubernetes.io/name"]).toBe("meshward");
    // Without overrides: <release>-meshward.
    expect(template().find((o) => o.kind === "Deployment")?.metadata?.name).toBe(FULLNAME);
  });

  it("refuses an override that is not a DNS label, naming the value", () => {
    const r = helm("template", RELEASE, "charts/meshward", "--set", "fullnameOverride=Not_A_Name");
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("fullnameOverride");
  });

  it("commonLabels reach every object, the CRDs, the hook-made policy and the pods", () => {
    const objs = template(
      "--set-json",
      'commonLabels={"team":"platform","cost-center":"1234"}',
      "--set",
      "serviceMonitor.enabled=true",
      "--set",
      "prometheusRule.enabled=true",
      "--set",
      "grafanaDashboard.enabled=true",
      "--set-json",
      'metrics.readers=[{"name":"prometheus","namespace":"monitoring"}]',
    );
    expect(objs.length).toBeGreaterThan(30);
    for (const o of objs)
      expect(o.metadata?.labels, `${o.kind} ${o.metadata?.name}`).toMatchObject({
        team: "platform",
        "cost-center": "1234",
      });
    const pod = (objs.find((o) => o.kind === "Deployment")?.spec?.template as { metadata: Obj["metadata"] })
      .metadata;
    expect(pod?.labels).toMatchObject({ team: "platform" });
    expect(objs.filter((o) => o.kind === "CustomResourceDefinition")).toHaveLength(2);
    // Without commonLabels no object carries them.
    for (const o of template()) expect(o.metadata?.labels?.team).toBeUndefined();
  });

  it("refuses commonLabels that would replace the chart's own labels", () => {
    const r = helm(
      "template",
      RELEASE,
      "charts/meshward",
      "--set-json",
      'commonLabels={"app.kubernetes.io/name":"x"}',
    );
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("commonLabels.app.kubernetes.io/name: the chart sets this label itself");
  });

  it("probe timings are merged over the defaults; path and port stay the operator's", () => {
    type Probe = Record<string, unknown> & { httpGet: { path: string; port: string } };
    const probes = (objs: Obj[]) => {
      const c = (
        objs.find((o) => o.kind === "Deployment")?.spec?.template as {
          spec: { containers: { livenessProbe: Probe; readinessProbe: Probe; startupProbe: Probe }[] };
        }
      ).spec.containers[0];
      if (!c) throw new Error("no container");
      return c;
    };
    const defaults = probes(template());
    expect(defaults.livenessProbe).toEqual({
      httpGet: { path: "/healthz", port: "health" },
      initialDelaySeconds: 5,
      periodSeconds: 10,
      timeoutSeconds: 2,
      failureThreshold: 3,
    });
    expect(defaults.readinessProbe).toEqual({
      httpGet: { path: "/readyz", port: "health" },
      periodSeconds: 5,
      timeoutSeconds: 2,
      failureThreshold: 3,
    });
    expect(defaults.startupProbe).toEqual({
      httpGet: { path: "/healthz", port: "health" },
      periodSeconds: 2,
      failureThreshold: 30,
    });
    const tuned = probes(
      template(
        "--set",
        "livenessProbe.periodSeconds=30",
        "--set",
        "livenessProbe.initialDelaySeconds=null",
        "--set",
        "readinessProbe.failureThreshold=6",
        "--set",
        "startupProbe.failureThreshold=90",
      ),
    );
    expect(tuned.livenessProbe).toEqual({
      httpGet: { path: "/healthz", port: "health" },
      periodSeconds: 30,
      timeoutSeconds: 2,
      failureThreshold: 3,
    });
    expect(tuned.readinessProbe).toMatchObject({ failureThreshold: 6, periodSeconds: 5 });
    expect(tuned.startupProbe).toMatchObject({ failureThreshold: 90, periodSeconds: 2 });
    // Only timings: the path is not a value.
    const r = helm("template", RELEASE, "charts/meshward", "--set", "livenessProbe.httpGet.path=/x");
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("livenessProbe");
  });

  it("the default policy is a post-install hook only while the cluster does not serve its kind", () => {
    const hook = template().find((o) => o.kind === "MeshwardPolicy");
    expect(hook?.metadata?.annotations).toEqual({
      "helm.sh/hook": "post-install",
      "helm.sh/hook-delete-policy": "before-hook-creation",
      "meta.helm.sh/release-name": RELEASE,
      "meta.helm.sh/release-namespace": "meshward-system",
      "meshward.io/hook-revision": "1",
      "helm.sh/resource-policy": "keep",
    });
    const served = template("--api-versions", "meshward.io/v1alpha1/MeshwardPolicy");
    expect(served.find((o) => o.kind === "MeshwardPolicy")?.metadata?.annotations).toEqual({
      "helm.sh/resource-policy": "keep",
    });
    const notKept = template(
      "--api-versions",
      "meshward.io/v1alpha1/MeshwardPolicy",
      "--set",
      "crds.keep=false",
    );
    expect(notKept.find((o) => o.kind === "MeshwardPolicy")?.metadata?.annotations).toBeUndefined();
  });
});

describe.runIf(onTestBed)("helm install, upgrade and uninstall on the test bed", () => {
  let releaseNs = "";
  let appNs = "";
  let policyUid = "";

  beforeAll(async () => {
    fs.mkdirSync(WORK, { recursive: true });
    helmBin = (await ensureHelm()).helm;
    client = kube();
    // An empty cluster, as far as meshward goes. A CRD deleted while its storage is still starting
    // (just applied by the test bed) sends the API server's finalizer into minutes of back-off:
    // first wait until both kinds can be listed.
    for (const [n, kind] of [
      ["servicesecurityprofiles.meshward.io", PROFILES],
      ["meshwardpolicies.meshward.io", POLICIES],
    ] as const)
      if (await crd(n))
        await waitFor(`${kind.kind} to be listable`, async () => !!(await client.get(resourcePath(kind))));
    for (const n of CRD_NAMES)
      await client.delete(crdPath(n)).catch((e: unknown) => {
        if (!(e instanceof ApiError && e.status === 404)) throw e;
      });
    await waitCrdsGone();
    releaseNs = await createNamespace(client, "helm-lifecycle");
    namespaces.push(releaseNs);
  });

  afterAll(async () => {
    if (releaseNs && releaseStatus(releaseNs)) helm("uninstall", RELEASE, "-n", releaseNs, "--wait");
    // Kept by crds.keep, or left by a failed test: the other files expect no MeshwardPolicy.
    if (await crd("meshwardpolicies.meshward.io").catch(() => undefined))
      await client.delete(policyPath).catch(() => undefined);
    for (const n of namespaces) await deleteNamespace(client, n);
    await installRepoCrds(kubeconfigPath());
  });

  it("installs onto a cluster without meshward's CRDs: both CRDs, then the default policy", async () => {
    expect(await crd(CRD_NAMES[0] as string)).toBeUndefined();
    helmOk("install", RELEASE, "charts/meshward", "-n", releaseNs, "--create-namespace");
    expect(releaseStatus(releaseNs)).toBe("deployed");
    const crds = await waitEstablished();
    for (const c of crds) expect(c.metadata?.labels?.["helm.sh/chart"]).toBe(`meshward-${CHART_VERSION}`);
    const p = await policy();
    expect(p?.spec).toMatchObject({
      guardrails: { exceptions: { mode: "Audit", requireApproval: true } },
      perimeter: { mode: "Audit" },
    });
    // Created by the post-install hook, after the CRDs: not (yet) one of the release's objects.
    expect(releaseManifest(releaseNs).some((o) => o.kind === "MeshwardPolicy")).toBe(false);
    expect(helmOk("get", "hooks", RELEASE, "-n", releaseNs)).toContain(`name: ${POLICY_NAME}`);
    policyUid = p?.metadata?.uid as string;
    expect(policyUid).toBeTruthy();
  });

  it("the first upgrade adopts the hook-made policy as it is, the next one applies the values", async () => {
    const maxDays = async () =>
      ((await policy())?.spec as { guardrails: { exceptions: { maxDays: number } } }).guardrails.exceptions
        .maxDays;
    expect(await maxDays()).toBe(90);
    // Helm 3 adopts a custom resource without writing to it (helm/helm#11638): the values of this
    // upgrade cannot reach the policy, and NOTES.txt says what to do.
    const first = helmOk(
      "upgrade",
      RELEASE,
      "charts/meshward",
      "-n",
      releaseNs,
      "--set",
      "maxExceptionDays=30",
    );
    expect(releaseStatus(releaseNs)).toBe("deployed");
    expect(first).toContain(
      `NOTE: this upgrade took over the MeshwardPolicy ${POLICY_NAME} as it is in the cluster`,
    );
    expect(first).toContain(`helm upgrade ${RELEASE} <chart> -n ${releaseNs} --reuse-values`);
    const inRelease = releaseManifest(releaseNs).filter((o) => o.kind === "MeshwardPolicy");
    expect(inRelease.map((o) => o.metadata?.name)).toEqual([POLICY_NAME]);
    expect(inRelease[0]?.metadata?.annotations?.["helm.sh/hook"]).toBeUndefined();
    expect(await maxDays()).toBe(90);
    // The same object all along: a delete and create would give it a new uid.
    expect((await policy())?.metadata?.uid).toBe(policyUid);

    const second = helmOk("upgrade", RELEASE, "charts/meshward", "-n", releaseNs, "--reuse-values");
    expect(second).not.toContain("NOTE:");
    expect(await maxDays()).toBe(30);
    const p = await policy();
    expect(p?.metadata?.uid).toBe(policyUid);
    expect(p?.metadata?.annotations?.["meshward.io/hook-revision"]).toBeUndefined();
    // An upgrade that leaves the policy as it is says nothing about it.
    expect(helmOk("upgrade", RELEASE, "charts/meshward", "-n", releaseNs, "--reuse-values")).not.toContain(
      "NOTE:",
    );
  });

  it("uninstall with crds.keep (the default) leaves the CRDs, the profiles and the default policy", async () => {
    appNs = await createNamespace(client, "helm-lifecycle-app");
    namespaces.push(appNs);
    const profile = await applyProfile(client, appNs, "api", { selector: { app: "api" } });
    helmOk("uninstall", RELEASE, "-n", releaseNs, "--wait");
    expect(releaseStatus(releaseNs)).toBeUndefined();
    // The release's other objects are gone ...
    expect(
      await getOrUndefined(
        client,
        resourcePath(
          { group: "apps", version: "v1", plural: "deployments", kind: "Deployment", namespaced: true },
          releaseNs,
          FULLNAME,
        ),
      ),
    ).toBeUndefined();
    // ... what crds.keep keeps is not.
    for (const c of await waitEstablished())
      expect(c.metadata?.annotations?.["helm.sh/resource-policy"]).toBe("keep");
    expect((await getProfile(client, appNs, "api"))?.metadata?.uid).toBe(profile.metadata?.uid);
    expect((await policy())?.metadata?.uid).toBe(policyUid);
  });

  it("installing again onto what crds.keep kept adopts the policy as it is, naming the difference", async () => {
    const out = helmOk(
      "install",
      RELEASE,
      "charts/meshward",
      "-n",
      releaseNs,
      "--set",
      "maxExceptionDays=45",
    );
    expect(releaseStatus(releaseNs)).toBe("deployed");
    expect(out).toContain(
      `NOTE: this install took over the MeshwardPolicy ${POLICY_NAME} as it is in the cluster\n(kept by an earlier release)`,
    );
    const p = await policy();
    expect(p?.metadata?.uid).toBe(policyUid);
    expect(
      (p?.spec as { guardrails: { exceptions: { maxDays: number } } }).guardrails.exceptions.maxDays,
    ).toBe(30);
    expect(releaseManifest(releaseNs).filter((o) => o.kind === "MeshwardPolicy")).toHaveLength(1);
    helmOk("uninstall", RELEASE, "-n", releaseNs, "--wait");
    expect((await policy())?.metadata?.uid).toBe(policyUid);
  });

  it("upgrades from the previous chart with profiles present: they and the policy stay, the CRDs are updated", async () => {
    const previous = previousChart();
    try {
      // A cluster running the previous chart: installed onto the kept CRDs (it adopts them, as a
      // typed kind Helm patches them), its default policy its own.
      await client.delete(policyPath);
      await waitFor("the kept policy to be gone", async () => !(await policy()));
      helmOk("install", RELEASE, previous, "-n", releaseNs);
      expect(releaseStatus(releaseNs)).toBe("deployed");
      for (const c of await waitEstablished())
        expect(c.metadata?.labels?.["helm.sh/chart"]).toBe(`meshward-${PREVIOUS_CHART_VERSION}`);
      const before = await policy();
      expect(before?.metadata?.labels?.["helm.sh/chart"]).toBe(`meshward-${PREVIOUS_CHART_VERSION}`);
      policyUid = before?.metadata?.uid as string;
      const second = await applyProfile(client, appNs, "web", {
        selector: { app: "web" },
        ingress: [{ from: [{ service: `${appNs}/api` }], ports: [8080] }],
      });
      const first = await getProfile(client, appNs, "api");

      helmOk("upgrade", RELEASE, "charts/meshward", "-n", releaseNs);
      expect(releaseStatus(releaseNs)).toBe("deployed");
      const crds = await waitEstablished();
      for (const c of crds) expect(c.metadata?.labels?.["helm.sh/chart"]).toBe(`meshward-${CHART_VERSION}`);
      // The served schemas are the working tree's (crds/ holds the same generated CRDs).
      for (const c of crds) {
        const file = fs
          .readdirSync(path.join(ROOT, "crds"))
          .map((f) => parse(fs.readFileSync(path.join(ROOT, "crds", f), "utf8")) as Crd)
          .find((x) => x.metadata?.name === c.metadata?.name);
        expect(c.spec.versions).toEqual(file?.spec.versions);
      }
      expect((await getProfile(client, appNs, "api"))?.metadata?.uid).toBe(first?.metadata?.uid);
      expect((await getProfile(client, appNs, "web"))?.metadata?.uid).toBe(second.metadata?.uid);
      const p = await policy();
      expect(p?.metadata?.uid).toBe(policyUid);
      expect(p?.metadata?.labels?.["helm.sh/chart"]).toBe(`meshward-${CHART_VERSION}`);
      expect(releaseManifest(releaseNs).filter((o) => o.kind === "MeshwardPolicy")).toHaveLength(1);
    } finally {
      fs.rmSync(path.dirname(path.dirname(previous)), { recursive: true, force: true });
    }
  });

  it("uninstall with crds.keep=false deletes the CRDs, and with them the profiles and the policy", async () => {
    helmOk(
      "upgrade",
      RELEASE,
      "charts/meshward",
      "-n",
      releaseNs,
      "--reuse-values",
      "--set",
      "crds.keep=false",
    );
    for (const c of await waitEstablished())
      expect(c.metadata?.annotations?.["helm.sh/resource-policy"]).toBeUndefined();
    helmOk("uninstall", RELEASE, "-n", releaseNs, "--wait");
    expect(releaseStatus(releaseNs)).toBeUndefined();
    await waitCrdsGone();
    // With the profiles' kind gone, nothing of theirs can be listed any more.
    await expect(client.get(resourcePath(PROFILES, appNs))).rejects.toMatchObject({ status: 404 });
  });
});
