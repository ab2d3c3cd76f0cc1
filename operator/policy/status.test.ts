import { describe, expect, it } from "vitest";
import { validatePolicy } from "../api/validate-policy.ts";
import { NOW, policy, profile } from "../../test-support/fixtures/policy.ts";
import { contradictions, type NamespaceInfo, policyStatus } from "./status.ts";

const namespaces: NamespaceInfo[] = [
  { name: "pay", labels: { team: "pay", tier: "prod" } },
  { name: "shop", labels: { team: "shop", tier: "prod" } },
  { name: "dev", labels: { tier: "dev" } },
];
const profiles = [
  profile("pay/api", { selector: { app: "api" } }),
  profile("pay/web", { selector: { app: "web" } }),
  profile("shop/cart", { selector: { app: "cart" } }),
];

describe("policy status", () => {
  it("counts the namespaces and profiles it governs", () => {
    const p = policy("prod", { namespaceSelector: { tier: "prod" } });
    const s = policyStatus({ policy: p, policies: [p], namespaces, profiles, now: NOW });
    expect(s).toMatchObject({
      namespaceCount: 2,
      namespaces: ["pay", "shop"],
      profileCount: 3,
      problems: [],
    });
    expect(s.conditions.map((c) => [c.type, c.status])).toEqual([
      ["Ready", "True"],
      ["Contradiction", "False"],
    ]);
  });

  it("reports two policies that together allow no store, on both", () => {
    const a = policy("a", {
      guardrails: { secrets: { mode: "Enforce", stores: [{ name: "vault", keys: ["{namespace}/*"] }] } },
    });
    const b = policy("b", {
      namespaceSelector: { team: "pay" },
      guardrails: { secrets: { mode: "Audit", stores: [{ name: "aws", keys: ["{namespace}/*"] }] } },
    });
    for (const [self, other] of [
      [a, b],
      [b, a],
    ] as const) {
      const s = policyStatus({ policy: self, policies: [a, b], namespaces, profiles, now: NOW });
      expect(s.conditions[1]).toMatchObject({ type: "Contradiction", status: "True" });
      expect(s.problems).toEqual([
        expect.objectContaining({
          path: "spec.guardrails.secrets.stores",
          message: expect.stringContaining(`contradicts MeshwardPolicy ${other.metadata.name}`),
        }),
      ]);
    }
  });

  it("does not report policies that govern no common namespace", () => {
    const a = policy("a", {
      namespaceSelector: { team: "pay" },
      guardrails: { egressCidrs: { mode: "Enforce", allowed: ["10.0.0.0/8"] } },
    });
    const b = policy("b", {
      namespaceSelector: { team: "shop" },
      guardrails: { egressCidrs: { mode: "Enforce", allowed: ["192.168.0.0/16"] } },
    });
    expect(policyStatus({ policy: a, policies: [a, b], namespaces, profiles, now: NOW }).problems).toEqual(
      [],
    );
    expect(contradictions(a, b)).toEqual([
      expect.objectContaining({ path: "spec.guardrails.egressCidrs.allowed" }),
    ]);
  });

  it("reports approvals of missing or ungoverned profiles, and ended ones", () => {
    const p = policy("gate", {
      namespaceSelector: { team: "pay" },
      guardrails: {
        exceptions: {
          mode: "Enforce",
          approvals: [
            { profile: "pay/ghost", type: "AuditOnly", expires: "2026-12-01T00:00:00Z" },
            { profile: "shop/cart", type: "AuditOnly", expires: "2026-12-01T00:00:00Z" },
            { profile: "pay/api", type: "AuditOnly", expires: "2026-11-01T00:00:00Z" },
          ],
        },
      },
    });
    const s = policyStatus({ policy: p, policies: [p], namespaces, profiles, now: NOW });
    expect(s.problems.map((x) => [x.path, x.message.split(":")[0]])).toEqual([
      [
        "spec.guardrails.exceptions.approvals[0]",
        "approves an exception of ServiceSecurityProfile pay/ghost, which does not exist",
      ],
      [
        "spec.guardrails.exceptions.approvals[1]",
        "approves an exception in namespace shop, which this policy does not govern (namespaceSelector)",
      ],
      ["spec.guardrails.exceptions.approvals[2]", "ended at 2026-11-01T00"],
    ]);
  });

  it("reports a quarantined namespace that does not exist, not one that does", () => {
    const p = policy("lockdown", {
      namespaceSelector: { team: "none" },
      quarantine: { identities: [{ namespace: "shop" }, { namespace: "ghost" }] },
    });
    expect(policyStatus({ policy: p, policies: [p], namespaces, profiles, now: NOW }).problems).toEqual([
      {
        path: "spec.quarantine.identities[1].namespace",
        message:
          "namespace ghost does not exist: its principals are denied mesh-wide, and its DENY and isolation are created when it appears; check the name",
      },
    ]);
  });

  it("warns about a key pattern that opens every namespace's keys", () => {
    const p = policy("loose", {
      guardrails: { secrets: { mode: "Enforce", stores: [{ name: "vault", keys: ["*"] }] } },
    });
    expect(policyStatus({ policy: p, policies: [p], namespaces, profiles, now: NOW }).problems[0]?.path).toBe(
      "spec.guardrails.secrets.stores[0].keys[0]",
    );
  });

  it("reports different mesh root namespaces even without a common namespace", () => {
    const a = policy("a", { namespaceSelector: { team: "pay" }, quarantine: { identities: [] } });
    const b = policy("b", {
      namespaceSelector: { team: "none" },
      quarantine: { meshRootNamespace: "mesh", identities: [] },
    });
    expect(policyStatus({ policy: a, policies: [a, b], namespaces, profiles, now: NOW }).problems).toEqual([
      expect.objectContaining({ path: "spec.quarantine.meshRootNamespace" }),
    ]);
  });
});

