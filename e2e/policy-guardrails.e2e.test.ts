// The platform's MeshwardPolicies enforced by the real operator on the real test bed. Each test is
// a tenant's attack (or a platform lever) and asserts what the cluster then holds, in Audit (applied,
// reported) and Enforce (refused, fail closed: removed if it existed). Every policy here selects only
// this file's namespaces (by kubernetes.io/metadata.name) and is deleted afterwards.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run as runCli } from "../operator/cli/main.ts";
import { PODS, POLICIES, PROFILES } from "../operator/reconcile/kinds.ts";
import { type KubeClient, type KubeObjectLike, resourcePath } from "../operator/runtime/client.ts";
import { createNamespace, deleteNamespace, getOrUndefined, kube, waitFor } from "./support/kube.ts";
import { deleteIfPresent } from "../test-support/harness/namespaces.ts";
import { type OperatorProcess, startOperator } from "./support/operator.ts";
import {
  applyProfile,
  condition,
  events,
  getChild,
  getProfile,
  type ProfileObject,
  waitCondition,
  waitEvent,
} from "./support/profiles.ts";

let client: KubeClient;
let op: OperatorProcess | undefined;
const namespaces: string[] = [];
const policies = new Set<string>();

type PolicyObject = KubeObjectLike & {
  spec: Record<string, unknown>;
  status?: {
    namespaceCount?: number;
    profileCount?: number;
    problems?: { path: string; message: string }[];
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
};

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

async function deletePolicy(name: string): Promise<void> {
  await deleteIfPresent(client, resourcePath(POLICIES, undefined, name));
  policies.delete(name);
}

const only = (ns: string) => ({ "kubernetes.io/metadata.name": ns });

async function namespace(prefix: string): Promise<string> {
  const ns = await createNamespace(client, prefix);
  namespaces.push(ns);
  return ns;
}

/** Waits until the profile's status is current and `check` holds for it. */
function waitProfile(ns: string, name: string, what: string, check: (p: ProfileObject) => boolean) {
  return waitFor(
    `${ns}/${name}: ${what}`,
    async () => {
      const p = await getProfile(client, ns, name);
      if (!p || p.status?.observedGeneration !== p.metadata?.generation) return undefined;
      return check(p) ? p : undefined;
    },
    30_000,
    200,
  );
}

const gone = (kind: string, ns: string, name: string) =>
  waitFor(`${kind} ${ns}/${name} gone`, async () => !(await getChild(client, kind, ns, name)), 30_000, 200);

const present = (kind: string, ns: string, name: string) =>
  waitFor(`${kind} ${ns}/${name}`, () => getChild(client, kind, ns, name), 30_000, 200);

beforeAll(async () => {
  client = kube();
  op = await startOperator({ name: "operator-policy" });
});

afterAll(async () => {
  for (const p of [...policies]) await deletePolicy(p);
  await op?.stop();
  for (const ns of namespaces) await deleteNamespace(client, ns);
});

describe("selector overlap (always enforced)", () => {
  it("a profile that selects another team's pods gets nothing; the older profile keeps its policies", async () => {
    const ns = await namespace("overlap");
    await applyProfile(client, ns, "cart", {
      selector: { app: "cart" },
      ingress: [{ from: [{ namespace: "shop" }], ports: [8080] }],
    });
    await waitCondition(client, ns, "cart");
    const cartPolicy = await present("AuthorizationPolicy", ns, "cart");
    // The attack: a second profile in the same namespace selecting the cart's pods, opening them to
    // the attacker's namespace.
    await applyProfile(client, ns, "hijack", {
      selector: { app: "cart", tier: "web" },
      ingress: [{ from: [{ namespace: "attacker" }] }],
    });
    const p = await waitCondition(client, ns, "hijack", { status: "False", reason: "SelectorOverlap" });
    expect(condition(p, "Ready")?.message).toContain(`${ns}/cart`);
    expect(condition(p, "Compliant")?.reason).toBe("SelectorOverlap");
    // Nothing of the hijacking profile exists: no ALLOW policy, no NetworkPolicy, no account.
    for (const kind of ["AuthorizationPolicy", "NetworkPolicy", "ServiceAccount", "PeerAuthentication"])
      expect(await getChild(client, kind, ns, "hijack"), kind).toBeUndefined();
    expect(p.status?.objects ?? []).toEqual([]);
    // The cart's policy is untouched.
    const after = await getChild(client, "AuthorizationPolicy", ns, "cart");
    expect(after?.metadata?.resourceVersion).toBe(cartPolicy.metadata?.resourceVersion);
    await waitEvent(client, ns, "SelectorOverlap", `${ns}/cart`);
    // Once the older profile is gone, the newer one is built.
    await client.delete(resourcePath(PROFILES, ns, "cart"));
    await waitCondition(client, ns, "hijack");
    await present("AuthorizationPolicy", ns, "hijack");
  });
});

describe("secrets guardrail", () => {
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

  it("Audit reports another team's key and applies it; Enforce removes the ExternalSecret", async () => {
    const ns = await namespace("tenant");
    const policy = `e2e-secrets-${ns}`;
    await applyPolicy(policy, {
      namespaceSelector: only(ns),
      guardrails: { secrets: { mode: "Audit", stores: [{ name: "vault", keys: ["{namespace}/*"] }] } },
    });
    // The attack: a key under another team's path.
    await applyProfile(client, ns, "api", secretProfile("payments/db-password"));
    const audit = await waitProfile(
      ns,
      "api",
      "Compliant=False",
      (p) => condition(p, "Compliant")?.status === "False",
    );
    expect(condition(audit, "Compliant")?.reason).toBe("SecretNotAllowed");
    expect(condition(audit, "Compliant")?.message).toContain("spec.secrets[0].data[0].remoteRef.key");
    expect(audit.status?.policy?.findings?.[0]).toMatchObject({
      mode: "Audit",
      reason: "SecretNotAllowed",
      policies: [policy],
    });
    // Audit: applied as written.
    expect(condition(audit, "Ready")?.status).not.toBe("False");
    await present("ExternalSecret", ns, "db");
    await waitEvent(client, ns, "SecretNotAllowed", "[Audit");

    // The platform switches the rule to Enforce: the ExternalSecret is removed, Ready=False says why.
    await applyPolicy(policy, {
      namespaceSelector: only(ns),
      guardrails: { secrets: { mode: "Enforce", stores: [{ name: "vault", keys: ["{namespace}/*"] }] } },
    });
    const enforced = await waitProfile(
      ns,
      "api",
      "Ready=False SecretNotAllowed",
      (p) => condition(p, "Ready")?.reason === "SecretNotAllowed",
    );
    expect(condition(enforced, "Ready")?.message).toMatch(
      /spec\.secrets\[0\]\.data\[0\]\.remoteRef\.key: .*payments\/db-password/,
    );
    expect(condition(enforced, "Ready")?.message).toContain(`${ns}/`);
    await gone("ExternalSecret", ns, "db");
    // The rest of the profile is applied.
    await present("AuthorizationPolicy", ns, "api");

    // Fixing the key brings it back, and the profile is Ready and compliant.
    await applyProfile(client, ns, "api", secretProfile(`${ns}/db-password`));
    const fixed = await waitProfile(
      ns,
      "api",
      "Compliant=True",
      (p) => condition(p, "Compliant")?.status === "True",
    );
    expect(condition(fixed, "Compliant")?.message).toContain(policy);
    await present("ExternalSecret", ns, "db");
    await waitEvent(client, ns, "Compliant", "resolved");
    await deletePolicy(policy);
  });

  it("meshward validate, offline, gives the pull request the cluster's message", async () => {
    const ns = await namespace("offline");
    const policy = `e2e-offline-${ns}`;
    const policySpec = {
      namespaceSelector: only(ns),
      guardrails: { secrets: { mode: "Enforce", stores: [{ name: "vault", keys: ["{namespace}/*"] }] } },
    };
    const spec = secretProfile("payments/db-password");
    await applyPolicy(policy, policySpec);
    await applyProfile(client, ns, "api", spec);
    const p = await waitCondition(client, ns, "api", { status: "False", reason: "SecretNotAllowed" });
    const finding = p.status?.policy?.findings?.[0];
    if (!finding) throw new Error("no finding in status");

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "meshward-offline-"));
    const doc = (o: unknown) => JSON.stringify(o);
    fs.writeFileSync(
      path.join(dir, "api.yaml"),
      doc({
        apiVersion: "meshward.io/v1alpha1",
        kind: "ServiceSecurityProfile",
        metadata: { name: "api", namespace: ns },
        spec,
      }),
    );
    fs.writeFileSync(
      path.join(dir, "policy.yaml"),
      doc({
        apiVersion: "meshward.io/v1alpha1",
        kind: "MeshwardPolicy",
        metadata: { name: policy },
        spec: policySpec,
      }),
    );
    const out: string[] = [];
    const code = runCli(
      ["validate", "-o", "json", path.join(dir, "api.yaml"), "--policy", path.join(dir, "policy.yaml")],
      {
        out: (x) => out.push(x),
        err: (x) => out.push(x),
      },
    );
    fs.rmSync(dir, { recursive: true, force: true });
    expect(code).toBe(1);
    const report = out.join("");
    // The same field and the same words as the profile's status.
    expect(report).toContain(finding.path);
    expect(report).toContain(JSON.stringify(finding.message).slice(1, -1));
    await deletePolicy(policy);
  });

  it("a store the policy does not list is refused under Enforce", async () => {
    const ns = await namespace("store");
    const policy = `e2e-store-${ns}`;
    await applyPolicy(policy, {
      namespaceSelector: only(ns),
      guardrails: { secrets: { mode: "Enforce", stores: [{ name: "vault", keys: ["{namespace}/*"] }] } },
    });
    const spec = secretProfile(`${ns}/x`);
    spec.secrets[0]!.storeRef.name = "prod-vault";
    await applyProfile(client, ns, "api", spec);
    const p = await waitCondition(client, ns, "api", { status: "False", reason: "SecretNotAllowed" });
    expect(condition(p, "Ready")?.message).toContain("prod-vault");
    expect(await getChild(client, "ExternalSecret", ns, "db")).toBeUndefined();
    await deletePolicy(policy);
  });
});

