// The platform tier's ClusterNetworkPolicies (operator/policy/cluster-tier.ts) against the real
// CRD of sigs.k8s.io/network-policy-api, installed for this file only: every object the builders
// produce is accepted by a server-side dry run with strict field validation, and objects that
// break the schema are refused, so acceptance means something. No operator is involved.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installUpstreamCrds, uninstallUpstreamCrds } from "./controlplane/upstream.ts";
import { kube, kubeconfigPath, waitFor } from "./support/kube.ts";
import { DEFAULT_PLATFORM } from "../operator/builders/context.ts";
import { ApiError, type KubeClient, type Resource, resourcePath } from "../operator/runtime/client.ts";
import {
  buildClusterTier,
  buildEgressDenials,
  type ClusterNetworkPolicy,
} from "../operator/policy/cluster-tier.ts";
import { clusterTierPolicies, clusterTierProfiles } from "../operator/policy/cluster-tier.fixtures.ts";
import { policy } from "../operator/policy/fixtures.ts";

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
