// Foreign NetworkPolicies against what a profile declares: table tests, each checked against the
// per-flow evaluator too (the example flow is allowed by the foreign policy, not by meshward's).
import { describe, expect, it } from "vitest";
import type { ProfileSpecInput } from "../api/schema.ts";
import { indexProfiles, makeContext } from "../builders/context.ts";
import { buildProfile } from "../builders/index.ts";
import { profile } from "../../test-support/fixtures/policy.ts";
import { allows } from "./evaluate.ts";
import { declaredObjects } from "./declared.ts";
import { networkWidening, type ProfileScope } from "./network.ts";
import { readNetworkPolicy } from "./read.ts";
import type { NetworkPolicyInput } from "./types.ts";

const checkout = profile("checkout/checkout-api", { selector: { app: "checkout-api" } });

function setup(spec: Partial<ProfileSpecInput>, meshMode: "sidecar" | "ambient" = "sidecar") {
  const p = profile("payments/payments-api", { selector: { app: "payments-api" }, ...spec });
  const ctx = makeContext({ meshMode, profiles: indexProfiles([p, checkout]) });
  const scope: ProfileScope = {
    namespace: "payments",
    selector: p.spec.selector,
    namespaceLabels: { team: "pay" },
  };
  return { p, ctx, scope, declared: declaredObjects(p, ctx).networkPolicies };
}

function np(name: string, spec: Record<string, unknown>, namespace = "payments"): NetworkPolicyInput {
  const r = readNetworkPolicy({ metadata: { name, namespace }, spec });
  if (!r) throw new Error("unreadable");
  return r;
}

const PAYMENTS = {
  ingress: [{ from: [{ service: "checkout/checkout-api" }], ports: [8080] }],
  egress: { to: [{ cidr: "10.20.0.0/16", except: ["10.20.5.0/24"], ports: [5432] }] },
};

interface Case {
  name: string;
  spec?: Partial<ProfileSpecInput>;
  meshMode?: "sidecar" | "ambient";
  foreign: Record<string, unknown>;
  /** The example, or undefined when the foreign policy adds nothing. */
  want: string | undefined;
}

