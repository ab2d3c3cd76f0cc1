// Foreign Istio policies against a profile's own: table tests per kind.
import { describe, expect, it } from "vitest";
import type { ProfileSpecInput } from "../api/schema.ts";
import { indexProfiles, makeContext } from "../builders/context.ts";
import { NOW, profile } from "../../test-support/fixtures/policy.ts";
import { declaredObjects } from "./declared.ts";
import {
  authorizationWidening,
  covers,
  type IstioScope,
  peerAuthenticationWidening,
  requestAuthenticationWidening,
} from "./istio.ts";
import { readAuthorizationPolicy, readPeerAuthentication, readRequestAuthentication } from "./read.ts";

const checkout = profile("checkout/checkout-api", { selector: { app: "checkout-api" } });
const scope: IstioScope = { namespace: "payments", selector: { app: "payments-api" } };
const CHECKOUT = "cluster.local/ns/checkout/sa/checkout-api";

const PAYMENTS: Partial<ProfileSpecInput> = {
  ingress: [
    {
      from: [{ service: "checkout/checkout-api" }],
      ports: [8080],
      http: { methods: ["POST"], paths: ["/v1/charges", "/v1/refunds/*"] },
    },
  ],
};

function declared(spec: Partial<ProfileSpecInput> = PAYMENTS) {
  const p = profile("payments/payments-api", { selector: { app: "payments-api" }, ...spec });
  return declaredObjects(p, makeContext({ now: NOW, profiles: indexProfiles([p, checkout]) }));
}

const meta = (name = "tenant", extra: Record<string, unknown> = {}) => ({
  name,
  namespace: "payments",
  ...extra,
});

describe("covers (Istio string matching)", () => {
  it.each([
    ["*", "anything", true],
    ["a", "a", true],
    ["/v1/*", "/v1/x", true],
    ["/v1/*", "/v1/x/*", true],
    ["/v1/x/*", "/v1/*", false],
    ["/v1/*", "*", false],
    ["*.json", "/a.json", true],
    ["*.json", "*.json", true],
    ["*.json", "/a.*", false],
    ["a", "a*", false],
  ])("%s covers %s: %s", (q, p, want) => expect(covers(q, p)).toBe(want));
});

