// meshward's findings as OpenReports (--openreports; operator/reports/, operator/reconcile/reports.ts)
// on the real test bed, against the real CRDs of github.com/openreports/reports-api (installed for
// this file only, removed afterwards): a Report per namespace with a result per profile and rule
// (pass, warn under Audit, fail under Enforce), written again only when something changed, deleted
// with the last profile; a ClusterReport with the policies' contradictions; and nothing at all from
// an operator without the flag. The operator with the flag runs as a ServiceAccount holding only
// the chart's ClusterRole rendered with reports.enabled=true: that RBAC is enough.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureHelm } from "./controlplane/build.ts";
import { installUpstreamCrds, uninstallUpstreamCrds } from "./controlplane/upstream.ts";
import {
  createNamespace,
  deleteNamespace,
  getOrUndefined,
  kube,
  kubeconfigPath,
  serviceAccountKubeconfig,
  waitFor,
} from "./support/kube.ts";
import { type OperatorProcess, startOperator } from "./support/operator.ts";
import { applyProfile, waitCondition } from "./support/profiles.ts";
import { deleteIfPresent } from "../test-support/harness/namespaces.ts";
import { CLUSTER_REPORTS, POLICIES, PROFILES, REPORTS } from "../operator/reconcile/kinds.ts";
import type { OpenReport, ReportResult } from "../operator/reports/build.ts";
import { type KubeClient, type KubeObjectLike, resourcePath } from "../operator/runtime/client.ts";

type Report = OpenReport & KubeObjectLike;

const ROOT = path.resolve(import.meta.dirname, "..");
const RBAC: Record<string, string> = {
  ServiceAccount: "/api/v1/namespaces/{ns}/serviceaccounts/{name}",
  ClusterRole: "/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}",
  ClusterRoleBinding: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{name}",
};
const rbacObjects: string[] = [];

let client: KubeClient;
let op: OperatorProcess | undefined;
const namespaces: string[] = [];
const policies = new Set<string>();

const only = (ns: string) => ({ "kubernetes.io/metadata.name": ns });

async function applyPolicy(name: string, spec: Record<string, unknown>): Promise<void> {
  policies.add(name);
  await client.apply(
    resourcePath(POLICIES, undefined, name),
    { apiVersion: "meshward.io/v1alpha1", kind: "MeshwardPolicy", metadata: { name }, spec },
    "e2e-platform",
    true,
    { fieldValidation: "Strict" },
  );
}

async function namespace(prefix: string): Promise<string> {
  const ns = await createNamespace(client, prefix);
  namespaces.push(ns);
  return ns;
}

const getReport = (ns: string) => getOrUndefined<Report>(client, resourcePath(REPORTS, ns, "meshward"));
const getClusterReport = () =>
  getOrUndefined<Report>(client, resourcePath(CLUSTER_REPORTS, undefined, "meshward"));

/** The result of one profile (or policy) and rule. */
function resultOf(r: Report | undefined, name: string, rule: string): ReportResult | undefined {
  return r?.results?.find((x) => x.rule === rule && x.resources[0]?.name === name);
}

function waitReport(ns: string, what: string, check: (r: Report) => boolean): Promise<Report> {
  return waitFor(
    `Report ${ns}/meshward: ${what}`,
    async () => {
      const r = await getReport(ns);
      return r && check(r) ? r : undefined;
    },
    30_000,
    200,
  );
}

const secretProfile = (key: string) => ({
  selector: { app: "api" },
  secrets: [
    {
      name: "db",
      storeRef: { kind: "ClusterSecretStore", name: "vault" },
      data: [{ secretKey: "password", remoteRef: { key } }],
    },
  ],
});
const secretsGuardrail = (ns: string, mode: "Audit" | "Enforce", store = "vault") => ({
  namespaceSelector: only(ns),
  guardrails: { secrets: { mode, stores: [{ name: store, keys: ["{namespace}/*"] }] } },
});

/** Lines of the operator's log that say it wrote the report of `ns`. */
const reportWrites = (o: OperatorProcess, ns: string) =>
  o
    .log()
    .split("\n")
    .filter((l) => l.includes(`"key":"@report/${ns}"`) && /openreports: (created|updated)/.test(l)).length;

/** Lines of the operator's log that say it reconciled the report of `ns` (debug). */
const reportReconciles = (o: OperatorProcess, ns: string) =>
  o
    .log()
    .split("\n")
    .filter((l) => l.includes(`"key":"@report/${ns}"`) && l.includes('"msg":"reconcile"')).length;

/**
 * The chart's ServiceAccount, ClusterRole and binding rendered with reports.enabled=true (a release
 * of its own name, in a namespace of its own); returns a kubeconfig with the account's token.
 */
