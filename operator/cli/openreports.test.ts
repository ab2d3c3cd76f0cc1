// `meshward validate -o openreports` against the operator: the same inputs given to the CLI as
// files, and to the operator's reports reconcile (operator/reconcile/reports.ts) as the cluster
// would hold them (each profile's status built by the operator's own status code from the policy
// engine's verdict, each policy's status from policyStatus), must give the same reports.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { validatePolicy } from "../api/validate-policy.ts";
import { validateProfile } from "../api/validate.ts";
import { DEFAULT_PLATFORM } from "../builders/index.ts";
import { defaultNamespaceLabels, evaluateFleet } from "../policy/fleet.ts";
import { policyStatus } from "../policy/status.ts";
import { CLUSTER_REPORT_KEY, reportKey } from "../reconcile/keys.ts";
import { ReportsReconciler } from "../reconcile/reports.ts";
import { buildStatus, type Outcome } from "../reconcile/status.ts";
import type { OpenReport } from "../reports/build.ts";
import type { KubeObjectLike } from "../runtime/client.ts";
import type { MeshwardPolicy } from "../api/policy.ts";
import type { Profile } from "../api/schema.ts";
import { run } from "./main.ts";
import { fieldOf } from "./openreports.ts";

const NOW = new Date("2026-06-01T00:00:00Z");

const profile = (ns: string, name: string, spec: Record<string, unknown>) => ({
  apiVersion: "meshward.io/v1alpha1",
  kind: "ServiceSecurityProfile",
  metadata: { name, namespace: ns },
  spec,
});
const policy = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: "meshward.io/v1alpha1",
  kind: "MeshwardPolicy",
  metadata: { name },
  spec,
});
const secrets = (key: string) => [
  {
    name: "db",
    storeRef: { kind: "ClusterSecretStore", name: "vault" },
    data: [{ secretKey: "password", remoteRef: { key } }],
  },
];
const guardrail = (ns: string, mode: string, store: string) => ({
  namespaceSelector: { "kubernetes.io/metadata.name": ns },
  guardrails: { secrets: { mode, stores: [{ name: store, keys: ["{namespace}/*"] }] } },
});

/** Two namespaces: an Audit finding, an Enforce finding, a clean profile, an invalid one; three policies, two contradicting, one invalid. */
const DOCS = [
  profile("shop", "web", { selector: { app: "web" } }),
  profile("shop", "api", { selector: { app: "api" }, secrets: secrets("other/db") }),
  profile("pay", "ledger", { selector: { app: "ledger" }, secrets: secrets("elsewhere/db") }),
  profile("pay", "broken", { selector: { app: "broken" }, ingress: [{ from: [], ports: [0] }] }),
  policy("audit-shop", guardrail("shop", "Audit", "vault")),
  policy("pay-vault", guardrail("pay", "Enforce", "vault")),
  policy("pay-aws", guardrail("pay", "Enforce", "aws")),
  policy("bad", { namespaceSelector: "everything" }),
];

function offline(): { code: number; reports: OpenReport[]; err: string } {
  const out: string[] = [];
  const err: string[] = [];
  const yaml = DOCS.map((d) => JSON.stringify(d)).join("\n---\n");
  const code = run(["validate", "-o", "openreports", "--now", NOW.toISOString(), "-"], {
    out: (s) => out.push(s),
    err: (s) => err.push(s),
    readStdin: () => yaml,
  });
  const reports = parseAllDocuments(out.join(""))
    .map((d) => d.toJS() as OpenReport | null)
    .filter((r): r is OpenReport => r !== null);
  return { code, reports, err: err.join("\n") };
}

/** What the operator's reports reconcile writes, the cluster's objects built as the operator builds them. */
async function operator(): Promise<OpenReport[]> {
  const validProfiles: Profile[] = [];
  const rawProfiles = DOCS.filter((d) => d.kind === "ServiceSecurityProfile") as KubeObjectLike[];
  for (const raw of rawProfiles) {
    const v = validateProfile(raw);
    if (v.ok) validProfiles.push(v.profile);
  }
  const rawPolicies = DOCS.filter((d) => d.kind === "MeshwardPolicy") as KubeObjectLike[];
  const valid: MeshwardPolicy[] = [];
  for (const raw of rawPolicies) {
    const v = validatePolicy(raw);
    if (v.ok) valid.push(v.policy);
  }
  const fleet = evaluateFleet(
    { profiles: validProfiles, policies: valid, now: NOW },
    { trustDomain: "cluster.local", dns: DEFAULT_PLATFORM.dns },
  );
  const cluster = rawProfiles.map((raw) => {
    const key = `${raw.metadata?.namespace}/${raw.metadata?.name}`;
    const verdict = fleet.outcomes.get(key);
    if (!verdict) return raw; // invalid: the operator writes no policy verdict
    const outcome: Outcome = {
      generation: 1,
      objects: [],
      conflicts: [],
      drift: [],
      missing: [],
      warnings: [],
      failures: [],
      exceptions: [],
      policy: {
        governedBy: verdict.governedBy,
        quarantinedBy: verdict.quarantinedBy,
        findings: verdict.findings,
        baseline: verdict.baseline,
      },
    };
    return { ...raw, status: buildStatus(outcome, undefined, NOW) };
  });
  const namespaces = [...new Set(rawProfiles.map((p) => p.metadata?.namespace ?? ""))]
    .sort()
    .map((name) => ({ name, labels: defaultNamespaceLabels(name) }));
  const policies = rawPolicies.map((raw) => {
    const v = validatePolicy(raw);
    if (!v.ok)
      return {
        ...raw,
        status: {
          conditions: [{ type: "Ready", status: "False", reason: "InvalidSpec" }],
          problems: v.problems,
        },
      };
    const s = policyStatus({
      policy: v.policy,
      policies: valid,
      namespaces,
      profiles: validProfiles,
      now: NOW,
    });
    return { ...raw, status: { conditions: s.conditions, problems: s.problems } };
  });
  const written: OpenReport[] = [];
  const r = new ReportsReconciler(
    {
      profilesIn: (ns) => cluster.filter((p) => p.metadata?.namespace === ns),
      validate: (raw) => {
        const v = validateProfile(raw);
        return { profile: v.ok ? v.profile : undefined, problems: v.problems };
      },
      validPolicies: () => valid,
      policies: () => policies,
      namespaceLabels: () => undefined,
      namespaceTerminating: () => false,
      report: () => ({ state: "synced", object: undefined }),
      clusterReport: () => ({ state: "synced", object: undefined }),
    },
    {
      apply: (report) => {
        written.push(report);
        return Promise.resolve();
      },
      remove: () => Promise.resolve(),
    },
    { info: () => undefined, warn: () => undefined },
  );
  for (const ns of namespaces) await r.reconcile(reportKey(ns.name), ns.name);
  await r.reconcile(CLUSTER_REPORT_KEY, undefined);
  return written;
}