describe("egress CIDR guardrail", () => {
  it("0.0.0.0/0 is reported in Audit and never opened in Enforce", async () => {
    const ns = await namespace("egress");
    const policy = `e2e-egress-${ns}`;
    const spec = { selector: { app: "api" }, egress: { to: [{ cidr: "0.0.0.0/0", ports: [443] }] } };
    const ipBlocks = async () => {
      const np = await getChild(client, "NetworkPolicy", ns, "api");
      return JSON.stringify(np?.spec ?? {}).includes("0.0.0.0/0");
    };
    await applyPolicy(policy, {
      namespaceSelector: only(ns),
      guardrails: { egressCidrs: { mode: "Audit", allowed: ["10.0.0.0/8"], denied: ["0.0.0.0/0"] } },
    });
    await applyProfile(client, ns, "api", spec);
    const audit = await waitProfile(
      ns,
      "api",
      "Compliant=False",
      (p) => condition(p, "Compliant")?.reason === "EgressCidrNotAllowed",
    );
    expect(condition(audit, "Ready")?.status).toBe("True");
    expect(await ipBlocks()).toBe(true);
    await applyPolicy(policy, {
      namespaceSelector: only(ns),
      guardrails: { egressCidrs: { mode: "Enforce", allowed: ["10.0.0.0/8"], denied: ["0.0.0.0/0"] } },
    });
    const p = await waitCondition(client, ns, "api", { status: "False", reason: "EgressCidrNotAllowed" });
    expect(condition(p, "Ready")?.message).toContain("spec.egress.to[0]");
    await waitFor("0.0.0.0/0 gone from the NetworkPolicy", async () => !(await ipBlocks()), 30_000, 200);
    await deletePolicy(policy);
  });
});

