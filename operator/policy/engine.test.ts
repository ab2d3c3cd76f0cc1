import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ProfileSpecInput } from "../api/schema.ts";
import { evaluateProfile } from "./engine.ts";
import { NOW, policy, profile } from "../../test-support/fixtures/policy.ts";
import { quarantiningPolicies } from "./quarantine-match.ts";
import type { PolicyInput, PolicyProfile } from "./types.ts";
import type { MeshwardPolicy } from "../api/policy.ts";

const secret = (key: string, store = "vault") => ({
  name: "db",
  storeRef: { kind: "ClusterSecretStore" as const, name: store },
  data: [{ secretKey: "password", remoteRef: { key } }],
});

function run(p: PolicyProfile, policies: MeshwardPolicy[], extra: Partial<PolicyInput> = {}) {
  return evaluateProfile({
    profile: p,
    namespaceProfiles: [p],
    policies,
    namespaceLabels: { team: "pay" },
    now: NOW,
    ...extra,
  });
}

const vaultOwnNamespace = (mode: "Enforce" | "Audit", name = "default") =>
  policy(name, { guardrails: { secrets: { mode, stores: [{ name: "vault", keys: ["{namespace}/*"] }] } } });

describe("secrets guardrail", () => {
  const ok = profile("pay/api", { selector: { app: "api" }, secrets: [secret("pay/database")] });
  const foreign = profile("pay/api", { selector: { app: "api" }, secrets: [secret("orders/database")] });

  it("allows keys under the profile's namespace ({namespace}/*)", () => {
    const out = run(ok, [vaultOwnNamespace("Enforce")]);
    expect(out.findings).toEqual([]);
    expect(out.effective?.spec.secrets).toEqual(ok.spec.secrets);
  });

  it("Enforce: removes a foreign key (fail closed) and says what to write instead", () => {
    const out = run(foreign, [vaultOwnNamespace("Enforce")]);
    expect(out.effective?.spec.secrets).toEqual([]);
    expect(out.findings).toEqual([
      expect.objectContaining({
        reason: "SecretNotAllowed",
        mode: "Enforce",
        path: "spec.secrets[0].data[0].remoteRef.key",
        policies: ["default"],
        message: expect.stringContaining(
          'does not allow remote key "orders/database" from ClusterSecretStore vault (allowed here: pay/*)',
        ),
      }),
    ]);
  });

  it("Audit: keeps the key and reports it", () => {
    const out = run(foreign, [vaultOwnNamespace("Audit")]);
    expect(out.effective?.spec.secrets).toEqual(foreign.spec.secrets);
    expect(out.findings.map((f) => [f.mode, f.path])).toEqual([
      ["Audit", "spec.secrets[0].data[0].remoteRef.key"],
    ]);
  });

  it("removes only the offending entry of a secret, and a store not listed entirely", () => {
    const p = profile("pay/api", {
      selector: { app: "api" },
      secrets: [
        {
          ...secret("pay/a"),
          data: [
            { secretKey: "a", remoteRef: { key: "pay/a" } },
            { secretKey: "b", remoteRef: { key: "shop/b" } },
          ],
        },
        { ...secret("pay/c", "aws"), name: "other" },
      ],
    });
    const out = run(p, [vaultOwnNamespace("Enforce")]);
    expect(out.effective?.spec.secrets).toEqual([
      { ...p.spec.secrets?.[0], data: [{ secretKey: "a", remoteRef: { key: "pay/a" } }] },
    ]);
    expect(out.findings.map((f) => f.path)).toEqual([
      "spec.secrets[0].data[1].remoteRef.key",
      "spec.secrets[1].storeRef",
    ]);
  });

  it("fills {profile} and refuses keys that walk out of the prefix", () => {
    const pol = policy("p", {
      guardrails: {
        secrets: { mode: "Enforce", stores: [{ name: "vault", keys: ["apps/{namespace}/{profile}/*"] }] },
      },
    });
    const keys = [
      "apps/pay/api/db",
      "apps/pay/web/db",
      "apps/pay/api/../web/db",
      "apps/pay/api//x",
      "apps/pay/api/./db",
    ];
    const allowed = keys.filter(
      (k) =>
        run(profile("pay/api", { selector: { app: "api" }, secrets: [secret(k)] }), [pol]).findings.length ===
        0,
    );
    expect(allowed).toEqual(["apps/pay/api/db"]);
  });
});