async function chartAccount(): Promise<string> {
  const ns = await namespace("rep-rbac");
  const release = `e2e-reports-${ns.slice(-6)}`;
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "meshward-helm-"));
  const r = spawnSync(
    (await ensureHelm()).helm,
    ["template", release, "charts/meshward", "--namespace", ns, "--set", "reports.enabled=true"],
    {
      cwd: ROOT,
      encoding: "utf8",
      env: {
        ...process.env,
        HELM_CACHE_HOME: path.join(home, "cache"),
        HELM_CONFIG_HOME: path.join(home, "config"),
        HELM_DATA_HOME: path.join(home, "data"),
      },
    },
  );
  fs.rmSync(home, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  const fullname = `${release}-meshward`;
  const objs = parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as KubeObjectLike | null)
    .filter(
      (o): o is KubeObjectLike => !!o?.kind && RBAC[o.kind] !== undefined && o.metadata?.name === fullname,
    );
  expect(objs.map((o) => o.kind).sort()).toEqual(["ClusterRole", "ClusterRoleBinding", "ServiceAccount"]);
  for (const o of objs) {
    const p = (RBAC[o.kind ?? ""] ?? "").replace("{ns}", ns).replace("{name}", fullname);
    rbacObjects.push(p);
    await client.apply(p, o, "e2e-chart", true);
  }
  return serviceAccountKubeconfig(
    client,
    ns,
    fullname,
    path.join(ROOT, ".cache/e2e", `${release}.kubeconfig`),
  );
}

beforeAll(async () => {
  client = kube();
  await installUpstreamCrds(kubeconfigPath(), { openReports: true });
});

afterAll(async () => {
  for (const p of policies) await deleteIfPresent(client, resourcePath(POLICIES, undefined, p));
  await op?.stop();
  for (const p of rbacObjects) await deleteIfPresent(client, p);
  for (const ns of namespaces) await deleteNamespace(client, ns);
  await uninstallUpstreamCrds(kubeconfigPath(), { openReports: true });
});

describe("reports off (the default)", () => {
  it("an operator without --openreports writes no Report, even with the CRDs installed", async () => {
    const off = await startOperator({ name: "operator-reports-off" });
    try {
      const ns = await namespace("rep-off");
      await applyProfile(client, ns, "web", { selector: { app: "web" } });
      await waitCondition(client, ns, "web");
      const list = await client.get<{ items: unknown[] }>(resourcePath(REPORTS, ns));
      expect(list.items).toEqual([]);
      expect(off.log()).toContain('"reports":"off"');
      expect(off.log()).not.toContain("openreports");
    } finally {
      await off.stop();
    }
  });
});

