// The platform tier's ClusterNetworkPolicies (operator/policy/cluster-tier.ts) against the real
// CRD of sigs.k8s.io/network-policy-api, installed for this file only: every object the builders
// produce is accepted by a server-side dry run with strict field validation, and objects that
// break the schema are refused, so acceptance means something. Then the operator keeps the tier
// (operator/reconcile/cluster-tier.ts): created, corrected, lifted, a foreign object of the same
// name left alone, and every policy's status saying which tier holds, also once the CRD is gone or
// replaced by one of another version. The test bed has no network plugin: what the objects hold is
// asserted, not the packets they would stop.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  applyManifests,
  installUpstreamCrds,
  uninstallUpstreamCrds,
  upstreamCrds,
  waitForCrds,
} from "./controlplane/upstream.ts";
import type { KubernetesObject } from "@kubernetes/client-node";
import {
  applyNamespace,
  createNamespace,
  deleteNamespace,
  getOrUndefined,
  kube,
  kubeconfigPath,
  waitFor,
} from "./support/kube.ts";
import { type OperatorProcess, startOperator } from "./support/operator.ts";
import { applyProfile, getChild, waitCondition } from "./support/profiles.ts";
import { API_VERSION } from "../operator/api/schema.ts";
import { NAMESPACE_DEFAULT_DENY } from "../operator/builders/meta.ts";
import { POLICIES } from "../operator/reconcile/kinds.ts";
import { DEFAULT_PLATFORM } from "../operator/builders/context.ts";
import { ApiError, type KubeClient, type Resource, resourcePath } from "../operator/runtime/client.ts";
import {
  buildClusterTier,
  buildEgressDenials,
  type ClusterNetworkPolicy,
} from "../operator/policy/cluster-tier.ts";
import { clusterTierPolicies, clusterTierProfiles } from "../test-support/fixtures/cluster-tier.ts";
import { policy } from "../test-support/fixtures/policy.ts";

const CNP: Resource = {
  group: "policy.networking.k8s.io",
  version: "v1beta1",
  plural: "clusternetworkpolicies",
  kind: "ClusterNetworkPolicy",
  namespaced: false,
};
const MANAGER = "meshward-e2e";
const ctx = { trustDomain: "cluster.local", dns: DEFAULT_PLATFORM.dns };

let client: KubeClient;

const STRICT_DRY_RUN = { fieldValidation: "Strict", dryRun: "All" };

/** Server-side apply, as the operator will write them. */
function dryRun(o: ClusterNetworkPolicy): Promise<ClusterNetworkPolicy> {
  return client.apply<ClusterNetworkPolicy>(
    resourcePath(CNP, undefined, o.metadata.name),
    o,
    MANAGER,
    true,
    STRICT_DRY_RUN,
  );
}

/** A create: strict field validation answers 400 on an unknown field (apply answers 500, see below). */
function dryRunCreate(o: unknown): Promise<ClusterNetworkPolicy> {
  return client.request<ClusterNetworkPolicy>("POST", resourcePath(CNP), {
    body: o,
    query: STRICT_DRY_RUN,
    verb: "create",
  });
}

async function refusal(o: unknown): Promise<ApiError> {
  const name = (o as ClusterNetworkPolicy).metadata.name;
  const err = await client.apply(resourcePath(CNP, undefined, name), o, MANAGER, true, STRICT_DRY_RUN).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, name).toBeInstanceOf(ApiError);
  return err as ApiError;
}

beforeAll(async () => {
  client = kube();
  await installUpstreamCrds(kubeconfigPath(), { networkPolicyApi: true });
  // Established, then served: the first request may still find no handler.
  await waitFor("ClusterNetworkPolicies to be served", () =>
    client.get(resourcePath(CNP)).then(
      () => true,
      () => false,
    ),
  );
});

// Remove the CRD again: the test bed's default set is Istio and ESO, and a later operator slice will
// act on its presence, so no other file should find it.
afterAll(async () => {
  await uninstallUpstreamCrds(kubeconfigPath(), { networkPolicyApi: true });
});