describe("egress CIDR guardrail", () => {
  const pol = policy("net", {
    guardrails: { egressCidrs: { mode: "Enforce", allowed: ["10.0.0.0/8"], denied: ["10.9.0.0/16"] } },
  });
  const target = (cidr: string, except?: string[]) =>
    profile("pay/api", {
      selector: { app: "api" },
      egress: { to: [{ cidr, ...(except && { except }), ports: [443] }] },
    });

  it.each([
    ["10.20.0.0/16", undefined, true],
    ["0.0.0.0/0", undefined, false],
    ["192.168.0.0/16", undefined, false],
    ["10.9.1.0/24", undefined, false],
    ["10.0.0.0/8", undefined, false],
    ["10.0.0.0/8", ["10.9.0.0/16"], true],
  ])("%s except %j allowed: %s", (cidr, except, allowed) => {
    const out = run(target(cidr, except), [pol]);
    expect(out.findings.length === 0).toBe(allowed);
    expect(out.effective?.spec.egress?.to?.length).toBe(allowed ? 1 : 0);
    if (!allowed)
      expect(out.findings[0]).toMatchObject({
        reason: "EgressCidrNotAllowed",
        path: "spec.egress.to[0].cidr",
      });
  });
});

describe("egress host guardrail", () => {
  const stripe = (mode: "Enforce" | "Audit", name = "hosts", extra: object = {}) =>
    policy(name, {
      ...extra,
      guardrails: { egressHosts: { mode, allowed: ["*.stripe.com", "api.github.com"] } },
    });
  const calling = (...hosts: string[]) =>
    profile("pay/api", {
      selector: { app: "api" },
      egress: {
        to: [{ service: "orders/api", ports: [8080] }, ...hosts.map((host) => ({ host, ports: [443] }))],
      },
    });

  it.each([
    ["api.stripe.com", true],
    ["a.b.stripe.com", true],
    ["*.stripe.com", true],
    ["*.eu.stripe.com", true],
    ["stripe.com", false],
    ["evilstripe.com", false],
    ["api.stripe.com.evil.io", false],
    ["*.evil.io", false],
    ["api.github.com", true],
    ["x.api.github.com", false],
    ["*.github.com", false],
  ])("%s allowed: %s", (host, allowed) => {
    const out = run(calling(host), [stripe("Enforce")]);
    expect(out.findings.length === 0).toBe(allowed);
    // Enforce drops the host entry only; the service entry stays.
    expect(out.effective?.spec.egress?.to?.map((t) => t.host ?? t.service)).toEqual(
      allowed ? ["orders/api", host] : ["orders/api"],
    );
    if (!allowed)
      expect(out.findings[0]).toEqual({
        reason: "EgressHostNotAllowed",
        rule: "guardrails.egressHosts",
        mode: "Enforce",
        path: "spec.egress.to[1].host",
        policies: ["hosts"],
        message: `MeshwardPolicy hosts allows egress only to the hosts *.stripe.com, api.github.com: call ${host} through an allowed host, or ask the platform team to allow it`,
      });
  });

  it("Audit: keeps the host and reports it", () => {
    const p = calling("api.stripe.com", "api.paypal.com");
    const out = run(p, [stripe("Audit")]);
    expect(out.effective?.spec.egress?.to).toEqual(p.spec.egress?.to);
    expect(out.findings.map((f) => [f.reason, f.mode, f.path])).toEqual([
      ["EgressHostNotAllowed", "Audit", "spec.egress.to[2].host"],
    ]);
  });

  it("an empty allowed list allows no host; cidr and service entries are not its business", () => {
    const none = policy("none", { guardrails: { egressHosts: { mode: "Enforce", allowed: [] } } });
    const p = profile("pay/api", {
      selector: { app: "api" },
      egress: { to: [{ cidr: "10.0.0.0/8" }, { host: "api.stripe.com", ports: [443] }] },
    });
    const out = run(p, [none]);
    expect(out.findings.map((f) => f.path)).toEqual(["spec.egress.to[1].host"]);
    expect(out.findings[0]?.message).toContain("allows egress only to the hosts (none)");
    expect(out.effective?.spec.egress?.to).toEqual([{ cidr: "10.0.0.0/8" }]);
  });

  it("applies per namespace: a policy whose namespaceSelector does not match allows anything", () => {
    const other = stripe("Enforce", "other-team", { namespaceSelector: { team: "shop" } });
    expect(run(calling("api.paypal.com"), [other]).findings).toEqual([]);
    expect(
      run(calling("api.paypal.com"), [other], { namespaceLabels: { team: "shop" } }).findings,
    ).toHaveLength(1);
  });

  it("with a cidr finding too, drops both entries and keeps the rest", () => {
    const both = policy("both", {
      guardrails: {
        egressHosts: { mode: "Enforce", allowed: ["*.stripe.com"] },
        egressCidrs: { mode: "Enforce", allowed: ["10.0.0.0/8"] },
      },
    });
    const p = profile("pay/api", {
      selector: { app: "api" },
      egress: {
        to: [
          { cidr: "192.168.0.0/16" },
          { host: "api.stripe.com", ports: [443] },
          { host: "api.paypal.com", ports: [443] },
        ],
      },
    });
    const out = run(p, [both]);
    expect(out.findings.map((f) => f.reason)).toEqual(["EgressCidrNotAllowed", "EgressHostNotAllowed"]);
    expect(out.effective?.spec.egress?.to).toEqual([{ host: "api.stripe.com", ports: [443] }]);
  });
});