const cases: Case[] = [
  {
    name: "allow-all ingress widens",
    foreign: { podSelector: {}, ingress: [{}] },
    want: "ingress from any pod in any namespace except checkout on any port",
  },
  {
    name: "allow-all ingress on a profile that admits nobody",
    spec: { ingress: [] },
    foreign: { podSelector: {}, ingress: [{ ports: [{ port: 8080 }] }] },
    want: "ingress from any pod in any namespace on TCP 8080",
  },
  {
    name: "a policy on other pods only does not widen",
    foreign: { podSelector: { matchLabels: { app: "debug" } }, ingress: [{}] },
    want: undefined,
  },
  {
    name: "matchExpressions that exclude the profile's pods do not widen",
    foreign: {
      podSelector: { matchExpressions: [{ key: "app", operator: "NotIn", values: ["payments-api"] }] },
      ingress: [{}],
    },
    want: undefined,
  },
  {
    name: "matchExpressions that can select the profile's pods widen",
    foreign: {
      podSelector: { matchExpressions: [{ key: "app", operator: "In", values: ["payments-api", "x"] }] },
      ingress: [{ from: [{ podSelector: {} }] }],
    },
    want: "ingress from any pod in namespace payments on any port",
  },
  {
    name: "egress to the metadata address widens, with that address",
    foreign: {
      podSelector: {},
      policyTypes: ["Egress"],
      egress: [{ to: [{ ipBlock: { cidr: "169.254.169.254/32" } }] }],
    },
    want: "egress to 169.254.169.254/32 on any port",
  },
  {
    name: "an ipBlock with except inside the declared cidr adds nothing",
    foreign: {
      podSelector: { matchLabels: { app: "payments-api" } },
      policyTypes: ["Egress"],
      egress: [
        {
          to: [{ ipBlock: { cidr: "10.20.0.0/17", except: ["10.20.5.0/24"] } }],
          ports: [{ protocol: "TCP", port: 5432 }],
        },
      ],
    },
    want: undefined,
  },
  {
    name: "the declared cidr without its except widens by the except",
    foreign: {
      podSelector: {},
      policyTypes: ["Egress"],
      egress: [{ to: [{ ipBlock: { cidr: "10.20.0.0/16" } }], ports: [{ port: 5432 }] }],
    },
    want: "egress to 10.20.5.0/24 on TCP 5432",
  },
  {
    name: "a port range inside the declared ports adds nothing",
    spec: { ingress: [{ from: [{ namespace: "checkout" }], ports: [8080, 8081, 8082] }] },
    foreign: {
      podSelector: {},
      ingress: [
        {
          from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "checkout" } } }],
          ports: [{ port: 8080, endPort: 8082 }],
        },
      ],
    },
    want: undefined,
  },
  {
    name: "a port range one past the declared ports widens by that port",
    spec: { ingress: [{ from: [{ namespace: "checkout" }], ports: [8080, 8081, 8082] }] },
    foreign: {
      podSelector: {},
      ingress: [
        {
          from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "checkout" } } }],
          ports: [{ port: 8080, endPort: 8083 }],
        },
      ],
    },
    want: "ingress from any pod in namespace checkout on TCP 8083",
  },
  {
    name: "UDP on a declared TCP port widens",
    spec: { ingress: [{ from: [{ namespace: "checkout" }], ports: [8080] }] },
    foreign: {
      podSelector: {},
      ingress: [
        {
          from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "checkout" } } }],
          ports: [{ protocol: "UDP", port: 8080 }],
        },
      ],
    },
    want: "ingress from any pod in namespace checkout on UDP 8080",
  },
  {
    name: "a named port is not known to be a declared one",
    foreign: {
      podSelector: {},
      ingress: [
        {
          from: [
            {
              namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "checkout" } },
              podSelector: { matchLabels: { app: "checkout-api" } },
            },
          ],
          ports: [{ port: "http" }],
        },
      ],
    },
    want: "ingress from pods {app=checkout-api} in namespace checkout on TCP port named http",
  },
  {
    name: "a named port under an every-port declaration adds nothing",
    spec: { ingress: [{ from: [{ namespace: "checkout" }] }] },
    foreign: {
      podSelector: {},
      ingress: [
        {
          from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "checkout" } } }],
          ports: [{ port: "http" }],
        },
      ],
    },
    want: undefined,
  },
  {
    name: "the own namespace, declared, covers a podSelector-only peer",
    spec: { ingress: [{ from: [{ namespace: "payments" }] }] },
    foreign: {
      podSelector: {},
      ingress: [{ from: [{ podSelector: { matchLabels: { role: "x" } } }], ports: [{ protocol: "TCP" }] }],
    },
    want: undefined,
  },
  {
    name: "every protocol is more than a declared TCP-only entry",
    spec: { ingress: [{ from: [{ namespace: "payments" }] }] },
    foreign: { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { role: "x" } } }] }] },
    want: "ingress from pods {role=x} in namespace payments on any UDP port",
  },
  {
    name: "a namespaceSelector on the own namespace's labels reaches other namespaces too",
    spec: { ingress: [{ from: [{ namespace: "payments" }] }] },
    foreign: {
      podSelector: {},
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: "pay" } } }] }],
    },
    want: "ingress from any pod in any namespace except payments labelled {team=pay} on any port",
  },
  {
    name: "a namespaceSelector naming the own namespace with labels it lacks selects nothing",
    spec: { ingress: [] },
    foreign: {
      podSelector: {},
      ingress: [
        {
          from: [
            { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "payments", team: "x" } } },
          ],
        },
      ],
    },
    want: undefined,
  },
  {
    name: "egress rules of an Ingress-only policy are not enforced",
    foreign: { podSelector: {}, policyTypes: ["Ingress"], egress: [{}] },
    want: undefined,
  },
  {
    name: "egress rules with policyTypes omitted are enforced",
    foreign: { podSelector: {}, egress: [{ to: [{ podSelector: {} }], ports: [{ port: 9090 }] }] },
    want: "egress to any pod in namespace payments on TCP 9090",
  },
  {
    name: "ambient: the kubelet probe address is declared",
    meshMode: "ambient",
    foreign: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: "169.254.7.127/32" } }] }] },
    want: undefined,
  },
  {
    name: "sidecar: the kubelet probe address is not declared",
    foreign: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: "169.254.7.127/32" } }] }] },
    want: "ingress from 169.254.7.127/32 on any port",
  },
  {
    name: "egress to cluster DNS on 53 is declared",
    foreign: {
      podSelector: {},
      policyTypes: ["Egress"],
      egress: [
        {
          to: [
            {
              namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
              podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
            },
          ],
          ports: [{ protocol: "UDP", port: 53 }],
        },
      ],
    },
    want: undefined,
  },
  {
    name: "egress to every pod of kube-system widens",
    foreign: {
      podSelector: {},
      policyTypes: ["Egress"],
      egress: [
        {
          to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } }],
          ports: [{ protocol: "UDP", port: 53 }],
        },
      ],
    },
    want: "egress to pods {k8s-app notin (kube-dns)} in namespace kube-system on UDP 53",
  },
  {
    name: "IPv6 egress widens",
    foreign: {
      podSelector: {},
      policyTypes: ["Egress"],
      egress: [{ to: [{ ipBlock: { cidr: "fd00::/8" } }], ports: [{ port: 443 }] }],
    },
    want: "egress to fd00::/8 on TCP 443",
  },
  {
    name: "a policy in another namespace does not apply",
    foreign: { podSelector: {}, ingress: [{}] },
    want: undefined,
  },
];

describe("networkWidening (table)", () => {
  for (const c of cases) {
    it(c.name, () => {
      const { scope, declared } = setup(c.spec ?? PAYMENTS, c.meshMode);
      const namespace = c.name.includes("another namespace") ? "orders" : "payments";
      const foreign = np("tenant", c.foreign, namespace);
      const v = networkWidening(foreign, declared, scope);
      if (c.want === undefined) {
        expect(v).toBeUndefined();
        return;
      }
      if (!v || "tooLarge" in v) throw new Error(`expected a flow, got ${JSON.stringify(v)}`);
      expect(v.example).toBe(c.want);
      expect(allows(declared, v.pod, v.flow)).toBe(false);
      expect(allows([foreign], v.pod, v.flow)).toBe(true);
    });
  }

  it("a copy of meshward's own policy adds nothing", () => {
    const { p, ctx, scope, declared } = setup(PAYMENTS);
    const built = buildProfile(p, ctx).objects.find((o) => o.kind === "NetworkPolicy");
    const copy = np("copy", built?.spec as Record<string, unknown>);
    expect(copy.ingress.length).toBeGreaterThan(0);
    expect(networkWidening(copy, declared, scope)).toBeUndefined();
  });

  it("a policy too large to compare is counted as widening", () => {
    const { scope, declared } = setup(PAYMENTS);
    const ports = Array.from({ length: 5000 }, (_, i) => ({ port: 1 + i }));
    const v = networkWidening(np("huge", { podSelector: {}, ingress: [{ ports }] }), declared, scope);
    expect(v && "tooLarge" in v).toBe(true);
  });
});
