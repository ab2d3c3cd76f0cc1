// The OpenReports builder (build.ts): table tests per rule, bounds, and golden files of a namespace
// Report and of the ClusterReport.
// Refresh the golden files with UPDATE_GOLDEN=1 npx vitest run --project unit operator/reports, then review the diff.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import {
  buildClusterReport,
  buildNamespaceReport,
  type FindingInput,
  MAX_MESSAGE,
  MAX_RESULTS,
  policyRule,
  type ProfileInput,
  profileResults,
} from "./build.ts";

const TESTDATA = path.join(import.meta.dirname, "testdata");

function golden(name: string, actual: string): void {
  const file = path.join(TESTDATA, name);
  if (process.env.UPDATE_GOLDEN) fs.writeFileSync(file, actual);
  expect(fs.existsSync(file), `${name} missing: run with UPDATE_GOLDEN=1`).toBe(true);
  expect(actual).toBe(fs.readFileSync(file, "utf8"));
}

const secretFinding = (mode: "Audit" | "Enforce", i = 0): FindingInput => ({
  reason: "SecretNotAllowed",
  rule: "guardrails.secrets",
  mode,
  path: `spec.secrets[0].data[${i}].remoteRef.key`,
  message: `key "payments/db-${i}" is not allowed in store vault: write a key under shop/`,
  policies: ["default"],
});

const valid = (name: string, findings: FindingInput[] = []): ProfileInput => ({
  name,
  uid: `uid-${name}`,
  invalid: [],
  findings,
});

describe("profileResults", () => {
  const cases: {
    name: string;
    profile: ProfileInput;
    guardrails: string[];
    want: [rule: string, result: string][];
  }[] = [
    {
      name: "no finding, no guardrail: pass for validity and overlap",
      profile: valid("api"),
      guardrails: [],
      want: [
        ["selectorOverlap", "pass"],
        ["spec", "pass"],
      ],
    },
    {
      name: "a guardrail the governing policies set: pass when nothing is found",
      profile: valid("api"),
      guardrails: ["guardrails.secrets", "guardrails.egressCidrs"],
      want: [
        ["guardrails.egressCidrs", "pass"],
        ["guardrails.secrets", "pass"],
        ["selectorOverlap", "pass"],
        ["spec", "pass"],
      ],
    },
    {
      name: "an Audit finding is warn",
      profile: valid("api", [secretFinding("Audit")]),
      guardrails: ["guardrails.secrets"],
      want: [
        ["guardrails.secrets", "warn"],
        ["selectorOverlap", "pass"],
        ["spec", "pass"],
      ],
    },
    {
      name: "an Enforce finding is fail, also next to an Audit one of the same rule",
      profile: valid("api", [secretFinding("Audit", 0), secretFinding("Enforce", 1)]),
      guardrails: ["guardrails.secrets"],
      want: [
        ["guardrails.secrets", "fail"],
        ["selectorOverlap", "pass"],
        ["spec", "pass"],
      ],
    },
    {
      name: "a finding of a rule no guardrail lists (quarantine) is reported",
      profile: valid("api", [
        {
          reason: "Quarantined",
          rule: "quarantine",
          mode: "Enforce",
          path: "spec",
          message: "quarantined",
          policies: ["incident"],
        },
      ]),
      guardrails: [],
      want: [
        ["quarantine", "fail"],
        ["selectorOverlap", "pass"],
        ["spec", "pass"],
      ],
    },
    {
      name: "an invalid profile: one fail for its spec, no policy checked",
      profile: {
        name: "bad",
        invalid: [{ path: "spec.selector", message: "required" }],
        findings: undefined,
      },
      guardrails: ["guardrails.secrets"],
      want: [["spec", "fail"]],
    },
    {
      name: "not evaluated yet: left out",
      profile: { name: "new", invalid: [], findings: undefined },
      guardrails: ["guardrails.secrets"],
      want: [],
    },
  ];
  it.each(cases)("$name", ({ profile, guardrails, want }) => {
    const got = profileResults("shop", profile, guardrails);
    expect(got.map((r) => [r.rule, r.result])).toEqual(want);
    for (const r of got) {
      expect(r.policy).toBe(`meshward/${r.rule}`);
      expect(r.source).toBe("meshward");
      expect(r.resources[0]).toMatchObject({
        kind: "ServiceSecurityProfile",
        namespace: "shop",
        name: profile.name,
      });
    }
  });

  it("one finding: its message verbatim (the text `meshward validate` prints), the field in fieldPath", () => {
    const f = secretFinding("Audit");
    const [r] = profileResults("shop", valid("api", [f]), []).filter((x) => x.rule === f.rule);
    expect(r?.message).toBe(f.message);
    expect(r?.resources[0]?.fieldPath).toBe(f.path);
    expect(r?.properties).toEqual({ reason: "SecretNotAllowed", mode: "Audit", policies: "default" });
  });

  it("several findings of one rule: one result naming each field, at most five then a count", () => {
    const findings = [0, 1, 2, 3, 4, 5, 6].map((i) => secretFinding("Audit", i));
    const [r] = profileResults("shop", valid("api", findings), []).filter(
      (x) => x.rule === "guardrails.secrets",
    );
    expect(r?.message).toContain("spec.secrets[0].data[0].remoteRef.key: key");
    expect(r?.message).toContain("spec.secrets[0].data[4].remoteRef.key");
    expect(r?.message).not.toContain("data[5]");
    expect(r?.message).toMatch(/; and 2 more$/);
    expect(r?.resources[0]?.fieldPath).toBeUndefined();
  });

  it("tenant text is escaped and cut", () => {
    const f = { ...secretFinding("Enforce"), message: `\x1b[31mred\n${"x".repeat(5000)}` };
    const [r] = profileResults("shop", valid("api", [f]), []).filter((x) => x.rule === f.rule);
    expect(r?.message.startsWith("\\x1b[31mred\\nxxx")).toBe(true);
    expect(r?.message).toHaveLength(MAX_MESSAGE);
    expect(r?.message.endsWith("…")).toBe(true);
  });
});

