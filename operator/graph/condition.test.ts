// The OneSided condition, table-tested against a small cache of profiles.
import { describe, expect, it } from "vitest";
import type { Profile } from "../api/schema.ts";
import { validateProfile } from "../api/validate.ts";
import { oneSidedConditions } from "./condition.ts";

function profile(key: string, spec: Record<string, unknown>): Profile {
  const [namespace, name] = key.split("/");
  const r = validateProfile({
    apiVersion: "meshward.io/v1alpha1",
    kind: "ServiceSecurityProfile",
    metadata: { name, namespace },
    spec: { selector: { app: name }, ...spec },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.profile;
}

const api = profile("shop/api", {
  ingress: [{ from: [{ service: "web" }] }],
  egress: { to: [{ service: "db" }] },
});

describe("oneSidedConditions", () => {
  const cases: {
    name: string;
    me: Profile;
    cache: Profile[];
    want: [string, string] | undefined;
    names?: string[];
  }[] = [
    {
      name: "no condition for a profile that names no other profile",
      me: profile("shop/lonely", { ingress: [{ from: [{ namespace: "x" }] }] }),
      cache: [],
      want: undefined,
    },
    {
      name: "False when every peer declares the other side",
      me: api,
      cache: [
        profile("shop/web", { egress: { to: [{ service: "api" }] } }),
        profile("shop/db", { ingress: [{ from: [{ service: "api" }] }] }),
      ],
      want: ["False", "PeersDeclared"],
    },
    {
      name: "True, naming the caller that declares no egress and the callee that does not admit",
      me: api,
      cache: [profile("shop/web", {}), profile("shop/db", {})],
      want: ["True", "UndeclaredPeer"],
      names: ["shop/web", "shop/db", "spec.ingress[0].from[0].service", "spec.egress.to[0].service"],
    },
    {
      name: "True when the egress names UDP 514 and the callee admits 514 on TCP only",
      me: profile("shop/api", { egress: { to: [{ service: "cart", ports: [514], protocol: "UDP" }] } }),
      cache: [profile("shop/cart", { ingress: [{ from: [{ service: "api" }], ports: [514] }] })],
      want: ["True", "UndeclaredPeer"],
      names: ["spec.egress.to[0].ports", "on UDP port 514", "admits shop/api only on TCP port 514"],
    },
    {
      name: "False when both sides name UDP 514",
      me: profile("shop/api", { egress: { to: [{ service: "cart", ports: [514], protocol: "UDP" }] } }),
      cache: [
        profile("shop/cart", {
          ingress: [{ from: [{ service: "api" }], ports: [514], protocol: "UDP" }],
        }),
      ],
      want: ["False", "PeersDeclared"],
    },
    {
      name: "no condition for a profile that admits a namespace without profiles",
      me: profile("pay/ledger", { ingress: [{ from: [{ namespace: "gateway" }] }] }),
      cache: [profile("shop/web", {})],
      want: undefined,
    },
    {
      name: "True when a profile admits a namespace none of whose profiles declares egress to it",
      me: profile("pay/ledger", { ingress: [{ from: [{ namespace: "shop" }], ports: [8080] }] }),
      cache: [profile("shop/web", {}), profile("shop/cart", { egress: { to: [{ service: "pay/other" }] } })],
      want: ["True", "UndeclaredPeer"],
      names: [
        "namespace shop must declare the other side",
        "spec.ingress[0].from[0].namespace: admits namespace shop, but no profile there (shop/cart, shop/web) declares egress to pay/ledger",
        'add "- service: pay/ledger" to the spec.egress.to of the profile in shop that calls it',
      ],
    },
    {
      name: "False when one profile of the admitted namespace declares egress to it",
      me: profile("pay/ledger", { ingress: [{ from: [{ namespace: "shop" }] }] }),
      cache: [profile("shop/web", {}), profile("shop/cart", { egress: { to: [{ service: "pay/ledger" }] } })],
      want: ["False", "PeersDeclared"],
    },
    {
      name: "its own namespace: the profile itself is not a caller",
      me: profile("pay/ledger", { ingress: [{ from: [{ namespace: "pay" }] }] }),
      cache: [profile("pay/billing", {})],
      want: ["True", "UndeclaredPeer"],
      names: ["no profile there (pay/billing)"],
    },
    {
      name: "peers not in the cache are not one-sided (they are missing references)",
      me: api,
      cache: [],
      want: ["False", "PeersDeclared"],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const byKey = new Map(c.cache.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p]));
      const all = [c.me, ...c.cache];
      const got = oneSidedConditions(
        c.me,
        (k) => byKey.get(k),
        (ns) => all.filter((p) => p.metadata.namespace === ns),
      );
      if (!c.want) return expect(got).toEqual([]);
      expect(got.map((x) => [x.status, x.reason])).toEqual([c.want]);
      expect(got[0]?.type).toBe("OneSided");
      for (const n of c.names ?? []) expect(got[0]?.message).toContain(n);
    });
  }
});
