import { describe, expect, it } from "vitest";
import { DEFAULT_PLATFORM } from "../builders/context.ts";
import { evaluateFleet, findingsAsProblems } from "./fleet.ts";
import { NOW, policy, profile } from "../../test-support/fixtures/policy.ts";

const ctx = { trustDomain: "cluster.local", dns: DEFAULT_PLATFORM.dns };

describe("evaluateFleet", () => {
  const a = profile("shop/a", { selector: { app: "shop" } }, "2026-01-01T00:00:00Z");
  const b = profile("shop/b", { selector: { app: "shop" } }, "2026-02-01T00:00:00Z");
  const c = profile("pay/c", {
    selector: { app: "c" },
    secrets: [
      { name: "s", storeRef: { name: "vault" }, data: [{ secretKey: "k", remoteRef: { key: "shop/x" } }] },
    ],
  });

  it("evaluates every profile with its namespace's profiles and the namespace's labels", () => {
    const pols = [
      policy("shop-adopt", {
        namespaceSelector: { "kubernetes.io/metadata.name": "shop" },
        guardrails: { adoption: { mode: "Audit" } },
      }),
      policy("secrets", {
        guardrails: { secrets: { mode: "Audit", stores: [{ name: "vault", keys: ["{namespace}/*"] }] } },
        admission: { mode: "Deny" },
      }),
      policy("q", { quarantine: { identities: [{ profile: "pay/c" }] } }),
    ];
    const out = evaluateFleet({ profiles: [b, a, c], policies: pols, now: NOW }, ctx);
    expect([...out.outcomes.keys()]).toEqual(["pay/c", "shop/b", "shop/a"]);
    expect(out.outcomes.get("shop/b")?.overlap?.keptBy).toBe("shop/a");
    expect(out.outcomes.get("shop/a")?.overlap).toBeUndefined();
    expect(out.namespaces.get("shop")).toEqual({
      createDefaultDeny: false,
      mode: "Audit",
      policies: ["shop-adopt"],
      governedBy: ["q", "secrets", "shop-adopt"],
    });
    expect(out.namespaces.get("pay")?.createDefaultDeny).toBe(true);
    expect(out.quarantine.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
      "AuthorizationPolicy istio-system/meshward-quarantine",
      "AuthorizationPolicy istio-system/meshward-quarantine-waypoints",
      "NetworkPolicy pay/meshward-quarantine-c",
    ]);
    expect(out.admissionBindings).toHaveLength(2);
    const problems = findingsAsProblems(out.outcomes.get("pay/c")?.findings ?? []);
    expect(problems.map((p) => [p.path, p.severity])).toEqual([
      ["spec.secrets[0].data[0].remoteRef.key", "warning"],
      ["spec", "error"],
    ]);
    expect(problems[0]?.message).toMatch(/\[SecretNotAllowed, Audit, MeshwardPolicy secrets\]$/);
  });
});