describe("exception approval", () => {
  const permissive = (expires: string) => ({
    selector: { app: "legacy" },
    mtls: { mode: "Permissive" },
    exceptions: [{ type: "PermissiveMtls", reason: "legacy client migrating", ticket: "SEC-42", expires }],
  });
  const mode = async (ns: string) =>
    (
      (await getChild(client, "PeerAuthentication", ns, "legacy"))?.spec as
        { mtls?: { mode?: string } } | undefined
    )?.mtls?.mode;

  it("a self-written exception stays pending (STRICT) until the platform approves it", async () => {
    const ns = await namespace("exc");
    const policy = `e2e-exc-${ns}`;
    const expires = new Date(Date.now() + 5 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, "Z");
    await applyPolicy(policy, {
      namespaceSelector: only(ns),
      guardrails: { exceptions: { mode: "Enforce", maxDays: 30, requireApproval: true } },
    });
    // The attack: the team approves its own weakening.
    await applyProfile(client, ns, "legacy", permissive(expires));
    const pending = await waitCondition(client, ns, "legacy", { status: "False", reason: "PendingApproval" });
    expect(condition(pending, "Ready")?.message).toContain("spec.exceptions[0]");
    expect(condition(pending, "Ready")?.message).toContain(`${ns}/legacy`);
    expect(await mode(ns)).toBe("STRICT");

    // Audit: honoured, reported.
    await applyPolicy(policy, {
      namespaceSelector: only(ns),
      guardrails: { exceptions: { mode: "Audit", maxDays: 30, requireApproval: true } },
    });
    await waitFor("PERMISSIVE under Audit", async () => (await mode(ns)) === "PERMISSIVE", 30_000, 200);
    const audit = await getProfile(client, ns, "legacy");
    expect(condition(audit, "Compliant")?.reason).toBe("PendingApproval");

    // Enforce with the platform's approval: honoured, compliant.
    await applyPolicy(policy, {
      namespaceSelector: only(ns),
      guardrails: {
        exceptions: {
          mode: "Enforce",
          maxDays: 30,
          requireApproval: true,
          approvals: [{ profile: `${ns}/legacy`, type: "PermissiveMtls", expires, ticket: "SEC-42" }],
        },
      },
    });
    await waitProfile(ns, "legacy", "Compliant=True", (p) => condition(p, "Compliant")?.status === "True");
    expect(await mode(ns)).toBe("PERMISSIVE");

    // The approval withdrawn: enforcement is back.
    await applyPolicy(policy, {
      namespaceSelector: only(ns),
      guardrails: { exceptions: { mode: "Enforce", maxDays: 30, requireApproval: true } },
    });
    await waitFor("STRICT again", async () => (await mode(ns)) === "STRICT", 30_000, 200);
    await deletePolicy(policy);
  });
});