describe("authorizationWidening", () => {
  const cases: {
    name: string;
    spec?: Partial<ProfileSpecInput>;
    policy: Record<string, unknown>;
    want?: string;
  }[] = [
    {
      name: "ALLOW with rules: [{}] widens",
      policy: { spec: { rules: [{}] } },
      want: "ALLOW rules[0] admits requests from any caller to any port, which no rule of meshward's AuthorizationPolicy payments-api admits",
    },
    { name: "ALLOW without rules allows nothing", policy: { spec: { action: "ALLOW" } } },
    { name: "DENY never widens", policy: { spec: { action: "DENY", rules: [{}] } } },
    {
      name: "CUSTOM never widens",
      policy: { spec: { action: "CUSTOM", provider: { name: "x" }, rules: [{}] } },
    },
    { name: "AUDIT never widens", policy: { spec: { action: "AUDIT", rules: [{}] } } },
    {
      name: "a dry-run ALLOW is not enforced",
      policy: {
        metadata: meta("tenant", { annotations: { "istio.io/dry-run": "true" } }),
        spec: { rules: [{}] },
      },
    },
    {
      name: "ALLOW on other pods does not apply",
      policy: { spec: { selector: { matchLabels: { app: "debug" } }, rules: [{}] } },
    },
    {
      name: "ALLOW on the profile's pods with narrower rules adds nothing",
      policy: {
        spec: {
          selector: { matchLabels: { app: "payments-api", version: "v2" } },
          rules: [
            {
              from: [{ source: { principals: [CHECKOUT], notNamespaces: ["x"] } }],
              to: [
                {
                  operation: { ports: ["8080"], methods: ["POST"], paths: ["/v1/refunds/42", "/v1/charges"] },
                },
              ],
              when: [{ key: "request.headers[x]", values: ["y"] }],
            },
          ],
        },
      },
    },
    {
      name: "ALLOW of the declared caller on another port widens",
      policy: {
        spec: {
          rules: [
            { from: [{ source: { principals: [CHECKOUT] } }], to: [{ operation: { ports: ["9090"] } }] },
          ],
        },
      },
      want: `ALLOW rules[0] admits requests from principals ${CHECKOUT} to ports 9090, which no rule of meshward's AuthorizationPolicy payments-api admits`,
    },
    {
      name: "ALLOW of another method widens",
      policy: {
        spec: {
          rules: [
            {
              from: [{ source: { principals: [CHECKOUT] } }],
              to: [{ operation: { ports: ["8080"], methods: ["DELETE"], paths: ["/v1/charges"] } }],
            },
          ],
        },
      },
      want: `ALLOW rules[0] admits requests from principals ${CHECKOUT} to ports 8080, methods DELETE, paths /v1/charges, which no rule of meshward's AuthorizationPolicy payments-api admits`,
    },
    {
      name: "ALLOW of a whole namespace where a principal is declared widens",
      policy: { spec: { rules: [{ from: [{ source: { namespaces: ["checkout"] } }] }] } },
      want: "ALLOW rules[0] admits requests from namespaces checkout to any port, which no rule of meshward's AuthorizationPolicy payments-api admits",
    },
    {
      name: "attached to a Service: may apply, reported with a note",
      policy: { spec: { targetRefs: [{ kind: "Service", group: "", name: "payments" }], rules: [{}] } },
      want: "ALLOW rules[0] admits requests from any caller to any port (attached to Service payments, which may front these pods), which no rule of meshward's AuthorizationPolicy payments-api admits",
    },
    {
      name: "attached to a Gateway: not these pods",
      policy: {
        spec: {
          targetRefs: [{ kind: "Gateway", group: "gateway.networking.k8s.io", name: "gw" }],
          rules: [{}],
        },
      },
    },
    {
      name: "AuditOnly: meshward's policy is in dry-run, the pods are open at L7 already",
      spec: {
        ...PAYMENTS,
        exceptions: [
          {
            type: "AuditOnly",
            reason: "migration in progress",
            ticket: "SEC-1",
            expires: "2026-12-01T00:00:00Z",
          },
        ],
      },
      policy: { spec: { rules: [{}] } },
    },
    {
      name: "a profile that admits nobody: any matching rule widens",
      spec: { ingress: [] },
      policy: { spec: { rules: [{ to: [{ operation: { ports: ["8080"] } }] }] } },
      want: "ALLOW rules[0] admits requests from any caller to ports 8080, which no rule of meshward's AuthorizationPolicy payments-api admits",
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      const d = declared(c.spec);
      const ap = readAuthorizationPolicy({ metadata: meta(), ...c.policy });
      if (!ap) throw new Error("unreadable");
      expect(authorizationWidening(ap, d.authorizationPolicies, scope)).toBe(c.want);
    });

  it("a copy of meshward's own policy adds nothing", () => {
    const d = declared();
    const own = d.authorizationPolicies[0];
    if (!own) throw new Error("no policy");
    expect(own.rules?.length).toBe(1);
    expect(authorizationWidening({ ...own, name: "copy" }, d.authorizationPolicies, scope)).toBeUndefined();
  });
});