describe("ClusterNetworkPolicy builders against the CRD", () => {
  const fleet = buildClusterTier(clusterTierPolicies(), clusterTierProfiles(), ctx, ["pay", "shop"]);

  it("builds every kind of object for the representative fleet", () => {
    expect(fleet.map((o) => `${o.spec.tier}/${o.metadata.labels["meshward.io/scope"]}`)).toEqual([
      "Admin/quarantine",
      "Admin/quarantine",
      "Admin/quarantine",
      "Admin/egress-guardrail",
      "Admin/egress-guardrail",
      "Baseline/namespace",
    ]);
  });

  it.each(fleet.map((o) => [o.metadata.name, o] as const))("accepts %s as built", async (_, o) => {
    for (const got of [await dryRun(o), await dryRunCreate(o)]) {
      // Nothing pruned or defaulted away: what was sent is what would be stored.
      expect(got.spec).toEqual(o.spec);
      expect(got.metadata.labels).toEqual(o.metadata.labels);
    }
  });

  it("accepts the split of 32 denied ranges and a name shortened to 253 characters", async () => {
    const name = `x${"y".repeat(240)}`;
    const ranges = Array.from({ length: 32 }, (_, i) =>
      i < 16 ? `10.${i}.0.0/16` : `fd00:${i.toString(16)}::/32`,
    );
    const [o] = buildEgressDenials([
      policy(name, { guardrails: { egressCidrs: { mode: "Enforce", denied: ranges } } }),
    ]);
    expect(o?.metadata.name.length).toBeLessThanOrEqual(253);
    expect(o?.spec.egress?.[0]?.to).toHaveLength(2);
    const got = await dryRun(o!);
    expect(got.metadata.name).toBe(o?.metadata.name);
  });
});

describe("the CRD refuses what breaks its schema", () => {
  const [egress] = buildEgressDenials(clusterTierPolicies());
  // The built object with loose types, so that a test can put what the types forbid.
  type Loose = {
    spec: Record<string, unknown> & {
      subject: Record<string, unknown>;
      egress: [Record<string, unknown> & { to: [Record<string, unknown>] }];
    };
  };
  const broken = (change: (o: Loose) => void): unknown => {
    const o = structuredClone(egress) as unknown as Loose;
    change(o);
    return o;
  };

  it("has an object to break", () => {
    expect(egress?.kind).toBe("ClusterNetworkPolicy");
  });

  it.each([
    ["a tier that does not exist", (o: Loose) => (o.spec.tier = "Platform"), "tier"],
    ["a priority above 1000", (o: Loose) => (o.spec.priority = 1001), "priority"],
    [
      "a range with host bits set",
      (o: Loose) => (o.spec.egress[0].to[0].networks = ["10.0.0.1/8"]),
      "networks",
    ],
    [
      "26 ranges in one peer",
      (o: Loose) =>
        (o.spec.egress[0].to[0].networks = Array.from({ length: 26 }, (_, i) => `10.${i}.0.0/16`)),
      "networks",
    ],
    ["a subject with two selectors", (o: Loose) => (o.spec.subject.pods = { podSelector: {} }), "subject"],
  ])("refuses %s", async (_, change, field) => {
    const err = await refusal(broken(change));
    expect(err.status).toBeGreaterThanOrEqual(400);
    expect(err.status).toBeLessThan(500);
    expect(err.message).toContain(field);
  });

  it("refuses an unknown field: strict validation on create, the typed patch on apply", async () => {
    const o = broken((x) => (x.spec.egress[0].cidrs = ["10.0.0.0/8"]));
    const created = await dryRunCreate(o).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(created).toBeInstanceOf(ApiError);
    expect((created as ApiError).status).toBe(400);
    expect((created as ApiError).message).toContain('unknown field "spec.egress[0].cidrs"');
    // Server-side apply refuses any field outside the schema, whatever fieldValidation says,
    // and the API server reports it as an internal error.
    const applied = await refusal(o);
    expect(applied.message).toContain(".spec.egress[0].cidrs: field not declared in schema");
  });
});