describe("baseline rules", () => {
  it("every governed profile admits the scraper, without a token; status and the policy say where they came from", async () => {
    const ns = await namespace("base");
    const policy = `e2e-base-${ns}`;
    await applyPolicy(policy, {
      namespaceSelector: only(ns),
      baseline: {
        ingress: [
          { from: [{ serviceAccount: { namespace: "monitoring", name: "prometheus" } }], ports: [15090] },
        ],
      },
    });
    await applyProfile(client, ns, "api", {
      selector: { app: "api" },
      ingress: [{ from: [{ namespace: "gw" }], ports: [8080] }],
      requestAuthentication: { jwt: [{ issuer: "https://idp.example" }], requireToken: true },
    });
    const p = await waitProfile(
      ns,
      "api",
      "baseline in status",
      (x) => (x.status?.policy?.baseline?.length ?? 0) > 0,
    );
    expect(p.status?.policy?.baseline).toEqual([{ path: "spec.ingress[1]", policies: [policy] }]);
    expect(condition(p, "Ready")?.status).toBe("True");
    const ap = await getChild(client, "AuthorizationPolicy", ns, "api");
    const rules =
      (ap?.spec as { rules?: { from?: { source?: Record<string, unknown> }[]; to?: unknown[] }[] }).rules ??
      [];
    const scrape = rules.find((r) => JSON.stringify(r.from).includes("monitoring/sa/prometheus"));
    expect(scrape, JSON.stringify(rules)).toBeDefined();
    // No end-user token on the scraper's rule; the gateway's rule still requires one.
    expect(JSON.stringify(scrape)).not.toContain("requestPrincipals");
    expect(JSON.stringify(rules.find((r) => r !== scrape))).toContain("requestPrincipals");
    // The policy's status counts what it governs.
    const status = await waitFor(
      "policy status",
      async () => {
        const pol = await getOrUndefined<PolicyObject>(client, resourcePath(POLICIES, undefined, policy));
        return pol?.status?.profileCount === 1 ? pol : undefined;
      },
      30_000,
      200,
    );
    expect(status.status?.namespaceCount).toBe(1);
    await deletePolicy(policy);
    await waitProfile(ns, "api", "baseline gone", (x) => x.status?.policy?.baseline === undefined);
  });
});

