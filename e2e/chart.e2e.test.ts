// The Helm chart (charts/meshward): lint, render, schema errors; the rendered chart applied to the
// test bed in a namespace that enforces the "restricted" Pod Security Standard; then the
// least-privilege proof: the operator, compiled as the image runs it, with a token of the chart's
// ServiceAccount and the chart's flags, passes the core scenarios, and access reviews show what
// that account cannot do.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { ensureHelm } from "./controlplane/build.ts";
import { applyManifests, upstreamCrds } from "./controlplane/upstream.ts";
import {
  ApiError,
  KubeClient,
  type KubeObjectLike,
  type Resource,
  resourcePath,
} from "../operator/runtime/client.ts";
import { CRDS, LEASES, PROFILES } from "../operator/reconcile/kinds.ts";
import { validatePolicy } from "../operator/api/validate-policy.ts";
import { run as runCli } from "../operator/cli/main.ts";
import { BASELINE_POLICY, SERVICE_ACCOUNT_POLICY } from "../operator/policy/admission.ts";
import { kubeReviewer, type UserInfo } from "../operator/observability/metrics-auth.ts";
import {
  CONFIGMAPS,
  createNamespace,
  deleteNamespace,
  kube,
  kubeconfigPath,
  NAMESPACES,
  serviceAccountKubeconfig,
  serviceAccountToken,
  waitFor,
} from "./support/kube.ts";
import { METRICS_READER_RULES } from "./support/metrics.ts";
import { type OperatorProcess, startOperator } from "./support/operator.ts";
import { applyProfile, condition, getChild, kindOf, waitCondition, waitEvent } from "./support/profiles.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const WORK = path.join(ROOT, ".cache/e2e/chart");
// Not "meshward": on a real cluster (MESHWARD_E2E_USE_KUBECONFIG) the cluster-scoped objects of an
// actual installation must not be touched.
const RELEASE = "e2e";
const FULLNAME = "e2e-meshward";
const FIELD_MANAGER = "e2e-helm";

type Rule = { apiGroups?: string[]; resources?: string[]; resourceNames?: string[]; verbs: string[] };
type Manifest = KubeObjectLike & { rules?: Rule[]; spec?: Record<string, unknown> };
type Container = {
  args: string[];
  env: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  ports: { name: string; containerPort: number }[];
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  securityContext: Record<string, unknown>;
};
type PodTemplate = {
  metadata: { labels: Record<string, string> };
  spec: {
    serviceAccountName: string;
    automountServiceAccountToken: boolean;
    securityContext: Record<string, unknown>;
    containers: Container[];
    affinity: Record<string, unknown>;
  };
};

const KINDS: Record<string, Resource> = {
  ServiceAccount: {
    group: "",
    version: "v1",
    plural: "serviceaccounts",
    kind: "ServiceAccount",
    namespaced: true,
  },
  Service: { group: "", version: "v1", plural: "services", kind: "Service", namespaced: true },
  Deployment: { group: "apps", version: "v1", plural: "deployments", kind: "Deployment", namespaced: true },
  PodDisruptionBudget: {
    group: "policy",
    version: "v1",
    plural: "poddisruptionbudgets",
    kind: "PodDisruptionBudget",
    namespaced: true,
  },
  ClusterRole: {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    plural: "clusterroles",
    kind: "ClusterRole",
    namespaced: false,
  },
  ClusterRoleBinding: {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    plural: "clusterrolebindings",
    kind: "ClusterRoleBinding",
    namespaced: false,
  },
  Role: {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    plural: "roles",
    kind: "Role",
    namespaced: true,
  },
  RoleBinding: {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    plural: "rolebindings",
    kind: "RoleBinding",
    namespaced: true,
  },
};
for (const [kind, plural] of [
  ["ServiceMonitor", "servicemonitors"],
  ["PodMonitor", "podmonitors"],
  ["PrometheusRule", "prometheusrules"],
] as const)
  KINDS[kind] = { group: "monitoring.coreos.com", version: "v1", plural, kind, namespaced: true };
KINDS.ConfigMap = CONFIGMAPS;
KINDS.CustomResourceDefinition = CRDS;
const POLICIES: Resource = {
  group: "meshward.io",
  version: "v1alpha1",
  plural: "meshwardpolicies",
  kind: "MeshwardPolicy",
  namespaced: false,
};
KINDS.MeshwardPolicy = POLICIES;
for (const [kind, plural] of [
  ["ValidatingAdmissionPolicy", "validatingadmissionpolicies"],
  ["ValidatingAdmissionPolicyBinding", "validatingadmissionpolicybindings"],
] as const)
  KINDS[kind] = { group: "admissionregistration.k8s.io", version: "v1", plural, kind, namespaced: false };
const CLUSTER_KINDS = [
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "MeshwardPolicy",
  "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding",
];
const PODS: Resource = { group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true };
const METADATA_RANGES = ["169.254.0.0/16", "100.100.100.200/32", "fe80::/10", "fd00:ec2::254/128"];

let helmBin = "";
let client: KubeClient;
let releaseNs = "";
const namespaces: string[] = [];
const ops: OperatorProcess[] = [];
let rendered: Manifest[] = [];