describe("several policies on one namespace", () => {
  const foreign = profile("pay/api", { selector: { app: "api" }, secrets: [secret("pay/db")] });
  const narrow = (mode: "Enforce" | "Audit") =>
    policy("narrow", {
      guardrails: { secrets: { mode, stores: [{ name: "vault", keys: ["{namespace}/app/*"] }] } },
    });

  it("intersects allowances: a key must be allowed by every policy", () => {
    const out = run(foreign, [vaultOwnNamespace("Audit"), narrow("Enforce")]);
    expect(out.findings).toEqual([expect.objectContaining({ mode: "Enforce", policies: ["narrow"] })]);
    expect(out.effective?.spec.secrets).toEqual([]);
  });

  it("Enforce beats Audit for the same violation, naming both policies", () => {
    const p = profile("pay/api", { selector: { app: "api" }, secrets: [secret("shop/db")] });
    const out = run(p, [narrow("Audit"), vaultOwnNamespace("Enforce")]);
    expect(out.findings).toEqual([
      expect.objectContaining({ mode: "Enforce", policies: ["default", "narrow"] }),
    ]);
  });

  it("ignores policies whose namespaceSelector does not match", () => {
    const other = policy("other", {
      namespaceSelector: { team: "shop" },
      guardrails: { secrets: { mode: "Enforce", stores: [] } },
    });
    expect(run(foreign, [other]).findings).toEqual([]);
    expect(run(foreign, [other]).governedBy).toEqual([]);
  });

  it("gives the same outcome whatever the order of the policies", () => {
    const pols = [
      vaultOwnNamespace("Audit"),
      narrow("Enforce"),
      policy("base", { baseline: { ingress: [{ from: [{ namespace: "mon" }], ports: [9090] }] } }),
    ];
    const p = profile("pay/api", {
      selector: { app: "api" },
      secrets: [secret("pay/db"), { ...secret("x/y"), name: "two" }],
    });
    const want = run(p, pols);
    fc.assert(
      fc.property(fc.shuffledSubarray(pols, { minLength: 3, maxLength: 3 }), (order) => {
        expect(run(p, order)).toEqual(want);
      }),
    );
  });

  it("adds baseline rules up, deduplicated, marked with their policies, without a token requirement", () => {
    const scrape = {
      from: [{ serviceAccount: { namespace: "monitoring", name: "prometheus" } }],
      ports: [15090],
    };
    const otel = { service: "observability/otel-collector", ports: [4317] };
    const a = policy("a", { baseline: { ingress: [scrape], egress: [otel] } });
    const b = policy("b", { baseline: { ingress: [scrape] } });
    const p = profile("pay/api", {
      selector: { app: "api" },
      ingress: [{ from: [{ namespace: "gw" }] }],
      requestAuthentication: { jwt: [{ issuer: "https://idp.example" }] },
    });
    const out = run(p, [b, a]);
    expect(out.effective?.spec.ingress).toEqual([
      ...(p.spec.ingress ?? []),
      { ...scrape, requireToken: false },
    ]);
    expect(out.effective?.spec.egress?.to).toEqual([otel]);
    expect(out.baseline).toEqual([
      { path: "spec.ingress[1]", policies: ["a", "b"] },
      { path: "spec.egress.to[0]", policies: ["a"] },
    ]);
  });
});

