// The platform tier's ClusterNetworkPolicies: a golden file, and the rules that must hold whatever
// the YAML looks like. e2e/cluster-tier.e2e.test.ts checks the same builders against the CRD.
// Refresh with UPDATE_GOLDEN=1 npx vitest run --project unit operator/policy/cluster-tier.test.ts, then review.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { DEFAULT_PLATFORM } from "../builders/context.ts";
import {
  buildBaselineDefaultDeny,
  buildClusterTier,
  buildEgressDenials,
  buildQuarantineTier,
  clusterName,
  type ClusterNetworkPolicy,
  PRIORITY,
} from "./cluster-tier.ts";
import { clusterTierPolicies, clusterTierProfiles } from "../../test-support/fixtures/cluster-tier.ts";
import { policy, profile } from "../../test-support/fixtures/policy.ts";

function golden(name: string, actual: string) {
  const file = path.join(import.meta.dirname, "testdata", name);
  if (process.env.UPDATE_GOLDEN) fs.writeFileSync(file, actual);
  expect(fs.existsSync(file), `${name} missing: run with UPDATE_GOLDEN=1`).toBe(true);
  expect(actual).toBe(fs.readFileSync(file, "utf8"));
}

const yaml = (objects: object[]) => objects.map((o) => stringify(o, { lineWidth: 0 })).join("---\n");
const ctx = { trustDomain: "cluster.local", dns: DEFAULT_PLATFORM.dns };
const spec = (o: ClusterNetworkPolicy) => o.spec;
const names = (os: { metadata: { name: string } }[]) => os.map((o) => o.metadata.name);

const deny = (
  name: string,
  denied: string[],
  namespaceSelector?: Record<string, string>,
  mode: "Enforce" | "Audit" = "Enforce",
) =>
  policy(name, {
    ...(namespaceSelector && { namespaceSelector }),
    guardrails: { egressCidrs: { mode, denied } },
  });