describe("adoption", () => {
  it("Audit leaves the namespace default deny out and names the pods it would cut off; Enforce creates it", async () => {
    const ns = await namespace("adopt");
    const policy = `e2e-adopt-${ns}`;
    await applyPolicy(policy, { namespaceSelector: only(ns), guardrails: { adoption: { mode: "Audit" } } });
    // A pod no profile selects (it never runs: the test bed has no nodes; the object is what counts).
    await client.request("POST", resourcePath(PODS, ns), {
      body: {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "batch-job", labels: { app: "batch" } },
        spec: { containers: [{ name: "c", image: "example.invalid/batch:1" }] },
      },
    });
    await applyProfile(client, ns, "api", { selector: { app: "api" } });
    await waitCondition(client, ns, "api");
    await waitEvent(client, ns, "AdoptionAudit", "batch-job");
    expect(await getChild(client, "NetworkPolicy", ns, "meshward-default-deny")).toBeUndefined();
    await applyPolicy(policy, { namespaceSelector: only(ns), guardrails: { adoption: { mode: "Enforce" } } });
    await present("NetworkPolicy", ns, "meshward-default-deny");
    await deletePolicy(policy);
  });
});

describe("quarantine", () => {
  it("cuts an identity off fleet-wide and restores everything when lifted", async () => {
    const ns = await namespace("quar");
    const policy = `e2e-quarantine-${ns}`;
    const root = await namespace("meshroot");
    await applyProfile(client, ns, "cart", {
      selector: { app: "cart" },
      ingress: [{ from: [{ namespace: "shop" }], ports: [8080] }],
      egress: { to: [{ cidr: "10.0.0.0/8", ports: [5432] }] },
    });
    await waitCondition(client, ns, "cart");
    const before = await getChild(client, "AuthorizationPolicy", ns, "cart");
    // A policy that governs nobody (a selector nothing has): quarantine is fleet-wide anyway.
    await applyPolicy(policy, {
      namespaceSelector: { "meshward.io/e2e": "nobody" },
      quarantine: {
        meshRootNamespace: root,
        identities: [{ profile: `${ns}/cart`, reason: "token leaked, INC-7" }],
      },
    });
    const deny = await present("AuthorizationPolicy", root, "meshward-quarantine");
    expect(deny.spec).toMatchObject({ action: "DENY" });
    expect(JSON.stringify(deny.spec)).toContain(`/ns/${ns}/sa/cart`);
    // The same DENY for every waypoint (ambient), attached to their GatewayClass.
    const waypoints = await present("AuthorizationPolicy", root, "meshward-quarantine-waypoints");
    expect(waypoints.spec).toMatchObject({
      action: "DENY",
      targetRefs: [{ group: "gateway.networking.k8s.io", kind: "GatewayClass", name: "istio-waypoint" }],
      rules: deny.spec?.rules,
    });
    const iso = await present("NetworkPolicy", ns, "meshward-quarantine-cart");
    expect(iso.spec).toMatchObject({
      policyTypes: ["Ingress", "Egress"],
      podSelector: { matchLabels: { app: "cart" } },
    });
    const q = await waitCondition(client, ns, "cart", { status: "False", reason: "Quarantined" });
    expect(q.status?.policy?.quarantinedBy).toEqual([policy]);
    // Its own policies admit nobody and reach nothing but DNS.
    const np = await getChild(client, "NetworkPolicy", ns, "cart");
    expect(JSON.stringify(np?.spec)).not.toContain("10.0.0.0/8");

    // Lifted: the quarantine objects go, the profile's policies are as before.
    await deletePolicy(policy);
    await gone("AuthorizationPolicy", root, "meshward-quarantine");
    await gone("AuthorizationPolicy", root, "meshward-quarantine-waypoints");
    await gone("NetworkPolicy", ns, "meshward-quarantine-cart");
    await waitCondition(client, ns, "cart");
    const after = await getChild(client, "AuthorizationPolicy", ns, "cart");
    expect(after?.spec).toEqual(before?.spec);
    const np2 = await getChild(client, "NetworkPolicy", ns, "cart");
    expect(JSON.stringify(np2?.spec)).toContain("10.0.0.0/8");
  });
});

