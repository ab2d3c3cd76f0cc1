import { describe, expect, it } from "vitest";
import {
  buildPerimeter,
  FENCE_POLICY,
  LABEL_POLICY,
  perimeterPolicyName,
  PLACEMENT_POLICY,
  systemNamespaces,
} from "./admission.ts";

const opts = { operator: { namespace: "mw", name: "meshward" }, meshRootNamespace: "istio-system" };

type Obj = { kind: string; metadata: { name: string }; spec: Record<string, unknown> };
const objects = buildPerimeter(opts) as Obj[];
const byName = (kind: string, name: string) =>
  objects.find((o) => o.kind === kind && o.metadata.name === name);
const json = (o: unknown) => JSON.stringify(o);

describe("buildPerimeter", () => {
  it("binds every policy once, each perimeter policy with its own mode", () => {
    const policies = objects
      .filter((o) => o.kind === "ValidatingAdmissionPolicy")
      .map((o) => o.metadata.name);
    const bound = objects
      .filter((o) => o.kind === "ValidatingAdmissionPolicyBinding")
      .map((o) => o.spec.policyName);
    expect(policies).toEqual([
      "meshward-perimeter-deny",
      "meshward-perimeter-warn",
      "meshward-perimeter-audit",
      LABEL_POLICY,
      PLACEMENT_POLICY,
      FENCE_POLICY,
    ]);
    expect(bound).toEqual(policies);
    for (const mode of ["Deny", "Warn", "Audit"] as const) {
      const b = byName("ValidatingAdmissionPolicyBinding", perimeterPolicyName(mode));
      expect(b?.spec.validationActions).toEqual([mode]);
      expect(json(byName("ValidatingAdmissionPolicy", perimeterPolicyName(mode)))).toContain(
        `params.spec.perimeter.mode == '${mode}'`,
      );
    }
  });

  it("the lock, placement and fence bindings take the given mode", () => {
    const audit = buildPerimeter({ ...opts, mode: "Audit" }) as Obj[];
    for (const name of [LABEL_POLICY, PLACEMENT_POLICY, FENCE_POLICY])
      expect(
        audit.find((o) => o.kind === "ValidatingAdmissionPolicyBinding" && o.metadata.name === name)?.spec
          .validationActions,
      ).toEqual(["Audit"]);
  });

  it("leaves the system namespaces, the operator's and the mesh root out of the perimeter", () => {
    expect(systemNamespaces(opts)).toEqual([
      "istio-system",
      "kube-node-lease",
      "kube-public",
      "kube-system",
      "mw",
    ]);
    const b = byName("ValidatingAdmissionPolicyBinding", perimeterPolicyName("Deny"));
    expect(json(b?.spec.matchResources)).toContain(
      '"operator":"NotIn","values":["istio-system","kube-node-lease","kube-public","kube-system","mw"]',
    );
  });

  it("trusts meshward and Kubernetes' controllers in the perimeter, and fences meshward alone", () => {
    const perimeter = json(byName("ValidatingAdmissionPolicy", perimeterPolicyName("Deny")));
    expect(perimeter).toContain("system:serviceaccount:mw:meshward");
    expect(perimeter).toContain("system:serviceaccount:kube-system:");
    const fence = byName("ValidatingAdmissionPolicy", FENCE_POLICY);
    expect(fence?.spec.matchConditions).toEqual([
      { name: "meshward", expression: "request.userInfo.username == 'system:serviceaccount:mw:meshward'" },
    ]);
    expect(json(fence)).toContain("meshward-quarantine");
  });

  it("locks every kind a tenant could use to get around a profile", () => {
    const rules = byName("ValidatingAdmissionPolicy", perimeterPolicyName("Deny"))?.spec.matchConstraints as {
      resourceRules: { resources: string[]; operations: string[] }[];
    };
    expect(rules.resourceRules.flatMap((r) => r.resources).sort()).toEqual([
      "authorizationpolicies",
      "envoyfilters",
      "externalsecrets",
      "networkpolicies",
      "peerauthentications",
      "pushsecrets",
      "requestauthentications",
      "secretstores",
      "serviceentries",
      "sidecars",
      "telemetries",
    ]);
    for (const r of rules.resourceRules) expect(r.operations).toEqual(["CREATE", "UPDATE", "DELETE"]);
  });
});