describe("cluster tier builders", () => {
  it("builds the quarantine, egress denials and baseline of a fleet (golden)", () => {
    golden(
      "cluster-tier.golden.yaml",
      yaml(buildClusterTier(clusterTierPolicies(), clusterTierProfiles(), ctx, ["pay", "shop"])),
    );
  });

  const notSystem = (root = "istio-system") => ({
    matchExpressions: [
      {
        key: "kubernetes.io/metadata.name",
        operator: "NotIn",
        values: [root, "kube-node-lease", "kube-public", "kube-system"].sort(),
      },
    ],
  });
  it.each([
    ["selects by labels", { team: "shop" }, { matchLabels: { team: "shop" }, ...notSystem() }],
    ["selects every namespace without a selector", undefined, notSystem()],
    ["selects every namespace with an empty selector", {}, notSystem()],
  ])("an egress denial %s, except Kubernetes' own and the mesh root", (_, selector, namespaces) => {
    const [o, ...rest] = buildEgressDenials([deny("p", ["10.0.0.0/8"], selector)]);
    expect(rest).toEqual([]);
    expect(o?.metadata.name).toBe("meshward-egress-p");
    expect(spec(o!)).toMatchObject({ tier: "Admin", priority: PRIORITY.egress });
    expect(spec(o!).subject).toEqual({ namespaces });
    expect(spec(o!).egress).toEqual([
      { name: "denied-ranges", action: "Deny", to: [{ networks: ["10.0.0.0/8"] }] },
    ]);
  });

  it("an egress denial leaves out the policy's own mesh root", () => {
    const p = policy("p", {
      guardrails: { egressCidrs: { mode: "Enforce", denied: ["10.0.0.0/8"] } },
      quarantine: { meshRootNamespace: "mesh-root", identities: [] },
    });
    const [o] = buildEgressDenials([p]);
    expect(spec(o!).subject).toEqual({ namespaces: notSystem("mesh-root") });
  });

  it("builds nothing for a policy without denied ranges, or in Audit mode", () => {
    const none = [
      policy("a", {}),
      policy("b", { guardrails: { egressCidrs: { mode: "Enforce", allowed: ["10.0.0.0/8"] } } }),
      deny("c", []),
      deny("d", ["10.0.0.0/8"], undefined, "Audit"),
    ];
    expect(buildEgressDenials(none)).toEqual([]);
  });

  it("splits more than 25 ranges over several peers (the CRD's limit), sorted and deduplicated", () => {
    const cidrs = Array.from({ length: 31 }, (_, i) => `10.${31 - i}.0.0/16`);
    const [o] = buildEgressDenials([deny("many", [...cidrs, "10.31.0.0/16"])]);
    const to = spec(o!).egress?.[0]?.to as { networks: string[] }[];
    expect(to.map((p) => p.networks.length)).toEqual([25, 6]);
    expect(to.flatMap((p) => p.networks)).toEqual([...cidrs].sort());
  });

  it("orders egress denials by policy name", () => {
    expect(names(buildEgressDenials([deny("zeta", ["10.0.0.0/8"]), deny("alpha", ["fd00::/8"])]))).toEqual([
      "meshward-egress-alpha",
      "meshward-egress-zeta",
    ]);
  });

  it("keeps a long name within 253 characters, stable and distinct", () => {
    const long = `p${"a".repeat(251)}`;
    const a = clusterName(`meshward-egress-${long}`);
    const b = clusterName(`meshward-egress-${long.slice(0, -1)}b`);
    expect(a.length).toBeLessThanOrEqual(253);
    expect(a).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
    expect(a).toBe(clusterName(`meshward-egress-${long}`));
    expect(a).not.toBe(b);
    expect(clusterName("meshward-egress-short")).toBe("meshward-egress-short");
  });

  it("quarantine accepts DNS before it denies, and ranks above egress denials", () => {
    const objs = buildQuarantineTier(clusterTierPolicies(), clusterTierProfiles(), ctx);
    expect(objs.length).toBeGreaterThan(1);
    for (const o of objs) {
      const s = spec(o);
      expect(s.tier).toBe("Admin");
      expect(s.priority).toBeLessThan(PRIORITY.egress);
      expect(s.egress?.map((r) => r.action)).toEqual(["Accept", "Deny"]);
      expect(s.egress?.[0]?.to).toEqual([
        {
          pods: {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
            podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
          },
        },
      ]);
      expect(s.ingress).toEqual([{ name: "quarantine-ingress", action: "Deny", from: [{ namespaces: {} }] }]);
    }
  });

  it.each([
    ["a profile: its pods in its namespace", { profile: "shop/cart" }, ["meshward-quarantine.shop.cart"]],
    [
      "a ServiceAccount: the profiles running as it",
      { serviceAccount: { namespace: "shop", name: "runner" } },
      ["meshward-quarantine.shop.worker"],
    ],
    ["a namespace: the namespace as a whole", { namespace: "ci" }, ["meshward-quarantine"]],
  ])("quarantine of %s", (_, identity, expected) => {
    const out = buildQuarantineTier(
      [policy("p", { quarantine: { identities: [identity] } })],
      clusterTierProfiles(),
      ctx,
    );
    expect(names(out)).toEqual(expected);
  });

  it("selects a quarantined profile's pods by its namespace and selector", () => {
    const [o] = buildQuarantineTier(
      [policy("p", { quarantine: { identities: [{ profile: "shop/cart" }] } })],
      [profile("shop/cart", { selector: { app: "cart", tier: "web" } })],
      ctx,
    );
    expect(spec(o!).subject).toEqual({
      pods: {
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "shop" } },
        podSelector: { matchLabels: { app: "cart", tier: "web" } },
      },
    });
  });

  it("builds no quarantine without quarantined identities", () => {
    expect(buildQuarantineTier([deny("p", ["10.0.0.0/8"])], clusterTierProfiles(), ctx)).toEqual([]);
  });

  it("baseline default deny: one Baseline policy for the namespaces given, none without", () => {
    expect(buildBaselineDefaultDeny([])).toEqual([]);
    const [o, ...rest] = buildBaselineDefaultDeny(["shop", "pay", "shop"]);
    expect(rest).toEqual([]);
    expect(spec(o!)).toMatchObject({
      tier: "Baseline",
      subject: {
        namespaces: {
          matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["pay", "shop"] }],
        },
      },
    });
    expect(spec(o!).egress?.map((r) => r.action)).toEqual(["Deny"]);
    expect(spec(o!).ingress?.map((r) => r.action)).toEqual(["Deny"]);
  });

  it("labels every object as meshward's, with a scope", () => {
    for (const o of buildClusterTier(clusterTierPolicies(), clusterTierProfiles(), ctx, ["shop"])) {
      expect(o.apiVersion).toBe("policy.networking.k8s.io/v1beta1");
      expect(o.kind).toBe("ClusterNetworkPolicy");
      expect(o.metadata).not.toHaveProperty("namespace");
      expect(o.metadata.labels?.["app.kubernetes.io/managed-by"]).toBe("meshward");
      expect(o.metadata.labels?.["meshward.io/scope"]).toMatch(/^(quarantine|egress-guardrail|namespace)$/);
    }
  });
});