describe("exception approvals", () => {
  const permissive = (expires: string): ProfileSpecInput => ({
    selector: { app: "api" },
    mtls: { mode: "Permissive" },
    exceptions: [{ type: "PermissiveMtls", reason: "legacy client migrating", ticket: "SEC-1", expires }],
  });
  const p = profile("pay/api", permissive("2026-12-01T00:00:00Z"));
  const gate = (approvals: object[], mode: "Enforce" | "Audit" = "Enforce", extra: object = {}) =>
    policy("gate", { guardrails: { exceptions: { mode, approvals: approvals as never, ...extra } } });

  it("PendingApproval without an approval: the exception is dropped (enforcement stays on)", () => {
    const out = run(p, [gate([])]);
    expect(out.approvals).toEqual([
      expect.objectContaining({
        type: "PermissiveMtls",
        state: "PendingApproval",
        message: expect.stringContaining(
          "{profile: pay/api, type: PermissiveMtls, expires: 2026-12-01T00:00:00Z}",
        ),
      }),
    ]);
    expect(out.effective?.spec.exceptions).toEqual([]);
    expect(out.findings).toEqual([
      expect.objectContaining({ reason: "PendingApproval", mode: "Enforce", path: "spec.exceptions[0]" }),
    ]);
  });

  it("Approved when an approval names the profile and type, until at least the exception's expiry", () => {
    const out = run(p, [
      gate([{ profile: "pay/api", type: "PermissiveMtls", expires: "2026-12-15T00:00:00Z" }]),
    ]);
    expect(out.approvals).toEqual([
      { type: "PermissiveMtls", state: "Approved", approvedUntil: "2026-12-15T00:00:00Z", policy: "gate" },
    ]);
    expect(out.effective?.spec.exceptions).toEqual(p.spec.exceptions);
    expect(out.findings).toEqual([]);
  });

  it.each([
    [
      "another profile",
      { profile: "pay/web", type: "PermissiveMtls", expires: "2026-12-15T00:00:00Z" },
      "is not approved",
    ],
    [
      "the wrong type",
      { profile: "pay/api", type: "AuditOnly", expires: "2026-12-15T00:00:00Z" },
      "approvals exist only for AuditOnly",
    ],
    [
      "an approval ending before the exception",
      { profile: "pay/api", type: "PermissiveMtls", expires: "2026-11-25T00:00:00Z" },
      "set expires to 2026-11-25T00:00:00Z or earlier",
    ],
    [
      "an approval that has ended",
      { profile: "pay/api", type: "PermissiveMtls", expires: "2026-11-19T00:00:00Z" },
      "ended at 2026-11-19T00:00:00Z",
    ],
  ])("PendingApproval with %s", (_, approval, message) => {
    const out = run(p, [gate([approval])]);
    expect(out.approvals[0]?.state).toBe("PendingApproval");
    expect(out.approvals[0]?.message).toContain(message);
    expect(out.effective?.spec.exceptions).toEqual([]);
  });

  it("Audit: keeps an unapproved exception and reports it", () => {
    const out = run(p, [gate([], "Audit")]);
    expect(out.effective?.spec.exceptions).toEqual(p.spec.exceptions);
    expect(out.findings.map((f) => f.mode)).toEqual(["Audit"]);
  });

  it("an approval in any governing policy counts; type and length limits intersect", () => {
    const approver = gate([{ profile: "pay/api", type: "PermissiveMtls", expires: "2026-12-15T00:00:00Z" }]);
    const short = policy("short", {
      guardrails: { exceptions: { mode: "Enforce", maxDays: 5, requireApproval: false } },
    });
    const out = run(p, [approver, short]);
    expect(out.approvals[0]?.state).toBe("Approved");
    expect(out.findings).toEqual([
      expect.objectContaining({
        reason: "ExceptionNotAllowed",
        policies: ["short"],
        message: expect.stringContaining("at most 5 days ahead"),
      }),
    ]);
    expect(out.effective?.spec.exceptions).toEqual([]);
  });

  it("refuses a type the policy does not allow", () => {
    const out = run(p, [gate([], "Enforce", { allowedTypes: ["AuditOnly"], requireApproval: false })]);
    expect(out.findings).toEqual([
      expect.objectContaining({
        reason: "ExceptionNotAllowed",
        message: expect.stringContaining("allows only exception types AuditOnly"),
      }),
    ]);
    expect(out.approvals).toEqual([{ type: "PermissiveMtls", state: "NotRequired" }]);
  });
});

