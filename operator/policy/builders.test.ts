// Golden files for the pure builders of quarantine and admission objects.
// Refresh with UPDATE_GOLDEN=1 npx vitest run --project unit operator/policy/builders.test.ts, then review.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { DEFAULT_PLATFORM } from "../builders/context.ts";
import { admissionManifest } from "../cli/admission.ts";
import { buildAdmissionForPolicies } from "./admission.ts";
import { policy, profile } from "../../test-support/fixtures/policy.ts";
import { buildQuarantine } from "./quarantine.ts";

function golden(name: string, actual: string) {
  const file = path.join(import.meta.dirname, "testdata", name);
  if (process.env.UPDATE_GOLDEN) fs.writeFileSync(file, actual);
  expect(fs.existsSync(file), `${name} missing: run with UPDATE_GOLDEN=1`).toBe(true);
  expect(actual).toBe(fs.readFileSync(file, "utf8"));
}

const yaml = (objects: object[]) => objects.map((o) => stringify(o, { lineWidth: 0 })).join("---\n");
const ctx = { trustDomain: "cluster.local", dns: DEFAULT_PLATFORM.dns };
const cart = profile("shop/cart", { selector: { app: "cart" } });
const worker = profile("shop/worker", { selector: { app: "worker" }, serviceAccount: { name: "runner" } });
const other = profile("pay/api", { selector: { app: "api" } });