describe("buildNamespaceReport", () => {
  it("no profile: no report", () => {
    expect(buildNamespaceReport("shop", [], ["guardrails.secrets"])).toBeUndefined();
  });

  it("summary counts the results", () => {
    const r = buildNamespaceReport(
      "shop",
      [valid("a"), valid("b", [secretFinding("Enforce")])],
      ["guardrails.secrets"],
    );
    expect(r?.summary).toEqual({ pass: 5, warn: 0, fail: 1, error: 0, skip: 0 });
    expect(r?.metadata).toEqual({
      name: "meshward",
      namespace: "shop",
      labels: { "app.kubernetes.io/managed-by": "meshward" },
    });
  });

  it(`at most ${MAX_RESULTS} results, fail and warn kept before pass`, () => {
    const profiles = Array.from({ length: 300 }, (_, i) =>
      valid(`p${String(i).padStart(3, "0")}`, i === 299 ? [secretFinding("Audit")] : []),
    );
    const r = buildNamespaceReport("shop", profiles, ["guardrails.secrets"]);
    expect(r?.results).toHaveLength(MAX_RESULTS);
    expect(r?.configuration.limits.maxResults).toBe(MAX_RESULTS);
    expect(r?.results.some((x) => x.result === "warn" && x.resources[0]?.name === "p299")).toBe(true);
    expect((r?.summary.pass ?? 0) + (r?.summary.warn ?? 0)).toBe(MAX_RESULTS);
    // Sorted by profile, then rule.
    const names = r?.results.map((x) => x.resources[0]?.name ?? "") ?? [];
    expect(names).toEqual([...names].sort());
  });

  it("the same inputs give the same object (nothing to write when nothing changed)", () => {
    const a = buildNamespaceReport("shop", [valid("b"), valid("a")], ["guardrails.secrets"]);
    const b = buildNamespaceReport("shop", [valid("a"), valid("b")], ["guardrails.secrets"]);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });

  it("golden: a namespace with a passing, a warned, a refused and an invalid profile", () => {
    const r = buildNamespaceReport(
      "shop",
      [
        valid("cart"),
        valid("api", [secretFinding("Audit")]),
        valid("billing", [
          {
            reason: "EgressCidrNotAllowed",
            rule: "guardrails.egressCidrs",
            mode: "Enforce",
            path: "spec.egress.to[1].cidr",
            message: "10.0.0.0/8 is outside the allowed ranges (10.20.0.0/16): write a range inside them",
            policies: ["default", "strict"],
          },
        ]),
        {
          name: "broken",
          invalid: [{ path: "spec.ingress[0].ports[0]", message: "must be 1-65535" }],
          findings: undefined,
        },
      ],
      ["guardrails.secrets", "guardrails.egressCidrs"],
    );
    golden("namespace-report.golden.yaml", stringify(r));
  });
});

describe("buildClusterReport", () => {
  it("no policy: no report", () => {
    expect(buildClusterReport([])).toBeUndefined();
  });

  it.each([
    ["contradicts MeshwardPolicy b: the allowed ranges do not overlap", "contradiction"],
    ["approves an exception of shop/nobody, which does not exist", "references"],
  ])("%s → %s", (message, rule) => {
    expect(policyRule({ path: "spec", message })).toBe(rule);
  });

  it("golden: a clean policy, one with a contradiction and a missing profile, an invalid one", () => {
    const r = buildClusterReport([
      { name: "default", invalid: false, problems: [] },
      {
        name: "strict",
        uid: "uid-strict",
        invalid: false,
        problems: [
          {
            path: "spec.guardrails.secrets.stores",
            message:
              "contradicts MeshwardPolicy vault-only: each allows only stores the other does not (aws vs vault)",
          },
          {
            path: "spec.guardrails.exceptions.approvals[0].profile",
            message: "shop/nobody does not exist",
          },
        ],
      },
      {
        name: "typo",
        invalid: true,
        problems: [{ path: "spec.guardrails.secrets.mode", message: "must be Audit or Enforce" }],
      },
      { name: "fresh", invalid: false, problems: [], pending: true },
    ]);
    expect(r?.summary).toEqual({ pass: 4, warn: 2, fail: 1, error: 0, skip: 0 });
    expect(r?.metadata.namespace).toBeUndefined();
    golden("cluster-report.golden.yaml", stringify(r));
  });
});