describe("selector overlap", () => {
  const a = profile("pay/a", { selector: { app: "shop" } }, "2026-01-01T00:00:00Z");
  const hijack = profile("pay/b", { selector: { app: "shop", tier: "web" } }, "2026-02-01T00:00:00Z");
  const apart = profile("pay/c", { selector: { app: "cart" } }, "2026-02-01T00:00:00Z");

  it("the newer profile builds nothing and names the older one", () => {
    const out = evaluateProfile({
      profile: hijack,
      namespaceProfiles: [a, hijack, apart],
      policies: [],
      namespaceLabels: {},
      now: NOW,
    });
    expect(out.effective).toBeUndefined();
    expect(out.overlap?.keptBy).toBe("pay/a");
    expect(out.findings[0]).toMatchObject({
      reason: "SelectorOverlap",
      mode: "Enforce",
      path: "spec.selector",
    });
    expect(out.findings[0]?.message).toContain(
      "ServiceSecurityProfile pay/a (selector {app: shop}), which is older",
    );
  });

  it("the older profile keeps its pods; disjoint selectors do not overlap", () => {
    for (const p of [a, apart]) {
      const out = evaluateProfile({
        profile: p,
        namespaceProfiles: [a, hijack, apart],
        policies: [],
        namespaceLabels: {},
        now: NOW,
      });
      expect(out.overlap).toBeUndefined();
      expect(out.effective?.spec).toEqual(p.spec);
    }
  });

  it("same creation time: the name decides", () => {
    const x = profile("pay/x", { selector: { app: "s" } }, "2026-01-01T00:00:00Z");
    const y = profile("pay/y", { selector: { app: "s" } }, "2026-01-01T00:00:00Z");
    const run2 = (p: PolicyProfile) =>
      evaluateProfile({ profile: p, namespaceProfiles: [y, x], policies: [], namespaceLabels: {}, now: NOW });
    expect(run2(x).overlap).toBeUndefined();
    expect(run2(y).overlap?.keptBy).toBe("pay/x");
  });
});