function helm(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const home = (d: string) => path.join(WORK, "helm", d);
  const r = spawnSync(helmBin, args, {
    cwd: ROOT,
    encoding: "utf8",
    env: {
      ...process.env,
      HELM_CACHE_HOME: home("cache"),
      HELM_CONFIG_HOME: home("config"),
      HELM_DATA_HOME: home("data"),
    },
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function template(...args: string[]): Manifest[] {
  const r = helm("template", RELEASE, "charts/meshward", "--namespace", releaseNs, ...args);
  if (r.status !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as Manifest | null)
    .filter((o): o is Manifest => !!o?.kind);
}

function one(kind: string, objs = rendered): Manifest {
  const found = objs.filter((o) => o.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0] as Manifest;
}

function podTemplate(): PodTemplate {
  return (one("Deployment").spec as { template: PodTemplate }).template;
}

function pathOf(o: Manifest, name = o.metadata?.name): string {
  const r = KINDS[o.kind ?? ""];
  if (!r) throw new Error(`no resource for ${o.kind}`);
  return resourcePath(r, o.metadata?.namespace, name);
}

async function forbidden(p: Promise<unknown>): Promise<boolean> {
  try {
    await p;
    return false;
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) return true;
    throw e;
  }
}

let applied: Promise<void> | undefined;
/** Server-side apply of the rendered chart, once. */
function applyChart(): Promise<void> {
  applied ??= (async () => {
    // The test bed has the CRD already (e2e/controlplane installs crds/).
    for (const o of rendered.filter((x) => x.kind !== "CustomResourceDefinition"))
      await client.apply(pathOf(o), o, FIELD_MANAGER, true, { fieldValidation: "Strict" });
  })();
  return applied;
}

beforeAll(async () => {
  fs.mkdirSync(WORK, { recursive: true });
  helmBin = (await ensureHelm()).helm;
  client = kube();
  // The release namespace enforces the restricted Pod Security Standard: everything the chart
  // runs there (the Deployment's pods) must pass it.
  releaseNs = await createNamespace(client, "meshward-system");
  namespaces.push(releaseNs);
  await client.request("PATCH", resourcePath(NAMESPACES, undefined, releaseNs), {
    body: {
      metadata: {
        labels: {
          "pod-security.kubernetes.io/enforce": "restricted",
          "pod-security.kubernetes.io/enforce-version": "latest",
        },
      },
    },
    contentType: "application/merge-patch+json",
  });
  rendered = template();
});

afterAll(async () => {
  await Promise.all(ops.map((o) => o.stop()));
  for (const o of rendered.filter(
    (x) => CLUSTER_KINDS.includes(x.kind ?? "") && x.kind !== "CustomResourceDefinition",
  )) {
    await client.delete(pathOf(o)).catch(() => undefined);
  }
  for (const n of namespaces) await deleteNamespace(client, n);
});

type AccessAttrs = {
  verb: string;
  resource: string;
  group?: string;
  namespace?: string;
  name?: string;
  subresource?: string;
};

/** What the API server says about this client's own access (SelfSubjectAccessReview). */
async function can(c: KubeClient, a: AccessAttrs): Promise<boolean> {
  const r = await c.request<{ status: { allowed: boolean } }>(
    "POST",
    "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
    {
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SelfSubjectAccessReview",
        spec: { resourceAttributes: a },
      },
    },
  );
  return r.status.allowed;
}

describe("chart", () => {
  it("passes helm lint --strict", () => {
    const r = helm("lint", "--strict", "charts/meshward");
    expect(r.stderr + r.stdout).toContain("1 chart(s) linted, 0 chart(s) failed");
    expect(r.status).toBe(0);
  });

  it("renders every object, the Deployment as specified", () => {
    expect(rendered.map((o) => o.kind).sort()).toEqual([
      "ClusterRole", // the operator's
      "ClusterRole", // profiles-edit, aggregated into admin and edit
      "ClusterRole", // platform-admin
      "ClusterRole", // view, aggregated into view, edit and admin
      "ClusterRole", // metrics-reader, for Prometheus
      "ClusterRoleBinding",
      "CustomResourceDefinition",
      "CustomResourceDefinition",
      "Deployment",
      "MeshwardPolicy", // the default policy, in Audit
      "PodDisruptionBudget",
      "Role",
      "RoleBinding",
      "Service",
      "ServiceAccount",
      ...Array<string>(8).fill("ValidatingAdmissionPolicy"), // baseline (2), perimeter (6)
      ...Array<string>(8).fill("ValidatingAdmissionPolicyBinding"),
    ]);
    for (const o of rendered)
      if (!CLUSTER_KINDS.includes(o.kind ?? "")) expect(o.metadata?.namespace).toBe(releaseNs);
    const deploy = one("Deployment");
    expect(deploy.spec?.replicas).toBe(2);
    const pod = podTemplate();
    const c = pod.spec.containers[0] as Container;
    expect(c.args).toEqual(
      expect.arrayContaining([
        "--leader-election=true",
        "--leader-election-namespace=$(POD_NAMESPACE)",
        `--lease-name=${FULLNAME}-leader`,
        "--mesh-mode=sidecar",
        "--trust-domain=cluster.local",
        "--concurrency=4",
        "--metrics-port=8080",
        "--metrics-secure=true",
        "--health-port=8081",
        "--liveness-watch-seconds=600",
      ]),
    );
    expect(c.env).toContainEqual({
      name: "POD_NAMESPACE",
      valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } },
    });
    expect(c.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "health" });
    expect(c.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "health" });
    expect(c.ports).toEqual([
      { name: "metrics", containerPort: 8080, protocol: "TCP" },
      { name: "health", containerPort: 8081, protocol: "TCP" },
    ]);
    expect(pod.spec.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(c.securityContext).toMatchObject({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(Object.keys(c.resources.requests).sort()).toEqual(["cpu", "memory"]);
    expect(Object.keys(c.resources.limits).sort()).toEqual(["cpu", "memory"]);
    expect(pod.spec.serviceAccountName).toBe(FULLNAME);
    expect(one("ServiceAccount").metadata?.name).toBe(FULLNAME);
    expect(pod.spec.automountServiceAccountToken).toBe(true);
    expect(
      (one("ServiceAccount") as { automountServiceAccountToken?: boolean }).automountServiceAccountToken,
    ).toBe(false);
    expect(pod.spec.affinity).toMatchObject({
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { podAffinityTerm: { topologyKey: "kubernetes.io/hostname" } },
        ],
      },
    });
    expect(one("PodDisruptionBudget").spec).toMatchObject({ minAvailable: 1 });
    expect(one("Service").spec).toMatchObject({
      ports: [{ name: "metrics", port: 8080, targetPort: "metrics" }],
    });
  });

  it("renders values: namespaces, ServiceMonitor, scheduling; one replica has no PDB", () => {
    const objs = template(
      "--set",
      "watchNamespaces={team-a,team-b}",
      "--set",
      "meshMode=ambient",
      "--set",
      "serviceMonitor.enabled=true",
      "--set",
      "replicas=1",
      "--set",
      "priorityClassName=system-cluster-critical",
      "--set",
      "nodeSelector.kubernetes\\.io/os=linux",
      "--set-json",
      'tolerations=[{"key":"dedicated","operator":"Equal","value":"platform","effect":"NoSchedule"}]',
      "--set-json",
      'affinity={"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"pool","operator":"In","values":["system"]}]}]}}}',
    );
    expect(objs.some((o) => o.kind === "PodDisruptionBudget")).toBe(false);
    // Secure metrics: HTTPS with Prometheus's own token, the self-signed certificate not verified.
    expect(one("ServiceMonitor", objs).spec).toMatchObject({
      endpoints: [
        {
          port: "metrics",
          path: "/metrics",
          honorLabels: true,
          relabelings: [{ targetLabel: "job", replacement: `${releaseNs}/${FULLNAME}` }],
          scheme: "https",
          bearerTokenFile: "/var/run/secrets/kubernetes.io/serviceaccount/token",
          tlsConfig: { insecureSkipVerify: true },
        },
      ],
    });
    const pod = (one("Deployment", objs).spec as { template: PodTemplate }).template
      .spec as PodTemplate["spec"] & Record<string, unknown>;
    expect(pod.containers[0]?.args).toEqual(
      expect.arrayContaining(["--namespaces=team-a,team-b", "--mesh-mode=ambient"]),
    );
    expect(pod.priorityClassName).toBe("system-cluster-critical");
    expect(pod.nodeSelector).toEqual({ "kubernetes.io/os": "linux" });
    expect(pod.tolerations).toEqual([
      { key: "dedicated", operator: "Equal", value: "platform", effect: "NoSchedule" },
    ]);
    expect(pod.affinity).toEqual({
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: "pool", operator: "In", values: ["system"] }] }],
        },
      },
    });
  });

  it("renders the same generated CRDs as crds/, kept on uninstall unless crds.keep is false", () => {
    const crds = rendered.filter((o) => o.kind === "CustomResourceDefinition");
    const files = ["meshward.io_servicesecurityprofiles.yaml", "meshward.io_meshwardpolicies.yaml"].map(
      (f) => parse(fs.readFileSync(path.join(ROOT, "crds", f), "utf8")) as Manifest,
    );
    expect(crds.map((c) => c.metadata?.name).sort()).toEqual(files.map((f) => f.metadata?.name).sort());
    for (const file of files) {
      const crd = crds.find((c) => c.metadata?.name === file.metadata?.name) as Manifest;
      expect(crd.spec).toEqual(file.spec);
      expect(crd.metadata?.labels).toMatchObject({
        ...file.metadata?.labels,
        "app.kubernetes.io/managed-by": "Helm",
      });
      expect(crd.metadata?.annotations).toEqual({ "helm.sh/resource-policy": "keep" });
    }
    const notKept = template("--set", "crds.keep=false").filter((o) => o.kind === "CustomResourceDefinition");
    expect(notKept).toHaveLength(2);
    for (const crd of notKept) expect(crd.metadata?.annotations).toBe(undefined);
    expect(template("--set", "crds.enabled=false").some((o) => o.kind === "CustomResourceDefinition")).toBe(
      false,
    );
    // Helm's crds/ folder is gone: it would install the CRD a second time, and never upgrade it.
    expect(fs.existsSync(path.join(ROOT, "charts/meshward/crds"))).toBe(false);
  });

  it("rejects wrong values with the schema's message", () => {
    const cases: [string[], RegExp][] = [
      [["--set", "meshMode=foo"], /at '\/meshMode': value must be one of 'sidecar', 'ambient'/],
      [["--set", "concurrency=0"], /at '\/concurrency': minimum: got 0, want 1/],
      [["--set", "concurrency=65"], /at '\/concurrency': maximum: got 65, want 64/],
      [["--set", "replicas=0"], /at '\/replicas': minimum: got 0, want 1/],
      [["--set", "secretRefreshInterval=1d"], /at '\/secretRefreshInterval'/],
      [["--set", "watchNamespaces={Bad_Name}"], /at '\/watchNamespaces\/0'/],
      [["--set", "replica=3"], /additional properties 'replica' not allowed/],
      // The digest has a value of its own now: "tag@sha256:…" in image.tag is refused.
      [["--set", `image.tag=1.0@sha256:${"a".repeat(64)}`], /at '\/image\/tag'/],
      [["--set", "image.digest=latest"], /at '\/image\/digest'/],
      [["--set", "image.repository=meshward:1.0"], /at '\/image\/repository'/],
      // Typos in the chart's own keys, at any depth.
      [["--set", "podMonitor.enable=true"], /additional properties 'enable' not allowed/],
      [["--set", "crds.kep=false"], /additional properties 'kep' not allowed/],
      [["--set", "prometheusRule.notReadyFor=ten"], /at '\/prometheusRule\/notReadyFor'/],
      [["--set", "podDisruptionBudget.minAvailable=half"], /at '\/podDisruptionBudget\/minAvailable'/],
      [["--set-json", 'extraEnv=[{"value":"x"}]'], /at '\/extraEnv\/0': missing property 'name'/],
      [["--set", "extraArgs={resync}"], /at '\/extraArgs\/0'/],
      [["--set", "metrics.secure=yes"], /at '\/metrics\/secure'/],
      [["--set", "metrics.scrape.tokenSecret.name=prom"], /at '\/metrics\/scrape\/tokenSecret'/],
      [
        ["--set-json", 'metrics.readers=[{"name":"prom"}]'],
        /at '\/metrics\/readers\/0': missing property 'namespace'/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = helm("template", RELEASE, "charts/meshward", ...args);
      expect(r.status, args.join(" ")).not.toBe(0);
      expect(r.stderr, args.join(" ")).toContain("values don't meet the specifications of the schema");
      expect(r.stderr, args.join(" ")).toMatch(message);
    }
  });

  it("refuses contradicting values with a message naming them", () => {
    const cases: [string[], string][] = [
      [
        ["--set", "serviceMonitor.enabled=true", "--set", "podMonitor.enabled=true"],
        "serviceMonitor.enabled and podMonitor.enabled: choose one",
      ],
      [["--set", "health.port=8080"], "health.port and metrics.port must differ"],
      [
        ["--set", "metrics.secure=false", "--set", "metrics.certSecret=metrics-tls"],
        "metrics.certSecret is for HTTPS metrics",
      ],
      [["--set", "podMonitor.enabled=true"], "a PodMonitor cannot send Prometheus's own token"],
      [
        ["--set", "podDisruptionBudget.maxUnavailable=1"],
        "podDisruptionBudget: set minAvailable or maxUnavailable, not both (with maxUnavailable, set minAvailable to null)",
      ],
    ];
    for (const [args, message] of cases) {
      const r = helm("template", RELEASE, "charts/meshward", ...args);
      expect(r.status, args.join(" ")).not.toBe(0);
      expect(r.stderr, args.join(" ")).toContain(message);
    }
  });

  it("is accepted by the API server, and its pods pass the restricted Pod Security Standard", async () => {
    await applyChart();
    // A Deployment is admitted whatever its pods: check the pod itself, as a dry run...
    const tmpl = podTemplate();
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "pss-check", labels: tmpl.metadata.labels },
      spec: tmpl.spec,
    };
    await client.request("POST", resourcePath(PODS, releaseNs), { body: pod, query: { dryRun: "All" } });
    // ...which is a real check: the same pod without its security contexts is refused.
    const loose = structuredClone(pod) as {
      spec: { securityContext?: unknown; containers: { securityContext?: unknown }[] };
    };
    delete loose.spec.securityContext;
    for (const c of loose.spec.containers) delete c.securityContext;
    const refused = await client
      .request("POST", resourcePath(PODS, releaseNs), { body: loose, query: { dryRun: "All" } })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(403);
    expect((refused as ApiError).message).toContain('violates PodSecurity "restricted:latest"');
    // And for real: the ReplicaSet controller creates both pods (they stay Pending: no nodes).
    const pods = await waitFor("the Deployment's 2 pods to be created", async () => {
      const list = await client.get<{ items: KubeObjectLike[] }>(
        `${resourcePath(PODS, releaseNs)}?labelSelector=${encodeURIComponent(`app.kubernetes.io/name=meshward,app.kubernetes.io/instance=${RELEASE}`)}`,
      );
      return list.items.length >= 2 ? list.items : undefined;
    });
    expect(pods.length).toBe(2);
  });
});

