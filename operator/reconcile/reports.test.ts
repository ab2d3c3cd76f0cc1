// The reports reconcile (reports.ts) on in-memory reads and recorded writes: what it writes, and
// when it writes nothing. (e2e/openreports.e2e.test.ts proves it on the real API server.)
import { describe, expect, it } from "vitest";
import { validateProfile } from "../api/validate.ts";
import type { MeshwardPolicy } from "../api/policy.ts";
import { policy } from "../../test-support/fixtures/policy.ts";
import { ApiError, type KubeObjectLike } from "../runtime/client.ts";
import type { InformerState } from "../runtime/informer.ts";
import type { OpenReport } from "../reports/build.ts";
import { leanReport, reportHash, ReportsReconciler } from "./reports.ts";
import { guardrailRules } from "../reports/build.ts";
import { CLUSTER_REPORT_KEY, reportKey } from "./keys.ts";

type Call = { op: "apply" | "remove"; kind: string; uid?: string; report?: OpenReport };

function setup(opts: { state?: InformerState } = {}) {
  const profiles: KubeObjectLike[] = [];
  const policies: KubeObjectLike[] = [];
  const valid: MeshwardPolicy[] = [];
  let live: KubeObjectLike | undefined;
  let clusterLive: KubeObjectLike | undefined;
  const calls: Call[] = [];
  const logs: string[] = [];
  let refuse: ApiError | undefined;
  const r = new ReportsReconciler(
    {
      profilesIn: () => profiles,
      validate: (raw) => {
        const v = validateProfile(raw);
        return { profile: v.ok ? v.profile : undefined, problems: v.problems };
      },
      validPolicies: () => valid,
      policies: () => policies,
      namespaceLabels: () => undefined,
      namespaceTerminating: () => false,
      report: () => ({ state: opts.state ?? "synced", object: live }),
      clusterReport: () => ({ state: opts.state ?? "synced", object: clusterLive }),
    },
    {
      apply: async (report, uid) => {
        if (refuse) throw refuse;
        calls.push({ op: "apply", kind: report.kind, report, ...(uid && { uid }) });
        // What the cache will hold once the watch event arrives.
        const cached = leanReport({
          ...report,
          metadata: { ...report.metadata, uid: "r-uid" },
        } as KubeObjectLike);
        if (report.kind === "Report") live = cached;
        else clusterLive = cached;
        return Promise.resolve();
      },
      remove: async (kind, _ns, uid) => {
        calls.push({ op: "remove", kind, uid });
        if (kind === "Report") live = undefined;
        else clusterLive = undefined;
        return Promise.resolve();
      },
    },
    { info: (_o, m) => logs.push(m), warn: (_o, m) => logs.push(m) },
  );
  const addProfile = (name: string, status?: unknown) =>
    profiles.push({
      apiVersion: "meshward.io/v1alpha1",
      kind: "ServiceSecurityProfile",
      metadata: { name, namespace: "shop", uid: `uid-${name}`, resourceVersion: "1" },
      spec: { selector: { app: name } },
      ...(status !== undefined && { status }),
    } as KubeObjectLike);
  return {
    r,
    calls,
    logs,
    profiles,
    policies,
    valid,
    addProfile,
    forgetCache: () => (live = undefined),
    tamper: () => {
      if (live) live = leanReport({ ...live, results: [] } as KubeObjectLike);
    },
    refuseWith: (e: ApiError) => (refuse = e),
  };
}

const KEY = reportKey("shop");
const audit = {
  policy: {
    findings: [
      {
        reason: "SecretNotAllowed",
        rule: "guardrails.secrets",
        mode: "Audit",
        path: "spec.secrets[0].data[0].remoteRef.key",
        message: "not allowed",
        policies: ["default"],
      },
    ],
  },
};