describe("reports on (--openreports)", () => {
  beforeAll(async () => {
    op = await startOperator({
      name: "operator-reports",
      args: ["--openreports", "true"],
      kubeconfig: await chartAccount(),
    });
  });

  it("a Report per namespace: pass, warn under Audit, fail under Enforce; nothing rewritten when nothing changed; gone with the last profile", async () => {
    const o = op as OperatorProcess;
    const ns = await namespace("rep");
    const policy = `e2e-reports-${ns}`;
    await applyPolicy(policy, secretsGuardrail(ns, "Audit"));
    await applyProfile(client, ns, "web", { selector: { app: "web" } });
    await applyProfile(client, ns, "api", secretProfile("payments/db-password"));
    const api = await waitCondition(client, ns, "api", { type: "Compliant", status: "False" });
    const finding = api.status?.policy?.findings?.[0];
    if (!finding) throw new Error("no finding in the profile's status");

    const audit = await waitReport(
      ns,
      "api warned by guardrails.secrets",
      (r) => resultOf(r, "api", "guardrails.secrets")?.result === "warn" && !!resultOf(r, "web", "spec"),
    );
    const warned = resultOf(audit, "api", "guardrails.secrets");
    // The message is the finding's, word for word (the text `meshward validate` prints), the field beside it.
    expect(warned).toMatchObject({
      policy: "meshward/guardrails.secrets",
      source: "meshward",
      message: finding.message,
      properties: { reason: "SecretNotAllowed", mode: "Audit", policies: policy },
    });
    expect(warned?.resources).toEqual([
      {
        apiVersion: "meshward.io/v1alpha1",
        kind: "ServiceSecurityProfile",
        namespace: ns,
        name: "api",
        uid: api.metadata?.uid,
        fieldPath: "spec.secrets[0].data[0].remoteRef.key",
      },
    ]);
    // The passing profile: a pass for every rule, the guardrail included.
    for (const rule of ["spec", "selectorOverlap", "guardrails.secrets"])
      expect(resultOf(audit, "web", rule)?.result, rule).toBe("pass");
    expect(audit.summary).toEqual({ pass: 5, warn: 1, fail: 0, error: 0, skip: 0 });
    expect(audit.source).toBe("meshward");
    expect(audit.metadata?.labels?.["app.kubernetes.io/managed-by"]).toBe("meshward");

    // Nothing changed (labels on a profile): the report is reconciled and not written. The second
    // reconcile starting means the first has ended (a key is never reconciled twice at once).
    const written = reportWrites(o, ns);
    const before = await getReport(ns);
    for (const value of ["1", "2"]) {
      const seen = reportReconciles(o, ns);
      await client.request("PATCH", resourcePath(PROFILES, ns, "web"), {
        body: { metadata: { labels: { touched: value } } },
        contentType: "application/merge-patch+json",
        verb: "patch",
      });
      await waitFor(
        `report of ${ns} reconciled after touch ${value}`,
        () => Promise.resolve(reportReconciles(o, ns) > seen || undefined),
        30_000,
        100,
      );
    }
    expect(reportWrites(o, ns)).toBe(written);
    expect((await getReport(ns))?.metadata?.resourceVersion).toBe(before?.metadata?.resourceVersion);

    // A report edited behind meshward's back is written again as built.
    await client.apply(
      resourcePath(REPORTS, ns, "meshward"),
      {
        apiVersion: "openreports.io/v1alpha1",
        kind: "Report",
        metadata: { name: "meshward", namespace: ns },
        results: [],
      },
      "e2e-intruder",
      true,
    );
    await waitReport(ns, "restored", (r) => (r.results?.length ?? 0) === 6);

    // Enforce: the same finding fails.
    await applyPolicy(policy, secretsGuardrail(ns, "Enforce"));
    const enforced = await waitReport(
      ns,
      "api failed by guardrails.secrets",
      (r) => resultOf(r, "api", "guardrails.secrets")?.result === "fail",
    );
    expect(resultOf(enforced, "api", "guardrails.secrets")?.message).toBe(finding.message);
    expect(enforced.summary).toMatchObject({ pass: 5, warn: 0, fail: 1 });

    // Every profile gone: the report goes too.
    for (const name of ["web", "api"]) await client.delete(resourcePath(PROFILES, ns, name));
    await waitFor(
      `Report ${ns}/meshward deleted`,
      async () => !(await getReport(ns)) || undefined,
      30_000,
      200,
    );
  });

  it("a ClusterReport: two policies that contradict each other warn, each naming the other", async () => {
    const ns = await namespace("rep-contra");
    const [a, b] = [`e2e-rep-a-${ns}`, `e2e-rep-b-${ns}`];
    await applyPolicy(a, secretsGuardrail(ns, "Enforce", "vault"));
    await applyPolicy(b, secretsGuardrail(ns, "Enforce", "aws"));
    const r = await waitFor(
      "ClusterReport with both contradictions",
      async () => {
        const c = await getClusterReport();
        return resultOf(c, a, "contradiction")?.result === "warn" &&
          resultOf(c, b, "contradiction")?.result === "warn"
          ? c
          : undefined;
      },
      30_000,
      200,
    );
    expect(resultOf(r, a, "contradiction")?.message).toContain(`contradicts MeshwardPolicy ${b}`);
    expect(resultOf(r, a, "contradiction")?.resources[0]).toMatchObject({
      kind: "MeshwardPolicy",
      name: a,
      fieldPath: "spec.guardrails.secrets.stores",
    });
    expect(resultOf(r, a, "spec")?.result).toBe("pass");
    expect(r.metadata?.namespace).toBeUndefined();
    // Resolved: both pass again.
    await applyPolicy(b, secretsGuardrail(ns, "Enforce", "vault"));
    await waitFor(
      "contradiction resolved in the ClusterReport",
      async () => {
        const c = await getClusterReport();
        return resultOf(c, a, "contradiction")?.result === "pass" &&
          resultOf(c, b, "contradiction")?.result === "pass"
          ? c
          : undefined;
      },
      30_000,
      200,
    );
  });

  it("without the CRDs: nothing is written and that is logged once; installed again, every report is written without a restart", async () => {
    const o = op as OperatorProcess;
    const notInstalled = () =>
      o
        .log()
        .split("\n")
        .filter((l) => l.includes("openreports: the CRD is not installed") && l.includes('"kind":"Report"'))
        .length;
    await uninstallUpstreamCrds(kubeconfigPath(), { openReports: true });
    const [a, b] = [await namespace("rep-nocrd"), await namespace("rep-nocrd")];
    await applyProfile(client, a, "web", { selector: { app: "web" } });
    await waitFor(
      "the operator says the Report CRD is missing",
      () => Promise.resolve(notInstalled() > 0 || undefined),
      60_000,
      200,
    );
    // Two more reconciles of reports while the CRD is missing (each profile's report key) log nothing more.
    for (const ns of [b, a]) {
      const seen = reportReconciles(o, ns);
      await applyProfile(client, ns, "api", { selector: { app: "api" } });
      await waitFor(
        `report of ${ns} reconciled without the CRD`,
        () => Promise.resolve(reportReconciles(o, ns) > seen || undefined),
        30_000,
        100,
      );
    }
    expect(notInstalled()).toBe(1);

    await installUpstreamCrds(kubeconfigPath(), { openReports: true });
    for (const ns of [a, b])
      await waitReport(ns, "written once the CRD is back", (r) => !!resultOf(r, "api", "spec"));
    expect(o.log()).toContain("openreports: the CRD is now served; writing the reports");
  });
});