describe("the operator keeps the platform tier", () => {
  const CRD_NAME = "clusternetworkpolicies.policy.networking.k8s.io";
  let operator: OperatorProcess | undefined;
  let ns = "";
  let policyName = "";
  const label = "meshward.io/e2e-cluster-tier";
  type Tier = { tier: string; reason: string; message: string };
  type Cnp = ClusterNetworkPolicy & { metadata: { uid: string } };

  const cnp = (name: string) => getOrUndefined<Cnp>(client, resourcePath(CNP, undefined, name));
  const networkTier = async () =>
    (
      await getOrUndefined<{ status?: { networkTier?: Tier } }>(
        client,
        resourcePath(POLICIES, undefined, policyName),
      )
    )?.status?.networkTier;
  const putPolicy = (spec: Record<string, unknown>) =>
    client.apply(
      resourcePath(POLICIES, undefined, policyName),
      { apiVersion: API_VERSION, kind: "MeshwardPolicy", metadata: { name: policyName }, spec },
      MANAGER,
      true,
      { fieldValidation: "Strict" },
    );
  const guard = (egress: "Enforce" | "Audit", quarantine: string[]) => ({
    namespaceSelector: { [label]: ns },
    guardrails: { egressCidrs: { mode: egress, denied: ["169.254.0.0/16", "fd00:ec2::254/128"] } },
    quarantine: { identities: quarantine.map((p) => ({ profile: p })) },
  });

  beforeAll(async () => {
    ns = await createNamespace(client, "cluster-tier");
    policyName = `e2e-${ns}`;
    await applyNamespace(client, ns, MANAGER, { [label]: ns });
    await applyNamespace(client, "istio-system", MANAGER);
    operator = await startOperator({ name: "cluster-tier" });
    await applyProfile(client, ns, "cart", { selector: { app: "cart" } });
    await applyProfile(client, ns, "web", { selector: { app: "web" } });
    await putPolicy(guard("Enforce", [`${ns}/cart`]));
    await waitCondition(client, ns, "web");
  });

  afterAll(async () => {
    await operator?.stop();
    await client.delete(resourcePath(POLICIES, undefined, policyName)).catch(() => undefined);
    if (ns) await deleteNamespace(client, ns);
  });

  it("creates the Admin-tier quarantine and egress denial and the Baseline default deny", async () => {
    const egress = await waitFor("the egress denial", () => cnp(`meshward-egress-${policyName}`));
    expect(egress.spec).toEqual({
      tier: "Admin",
      priority: 100,
      // Kubernetes' own namespaces and the mesh root are never covered.
      subject: {
        namespaces: {
          matchLabels: { [label]: ns },
          matchExpressions: [
            {
              key: "kubernetes.io/metadata.name",
              operator: "NotIn",
              values: ["istio-system", "kube-node-lease", "kube-public", "kube-system"],
            },
          ],
        },
      },
      egress: [
        {
          name: "denied-ranges",
          action: "Deny",
          to: [{ networks: ["169.254.0.0/16", "fd00:ec2::254/128"] }],
        },
      ],
    });
    const quarantine = await waitFor("the quarantine", () => cnp(`meshward-quarantine.${ns}.cart`));
    expect(quarantine.spec.tier).toBe("Admin");
    expect(quarantine.spec.priority).toBeLessThan(egress.spec.priority);
    expect(quarantine.spec.subject).toEqual({
      pods: {
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } },
        podSelector: { matchLabels: { app: "cart" } },
      },
    });
    expect(quarantine.spec.egress?.map((r) => r.action)).toEqual(["Accept", "Deny"]);
    const baseline = await waitFor("the baseline with this namespace", async () => {
      const b = await cnp("meshward-default-deny");
      return b && JSON.stringify(b.spec.subject).includes(`"${ns}"`) ? b : undefined;
    });
    expect(baseline.spec.tier).toBe("Baseline");
    // The namespaced objects stay: the tier adds to them.
    expect(await getChild(client, "NetworkPolicy", ns, NAMESPACE_DEFAULT_DENY)).toBeDefined();
    expect(await getChild(client, "NetworkPolicy", ns, "meshward-quarantine-cart")).toBeDefined();
    const tier = await waitFor("the policy's tier", async () => {
      const t = await networkTier();
      return t?.tier === "ClusterNetworkPolicy" ? t : undefined;
    });
    expect(tier.reason).toBe("ClusterNetworkPolicyServed");
    expect(tier.message).toContain("network plugin implements ClusterNetworkPolicy");
  });

  it("puts a changed tier object back and recreates a deleted one", async () => {
    const name = `meshward-egress-${policyName}`;
    const before = await waitFor("the egress denial", () => cnp(name));
    await client.request("PATCH", resourcePath(CNP, undefined, name), {
      body: [{ op: "replace", path: "/spec/priority", value: 999 }],
      contentType: "application/json-patch+json",
    });
    await waitFor("the priority put back", async () =>
      (await cnp(name))?.spec.priority === 100 ? true : undefined,
    );
    await client.delete(resourcePath(CNP, undefined, name));
    const again = await waitFor("the denial recreated", async () => {
      const o = await cnp(name);
      return o && o.metadata.uid !== before.metadata.uid ? o : undefined;
    });
    expect(again.spec.priority).toBe(100);
  });

  it("deletes what no policy asks for: a lifted quarantine, egress back in Audit", async () => {
    await putPolicy(guard("Audit", []));
    await waitFor("the quarantine and the denial gone", async () =>
      !(await cnp(`meshward-quarantine.${ns}.cart`)) && !(await cnp(`meshward-egress-${policyName}`))
        ? true
        : undefined,
    );
    expect(await cnp("meshward-default-deny")).toBeDefined();
  });

  it("leaves a ClusterNetworkPolicy of the same name made by someone else alone", async () => {
    const name = `meshward-egress-${policyName}`;
    const theirs = {
      apiVersion: "policy.networking.k8s.io/v1beta1",
      kind: "ClusterNetworkPolicy",
      metadata: { name, labels: { team: "network" } },
      spec: {
        tier: "Admin",
        priority: 7,
        subject: { namespaces: {} },
        egress: [{ name: "theirs", action: "Deny", to: [{ networks: ["192.0.2.0/24"] }] }],
      },
    };
    await client.apply(resourcePath(CNP, undefined, name), theirs, "network-team", true);
    await putPolicy(guard("Enforce", []));
    // The operator tried the name, found it taken by someone else, and said so.
    await waitFor("the operator to report the foreign object", async () =>
      operator?.log().includes("a ClusterNetworkPolicy with this name exists and is not ours")
        ? true
        : undefined,
    );
    const got = await cnp(name);
    expect(got?.metadata.labels).toEqual({ team: "network" });
    expect(got?.spec.priority).toBe(7);
    await client.delete(resourcePath(CNP, undefined, name));
  });

  it("without the CRD, or with one of another version, says so and keeps NetworkPolicies", async () => {
    await uninstallUpstreamCrds(kubeconfigPath(), { networkPolicyApi: true });
    const gone = await waitFor("the tier without the CRD", async () => {
      const t = await networkTier();
      return t?.reason === "CRDNotInstalled" ? t : undefined;
    });
    expect(gone.tier).toBe("NetworkPolicy");
    // A CRD of the same name serving another version only (as an older release of the API would).
    const real = upstreamCrds("networkPolicyApi").find((c) => c.metadata?.name === CRD_NAME);
    expect(real).toBeDefined();
    const other = structuredClone(real!);
    const served = other.spec.versions.find((v) => v.name === "v1beta1");
    expect(served).toBeDefined();
    other.spec.versions = [{ ...served!, name: "v1alpha9", served: true, storage: true }];
    delete other.status;
    await applyManifests(kubeconfigPath(), [other as KubernetesObject]);
    await waitForCrds(kubeconfigPath(), [CRD_NAME], "established", 60_000);
    const unsupported = await waitFor("the tier with another version", async () => {
      const t = await networkTier();
      return t?.reason === "UnsupportedVersion" ? t : undefined;
    });
    expect(unsupported.tier).toBe("NetworkPolicy");
    expect(unsupported.message).toContain("serves v1alpha9, not v1beta1");
    // Nothing crashed and nothing opened: the profiles stay Ready, the namespaced deny stays.
    await applyProfile(client, ns, "web", {
      selector: { app: "web" },
      ingress: [{ from: [{ service: "cart" }], ports: [80] }],
    });
    await waitCondition(client, ns, "web");
    expect(await getChild(client, "NetworkPolicy", ns, NAMESPACE_DEFAULT_DENY)).toBeDefined();
    expect(operator?.proc.exitCode).toBeNull();
    await uninstallUpstreamCrds(kubeconfigPath(), { networkPolicyApi: true });
  });
});