describe("ReportsReconciler", () => {
  it("writes the namespace's report once; the same findings again write nothing", async () => {
    const t = setup();
    t.addProfile("api", audit);
    t.addProfile("cart", { policy: {} });
    await t.r.reconcile(KEY, "shop");
    expect(t.calls).toHaveLength(1);
    const written = t.calls[0]?.report;
    expect(written?.summary).toMatchObject({ pass: 4, warn: 1, fail: 0 });
    expect(written?.metadata).toMatchObject({ name: "meshward", namespace: "shop" });
    // Zero writes: the cached hash matches.
    await t.r.reconcile(KEY, "shop");
    // Also before the cache has our write: the last write is remembered.
    t.forgetCache();
    await t.r.reconcile(KEY, "shop");
    expect(t.calls).toHaveLength(1);
    // Once the cache shows the report is gone (someone deleted it), it is written again.
    t.r.observed(KEY);
    await t.r.reconcile(KEY, "shop");
    expect(t.calls).toHaveLength(2);
  });

  it("a profile no policy governs (no status.policy, a Compliant condition) passes; one not reconciled yet is left out", async () => {
    const t = setup();
    t.addProfile("api", { conditions: [{ type: "Compliant", status: "True", reason: "Compliant" }] });
    t.addProfile("new");
    await t.r.reconcile(KEY, "shop");
    expect(t.calls[0]?.report?.results.map((r) => [r.resources[0]?.name, r.rule, r.result])).toEqual([
      ["api", "selectorOverlap", "pass"],
      ["api", "spec", "pass"],
    ]);
  });

  it("a report edited behind meshward's back is written again", async () => {
    const t = setup();
    t.addProfile("api", { policy: {} });
    await t.r.reconcile(KEY, "shop");
    t.tamper();
    t.r.observed(KEY);
    await t.r.reconcile(KEY, "shop");
    expect(t.calls.map((c) => [c.op, c.uid])).toEqual([
      ["apply", undefined],
      ["apply", "r-uid"],
    ]);
  });

  it("the live object's hash ignores key order and metadata, and sees a changed result", () => {
    const report = {
      source: "meshward",
      summary: { pass: 1, fail: 0 },
      results: [{ rule: "spec", result: "pass" }],
    };
    const reordered = {
      metadata: { name: "meshward", resourceVersion: "7", managedFields: [] },
      results: [{ result: "pass", rule: "spec" }],
      summary: { fail: 0, pass: 1 },
      source: "meshward",
    };
    expect(reportHash(reordered)).toBe(reportHash(report));
    expect(leanReport(reordered as KubeObjectLike).contentHash).toBe(reportHash(report));
    expect(reportHash({ ...report, results: [{ rule: "spec", result: "fail" }] })).not.toBe(
      reportHash(report),
    );
  });

  it("a changed finding is written over our report, with its uid as a precondition", async () => {
    const t = setup();
    t.addProfile("api", { policy: {} });
    await t.r.reconcile(KEY, "shop");
    (t.profiles[0] as { status?: unknown }).status = audit;
    await t.r.reconcile(KEY, "shop");
    expect(t.calls.map((c) => [c.op, c.uid])).toEqual([
      ["apply", undefined],
      ["apply", "r-uid"],
    ]);
    expect(t.calls[1]?.report?.summary.warn).toBe(1);
  });

  it("deletes the report when the namespace has no profile left", async () => {
    const t = setup();
    t.addProfile("api", { policy: {} });
    await t.r.reconcile(KEY, "shop");
    t.profiles.length = 0;
    await t.r.reconcile(KEY, "shop");
    expect(t.calls.map((c) => [c.op, c.uid])).toEqual([
      ["apply", undefined],
      ["remove", "r-uid"],
    ]);
    await t.r.reconcile(KEY, "shop");
    expect(t.calls).toHaveLength(2);
  });

  it("does nothing where the CRD is not installed, and says so once", async () => {
    const t = setup({ state: "absent" });
    t.addProfile("api", { policy: {} });
    await t.r.reconcile(KEY, "shop");
    await t.r.reconcile(reportKey("other"), "other");
    expect(t.calls).toEqual([]);
    expect(t.logs.filter((m) => m.includes("not installed"))).toHaveLength(1);
  });

  it("leaves a report of that name it did not make (a conflict on the first apply)", async () => {
    const t = setup();
    t.addProfile("api", { policy: {} });
    t.refuseWith(new ApiError(409, "Conflict", "Apply failed with 1 conflict"));
    expect(await t.r.reconcile(KEY, "shop")).toBeUndefined();
    expect(t.logs).toContain("openreports: a report with this name exists and is not ours; leaving it");
  });

  it("the ClusterReport: one per policy status; none once the last policy is gone", async () => {
    const t = setup();
    t.policies.push({
      apiVersion: "meshward.io/v1alpha1",
      kind: "MeshwardPolicy",
      metadata: { name: "a", uid: "uid-a" },
      status: {
        conditions: [{ type: "Ready", status: "True", reason: "Valid" }],
        problems: [
          { path: "spec.guardrails.secrets.stores", message: "contradicts MeshwardPolicy b: no store" },
        ],
      },
    } as KubeObjectLike);
    await t.r.reconcile(CLUSTER_REPORT_KEY, undefined);
    expect(t.calls[0]?.report?.kind).toBe("ClusterReport");
    expect(t.calls[0]?.report?.results.find((x) => x.rule === "contradiction")).toMatchObject({
      result: "warn",
      message: "contradicts MeshwardPolicy b: no store",
    });
    t.policies.length = 0;
    await t.r.reconcile(CLUSTER_REPORT_KEY, undefined);
    expect(t.calls.map((c) => c.op)).toEqual(["apply", "remove"]);
  });
});

describe("guardrailRules", () => {
  it.each([
    [[], []],
    [[policy("a", { guardrails: { adoption: { mode: "Audit" } } })], []],
    [
      [
        policy("a", { guardrails: { secrets: { mode: "Audit", stores: [] } } }),
        policy("b", { guardrails: { egressCidrs: { mode: "Enforce", allowed: ["10.0.0.0/8"] } } }),
      ],
      ["guardrails.secrets", "guardrails.egressCidrs"],
    ],
  ] as [MeshwardPolicy[], string[]][])("%#", (policies, want) => {
    expect(guardrailRules(policies)).toEqual(want);
  });
});