describe("validatePolicy (TypeScript twins of the CRD's rules)", () => {
  const base = { apiVersion: "meshward.io/v1alpha1", kind: "MeshwardPolicy", metadata: { name: "p" } };
  const problems = (spec: unknown, extra: object = {}) => {
    const r = validatePolicy({ ...base, ...extra, spec });
    return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
  };

  it.each([
    [
      { guardrails: { secrets: { mode: "Enforce", stores: [{ name: "vault", keys: ["{team}/*"] }] } } },
      "spec.guardrails.secrets.stores[0].keys[0]: key patterns use letters",
    ],
    [
      {
        guardrails: {
          secrets: {
            mode: "Enforce",
            stores: [
              { name: "v", keys: ["a"] },
              { name: "v", keys: ["b"] },
            ],
          },
        },
      },
      "spec.guardrails.secrets.stores: each store (kind and name) may be listed once",
    ],
    [
      { guardrails: { egressCidrs: { mode: "Enforce", allowed: ["10.1.0.0/8"] } } },
      "spec.guardrails.egressCidrs.allowed: allowed ranges must be network addresses",
    ],
    [
      { guardrails: { secrets: { mode: "Strict", stores: [] } } },
      'spec.guardrails.secrets.mode: must be one of "Enforce", "Audit"',
    ],
    [
      { quarantine: { identities: [{ profile: "cart" }] } },
      "spec.quarantine.identities[0].profile: profile must name a ServiceSecurityProfile as <namespace>/<name>",
    ],
    [
      { quarantine: { identities: [{ profile: "a/b", serviceAccount: { namespace: "a", name: "b" } }] } },
      "spec.quarantine.identities[0]: each quarantined identity sets exactly one of profile, serviceAccount or namespace",
    ],
    [
      { quarantine: { identities: [{ namespace: "shop", profile: "shop/cart" }] } },
      "spec.quarantine.identities[0]: each quarantined identity sets exactly one of profile, serviceAccount or namespace",
    ],
    [
      { quarantine: { identities: [{ reason: "INC-1" }] } },
      "spec.quarantine.identities[0]: each quarantined identity sets exactly one of profile, serviceAccount or namespace",
    ],
    [{ quarantine: { identities: [{ namespace: "Shop" }] } }, "spec.quarantine.identities[0].namespace:"],
    [
      { quarantine: { identities: [{ namespace: "shop" }, { namespace: "istio-system" }] } },
      "spec.quarantine.identities: a quarantined namespace cannot be the mesh root namespace",
    ],
    [
      { quarantine: { meshRootNamespace: "mesh", identities: [{ namespace: "mesh" }] } },
      "spec.quarantine.identities: a quarantined namespace cannot be the mesh root namespace",
    ],
    [
      {
        guardrails: {
          exceptions: {
            mode: "Enforce",
            approvals: [
              { profile: "a/b", type: "AuditOnly", expires: "2026-12-01T00:00:00Z" },
              { profile: "a/b", type: "AuditOnly", expires: "2026-12-02T00:00:00Z" },
            ],
          },
        },
      },
      "spec.guardrails.exceptions.approvals: one approval per profile and exception type",
    ],
    [{ admission: { mode: "Block" } }, 'spec.admission.mode: must be one of "Deny", "Warn", "Audit"'],
    [
      { namespaceSelector: { "bad key!": "x" } },
      "spec.namespaceSelector: namespaceSelector keys must be label keys",
    ],
  ])("rejects %j", (spec, message) => expect(problems(spec).join("\n")).toContain(message));

  it("rejects a namespace (cluster-scoped) and never throws", () => {
    expect(problems({}, { metadata: { name: "p", namespace: "x" } })).toEqual([
      "metadata.namespace: must be omitted: a MeshwardPolicy is cluster-scoped",
    ]);
    for (const raw of [null, 1, [], {}, { ...base, spec: 5 }]) expect(validatePolicy(raw).ok).toBe(false);
  });

  it.each([[{ namespace: "shop" }], [{ namespace: "istio-system" }, "mesh"]])(
    "accepts a namespace identity %j that is not the mesh root",
    (identity, root?: string) => {
      const r = validatePolicy({
        ...base,
        spec: { quarantine: { ...(root ? { meshRootNamespace: root } : {}), identities: [identity] } },
      });
      expect(r.ok ? [] : r.problems).toEqual([]);
    },
  );

  it("applies defaults", () => {
    const r = validatePolicy({
      ...base,
      spec: { quarantine: { identities: [] }, guardrails: { exceptions: { mode: "Audit" } } },
    });
    expect(r.ok && r.policy.spec).toEqual({
      quarantine: { meshRootNamespace: "istio-system", identities: [] },
      guardrails: { exceptions: { mode: "Audit", requireApproval: true } },
    });
  });
});