describe("meshward validate -o openreports (offline)", () => {
  /** Server-side apply, dry run, strict field validation: what `kubectl apply --server-side --dry-run=server` checks. */
  const dryRunApply = (r: Report) =>
    client.apply<Report>(
      resourcePath(r.kind === "Report" ? REPORTS : CLUSTER_REPORTS, r.metadata.namespace, r.metadata.name),
      r,
      "e2e-offline-reports",
      true,
      { fieldValidation: "Strict", dryRun: "All" },
    );

  it("emits Reports and a ClusterReport that the reports-api CRDs accept with strict field validation, unchanged", async () => {
    const [a, b] = [await namespace("rep-offline"), await namespace("rep-offline")];
    const secrets = [
      {
        name: "db",
        storeRef: { kind: "ClusterSecretStore", name: "vault" },
        data: [{ secretKey: "password", remoteRef: { key: "elsewhere/db" } }],
      },
    ];
    const doc = (kind: string, metadata: object, spec: object) =>
      JSON.stringify({ apiVersion: "meshward.io/v1alpha1", kind, metadata, spec });
    const inputs = [
      doc("ServiceSecurityProfile", { name: "web", namespace: a }, { selector: { app: "web" } }),
      doc("ServiceSecurityProfile", { name: "api", namespace: a }, { selector: { app: "api" }, secrets }),
      doc(
        "ServiceSecurityProfile",
        { name: "ledger", namespace: b },
        { selector: { app: "ledger" }, secrets },
      ),
      doc(
        "ServiceSecurityProfile",
        { name: "broken", namespace: b },
        { selector: { app: "broken" }, ingress: [{ from: [], ports: [0] }] },
      ),
      doc("MeshwardPolicy", { name: `offline-audit-${a}` }, secretsGuardrail(a, "Audit")),
      doc("MeshwardPolicy", { name: `offline-vault-${b}` }, secretsGuardrail(b, "Enforce", "vault")),
      doc("MeshwardPolicy", { name: `offline-aws-${b}` }, secretsGuardrail(b, "Enforce", "aws")),
    ].join("\n---\n");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "meshward-offline-reports-"));
    fs.writeFileSync(path.join(dir, "fleet.yaml"), inputs);
    // The published CLI, as a CI job runs it.
    const r = spawnSync(
      process.execPath,
      [path.join(ROOT, "bin/meshward.js"), "validate", "-o", "openreports", dir],
      {
        encoding: "utf8",
      },
    );
    fs.rmSync(dir, { recursive: true, force: true });
    expect(r.status, r.stderr).toBe(1); // an Enforce finding and an invalid profile
    expect(r.stderr).toMatch(/^meshward validate: \d+ errors/m);
    const reports = parseAllDocuments(r.stdout).map((d) => d.toJS() as Report);
    const [first, second] = [a, b].sort();
    expect(reports.map((x) => `${x.kind} ${x.metadata?.namespace ?? ""}`)).toEqual([
      `Report ${first}`,
      `Report ${second}`,
      "ClusterReport ",
    ]);
    for (const report of reports) {
      const accepted = await dryRunApply(report);
      // Nothing dropped or defaulted away: what was sent is what the API server would store.
      expect(accepted.results).toEqual(report.results);
      expect(accepted.summary).toEqual(report.summary);
      expect(accepted.source).toBe(report.source);
    }
    const byNs = (ns: string) => reports.find((x) => x.metadata?.namespace === ns);
    expect(resultOf(byNs(a), "api", "guardrails.secrets")?.result).toBe("warn");
    expect(resultOf(byNs(b), "ledger", "guardrails.secrets")?.result).toBe("fail");
    expect(resultOf(byNs(b), "broken", "spec")?.result).toBe("fail");
    // Strict validation is on: a field the CRD does not know is refused, so the checks above can fail.
    const report = byNs(a) as Report;
    const wrong = { ...report, results: report.results.map((x) => ({ ...x, extra: 1 })) };
    await expect(dryRunApply(wrong as Report)).rejects.toThrow(
      /\.results\[0\]\.extra: field not declared in schema/,
    );
  });
});