describe("quarantine of a namespace", () => {
  /** Whether a DENY's rules name a principal's namespace as a source (Istio's `namespaces` match). */
  const deniesBySource = (spec: unknown, principal: string) => {
    const ns = /^[^/]+\/ns\/([^/]+)\/sa\/[^/]+$/.exec(principal)?.[1];
    const rules = (spec as { rules?: { from?: { source?: { namespaces?: string[] } }[] }[] }).rules ?? [];
    return rules.some((r) =>
      (r.from ?? []).some((f) => ns !== undefined && f.source?.namespaces?.includes(ns)),
    );
  };

  it("leaves no escape (a new account, an unprofiled pod) and restores the profile when lifted", async () => {
    const ns = await namespace("quarns");
    const policy = `e2e-quarantine-ns-${ns}`;
    const root = await namespace("meshroot");
    await applyProfile(client, ns, "cart", {
      selector: { app: "cart" },
      ingress: [{ from: [{ namespace: "shop" }], ports: [8080] }],
      egress: { to: [{ cidr: "10.0.0.0/8", ports: [5432] }] },
    });
    await waitCondition(client, ns, "cart");
    const before = {
      authz: (await getChild(client, "AuthorizationPolicy", ns, "cart"))?.spec,
      net: (await getChild(client, "NetworkPolicy", ns, "cart"))?.spec,
    };
    expect(before.authz).toBeDefined();
    expect(before.net).toBeDefined();

    await applyPolicy(policy, {
      namespaceSelector: { "meshward.io/e2e": "nobody" },
      quarantine: { meshRootNamespace: root, identities: [{ namespace: ns, reason: "compromised, INC-9" }] },
    });
    const deny = await present("AuthorizationPolicy", root, "meshward-quarantine");
    expect(deny.spec).toEqual({ action: "DENY", rules: [{ from: [{ source: { namespaces: [ns] } }] }] });
    const inside = await present("AuthorizationPolicy", ns, "meshward-quarantine");
    expect(inside.spec).toEqual({ action: "DENY", rules: [{}] });
    const iso = await present("NetworkPolicy", ns, "meshward-quarantine");
    expect(iso.spec).toMatchObject({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
    expect(iso.spec).not.toHaveProperty("ingress");
    expect(JSON.stringify(iso.spec)).toContain('"port":53');
    for (const o of [deny, inside, iso])
      expect(o.metadata?.labels).toMatchObject({ "meshward.io/scope": "quarantine" });

    // A ServiceAccount created after the quarantine: no profile, not listed by name, still denied.
    await client.apply(
      `/api/v1/namespaces/${ns}/serviceaccounts/newcomer`,
      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "newcomer", namespace: ns } },
      "e2e-platform",
      true,
    );
    const newcomer = `cluster.local/ns/${ns}/sa/newcomer`;
    const now = await getChild(client, "AuthorizationPolicy", root, "meshward-quarantine");
    expect(JSON.stringify(now?.spec)).not.toContain(newcomer);
    expect(deniesBySource(now?.spec, newcomer)).toBe(true);
    expect(deniesBySource(now?.spec, "cluster.local/ns/elsewhere/sa/newcomer")).toBe(false);

    const q = await waitCondition(client, ns, "cart", { status: "False", reason: "Quarantined" });
    expect(q.status?.policy?.quarantinedBy).toEqual([policy]);
    const np = await getChild(client, "NetworkPolicy", ns, "cart");
    expect(JSON.stringify(np?.spec)).not.toContain("10.0.0.0/8");

    // Lifted by removing the identity (the policy stays): all three go, the profile is as written.
    await applyPolicy(policy, {
      namespaceSelector: { "meshward.io/e2e": "nobody" },
      quarantine: { meshRootNamespace: root, identities: [] },
    });
    await gone("AuthorizationPolicy", root, "meshward-quarantine");
    await gone("AuthorizationPolicy", root, "meshward-quarantine-waypoints");
    await gone("AuthorizationPolicy", ns, "meshward-quarantine");
    await gone("NetworkPolicy", ns, "meshward-quarantine");
    await waitCondition(client, ns, "cart");
    const after = await waitProfile(
      ns,
      "cart",
      "not quarantined",
      (p) => !p.status?.policy?.quarantinedBy?.length,
    );
    expect(after.status?.policy?.quarantinedBy ?? []).toEqual([]);
    expect((await getChild(client, "AuthorizationPolicy", ns, "cart"))?.spec).toEqual(before.authz);
    expect((await getChild(client, "NetworkPolicy", ns, "cart"))?.spec).toEqual(before.net);
    await deletePolicy(policy);
  });
});

