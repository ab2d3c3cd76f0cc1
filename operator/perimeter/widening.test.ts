// The decision for one profile over a namespace of foreign objects, and its Widened condition.
import { describe, expect, it } from "vitest";
import type { MeshwardPolicy } from "../api/policy.ts";
import { indexProfiles, makeContext } from "../builders/context.ts";
import { buildNamespaceDefaultDeny, buildProfile } from "../builders/index.ts";
import { NOW, policy, profile } from "../../test-support/fixtures/policy.ts";
import { widenedCondition } from "./condition.ts";
import {
  isForeign,
  readAuthorizationPolicy,
  readExternalSecret,
  readNetworkPolicy,
  readPeerAuthentication,
  readRequestAuthentication,
} from "./read.ts";
import type { ForeignObjects } from "./types.ts";
import { findWidening, MAX_EXAMPLE, MAX_FINDINGS, type WideningInput } from "./widening.ts";

const checkout = profile("checkout/checkout-api", { selector: { app: "checkout-api" } });
const payments = profile("payments/payments-api", {
  selector: { app: "payments-api" },
  ingress: [{ from: [{ service: "checkout/checkout-api" }], ports: [8080] }],
  requestAuthentication: { jwt: [{ issuer: "https://auth.example.com/" }], requireToken: false },
  secrets: [
    {
      name: "db",
      storeRef: { kind: "ClusterSecretStore", name: "vault" },
      data: [{ secretKey: "p", remoteRef: { key: "payments/payments-api/db" } }],
    },
  ],
});
const ctx = makeContext({ now: NOW, profiles: indexProfiles([payments, checkout]) });
const guardrail: MeshwardPolicy = policy("baseline", {
  guardrails: {
    secrets: {
      mode: "Enforce",
      stores: [{ kind: "ClusterSecretStore", name: "vault", keys: ["{namespace}/{profile}/*"] }],
    },
  },
});

/** Reads whatever objects are given into the decision's inputs, keeping only foreign ones. */
function foreign(objects: Record<string, unknown>[]): ForeignObjects {
  const of = <T>(kind: string, read: (o: unknown) => T | undefined): T[] =>
    objects
      .filter((o) => o.kind === kind && isForeign(o))
      .map(read)
      .filter((x): x is T => x !== undefined);
  return {
    networkPolicies: of("NetworkPolicy", readNetworkPolicy),
    authorizationPolicies: of("AuthorizationPolicy", readAuthorizationPolicy),
    peerAuthentications: of("PeerAuthentication", readPeerAuthentication),
    requestAuthentications: of("RequestAuthentication", readRequestAuthentication),
    externalSecrets: of("ExternalSecret", readExternalSecret),
  };
}

function input(objects: Record<string, unknown>[]): WideningInput {
  return {
    profile: payments,
    ctx,
    namespaceLabels: { "kubernetes.io/metadata.name": "payments" },
    namespaceProfiles: ["payments-api"],
    policies: [guardrail],
    foreign: foreign(objects),
  };
}

const obj = (kind: string, name: string, spec: Record<string, unknown>, namespace = "payments") => ({
  kind,
  metadata: { name, namespace },
  spec,
});