describe("quarantine builders", () => {
  it("builds one DENY policy per root namespace and isolates quarantined profiles (golden)", () => {
    const a = policy("emergency", {
      quarantine: {
        identities: [
          { profile: "shop/cart", reason: "leaked token, INC-7" },
          { serviceAccount: { namespace: "shop", name: "runner" } },
        ],
      },
    });
    const b = policy("ci", {
      namespaceSelector: { team: "x" },
      quarantine: {
        identities: [{ serviceAccount: { namespace: "ci", name: "builder" } }, { profile: "shop/cart" }],
      },
    });
    golden("quarantine.golden.yaml", yaml(buildQuarantine([a, b], [cart, worker, other], ctx)));
  });

  it("quarantines a namespace as a whole: root DENY by source, in-namespace DENY and isolation (golden)", () => {
    const a = policy("emergency", {
      quarantine: {
        identities: [{ namespace: "shop", reason: "compromised, INC-9" }, { profile: "pay/api" }],
      },
    });
    const b = policy("ci", { quarantine: { identities: [{ namespace: "ci" }, { namespace: "shop" }] } });
    golden("quarantine-namespace.golden.yaml", yaml(buildQuarantine([a, b], [cart, worker, other], ctx)));
  });

  const ref = (o: { kind: string; metadata: { namespace?: string; name: string } }) =>
    `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`;
  it.each([
    [
      "a profile",
      { profile: "shop/cart" },
      [
        "AuthorizationPolicy/istio-system/meshward-quarantine",
        "AuthorizationPolicy/istio-system/meshward-quarantine-waypoints",
        "NetworkPolicy/shop/meshward-quarantine-cart",
      ],
    ],
    [
      "a ServiceAccount (only the profiles running as it are isolated)",
      { serviceAccount: { namespace: "shop", name: "runner" } },
      [
        "AuthorizationPolicy/istio-system/meshward-quarantine",
        "AuthorizationPolicy/istio-system/meshward-quarantine-waypoints",
        "NetworkPolicy/shop/meshward-quarantine-worker",
      ],
    ],
    [
      "a namespace (every pod, no profile by profile)",
      { namespace: "shop" },
      [
        "AuthorizationPolicy/istio-system/meshward-quarantine",
        "AuthorizationPolicy/istio-system/meshward-quarantine-waypoints",
        "AuthorizationPolicy/shop/meshward-quarantine",
        "NetworkPolicy/shop/meshward-quarantine",
      ],
    ],
    [
      "a namespace with no profile",
      { namespace: "empty" },
      [
        "AuthorizationPolicy/istio-system/meshward-quarantine",
        "AuthorizationPolicy/istio-system/meshward-quarantine-waypoints",
        "AuthorizationPolicy/empty/meshward-quarantine",
        "NetworkPolicy/empty/meshward-quarantine",
      ],
    ],
  ])("objects for %s", (_, identity, expected) => {
    const out = buildQuarantine(
      [policy("p", { quarantine: { identities: [identity] } })],
      [cart, worker, other],
      ctx,
    );
    expect(out.map(ref)).toEqual(expected);
  });

  it("denies a namespace's every principal at the root, and everything inside it", () => {
    const out = buildQuarantine(
      [policy("p", { quarantine: { identities: [{ namespace: "shop" }, { profile: "pay/api" }] } })],
      [cart, other],
      ctx,
    );
    const [root, waypoints, inside, isolation] = out;
    const rules = [
      { from: [{ source: { principals: ["cluster.local/ns/pay/sa/api"] } }] },
      { from: [{ source: { namespaces: ["shop"] } }] },
    ];
    expect(root?.spec).toEqual({ action: "DENY", rules });
    // Waypoints enforce only what is attached to them: the same DENY, on every istio-waypoint.
    expect(waypoints?.metadata).toMatchObject({
      name: "meshward-quarantine-waypoints",
      namespace: "istio-system",
    });
    expect(waypoints?.spec).toEqual({
      targetRefs: [{ group: "gateway.networking.k8s.io", kind: "GatewayClass", name: "istio-waypoint" }],
      action: "DENY",
      rules,
    });
    // No selector: every workload of the namespace, whatever account or profile it runs as.
    expect(inside?.spec).toEqual({ action: "DENY", rules: [{}] });
    expect(isolation?.spec).toMatchObject({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
    expect(isolation?.spec).not.toHaveProperty("ingress");
    // The same DNS-only egress as a quarantined profile's isolation.
    const api = out.find((o) => o.metadata.name === "meshward-quarantine-api");
    expect((isolation?.spec as { egress: unknown }).egress).toEqual(
      (api?.spec as { egress: unknown }).egress,
    );
    for (const o of out) expect(o.metadata.labels).toMatchObject({ "meshward.io/scope": "quarantine" });
  });

  it("builds nothing when no identity is quarantined (lifting deletes what was built)", () => {
    expect(
      buildQuarantine([policy("p", { quarantine: { identities: [] } }), policy("q", {})], [cart], ctx),
    ).toEqual([]);
  });

  it("denies the default principal of a profile that does not exist yet, without isolating anything", () => {
    const out = buildQuarantine(
      [policy("p", { quarantine: { identities: [{ profile: "shop/ghost" }] } })],
      [cart],
      ctx,
    );
    expect(out.map((o) => o.kind)).toEqual(["AuthorizationPolicy", "AuthorizationPolicy"]);
    expect(JSON.stringify(out[0]?.spec)).toContain("cluster.local/ns/shop/sa/ghost");
    expect(JSON.stringify(out[1]?.spec)).toContain("cluster.local/ns/shop/sa/ghost");
  });
});

describe("admission builders", () => {
  it("prints the ValidatingAdmissionPolicies and bindings (golden)", () => {
    golden("admission.golden.yaml", admissionManifest({ mode: "Deny" }));
  });

  it("binds per MeshwardPolicy with admission, limited to its namespaces", () => {
    const out = buildAdmissionForPolicies([
      policy("b", { namespaceSelector: { team: "pay" }, admission: { mode: "Warn" } }),
      policy("a", { admission: { mode: "Deny" } }),
      policy("c", {}),
    ]);
    expect(out.map((o) => `${o.kind} ${o.metadata.name}`)).toEqual([
      "ValidatingAdmissionPolicyBinding meshward-profile-serviceaccount-a",
      "ValidatingAdmissionPolicyBinding meshward-workload-baseline-a",
      "ValidatingAdmissionPolicyBinding meshward-profile-serviceaccount-b",
      "ValidatingAdmissionPolicyBinding meshward-workload-baseline-b",
    ]);
    expect(out[2]?.spec).toMatchObject({
      validationActions: ["Warn"],
      matchResources: { namespaceSelector: { matchLabels: { team: "pay" } } },
    });
    expect(out[0]?.spec.matchResources).toBeUndefined();
    expect(buildAdmissionForPolicies([policy("c", {})])).toEqual([]);
  });
});