describe("quarantine", () => {
  const p = profile("shop/cart", {
    selector: { app: "cart" },
    ingress: [{ from: [{ namespace: "gw" }] }],
    egress: { to: [{ cidr: "10.1.0.0/16" }] },
    mtls: { mode: "Permissive" },
    exceptions: [
      {
        type: "PermissiveMtls",
        reason: "legacy client migrating",
        ticket: "SEC-1",
        expires: "2026-12-01T00:00:00Z",
      },
    ],
  });
  const base = policy("base", { baseline: { ingress: [{ from: [{ namespace: "mon" }] }] } });

  it.each([
    ["a profile reference", { profile: "shop/cart" }],
    ["its ServiceAccount", { serviceAccount: { namespace: "shop", name: "cart" } }],
    ["its namespace", { namespace: "shop" }],
  ])("cuts off a profile named by %s, whatever namespaces the policy selects", (_, identity) => {
    const q = policy("emergency", {
      namespaceSelector: { team: "nobody" },
      quarantine: { identities: [identity] },
    });
    const out = run(p, [q, base]);
    expect(out.quarantinedBy).toEqual(["emergency"]);
    expect(out.effective?.spec.ingress).toEqual([]);
    expect(out.effective?.spec.egress).toEqual({ dns: true, to: [] });
    expect(out.effective?.spec.exceptions).toBeUndefined();
    expect(out.baseline).toEqual([]);
    expect(out.findings.at(-1)).toMatchObject({ reason: "Quarantined", mode: "Enforce" });
  });
});

describe("quarantine match", () => {
  const cart = profile("shop/cart", { selector: { app: "cart" } });
  it.each([
    ["its namespace", { namespace: "shop" }, ["emergency"]],
    ["another namespace", { namespace: "shopping" }, []],
    [
      "a namespace holding an account of the same name",
      { serviceAccount: { namespace: "pay", name: "cart" } },
      [],
    ],
    ["another profile of its namespace", { profile: "shop/worker" }, []],
    ["another account of its namespace", { serviceAccount: { namespace: "shop", name: "runner" } }, []],
  ])("a profile shop/cart quarantined by %s", (_, identity, expected) => {
    const q = policy("emergency", { quarantine: { identities: [identity] } });
    expect(quarantiningPolicies(cart, [q])).toEqual(expected);
  });

  it("names every policy that quarantines the namespace, once", () => {
    const a = policy("b-ns", {
      quarantine: { identities: [{ namespace: "shop" }, { profile: "shop/cart" }] },
    });
    const b = policy("a-ns", { quarantine: { identities: [{ namespace: "shop" }] } });
    expect(quarantiningPolicies(cart, [a, b])).toEqual(["a-ns", "b-ns"]);
  });
});

describe("defaults", () => {
  const api = profile("pay/api", { selector: { app: "api" } });
  it.each([
    ["no policy sets it: the profile as written", [], undefined],
    ["a policy enables access logs", [policy("a", { defaults: { accessLogs: "Enabled" } })], "Enabled"],
    [
      "policies disagree: Enabled wins",
      [
        policy("a", { defaults: { accessLogs: "Disabled" } }),
        policy("b", { defaults: { accessLogs: "Enabled" } }),
      ],
      "Enabled",
    ],
    [
      "a policy for another namespace does not count",
      [policy("a", { namespaceSelector: { team: "other" }, defaults: { accessLogs: "Enabled" } })],
      undefined,
    ],
  ] as const)("%s", (_what, policies, want) => {
    expect(run(api, [...policies]).effective?.spec.audit?.accessLogs).toBe(want);
  });

  it("the profile's own setting wins", () => {
    const off = profile("pay/api", { selector: { app: "api" }, audit: { accessLogs: "Disabled" } });
    expect(run(off, [policy("a", { defaults: { accessLogs: "Enabled" } })]).effective?.spec.audit).toEqual({
      accessLogs: "Disabled",
    });
  });
});