const DIGEST = `sha256:${"0123456789abcdef".repeat(4)}`;

type Case = {
  name: string;
  args: string[];
  check: (objs: Manifest[], pod: PodTemplate["spec"] & Record<string, unknown>, c: Container) => void;
};

const MATRIX: Case[] = [
  {
    name: "defaults",
    args: [],
    check: (objs, _pod, c) => {
      expect((c as Container & { image: string }).image).toBe("ghcr.io/meshward/meshward:0.1.0");
      expect(one("PodDisruptionBudget", objs).spec).toEqual({
        minAvailable: 1,
        selector: {
          matchLabels: { "app.kubernetes.io/name": "meshward", "app.kubernetes.io/instance": RELEASE },
        },
      });
      for (const k of ["ServiceMonitor", "PodMonitor", "PrometheusRule", "ConfigMap"])
        expect(
          objs.some((o) => o.kind === k),
          k,
        ).toBe(false);
    },
  },
  {
    name: "reports.enabled: the flag, and RBAC on openreports.io (none by default)",
    args: ["--set", "reports.enabled=true"],
    check: (objs, _pod, c) => {
      expect((c as Container & { args: string[] }).args).toContain("--openreports=true");
      const own = objs.filter((o) => o.kind === "ClusterRole" && o.metadata?.name === FULLNAME);
      const rules = one("ClusterRole", own).rules ?? [];
      expect(rules).toContainEqual({
        apiGroups: ["openreports.io"],
        resources: ["reports", "clusterreports"],
        verbs: ["list", "watch", "create", "patch", "delete"],
      });
      const crds = rules.find((r) => r.apiGroups?.includes("apiextensions.k8s.io"));
      expect(crds?.resourceNames).toEqual(
        expect.arrayContaining(["reports.openreports.io", "clusterreports.openreports.io"]),
      );
      const defaults = template().filter((o) => o.kind === "ClusterRole" && o.metadata?.name === FULLNAME);
      expect(JSON.stringify(defaults)).not.toContain("openreports");
      expect(JSON.stringify(template().filter((o) => o.kind === "Deployment"))).not.toContain(
        "--openreports",
      );
    },
  },
  {
    name: "digest only",
    args: [
      "--set",
      `image.digest=${DIGEST}`,
      "--set",
      "image.repository=registry.example:5000/platform/meshward",
    ],
    check: (_objs, _pod, c) =>
      expect((c as Container & { image: string }).image).toBe(
        `registry.example:5000/platform/meshward@${DIGEST}`,
      ),
  },
  {
    name: "tag and digest",
    args: ["--set", "image.tag=1.2.3", "--set", `image.digest=${DIGEST}`],
    check: (_objs, _pod, c) =>
      expect((c as Container & { image: string }).image).toBe(`ghcr.io/meshward/meshward:1.2.3@${DIGEST}`),
  },
  {
    name: "OpenShift: no UID or GID",
    args: ["--set", "podSecurityContext.runAsUser=null", "--set", "podSecurityContext.runAsGroup=null"],
    check: (_objs, pod, c) => {
      expect(pod.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
      expect(c.securityContext.runAsUser).toBeUndefined();
      expect(JSON.stringify(pod)).not.toContain("65532");
    },
  },
  {
    name: "ServiceMonitor",
    args: ["--set", "serviceMonitor.enabled=true", "--set", "serviceMonitor.labels.release=prom"],
    check: (objs) => {
      const sm = one("ServiceMonitor", objs);
      expect(sm.metadata?.labels?.release).toBe("prom");
      expect(sm.spec).toMatchObject({ endpoints: [{ port: "metrics", honorLabels: true }] });
    },
  },
  {
    name: "PodMonitor",
    args: [
      "--set",
      "podMonitor.enabled=true",
      "--set",
      "podMonitor.interval=15s",
      "--set",
      "metrics.scrape.tokenSecret.name=prometheus-token",
      "--set",
      "metrics.scrape.tokenSecret.key=token",
    ],
    check: (objs) => {
      expect(objs.some((o) => o.kind === "ServiceMonitor")).toBe(false);
      expect(one("PodMonitor", objs).spec).toEqual({
        namespaceSelector: { matchNames: [releaseNs] },
        selector: {
          matchLabels: { "app.kubernetes.io/name": "meshward", "app.kubernetes.io/instance": RELEASE },
        },
        podMetricsEndpoints: [
          {
            port: "metrics",
            path: "/metrics",
            interval: "15s",
            honorLabels: true,
            relabelings: [{ targetLabel: "job", replacement: `${releaseNs}/${FULLNAME}` }],
            scheme: "https",
            authorization: { type: "Bearer", credentials: { name: "prometheus-token", key: "token" } },
            tlsConfig: { insecureSkipVerify: true },
          },
        ],
      });
    },
  },
  {
    name: "plain-HTTP metrics: no reviews, no reader role, a PodMonitor without a token",
    args: ["--set", "metrics.secure=false", "--set", "podMonitor.enabled=true"],
    check: (objs, _pod, c) => {
      expect(c.args).toContain("--metrics-secure=false");
      const endpoint = (one("PodMonitor", objs).spec as { podMetricsEndpoints: Record<string, unknown>[] })
        .podMetricsEndpoints[0];
      for (const k of ["scheme", "authorization", "bearerTokenFile", "tlsConfig"])
        expect(endpoint, k).not.toHaveProperty(k);
      const roles = objs.filter((o) => o.kind === "ClusterRole").map((o) => o.metadata?.name);
      expect(roles).not.toContain(`${FULLNAME}-metrics-reader`);
      const own = objs.find((o) => o.kind === "ClusterRole" && o.metadata?.name === FULLNAME);
      const groups = (own?.rules ?? []).flatMap((r) => r.apiGroups ?? []);
      expect(groups).not.toContain("authentication.k8s.io");
      expect(groups).not.toContain("authorization.k8s.io");
    },
  },
  {
    name: "metrics certificate from a Secret, verified scrapes, readers bound",
    args: [
      "--set",
      "serviceMonitor.enabled=true",
      "--set",
      "metrics.certSecret=meshward-metrics-tls",
      "--set",
      "metrics.scrape.ca.secret.name=meshward-metrics-tls",
      "--set",
      "metrics.scrape.ca.secret.key=ca.crt",
      "--set-json",
      'metrics.readers=[{"name":"prometheus","namespace":"monitoring"}]',
      "--set-json",
      'volumes=[{"name":"tmp","emptyDir":{}}]',
      "--set-json",
      'volumeMounts=[{"name":"tmp","mountPath":"/tmp"}]',
    ],
    check: (objs, pod, c) => {
      expect(c.args).toEqual(
        expect.arrayContaining(["--metrics-secure=true", "--metrics-cert-dir=/etc/meshward/metrics-tls"]),
      );
      expect((c as Container & { volumeMounts: unknown }).volumeMounts).toEqual([
        { name: "metrics-tls", mountPath: "/etc/meshward/metrics-tls", readOnly: true },
        { name: "tmp", mountPath: "/tmp" },
      ]);
      expect(pod.volumes).toEqual([
        {
          name: "metrics-tls",
          secret: {
            secretName: "meshward-metrics-tls",
            items: [
              { key: "tls.crt", path: "tls.crt" },
              { key: "tls.key", path: "tls.key" },
            ],
          },
        },
        { name: "tmp", emptyDir: {} },
      ]);
      expect(one("ServiceMonitor", objs).spec).toMatchObject({
        endpoints: [
          {
            scheme: "https",
            bearerTokenFile: "/var/run/secrets/kubernetes.io/serviceaccount/token",
            tlsConfig: {
              ca: { secret: { name: "meshward-metrics-tls", key: "ca.crt" } },
              serverName: `${FULLNAME}-metrics.${releaseNs}.svc`,
            },
          },
        ],
      });
      const binding = one(
        "ClusterRoleBinding",
        objs.filter((o) => o.metadata?.name !== FULLNAME),
      );
      expect(binding).toMatchObject({
        metadata: { name: `${FULLNAME}-metrics-reader` },
        roleRef: { kind: "ClusterRole", name: `${FULLNAME}-metrics-reader` },
        subjects: [{ kind: "ServiceAccount", name: "prometheus", namespace: "monitoring" }],
      });
    },
  },
  {
    name: "PrometheusRule and Grafana dashboard",
    args: [
      "--set",
      "prometheusRule.enabled=true",
      "--set",
      "prometheusRule.alertLabels.team=platform",
      "--set",
      "prometheusRule.exceptionExpiryDays=14",
      "--set",
      "grafanaDashboard.enabled=true",
      "--set",
      "grafanaDashboard.annotations.grafana_folder=Platform",
    ],
    check: (objs) => {
      type Rule = { alert: string; expr: string; for?: string; labels: Record<string, string> };
      const groups = (one("PrometheusRule", objs).spec as { groups: { rules: Rule[] }[] }).groups;
      const rules = groups.flatMap((g) => g.rules);
      expect(rules.map((r) => r.alert)).toEqual([
        "MeshwardProfileNotReady",
        "MeshwardProfileConflict",
        "MeshwardProfileWidened",
        "MeshwardSecretsFailing",
        "MeshwardSecretLeaseEnding",
        "MeshwardDriftCorrectedRepeatedly",
        "MeshwardExceptionExpiringSoon",
        "MeshwardNotLeading",
      ]);
      const job = `job="${releaseNs}/${FULLNAME}"`;
      for (const r of rules) {
        expect(r.expr, r.alert).toContain(`{${job}`);
        expect(r.labels.team, r.alert).toBe("platform");
      }
      const byName = Object.fromEntries(rules.map((r) => [r.alert, r]));
      expect(byName.MeshwardProfileNotReady).toMatchObject({
        expr: `max by (namespace, name) (meshward_profile_ready{${job}}) == 0`,
        for: "10m",
      });
      expect(byName.MeshwardSecretsFailing).toMatchObject({
        expr: `max by (namespace, name) (meshward_profile_secrets_failing{${job}}) > 0`,
        for: "15m",
      });
      expect(byName.MeshwardSecretLeaseEnding).toMatchObject({
        expr: `max by (namespace, name) (meshward_profile_secrets_lease_ending{${job}}) > 0`,
      });
      expect(byName.MeshwardSecretLeaseEnding?.for).toBeUndefined();
      expect(byName.MeshwardExceptionExpiringSoon?.expr).toBe(
        `min by (namespace, name) (meshward_profile_exception_expiry_timestamp_seconds{${job}}) - time() < ${14 * 86400}`,
      );
      expect(byName.MeshwardDriftCorrectedRepeatedly?.expr).toBe(
        `sum by (kind) (increase(meshward_drift_total{${job},action="corrected"}[1h])) > 3`,
      );
      const cm = one("ConfigMap", objs) as Manifest & { data: Record<string, string> };
      expect(cm.metadata?.labels?.grafana_dashboard).toBe("1");
      expect(cm.metadata?.annotations).toEqual({ grafana_folder: "Platform" });
      const dash = JSON.parse(cm.data["meshward.json"] ?? "") as { uid: string; panels: unknown[] };
      expect(dash.uid).toBe("meshward-operator");
      expect(dash.panels.length).toBeGreaterThan(10);
    },
  },
  {
    name: "default policy: Audit, exceptions need approval, no secrets guardrail without stores",
    args: [],
    check: (objs) => {
      const policy = one("MeshwardPolicy", objs);
      expect(policy.metadata?.name).toBe(`${FULLNAME}-default`);
      // An empty allow-list would refuse every secret: without stores there is no secrets guardrail.
      // Link-local and cloud metadata egress is refused from the first install (nothing needs it).
      expect(policy.spec).toEqual({
        guardrails: {
          egressCidrs: { mode: "Enforce", denied: METADATA_RANGES },
          exceptions: { mode: "Audit", maxDays: 90, requireApproval: true },
        },
        perimeter: { mode: "Audit", platformIdentities: [{ group: "system:masters" }] },
      });
      expect(validatePolicy(policy).ok).toBe(true);
    },
  },
  {
    name: "default policy with secret stores, Enforce",
    args: [
      "--set",
      "defaultPolicy.mode=Enforce",
      "--set",
      "defaultPolicy.secretStores[0].name=vault",
      "--set",
      "defaultPolicy.secretStores[1].kind=SecretStore",
      "--set",
      "defaultPolicy.secretStores[1].name=local",
    ],
    check: (objs) => {
      const policy = one("MeshwardPolicy", objs);
      expect(policy.spec).toEqual({
        guardrails: {
          secrets: {
            mode: "Enforce",
            stores: [
              { kind: "ClusterSecretStore", name: "vault", keys: ["{namespace}/*"] },
              { kind: "SecretStore", name: "local", keys: ["{namespace}/*"] },
            ],
          },
          egressCidrs: { mode: "Enforce", denied: METADATA_RANGES },
          exceptions: { mode: "Enforce", maxDays: 90, requireApproval: true },
        },
        perimeter: { mode: "Audit", platformIdentities: [{ group: "system:masters" }] },
      });
      expect(validatePolicy(policy).ok).toBe(true);
    },
  },
  {
    name: "no default policy, no roles for people",
    args: [
      "--set",
      "defaultPolicy.enabled=false",
      "--set",
      "userRoles.aggregateToDefaultRoles=false",
      "--set",
      "userRoles.platformAdmin=false",
    ],
    check: (objs) => {
      expect(objs.some((o) => o.kind === "MeshwardPolicy")).toBe(false);
      expect(objs.filter((o) => o.kind === "ClusterRole").map((o) => o.metadata?.name)).toEqual([
        FULLNAME,
        `${FULLNAME}-metrics-reader`,
      ]);
    },
  },
  {
    name: "admission with the defaults: what `meshward admission` prints",
    args: ["--set", "admission.enabled=true"],
    check: (objs) => expect(withoutLabels(admissionObjects(objs))).toEqual(cliAdmission()),
  },
  {
    name: "admission Deny in labelled namespaces: what `meshward admission --mode Deny --namespace-selector` prints",
    args: [
      "--set",
      "admission.enabled=true",
      "--set",
      "admission.mode=Deny",
      "--set",
      "admission.namespaceSelector.team=shop",
      "--set",
      "admission.namespaceSelector.tier=prod",
    ],
    check: (objs) =>
      expect(withoutLabels(admissionObjects(objs))).toEqual(
        cliAdmission("--mode", "Deny", "--namespace-selector", "team=shop,tier=prod"),
      ),
  },
  {
    name: "the perimeter with the defaults: what `meshward admission --perimeter` prints",
    args: [],
    check: (objs) =>
      expect(withoutLabels(perimeterObjects(objs))).toEqual(
        cliAdmission("--perimeter", "--operator", `${releaseNs}/${FULLNAME}`),
      ),
  },
  {
    name: "perimeter off, enforce on: no perimeter objects; guardrails Enforce, baseline Deny",
    args: ["--set", "perimeter.enabled=false", "--set", "enforce=true"],
    check: (objs) => {
      expect(perimeterObjects(objs)).toEqual([]);
      const policy = one("MeshwardPolicy", objs).spec as {
        guardrails: { exceptions: { mode: string } };
        perimeter?: unknown;
      };
      expect(policy.guardrails.exceptions.mode).toBe("Enforce");
      expect(policy.perimeter).toBeUndefined();
      for (const b of admissionObjects(objs).filter((o) => o.kind === "ValidatingAdmissionPolicyBinding"))
        expect(b.spec?.validationActions).toEqual(["Deny"]);
    },
  },
  {
    name: "enforce on: the default policy's perimeter Denies",
    args: ["--set", "enforce=true"],
    check: (objs) =>
      expect((one("MeshwardPolicy", objs).spec as { perimeter: { mode: string } }).perimeter.mode).toBe(
        "Deny",
      ),
  },
  {
    name: "CRDs disabled",
    args: ["--set", "crds.enabled=false"],
    check: (objs) => expect(objs.some((o) => o.kind === "CustomResourceDefinition")).toBe(false),
  },
  {
    name: "CRDs not kept",
    args: ["--set", "crds.keep=false"],
    check: (objs) => {
      const crds = objs.filter((o) => o.kind === "CustomResourceDefinition");
      expect(crds).toHaveLength(2);
      for (const crd of crds) expect(crd.metadata?.annotations).toBeUndefined();
    },
  },
  {
    name: "PDB maxUnavailable",
    args: ["--set", "podDisruptionBudget.minAvailable=null", "--set", "podDisruptionBudget.maxUnavailable=1"],
    check: (objs) => {
      const spec = one("PodDisruptionBudget", objs).spec as Record<string, unknown>;
      expect(spec.maxUnavailable).toBe(1);
      expect(spec.minAvailable).toBeUndefined();
    },
  },
  {
    name: "PDB minAvailable as a percentage, 3 replicas",
    args: ["--set", "podDisruptionBudget.minAvailable=50%", "--set", "replicas=3"],
    check: (objs) => expect(one("PodDisruptionBudget", objs).spec).toMatchObject({ minAvailable: "50%" }),
  },
  {
    name: "PDB disabled",
    args: ["--set", "podDisruptionBudget.enabled=false"],
    check: (objs) => expect(objs.some((o) => o.kind === "PodDisruptionBudget")).toBe(false),
  },
  {
    name: "extra args, env, volumes, spread, account annotations",
    args: [
      "--set",
      "extraArgs={--resync-minutes=60}",
      "--set-json",
      'extraEnv=[{"name":"NODE_OPTIONS","value":"--max-old-space-size=400"},{"name":"NODE_NAME","valueFrom":{"fieldRef":{"fieldPath":"spec.nodeName"}}}]',
      "--set-json",
      'volumes=[{"name":"tmp","emptyDir":{"sizeLimit":"64Mi"}}]',
      "--set-json",
      'volumeMounts=[{"name":"tmp","mountPath":"/tmp"}]',
      "--set-json",
      'topologySpreadConstraints=[{"maxSkew":1,"topologyKey":"topology.kubernetes.io/zone","whenUnsatisfiable":"ScheduleAnyway"}]',
      "--set",
      "serviceAccount.annotations.iam\\.gke\\.io/gcp-service-account=meshward@example.iam.gserviceaccount.com",
      "--set",
      "podAnnotations.anything\\.example/free-form=yes",
      "--set",
      "containerSecurityContext.readOnlyRootFilesystem=true",
    ],
    check: (objs, pod, c) => {
      expect(c.args.at(-1)).toBe("--resync-minutes=60");
      expect(c.env.map((e) => e.name)).toEqual(["POD_NAMESPACE", "POD_NAME", "NODE_OPTIONS", "NODE_NAME"]);
      expect(pod.volumes).toEqual([{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }]);
      expect((c as Container & { volumeMounts: unknown }).volumeMounts).toEqual([
        { name: "tmp", mountPath: "/tmp" },
      ]);
      expect(pod.topologySpreadConstraints).toEqual([
        {
          maxSkew: 1,
          topologyKey: "topology.kubernetes.io/zone",
          whenUnsatisfiable: "ScheduleAnyway",
          labelSelector: {
            matchLabels: { "app.kubernetes.io/name": "meshward", "app.kubernetes.io/instance": RELEASE },
          },
        },
      ]);
      expect(one("ServiceAccount", objs).metadata?.annotations).toEqual({
        "iam.gke.io/gcp-service-account": "meshward@example.iam.gserviceaccount.com",
      });
    },
  },
];

/** The workload baseline's admission objects (the perimeter's are named meshward-perimeter-… etc.). */
function admissionObjects(objs: Manifest[]): Manifest[] {
  const baseline = [SERVICE_ACCOUNT_POLICY, BASELINE_POLICY];
  return objs.filter(
    (o) =>
      o.kind?.startsWith("ValidatingAdmissionPolicy") &&
      baseline.includes(
        o.kind === "ValidatingAdmissionPolicy" ? (o.metadata?.name ?? "") : String(o.spec?.policyName),
      ),
  );
}

function perimeterObjects(objs: Manifest[]): Manifest[] {
  return objs.filter((o) => o.kind?.startsWith("ValidatingAdmissionPolicy") && !admissionObjects([o]).length);
}

/** The chart labels its objects its own way (helm.sh/chart, ...); everything else must be equal. */
function withoutLabels(objs: readonly unknown[]): unknown[] {
  return objs.map((o) => {
    const c = structuredClone(o) as Manifest;
    if (c.metadata) delete c.metadata.labels;
    return c;
  });
}

/** `meshward admission ...` as a user runs it, parsed. */
function cliAdmission(...args: string[]): unknown[] {
  const out: string[] = [];
  const err: string[] = [];
  const code = runCli(["admission", ...args], { out: (x) => out.push(x), err: (x) => err.push(x) });
  expect(err).toEqual([]);
  expect(code).toBe(0);
  const objs = parseAllDocuments(out.join("")).map((d) => d.toJS() as unknown);
  expect(objs).toHaveLength(args.includes("--perimeter") ? 12 : 4);
  return withoutLabels(objs);
}

/** Installs the Prometheus Operator CRDs the chart's monitoring objects need, unless they are served. */
async function ensureMonitoringCrds(): Promise<void> {
  const want = ["servicemonitors", "podmonitors", "prometheusrules"].map((p) => `${p}.monitoring.coreos.com`);
  const missing: string[] = [];
  for (const name of want) {
    const found = await client.get(resourcePath(CRDS, undefined, name)).catch((e: unknown) => {
      if (e instanceof ApiError && e.status === 404) return undefined;
      throw e;
    });
    if (!found) missing.push(name);
  }
  if (missing.length === 0) return;
  const crds = upstreamCrds("prometheusOperator").filter((c) => missing.includes(c.metadata?.name ?? ""));
  expect(crds.map((c) => c.metadata?.name).sort()).toEqual([...missing].sort());
  await applyManifests(kubeconfigPath(), crds as KubernetesObject[]);
}

describe("values matrix: lint, render, API server schema (dry run), restricted Pod Security", () => {
  beforeAll(async () => {
    // The dry-run Pods need the chart's ServiceAccount to exist.
    await applyChart();
    await ensureMonitoringCrds();
  });

  it("the dry run is a real check: an unknown field or a wrong type is refused", async () => {
    const objs = template(
      "--set",
      "podMonitor.enabled=true",
      "--set",
      "metrics.scrape.tokenSecret.name=prometheus-token",
      "--set",
      "metrics.scrape.tokenSecret.key=token",
      "--set",
      "prometheusRule.enabled=true",
    );
    const pm = structuredClone(one("PodMonitor", objs)) as Manifest & {
      spec: { podMetricsEndpoints: Record<string, unknown>[] };
    };
    (pm.spec.podMetricsEndpoints[0] as Record<string, unknown>).scrapeEverything = true;
    const rule = structuredClone(one("PrometheusRule", objs)) as Manifest & { spec: { groups: unknown } };
    rule.spec.groups = "not a list";
    for (const bad of [pm, rule]) {
      const err = await client
        .apply(pathOf(bad), bad, FIELD_MANAGER, true, { fieldValidation: "Strict", dryRun: "All" })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err, bad.kind).toBeInstanceOf(ApiError);
      expect((err as ApiError).status, bad.kind).toBeGreaterThanOrEqual(400);
    }
  });

  it.each(MATRIX.map((c) => [c.name, c] as const))("%s", async (_name, tc) => {
    const lint = helm("lint", "--strict", "charts/meshward", "--namespace", releaseNs, ...tc.args);
    expect(lint.stderr + lint.stdout, "helm lint").toContain("1 chart(s) linted, 0 chart(s) failed");
    const objs = template(...tc.args);
    const deploy = one("Deployment", objs).spec as { template: PodTemplate };
    const pod = deploy.template.spec as PodTemplate["spec"] & Record<string, unknown>;
    tc.check(objs, pod, pod.containers[0] as Container);
    // Every object against the API server's schema (built-in kinds, our CRD, the Prometheus
    // Operator's CRDs): a server-side apply as a dry run with strict field validation.
    for (const o of objs) {
      await client
        .apply(pathOf(o), o, FIELD_MANAGER, true, { fieldValidation: "Strict", dryRun: "All" })
        .catch((e: unknown) => {
          throw new Error(`${o.kind} ${o.metadata?.name}: ${e instanceof Error ? e.message : String(e)}`);
        });
    }
    // The pod as the ReplicaSet would create it, in the namespace that enforces "restricted".
    await client.request("POST", resourcePath(PODS, releaseNs), {
      body: {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "pss-check", labels: deploy.template.metadata.labels },
        spec: pod,
      },
      query: { dryRun: "All" },
    });
  });
});