describe("platform defaults", () => {
  it("a policy turns access logs on for every governed profile that leaves them out", async () => {
    const ns = await namespace("audit");
    const policy = `e2e-defaults-${ns}`;
    await applyProfile(client, ns, "api", { selector: { app: "api" } });
    await applyProfile(client, ns, "quiet", {
      selector: { app: "quiet" },
      audit: { accessLogs: "Disabled" },
    });
    await waitCondition(client, ns, "api");
    expect(await getChild(client, "Telemetry", ns, "api")).toBeUndefined();
    await applyPolicy(policy, { namespaceSelector: only(ns), defaults: { accessLogs: "Enabled" } });
    await present("Telemetry", ns, "api");
    // The profile's own setting wins.
    await waitProfile(ns, "quiet", "governed", (p) => (p.status?.policy?.governedBy ?? []).includes(policy));
    expect(await getChild(client, "Telemetry", ns, "quiet")).toBeUndefined();
    await deletePolicy(policy);
    await gone("Telemetry", ns, "api");
  });
});

describe("policy status and bad input", () => {
  it("two policies that contradict: both say so in status, and the stricter combination holds", async () => {
    const ns = await namespace("contra");
    const [a, b] = [`e2e-contra-a-${ns}`, `e2e-contra-b-${ns}`];
    const stores = (name: string) => ({
      namespaceSelector: only(ns),
      guardrails: { secrets: { mode: "Enforce", stores: [{ name, keys: ["{namespace}/*"] }] } },
    });
    await applyPolicy(a, stores("vault"));
    await applyPolicy(b, stores("aws"));
    await applyProfile(client, ns, "api", {
      selector: { app: "api" },
      secrets: [
        {
          name: "db",
          storeRef: { kind: "ClusterSecretStore", name: "vault" },
          data: [{ secretKey: "password", remoteRef: { key: `${ns}/db` } }],
        },
      ],
    });
    // Nothing that one policy forbids is opened by the other.
    await waitCondition(client, ns, "api", { status: "False", reason: "SecretNotAllowed" });
    expect(await getChild(client, "ExternalSecret", ns, "db")).toBeUndefined();
    for (const [name, other] of [
      [a, b],
      [b, a],
    ] as const) {
      const p = await waitFor(
        `${name} reports the contradiction`,
        async () => {
          const x = await getOrUndefined<PolicyObject>(client, resourcePath(POLICIES, undefined, name));
          return x?.status?.conditions?.find((c) => c.type === "Contradiction")?.status === "True"
            ? x
            : undefined;
        },
        30_000,
        200,
      );
      expect(p.status?.problems?.[0]).toMatchObject({ path: "spec.guardrails.secrets.stores" });
      expect(p.status?.problems?.[0]?.message).toContain(other);
    }
    await deletePolicy(a);
    await deletePolicy(b);
  });

  it("an approval of a missing profile is reported in the policy's status, and changes nothing", async () => {
    const ns = await namespace("pstat");
    const policy = `e2e-status-${ns}`;
    await applyPolicy(policy, {
      namespaceSelector: only(ns),
      guardrails: {
        exceptions: {
          mode: "Enforce",
          approvals: [{ profile: `${ns}/nobody`, type: "AuditOnly", expires: "2099-01-01T00:00:00Z" }],
        },
      },
    });
    const p = await waitFor(
      "problems in the policy status",
      async () => {
        const x = await getOrUndefined<PolicyObject>(client, resourcePath(POLICIES, undefined, policy));
        return (x?.status?.problems?.length ?? 0) > 0 ? x : undefined;
      },
      30_000,
      200,
    );
    expect(p.status?.problems?.[0]?.message).toContain(`${ns}/nobody`);
    expect(p.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
    await deletePolicy(policy);
  });

  it("the operator wrote no Event about a namespace that no policy governs", async () => {
    const ns = await namespace("plain");
    await applyProfile(client, ns, "api", { selector: { app: "api" } });
    const p = await waitCondition(client, ns, "api");
    expect(condition(p, "Compliant")).toMatchObject({ status: "True", reason: "Compliant" });
    expect(p.status?.policy).toBeUndefined();
    const reasons = (await events(client, ns)).map((e) => e.reason);
    expect(reasons).not.toContain("AdoptionAudit");
    await present("NetworkPolicy", ns, "meshward-default-deny");
  });
});