describe("validate -o openreports", () => {
  it("emits what the operator writes for the same profiles and policies", async () => {
    const got = offline();
    const want = await operator();
    expect(want.map((r) => `${r.kind} ${r.metadata.namespace ?? ""}`)).toEqual([
      "Report pay",
      "Report shop",
      "ClusterReport ",
    ]);
    expect(got.reports).toEqual(want);
    // The inputs hold an Enforce finding and invalid documents: the exit code says so, as with any format.
    expect(got.code).toBe(1);
    expect(got.err).toMatch(/^meshward validate: \d+ errors/m);
  });

  it("carries the messages the other formats give, with their verdicts", () => {
    const { reports } = offline();
    const shop = reports.find((r) => r.metadata.namespace === "shop");
    const pay = reports.find((r) => r.metadata.namespace === "pay");
    const result = (r: OpenReport | undefined, name: string, rule: string) =>
      r?.results.find((x) => x.resources[0]?.name === name && x.rule === rule);
    const json: string[] = [];
    run(["validate", "-o", "json", "--now", NOW.toISOString(), "-"], {
      out: (s) => json.push(s),
      err: () => undefined,
      readStdin: () => DOCS.map((d) => JSON.stringify(d)).join("\n---\n"),
    });
    const problems = (
      JSON.parse(json.join("")) as { problems: { profile?: string; rule?: string; message: string }[] }
    ).problems;
    const jsonMessage = (profileKey: string, rule: string) =>
      problems.find((p) => p.profile === profileKey && p.rule === rule)?.message;
    expect(result(shop, "api", "guardrails.secrets")).toMatchObject({
      result: "warn",
      message: jsonMessage("shop/api", "guardrails.secrets"),
    });
    expect(result(pay, "ledger", "guardrails.secrets")).toMatchObject({
      result: "fail",
      message: jsonMessage("pay/ledger", "guardrails.secrets"),
    });
    expect(result(shop, "web", "guardrails.secrets")?.result).toBe("pass");
    expect(result(pay, "broken", "spec")).toMatchObject({
      result: "fail",
      properties: { reason: "InvalidSpec" },
    });
    const cluster = reports.find((r) => r.kind === "ClusterReport");
    expect(result(cluster, "pay-aws", "contradiction")?.message).toContain(
      "contradicts MeshwardPolicy pay-vault",
    );
    expect(result(cluster, "bad", "spec")?.result).toBe("fail");
  });

  it("leaves out policies given with --policy (they govern, and are not reported)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "meshward-openreports-"));
    try {
      const platform = path.join(dir, "platform");
      fs.mkdirSync(platform);
      fs.writeFileSync(path.join(platform, "audit.yaml"), JSON.stringify(DOCS[4]));
      fs.writeFileSync(path.join(platform, "bad.yaml"), JSON.stringify(DOCS[7]));
      fs.writeFileSync(path.join(dir, "api.yaml"), JSON.stringify(DOCS[1]));
      const out: string[] = [];
      run(["validate", "-o", "openreports", "--policy", platform, path.join(dir, "api.yaml")], {
        out: (s) => out.push(s),
        err: () => undefined,
      });
      const reports = parseAllDocuments(out.join("")).map((d) => d.toJS() as OpenReport);
      expect(reports.map((r) => r.kind)).toEqual(["Report"]);
      // The policy still governs: its guardrail is checked and reported on the profile.
      expect(reports[0]?.results.find((r) => r.rule === "guardrails.secrets")?.result).toBe("warn");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("prints nothing for inputs without profiles or policies", () => {
    const out: string[] = [];
    const code = run(["validate", "-o", "openreports", "-"], {
      out: (s) => out.push(s),
      err: () => undefined,
      readStdin: () => "kind: ConfigMap\napiVersion: v1\nmetadata: {name: x}\n",
    });
    expect(code).toBe(0);
    expect(out.join("")).toBe("");
  });
});

describe("fieldOf", () => {
  it.each([
    ["spec.ingress[0].ports[0]", "spec.ingress[0].ports[0]"],
    ["document 2: spec.ingress[0]", "spec.ingress[0]"],
    ["document 3: items[1]: spec.selector", "spec.selector"],
    ["items[0]: metadata.name", "metadata.name"],
    ["document 2", ""],
  ])("%s -> %s", (path, want) => {
    expect(fieldOf(path)).toBe(want);
  });
});