describe("secret identity (spec.secretIdentity)", () => {
  const store = { name: "vault", vault: { server: "https://vault.vault.svc:8200" } };
  const fromIdentity = (key: string) => ({
    name: "db",
    storeRef: { kind: "IdentityStore" as const, name: "vault" },
    data: [{ secretKey: "password", remoteRef: { key } }],
  });

  it("resolves an identity store a governing policy defines, with its defaults", () => {
    const p = profile("pay/api", { selector: { app: "api" }, secrets: [fromIdentity("pay/api/db")] });
    const out = run(p, [policy("vault", { secretIdentity: { stores: [store] } })]);
    expect(out.findings).toEqual([]);
    expect(out.effective?.spec.secrets).toEqual(p.spec.secrets);
    expect(out.identityStores).toEqual({
      vault: {
        policy: "vault",
        vault: {
          server: "https://vault.vault.svc:8200",
          path: "secret",
          version: "v2",
          authMountPath: "kubernetes",
          role: "{namespace}-{serviceAccount}",
        },
      },
    });
  });

  it.each([
    [
      "no policy defines it",
      [policy("other", { secretIdentity: { stores: [] } })],
      [],
      "defines identity store",
    ],
    [
      "two policies define it differently",
      [
        policy("a", { secretIdentity: { stores: [store] } }),
        policy("b", { secretIdentity: { stores: [{ ...store, vault: { server: "https://evil:8200" } }] } }),
      ],
      ["a", "b"],
      "differently",
    ],
  ])("refuses the secret (fail closed) when %s", (_, policies, named, text) => {
    const p = profile("pay/api", { selector: { app: "api" }, secrets: [fromIdentity("pay/api/db")] });
    const out = run(p, policies);
    expect(out.findings).toEqual([
      {
        reason: "SecretNotAllowed",
        rule: "secretIdentity",
        mode: "Enforce",
        path: "spec.secrets[0].storeRef",
        message: expect.stringContaining(text),
        policies: named,
      },
    ]);
    expect(out.effective?.spec.secrets).toEqual([]);
    expect(out.identityStores).toEqual({});
  });

  it.each(["Enforce", "Audit"] as const)(
    "mode %s: a secret from another store is refused or reported",
    (mode) => {
      const p = profile("pay/api", { selector: { app: "api" }, secrets: [secret("pay/db")] });
      const out = run(p, [policy("vault", { secretIdentity: { stores: [store], mode } })]);
      expect(out.findings).toEqual([
        {
          reason: "SecretNotAllowed",
          rule: "secretIdentity",
          mode,
          path: "spec.secrets[0].storeRef",
          message: expect.stringContaining("storeRef: { kind: IdentityStore, name: vault }"),
          policies: ["vault"],
        },
      ]);
      expect(out.effective?.spec.secrets).toEqual(mode === "Enforce" ? [] : p.spec.secrets);
    },
  );

  it("the secrets guardrail's key patterns apply to identity stores too (Audit keeps the secret)", () => {
    const p = profile("pay/api", { selector: { app: "api" }, secrets: [fromIdentity("pay/orders/db")] });
    const out = run(p, [
      policy("vault", {
        secretIdentity: { stores: [store] },
        guardrails: {
          secrets: {
            mode: "Audit",
            stores: [{ kind: "IdentityStore", name: "vault", keys: ["{namespace}/{profile}/*"] }],
          },
        },
      }),
    ]);
    expect(out.findings.map((f) => [f.rule, f.mode, f.path])).toEqual([
      ["guardrails.secrets", "Audit", "spec.secrets[0].data[0].remoteRef.key"],
    ]);
    expect(out.effective?.spec.secrets).toEqual(p.spec.secrets);
    expect(Object.keys(out.identityStores)).toEqual(["vault"]);
  });
});