describe("least privilege: the operator as the chart's ServiceAccount", () => {
  let saName = "";
  let saKubeconfig = "";
  let sa: KubeClient;
  let leaseName = "";
  let testNs = "";

  beforeAll(async () => {
    saName = one("ServiceAccount").metadata?.name as string;
    leaseName = `${FULLNAME}-leader`;
    await applyChart();
    saKubeconfig = await serviceAccountKubeconfig(
      client,
      releaseNs,
      saName,
      path.join(WORK, "serviceaccount.kubeconfig"),
    );
    const kc = new KubeConfig();
    kc.loadFromFile(saKubeconfig);
    sa = new KubeClient(kc);
    testNs = await createNamespace(client, "chart-sa");
    namespaces.push(testNs);
  });

  it("has no wildcard, no Secrets and no escalation verb in its roles", () => {
    // The operator's own roles (the chart also has ClusterRoles for people: user-roles.yaml).
    const own = rendered.filter((o) => o.kind !== "ClusterRole" || o.metadata?.name === FULLNAME);
    for (const kind of ["ClusterRole", "Role"]) {
      for (const rule of one(kind, own).rules ?? []) {
        for (const v of [...(rule.apiGroups ?? []), ...(rule.resources ?? []), ...rule.verbs])
          expect(v, kind).not.toContain("*");
        expect(rule.resources, kind).not.toContain("secrets");
        for (const verb of ["escalate", "bind", "impersonate", "update", "deletecollection"])
          if (kind === "ClusterRole")
            expect(rule.verbs, `${kind} ${String(rule.resources)}`).not.toContain(verb);
      }
    }
    // The whole grant, so that any widening shows up here.
    expect(one("ClusterRole", own).rules).toEqual([
      { apiGroups: ["meshward.io"], resources: ["servicesecurityprofiles"], verbs: ["list", "watch"] },
      { apiGroups: ["meshward.io"], resources: ["servicesecurityprofiles/status"], verbs: ["patch"] },
      { apiGroups: ["meshward.io"], resources: ["meshwardpolicies"], verbs: ["list", "watch"] },
      { apiGroups: ["meshward.io"], resources: ["meshwardpolicies/status"], verbs: ["patch"] },
      { apiGroups: [""], resources: ["namespaces"], verbs: ["list", "watch"] },
      { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
      // Ambient: whether a Service carries its waypoint label (never written).
      { apiGroups: [""], resources: ["services"], verbs: ["list", "watch"] },
      ...[
        ["", ["serviceaccounts"]],
        ["networking.k8s.io", ["networkpolicies"]],
        ["security.istio.io", ["peerauthentications", "authorizationpolicies", "requestauthentications"]],
        ["telemetry.istio.io", ["telemetries"]],
        ["networking.istio.io", ["serviceentries", "sidecars"]],
        ["external-secrets.io", ["externalsecrets", "secretstores"]],
        ["gateway.networking.k8s.io", ["gateways"]],
        ["policy.networking.k8s.io", ["clusternetworkpolicies"]],
      ].map(([g, r]) => ({
        apiGroups: [g],
        resources: r,
        verbs: ["get", "list", "watch", "create", "patch", "delete"],
      })),
      { apiGroups: ["events.k8s.io"], resources: ["events"], verbs: ["create"] },
      // ESO's UpdateFailed Events (the provider's words for SecretsReady), watched.
      { apiGroups: [""], resources: ["events"], verbs: ["list", "watch"] },
      // Who is scraping /metrics, and may they (metrics.secure).
      { apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] },
      { apiGroups: ["authorization.k8s.io"], resources: ["subjectaccessreviews"], verbs: ["create"] },
      {
        apiGroups: ["apiextensions.k8s.io"],
        resources: ["customresourcedefinitions"],
        resourceNames: [
          "peerauthentications.security.istio.io",
          "authorizationpolicies.security.istio.io",
          "requestauthentications.security.istio.io",
          "telemetries.telemetry.istio.io",
          "serviceentries.networking.istio.io",
          "sidecars.networking.istio.io",
          "externalsecrets.external-secrets.io",
          "secretstores.external-secrets.io",
          "gateways.gateway.networking.k8s.io",
          "clusternetworkpolicies.policy.networking.k8s.io",
        ],
        verbs: ["list", "watch"],
      },
    ]);
    expect(one("Role").rules).toEqual([
      { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
      {
        apiGroups: ["coordination.k8s.io"],
        resources: ["leases"],
        resourceNames: [leaseName],
        verbs: ["get", "update"],
      },
    ]);
  });

  it("reviews /metrics callers as the operator does: the metrics-reader role may, others not", async () => {
    const reader = one(
      "ClusterRole",
      rendered.filter((o) => o.metadata?.name === `${FULLNAME}-metrics-reader`),
    );
    expect(reader.rules).toEqual(METRICS_READER_RULES);
    for (const name of ["scraper", "stranger"])
      await client.request("POST", resourcePath(KINDS.ServiceAccount as Resource, testNs), {
        body: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name } },
      });
    const binding = {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: `e2e-${testNs}-metrics-reader` },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: `${FULLNAME}-metrics-reader`,
      },
      subjects: [{ kind: "ServiceAccount", name: "scraper", namespace: testNs }],
    };
    await client.request("POST", resourcePath(KINDS.ClusterRoleBinding as Resource), { body: binding });
    try {
      // The operator's reviews, sent with the chart's ServiceAccount token.
      const reviewer = kubeReviewer(sa);
      const scraper = await reviewer.authenticate(await serviceAccountToken(client, testNs, "scraper"));
      expect(scraper?.username).toBe(`system:serviceaccount:${testNs}:scraper`);
      expect(scraper?.groups).toContain(`system:serviceaccounts:${testNs}`);
      await waitFor("the metrics-reader binding to take effect", () =>
        reviewer.authorize(scraper as UserInfo, "/metrics", "get"),
      );
      expect(await reviewer.authorize(scraper as UserInfo, "/metrics", "post")).toBe(false);
      expect(await reviewer.authorize(scraper as UserInfo, "/debug/pprof/", "get")).toBe(false);
      const stranger = await reviewer.authenticate(await serviceAccountToken(client, testNs, "stranger"));
      expect(stranger?.username).toBe(`system:serviceaccount:${testNs}:stranger`);
      expect(await reviewer.authorize(stranger as UserInfo, "/metrics", "get")).toBe(false);
      expect(await reviewer.authenticate("not-a-token")).toBeUndefined();
    } finally {
      await client.delete(
        resourcePath(KINDS.ClusterRoleBinding as Resource, undefined, binding.metadata.name),
      );
    }
  });

  it("access reviews: what the account can and cannot do", async () => {
    const user = `system:serviceaccount:${releaseNs}:${saName}`;
    type Attrs = {
      verb: string;
      resource: string;
      group?: string;
      namespace?: string;
      name?: string;
      subresource?: string;
    };
    const sar = async (a: Attrs) =>
      (
        await client.request<{ status: { allowed: boolean } }>(
          "POST",
          "/apis/authorization.k8s.io/v1/subjectaccessreviews",
          {
            body: {
              apiVersion: "authorization.k8s.io/v1",
              kind: "SubjectAccessReview",
              spec: {
                user,
                groups: [
                  "system:serviceaccounts",
                  `system:serviceaccounts:${releaseNs}`,
                  "system:authenticated",
                ],
                resourceAttributes: a,
              },
            },
          },
        )
      ).status.allowed;
    const self = (a: Attrs) => can(sa, a);
    const denied: Attrs[] = [
      { verb: "get", resource: "secrets" },
      { verb: "list", resource: "secrets" },
      { verb: "watch", resource: "secrets" },
      { verb: "get", resource: "secrets", namespace: releaseNs },
      { verb: "list", resource: "secrets", namespace: testNs },
      { verb: "create", resource: "configmaps", namespace: testNs },
      { verb: "create", resource: "deployments", group: "apps", namespace: testNs },
      { verb: "update", resource: "clusterroles", group: "rbac.authorization.k8s.io" },
      { verb: "escalate", resource: "clusterroles", group: "rbac.authorization.k8s.io" },
      { verb: "bind", resource: "clusterroles", group: "rbac.authorization.k8s.io" },
      { verb: "impersonate", resource: "users" },
      { verb: "impersonate", resource: "serviceaccounts", namespace: testNs },
      {
        verb: "create",
        resource: "serviceaccounts",
        subresource: "token",
        namespace: testNs,
        name: "default",
      },
      { verb: "create", resource: "pods", namespace: testNs },
      // The platform's policies bound the operator too: it may write only their status.
      { verb: "create", resource: "meshwardpolicies", group: "meshward.io" },
      { verb: "patch", resource: "meshwardpolicies", group: "meshward.io", name: "default" },
      { verb: "delete", resource: "meshwardpolicies", group: "meshward.io", name: "default" },
      { verb: "get", resource: "pods", namespace: testNs, name: "x" },
      { verb: "watch", resource: "pods" },
      { verb: "update", resource: "servicesecurityprofiles", group: "meshward.io", namespace: testNs },
      { verb: "delete", resource: "servicesecurityprofiles", group: "meshward.io", namespace: testNs },
      { verb: "update", resource: "networkpolicies", group: "networking.k8s.io", namespace: testNs },
      { verb: "update", resource: "clusternetworkpolicies", group: "policy.networking.k8s.io" },
      {
        verb: "deletecollection",
        resource: "networkpolicies",
        group: "networking.k8s.io",
        namespace: testNs,
      },
      { verb: "list", resource: "customresourcedefinitions", group: "apiextensions.k8s.io" },
      {
        verb: "get",
        resource: "customresourcedefinitions",
        group: "apiextensions.k8s.io",
        name: "servicesecurityprofiles.meshward.io",
      },
      { verb: "create", resource: "leases", group: "coordination.k8s.io", namespace: testNs },
      {
        verb: "get",
        resource: "leases",
        group: "coordination.k8s.io",
        namespace: releaseNs,
        name: "someone-else",
      },
      {
        verb: "update",
        resource: "leases",
        group: "coordination.k8s.io",
        namespace: "kube-system",
        name: leaseName,
      },
      { verb: "create", resource: "events", namespace: testNs },
    ];
    const allowed: Attrs[] = [
      { verb: "watch", resource: "servicesecurityprofiles", group: "meshward.io" },
      {
        verb: "patch",
        resource: "servicesecurityprofiles",
        group: "meshward.io",
        subresource: "status",
        namespace: testNs,
      },
      { verb: "create", resource: "authorizationpolicies", group: "security.istio.io", namespace: testNs },
      { verb: "delete", resource: "externalsecrets", group: "external-secrets.io", namespace: testNs },
      // The platform tier (cluster-scoped), where the ClusterNetworkPolicy CRD is served.
      { verb: "create", resource: "clusternetworkpolicies", group: "policy.networking.k8s.io" },
      { verb: "delete", resource: "clusternetworkpolicies", group: "policy.networking.k8s.io" },
      {
        verb: "watch",
        resource: "customresourcedefinitions",
        group: "apiextensions.k8s.io",
        name: "clusternetworkpolicies.policy.networking.k8s.io",
      },
      { verb: "create", resource: "events", group: "events.k8s.io", namespace: testNs },
      { verb: "create", resource: "tokenreviews", group: "authentication.k8s.io" },
      { verb: "create", resource: "subjectaccessreviews", group: "authorization.k8s.io" },
      {
        verb: "watch",
        resource: "customresourcedefinitions",
        group: "apiextensions.k8s.io",
        name: "peerauthentications.security.istio.io",
      },
      { verb: "create", resource: "leases", group: "coordination.k8s.io", namespace: releaseNs },
      {
        verb: "update",
        resource: "leases",
        group: "coordination.k8s.io",
        namespace: releaseNs,
        name: leaseName,
      },
    ];
    for (const a of denied) {
      expect(await sar(a), `SubjectAccessReview ${JSON.stringify(a)}`).toBe(false);
      expect(await self(a), `SelfSubjectAccessReview ${JSON.stringify(a)}`).toBe(false);
    }
    for (const a of allowed) {
      expect(await sar(a), `SubjectAccessReview ${JSON.stringify(a)}`).toBe(true);
      expect(await self(a), `SelfSubjectAccessReview ${JSON.stringify(a)}`).toBe(true);
    }
    // And the real requests.
    expect(await forbidden(sa.get(`/api/v1/namespaces/${releaseNs}/secrets`))).toBe(true);
    expect(await forbidden(sa.get("/api/v1/secrets"))).toBe(true);
    expect(
      await forbidden(
        sa.request("POST", resourcePath(CONFIGMAPS, testNs), {
          body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "nope" } },
        }),
      ),
    ).toBe(true);
    expect(await forbidden(sa.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions"))).toBe(true);
    const byName = await sa.get<{ items: unknown[] }>(
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions?fieldSelector=${encodeURIComponent("metadata.name=externalsecrets.external-secrets.io")}`,
    );
    expect(byName.items).toHaveLength(1);
  });

  it("runs the core scenarios with nothing more, leading through the chart's Lease", async () => {
    // Compile as the image does (npm run build), into the cache, and run that.
    const out = path.join(WORK, "dist");
    fs.rmSync(out, { recursive: true, force: true });
    const tsc = spawnSync(
      process.execPath,
      [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json", "--outDir", out],
      {
        cwd: ROOT,
        encoding: "utf8",
      },
    );
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.status).toBe(0);
    const entry = path.join(out, "operator/main.js");
    // The chart's own flags, with what the kubelet would substitute.
    const c = podTemplate().spec.containers[0] as Container;
    const args = c.args
      // The harness serves plain-HTTP metrics it can scrape; e2e/metrics-auth.e2e.test.ts covers HTTPS.
      .filter((a) => !/^--(identity|metrics-port|metrics-secure|health-port)=/.test(a))
      .map((a) => a.replace("$(POD_NAMESPACE)", releaseNs));
    for (const name of ["chart-a", "chart-b"])
      ops.push(await startOperator({ name, kubeconfig: saKubeconfig, entry, args }));
    const lease = await waitFor("a leader in the release namespace", async () => {
      const l = await client
        .get<{ spec: { holderIdentity?: string } }>(resourcePath(LEASES, releaseNs, leaseName))
        .catch(() => undefined);
      return l?.spec.holderIdentity ? l : undefined;
    });
    const leader = ops.find((o) => o.name === lease.spec.holderIdentity);
    expect(leader).toBeDefined();

    // 1. Create: Ready with every child.
    await applyProfile(client, testNs, "caller", { selector: { app: "caller" } });
    await applyProfile(client, testNs, "api", {
      selector: { app: "api" },
      ingress: [
        { from: [{ service: "caller" }], ports: [8080], http: { methods: ["GET"], paths: ["/v1/*"] } },
      ],
      requestAuthentication: {
        jwt: [{ issuer: "https://auth.example.com", jwksUri: "https://auth.example.com/jwks" }],
      },
      secrets: [
        {
          name: "api-db",
          storeRef: { name: "vault" },
          data: [{ secretKey: "password", remoteRef: { key: "db" } }],
        },
      ],
    });
    const p = await waitCondition(client, testNs, "api");
    expect(p.status?.objects?.map((o) => `${o.kind}/${o.name}/${o.state}`).sort()).toEqual([
      "AuthorizationPolicy/api/InSync",
      "ExternalSecret/api-db/InSync",
      "NetworkPolicy/api/InSync",
      "PeerAuthentication/api/InSync",
      "RequestAuthentication/api/InSync",
      "ServiceAccount/api/InSync",
    ]);
    expect(await getChild(client, "NetworkPolicy", testNs, "meshward-default-deny")).toBeDefined();
    await waitEvent(client, testNs, "Created", "");

    // 2. A deleted child comes back.
    const before = await getChild(client, "AuthorizationPolicy", testNs, "api");
    await client.delete(resourcePath(kindOf("AuthorizationPolicy"), testNs, "api"));
    await waitFor("the AuthorizationPolicy to be recreated", async () => {
      const ap = await getChild(client, "AuthorizationPolicy", testNs, "api");
      return ap && ap.metadata?.uid !== before?.metadata?.uid ? ap : undefined;
    });
    await waitEvent(client, testNs, "DriftCorrected", "AuthorizationPolicy api");

    // 3. A pre-existing object nobody gave us: left alone, Conflict.
    const foreign = await client.request<KubeObjectLike>(
      "POST",
      resourcePath(kindOf("ServiceAccount"), testNs),
      {
        body: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "taken", namespace: testNs } },
        query: { fieldManager: "platform-team" },
      },
    );
    await applyProfile(client, testNs, "taken", { selector: { app: "taken" } });
    const conflicted = await waitCondition(client, testNs, "taken", { type: "Conflict", status: "True" });
    expect(condition(conflicted, "Conflict")?.message).toContain("ServiceAccount taken");
    expect((await getChild(client, "ServiceAccount", testNs, "taken"))?.metadata?.resourceVersion).toBe(
      foreign.metadata?.resourceVersion,
    );

    // 4. Deleting the profiles takes their children, and the last one the namespace's deny.
    for (const name of ["api", "caller", "taken"]) await client.delete(resourcePath(PROFILES, testNs, name));
    await waitFor(
      "every child and the default deny to be gone",
      async () => {
        for (const [kind, name] of [
          ["ServiceAccount", "api"],
          ["PeerAuthentication", "api"],
          ["AuthorizationPolicy", "api"],
          ["RequestAuthentication", "api"],
          ["NetworkPolicy", "api"],
          ["ExternalSecret", "api-db"],
          ["NetworkPolicy", "meshward-default-deny"],
        ] as const) {
          if (await getChild(client, kind, testNs, name)) return false;
        }
        return true;
      },
      60_000,
    );
    expect(await getChild(client, "ServiceAccount", testNs, "taken")).toBeDefined();

    // 5. Leadership moves on SIGTERM (the Lease is released), within the release namespace.
    const follower = ops.find((o) => o !== leader) as OperatorProcess;
    const refused = async (o: OperatorProcess) => o.metric("meshward_api_requests_total", { code: "403" });
    expect(await refused(leader as OperatorProcess)).toBe(0);
    expect(await leader?.stop()).toBe(0);
    await waitFor(
      "the other replica to lead",
      async () => (await follower.metric("meshward_leader")) === 1,
      20_000,
    );
    const l = await client.get<{ spec: { holderIdentity?: string } }>(
      resourcePath(LEASES, releaseNs, leaseName),
    );
    expect(l.spec.holderIdentity).toBe(follower.name);
    await applyProfile(client, testNs, "after", { selector: { app: "after" } });
    await waitCondition(client, testNs, "after");
    expect(await follower.writes()).toBeGreaterThan(0);

    // Not one request of either replica was refused.
    expect(await refused(follower)).toBe(0);
    for (const o of ops) expect(o.log(), o.logFile).not.toMatch(/forbidden|"status":403/i);
  });
});

describe("RBAC for people: service teams write profiles, never MeshwardPolicies", () => {
  type Attrs = { verb: string; resource: string; group?: string; namespace?: string; name?: string };
  const teams: Record<string, KubeClient> = {};
  let teamNs = "";
  let otherNs = "";

  const ssp = (verb: string, namespace: string): Attrs => ({
    verb,
    resource: "servicesecurityprofiles",
    group: "meshward.io",
    namespace,
  });
  const mwp = (verb: string): Attrs => ({ verb, resource: "meshwardpolicies", group: "meshward.io" });

  const clusterBindings: string[] = [];

  /** A ServiceAccount of the team's namespace bound to `role`, in that namespace or cluster-wide. */
  async function account(name: string, role: string, clusterWide: boolean): Promise<KubeClient> {
    await client.request("POST", resourcePath(KINDS.ServiceAccount as Resource, teamNs), {
      body: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name } },
    });
    const binding = {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: clusterWide ? "ClusterRoleBinding" : "RoleBinding",
      metadata: { name: clusterWide ? `e2e-${teamNs}-${name}` : name },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
      subjects: [{ kind: "ServiceAccount", name, namespace: teamNs }],
    };
    await client.request(
      "POST",
      resourcePath(KINDS[binding.kind] as Resource, clusterWide ? undefined : teamNs),
      { body: binding },
    );
    if (clusterWide) clusterBindings.push(binding.metadata.name);
    const kc = new KubeConfig();
    kc.loadFromFile(
      await serviceAccountKubeconfig(client, teamNs, name, path.join(WORK, `${name}.kubeconfig`)),
    );
    return new KubeClient(kc);
  }

  beforeAll(async () => {
    await applyChart();
    teamNs = await createNamespace(client, "chart-team");
    otherNs = await createNamespace(client, "chart-other");
    namespaces.push(teamNs, otherNs);
    // One account per built-in role, bound to it in the team's namespace only (a RoleBinding, as a
    // cluster admin hands a namespace to a team); and admin and edit bound cluster-wide (a
    // ClusterRoleBinding), where a rule aggregated into them would reach cluster-scoped policies.
    for (const role of ["admin", "edit", "view"]) teams[role] = await account(`team-${role}`, role, false);
    for (const role of ["admin", "edit"])
      teams[`cluster-${role}`] = await account(`cluster-${role}`, role, true);
    // The clusterrole-aggregation controller copies the chart's rules into admin, edit and view.
    for (const [who, attrs] of [
      ["admin", ssp("create", teamNs)],
      ["edit", ssp("create", teamNs)],
      ["view", ssp("list", teamNs)],
      ["cluster-admin", mwp("list")],
      ["cluster-edit", mwp("list")],
    ] as const)
      await waitFor(`the chart's rules aggregated for ${who}`, () => can(teams[who] as KubeClient, attrs));
  });

  afterAll(async () => {
    for (const name of clusterBindings)
      await client
        .delete(resourcePath(KINDS.ClusterRoleBinding as Resource, undefined, name))
        .catch(() => undefined);
  });

  it("admin and edit bound cluster-wide read MeshwardPolicies and still cannot write one", async () => {
    for (const role of ["cluster-admin", "cluster-edit"]) {
      const who = teams[role] as KubeClient;
      expect(await can(who, ssp("create", otherNs)), `${role} create profiles`).toBe(true);
      for (const verb of ["get", "list", "watch"])
        expect(await can(who, mwp(verb)), `${role} ${verb} meshwardpolicies`).toBe(true);
      for (const verb of ["create", "update", "patch", "delete", "deletecollection"])
        expect(await can(who, mwp(verb)), `${role} ${verb} meshwardpolicies`).toBe(false);
      expect(
        await forbidden(
          who.request("POST", resourcePath(POLICIES), {
            body: {
              apiVersion: "meshward.io/v1alpha1",
              kind: "MeshwardPolicy",
              metadata: { name: `e2e-${role}-attempt` },
              spec: {},
            },
          }),
        ),
        role,
      ).toBe(true);
      expect(await who.get(resourcePath(POLICIES, undefined, `${FULLNAME}-default`))).toMatchObject({
        kind: "MeshwardPolicy",
      });
    }
  });

  it("a namespace admin or editor may write profiles in its namespace, and no MeshwardPolicy", async () => {
    for (const role of ["admin", "edit"]) {
      const team = teams[role] as KubeClient;
      for (const verb of ["create", "update", "patch", "delete", "get", "list"])
        expect(await can(team, ssp(verb, teamNs)), `${role} ${verb} profiles`).toBe(true);
      expect(await can(team, ssp("create", otherNs)), `${role} create profiles elsewhere`).toBe(false);
      for (const verb of ["create", "update", "patch", "delete", "deletecollection"])
        expect(await can(team, mwp(verb)), `${role} ${verb} meshwardpolicies`).toBe(false);
      expect(await can(team, { ...mwp("patch"), name: `${FULLNAME}-default` })).toBe(false);
      // A policy is cluster-scoped: a RoleBinding in one namespace does not even let them read it.
      expect(await can(team, mwp("list")), `${role} list meshwardpolicies`).toBe(false);
    }
    const view = teams.view as KubeClient;
    expect(await can(view, ssp("get", teamNs))).toBe(true);
    expect(await can(view, ssp("create", teamNs))).toBe(false);
    expect(await can(view, mwp("create"))).toBe(false);

    // And for real: the namespace admin creates a profile, and is refused a MeshwardPolicy.
    const admin = teams.admin as KubeClient;
    await admin.request("POST", resourcePath(PROFILES, teamNs), {
      body: {
        apiVersion: "meshward.io/v1alpha1",
        kind: "ServiceSecurityProfile",
        metadata: { name: "shop" },
        spec: { selector: { app: "shop" } },
      },
    });
    expect(await client.get(resourcePath(PROFILES, teamNs, "shop"))).toMatchObject({
      metadata: { name: "shop" },
    });
    const policy = {
      apiVersion: "meshward.io/v1alpha1",
      kind: "MeshwardPolicy",
      metadata: { name: "e2e-tenant-attempt" },
      spec: { guardrails: { exceptions: { mode: "Audit", requireApproval: false } } },
    };
    expect(await forbidden(admin.request("POST", resourcePath(POLICIES), { body: policy }))).toBe(true);
    expect(
      await forbidden(
        admin.request("PATCH", resourcePath(POLICIES, undefined, `${FULLNAME}-default`), {
          body: { spec: { guardrails: { exceptions: { mode: "Audit", requireApproval: false } } } },
          contentType: "application/merge-patch+json",
        }),
      ),
    ).toBe(true);
    expect(await forbidden(admin.delete(resourcePath(POLICIES, undefined, `${FULLNAME}-default`)))).toBe(
      true,
    );
    // The default policy is still there, unchanged.
    const kept = await client.get<Manifest>(resourcePath(POLICIES, undefined, `${FULLNAME}-default`));
    expect(kept.spec).toEqual(one("MeshwardPolicy").spec);
  });

  it("the platform-admin role, bound cluster-wide, writes MeshwardPolicies", async () => {
    const name = "platform-team";
    await client.request("POST", resourcePath(KINDS.ServiceAccount as Resource, teamNs), {
      body: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name } },
    });
    const binding = {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: `e2e-${teamNs}-platform` },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: `${FULLNAME}-platform-admin`,
      },
      subjects: [{ kind: "ServiceAccount", name, namespace: teamNs }],
    };
    await client.request("POST", resourcePath(KINDS.ClusterRoleBinding as Resource), { body: binding });
    try {
      const kc = new KubeConfig();
      kc.loadFromFile(
        await serviceAccountKubeconfig(client, teamNs, name, path.join(WORK, `${name}.kubeconfig`)),
      );
      const platform = new KubeClient(kc);
      await waitFor("the platform-admin binding to take effect", () => can(platform, mwp("create")));
      expect(await can(platform, ssp("create", teamNs))).toBe(false);
      expect(await can(platform, { verb: "get", resource: "secrets", namespace: teamNs })).toBe(false);
      const created = await platform.request<Manifest>("POST", resourcePath(POLICIES), {
        body: {
          apiVersion: "meshward.io/v1alpha1",
          kind: "MeshwardPolicy",
          metadata: { name: `e2e-${teamNs}` },
          spec: { namespaceSelector: { "kubernetes.io/metadata.name": teamNs } },
        },
      });
      expect(created.metadata?.name).toBe(`e2e-${teamNs}`);
      await platform.delete(resourcePath(POLICIES, undefined, `e2e-${teamNs}`));
    } finally {
      await client.delete(
        resourcePath(KINDS.ClusterRoleBinding as Resource, undefined, binding.metadata.name),
      );
    }
  });
});