describe("peerAuthenticationWidening", () => {
  const pa = (spec: Record<string, unknown>, name = "tenant", created?: string) => {
    const r = readPeerAuthentication({
      metadata: meta(name, created ? { creationTimestamp: created } : {}),
      spec,
    });
    if (!r) throw new Error("unreadable");
    return r;
  };
  const workload = { selector: { matchLabels: { app: "payments-api" } } };
  const PERMISSIVE_EXCEPTION: Partial<ProfileSpecInput> = {
    mtls: { mode: "Permissive" },
    exceptions: [
      {
        type: "PermissiveMtls",
        reason: "legacy callers without mTLS",
        ticket: "SEC-2",
        expires: "2026-12-01T00:00:00Z",
      },
    ],
  };
  const cases: {
    name: string;
    spec?: Partial<ProfileSpecInput>;
    policy: Record<string, unknown>;
    others?: Record<string, unknown>[];
    want?: string;
  }[] = [
    {
      name: "PERMISSIVE selecting the profile's pods widens",
      policy: { ...workload, mtls: { mode: "PERMISSIVE" } },
      want: "mTLS PERMISSIVE on this profile's pods, where meshward's PeerAuthentication payments-api sets STRICT; both select these pods and Istio applies the older one",
    },
    { name: "namespace-wide PERMISSIVE does not apply to them", policy: { mtls: { mode: "PERMISSIVE" } } },
    {
      name: "namespace-wide DISABLE does not either",
      policy: { selector: { matchLabels: {} }, mtls: { mode: "DISABLE" } },
    },
    {
      name: "PERMISSIVE on other pods",
      policy: { selector: { matchLabels: { app: "x" } }, mtls: { mode: "PERMISSIVE" } },
    },
    { name: "STRICT on the profile's pods", policy: { ...workload, mtls: { mode: "STRICT" } } },
    {
      name: "port-level DISABLE widens on that port",
      policy: {
        ...workload,
        mtls: { mode: "STRICT" },
        portLevelMtls: { "9090": { mode: "STRICT" }, "8080": { mode: "DISABLE" } },
      },
      want: "mTLS DISABLE on port 8080 of this profile's pods, where meshward's PeerAuthentication payments-api sets STRICT; both select these pods and Istio applies the older one",
    },
    {
      name: "unset mode inherits a namespace-wide STRICT",
      policy: workload,
      others: [{ mtls: { mode: "STRICT" } }],
    },
    {
      name: "unset mode inherits the oldest namespace-wide policy",
      policy: workload,
      others: [
        { mtls: { mode: "STRICT" } },
        { mtls: { mode: "PERMISSIVE" }, created: "2020-01-01T00:00:00Z" },
      ],
      want: "mTLS PERMISSIVE (unset, inherited from the namespace-wide PeerAuthentication ns-1) on this profile's pods, where meshward's PeerAuthentication payments-api sets STRICT; both select these pods and Istio applies the older one",
    },
    {
      name: "unset mode without a namespace-wide policy inherits the mesh's",
      policy: workload,
      want: "mTLS PERMISSIVE (unset, inherited from the mesh: Istio's default unless a mesh-wide policy sets another) on this profile's pods, where meshward's PeerAuthentication payments-api sets STRICT; both select these pods and Istio applies the older one",
    },
    {
      name: "PermissiveMtls exception: PERMISSIVE is what the profile declares",
      spec: PERMISSIVE_EXCEPTION,
      policy: { ...workload, mtls: { mode: "PERMISSIVE" } },
    },
    {
      name: "PermissiveMtls exception: DISABLE is still weaker",
      spec: PERMISSIVE_EXCEPTION,
      policy: { ...workload, mtls: { mode: "DISABLE" } },
      want: "mTLS DISABLE on this profile's pods, where meshward's PeerAuthentication payments-api sets PERMISSIVE; both select these pods and Istio applies the older one",
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      const d = declared(c.spec);
      const foreign = pa(c.policy);
      const others = (c.others ?? []).map((o, i) => {
        const { created, ...spec } = o as { created?: string };
        return pa(spec, `ns-${i}`, created);
      });
      expect(peerAuthenticationWidening(foreign, [foreign, ...others], d.peerAuthentications, scope)).toBe(
        c.want,
      );
    });
});

describe("requestAuthenticationWidening", () => {
  const JWT: Partial<ProfileSpecInput> = {
    ...PAYMENTS,
    requestAuthentication: {
      jwt: [{ issuer: "https://auth.example.com/", jwksUri: "https://auth.example.com/keys" }],
    },
  };
  const ra = (jwtRules: Record<string, unknown>[], selector?: Record<string, string>) => {
    const r = readRequestAuthentication({
      metadata: meta(),
      spec: { ...(selector && { selector: { matchLabels: selector } }), jwtRules },
    });
    if (!r) throw new Error("unreadable");
    return r;
  };
  const cases: {
    name: string;
    spec?: Partial<ProfileSpecInput>;
    rules: Record<string, unknown>[];
    want?: string;
  }[] = [
    {
      name: "another issuer on a profile that requires tokens widens",
      spec: JWT,
      rules: [{ issuer: "https://evil.example.com/" }],
      want: "jwtRules[0] accepts tokens of issuer https://evil.example.com/, which this profile does not list (it requires tokens of https://auth.example.com/)",
    },
    {
      name: "the profile's issuer with other keys widens",
      spec: JWT,
      rules: [{ issuer: "https://auth.example.com/", jwksUri: "https://evil.example.com/keys" }],
      want: "jwtRules[0] accepts tokens of issuer https://auth.example.com/ with keys from https://evil.example.com/keys, other than this profile declares",
    },
    {
      name: "the profile's own rule adds nothing",
      spec: JWT,
      rules: [{ issuer: "https://auth.example.com/", jwksUri: "https://auth.example.com/keys" }],
    },
    {
      name: "a profile without requestAuthentication requires no token",
      rules: [{ issuer: "https://evil.example.com/" }],
    },
    {
      name: "a profile whose token is optional",
      spec: {
        ...JWT,
        requestAuthentication: { jwt: [{ issuer: "https://auth.example.com/" }], requireToken: false },
      },
      rules: [{ issuer: "https://evil.example.com/" }],
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      const d = declared(c.spec);
      expect(requestAuthenticationWidening(ra(c.rules), d, scope)).toBe(c.want);
    });

  it("on other pods only, it does not apply", () => {
    const d = declared(JWT);
    expect(
      requestAuthenticationWidening(ra([{ issuer: "https://evil/" }], { app: "x" }), d, scope),
    ).toBeUndefined();
  });
});
