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
      name: "peers not in the cache are not one-sided (they are missing references)",
      me: api,
      cache: [],
      want: ["False", "PeersDeclared"],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const byKey = new Map(c.cache.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p]));
      const got = oneSidedConditions(c.me, (k) => byKey.get(k));
      if (!c.want) return expect(got).toEqual([]);
      expect(got.map((x) => [x.status, x.reason])).toEqual([c.want]);
      expect(got[0]?.type).toBe("OneSided");
      for (const n of c.names ?? []) expect(got[0]?.message).toContain(n);
    });
  }
});