describe("findWidening", () => {
  it("finds each kind, sorted by kind and name; what adds nothing and other namespaces are left out", () => {
    const w = findWidening(
      input([
        obj("NetworkPolicy", "zz-allow-all", { podSelector: {}, ingress: [{}] }),
        obj("NetworkPolicy", "allow-all", { podSelector: {}, ingress: [{}] }, "orders"),
        obj("NetworkPolicy", "debug-only", { podSelector: { matchLabels: { app: "debug" } }, ingress: [{}] }),
        obj("AuthorizationPolicy", "open", { rules: [{}] }),
        obj("AuthorizationPolicy", "deny", { action: "DENY", rules: [{}] }),
        obj("PeerAuthentication", "weak", {
          selector: { matchLabels: { app: "payments-api" } },
          mtls: { mode: "PERMISSIVE" },
        }),
        obj("PeerAuthentication", "namespace-wide", { mtls: { mode: "PERMISSIVE" } }),
        obj("RequestAuthentication", "extra", { jwtRules: [{ issuer: "https://other/" }] }),
        obj("ExternalSecret", "stolen", {
          secretStoreRef: { kind: "ClusterSecretStore", name: "vault" },
          data: [{ secretKey: "p", remoteRef: { key: "orders/orders-api/db" } }],
        }),
        obj("ExternalSecret", "own-key", {
          secretStoreRef: { kind: "ClusterSecretStore", name: "vault" },
          data: [{ secretKey: "p", remoteRef: { key: "payments/payments-api/other" } }],
        }),
      ]),
    );
    expect(w.omitted).toBe(0);
    expect(w.findings.map((f) => [f.kind, f.name])).toEqual([
      ["AuthorizationPolicy", "open"],
      ["ExternalSecret", "stolen"],
      ["NetworkPolicy", "zz-allow-all"],
      ["PeerAuthentication", "weak"],
    ]);
    expect(w.findings.every((f) => f.namespace === "payments")).toBe(true);
    expect(w.findings[2]?.example).toBe("ingress from any pod in any namespace except checkout on any port");
  });

  it("meshward's own objects never widen the profile they are built for", () => {
    const own = [...buildProfile(payments, ctx).objects, buildNamespaceDefaultDeny("payments")];
    // Even read as foreign (without their label), they add nothing to themselves.
    const unlabelled = own.map((o) => ({ ...o, metadata: { ...o.metadata, labels: {} } }));
    expect(foreign(own).networkPolicies).toEqual([]);
    expect(findWidening(input(unlabelled))).toEqual({ findings: [], omitted: 0 });
  });

  it("keeps the first MAX_FINDINGS by name and counts the rest", () => {
    const many = Array.from({ length: MAX_FINDINGS + 4 }, (_, i) =>
      obj("NetworkPolicy", `np-${String(i).padStart(2, "0")}`, { podSelector: {}, ingress: [{}] }),
    );
    const w = findWidening(input(many.reverse()));
    expect(w.findings.map((f) => f.name)).toEqual(
      Array.from({ length: MAX_FINDINGS }, (_, i) => `np-${String(i).padStart(2, "0")}`),
    );
    expect(w.omitted).toBe(4);
  });

  it("cuts a long example", () => {
    const key = `orders/${"x".repeat(1000)}`;
    const w = findWidening(
      input([
        obj("ExternalSecret", "long", {
          secretStoreRef: { kind: "ClusterSecretStore", name: "vault" },
          data: [{ secretKey: "p", remoteRef: { key } }],
        }),
      ]),
    );
    expect(w.findings[0]?.example.length).toBe(MAX_EXAMPLE);
    expect(w.findings[0]?.example.endsWith("…")).toBe(true);
  });

  it("escapes control characters a tenant put in a key", () => {
    const w = findWidening(
      input([
        obj("ExternalSecret", "ansi", {
          secretStoreRef: { kind: "ClusterSecretStore", name: "vault" },
          data: [{ secretKey: "p", remoteRef: { key: "orders/\u001b[2J\r\u202eevil" } }],
        }),
      ]),
    );
    const example = w.findings[0]?.example ?? "";
    expect(example).toContain("orders/\\x1b[2J\\r\\u202eevil");
    const raw = [...example].filter((ch) => {
      const c = ch.charCodeAt(0);
      return c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0x202a && c <= 0x202e);
    });
    expect(raw).toEqual([]);
  });
});

describe("widenedCondition", () => {
  const finding = (name: string) => ({
    kind: "NetworkPolicy" as const,
    namespace: "payments",
    name,
    example: "ingress from any pod in any namespace on TCP 8080",
  });

  it("False when nothing widens", () => {
    expect(widenedCondition({ findings: [], omitted: 0 })).toEqual({
      type: "Widened",
      status: "False",
      reason: "NotWidened",
      message: "no object that meshward did not create widens what this profile declares",
    });
  });

  it("True, naming the first object, its example, and how many more", () => {
    expect(widenedCondition({ findings: [finding("allow-all")], omitted: 0 }).message).toBe(
      "NetworkPolicy allow-all, not created by meshward, widens what this profile declares: ingress from any pod in any namespace on TCP 8080. Remove or narrow it, or declare that access in the profile",
    );
    const c = widenedCondition({ findings: [finding("a"), finding("b"), finding("c")], omitted: 5 });
    expect(c.status).toBe("True");
    expect(c.reason).toBe("ForeignPolicy");
    expect(c.message).toBe(
      "NetworkPolicy a, not created by meshward, widens what this profile declares: ingress from any pod in any namespace on TCP 8080; 7 more objects widen it: NetworkPolicy b, NetworkPolicy c and 5 not listed. Remove or narrow it, or declare that access in the profile",
    );
  });

  it("stays short whatever a tenant writes", () => {
    const w = findWidening(
      input(
        Array.from({ length: 100 }, (_, i) =>
          obj("NetworkPolicy", `${"n".repeat(240)}-${String(i).padStart(3, "0")}`, {
            podSelector: {},
            ingress: [{}],
          }),
        ),
      ),
    );
    expect(widenedCondition(w).message.length).toBeLessThan(4000);
  });
});
