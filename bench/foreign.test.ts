// The bench's foreign objects: how they are spread, what they are, and that the operator's own
// widening decision finds exactly the profiles the bench expects to be Widened.
import { describe, expect, it } from "vitest";
import { API_VERSION, KIND } from "../operator/api/schema.ts";
import { validateProfile } from "../operator/api/validate.ts";
import { indexProfiles, makeContext } from "../operator/builders/index.ts";
import {
  isForeign,
  readAuthorizationPolicy,
  readExternalSecret,
  readNetworkPolicy,
} from "../operator/perimeter/read.ts";
import { findWidening } from "../operator/perimeter/widening.ts";
import { foreignObjects } from "./foreign.ts";
import { type Fleet, spec } from "./lib.ts";

/** A fleet as createFleet() names it, without a cluster. */
function fleet(count: number, perNs: number): Fleet {
  const namespaces = Array.from({ length: Math.ceil(count / perNs) }, (_, i) => `bf-${i}`);
  const profiles = Array.from({ length: count }, (_, i) => ({
    namespace: namespaces[Math.floor(i / perNs)] as string,
    name: `svc-${i % perNs}`,
  }));
  return { namespaces, profiles };
}

const countBy = <T>(xs: T[], key: (x: T) => string) => {
  const m = new Map<string, number>();
  for (const x of xs) m.set(key(x), (m.get(key(x)) ?? 0) + 1);
  return m;
};

describe("foreignObjects", () => {
  it("spreads N objects evenly over the namespaces: 70 % NetworkPolicies, 20 % ExternalSecrets, 10 % AuthorizationPolicies", () => {
    const f = fleet(1000, 10);
    const { objects, widened } = foreignObjects(f, 1000);
    expect(objects).toHaveLength(1000);
    const perNs = countBy(objects, (o) => o.metadata.namespace);
    expect(perNs.size).toBe(100);
    expect(new Set(perNs.values())).toEqual(new Set([10]));
    expect(Object.fromEntries(countBy(objects, (o) => o.kind))).toEqual({
      NetworkPolicy: 700,
      ExternalSecret: 200,
      AuthorizationPolicy: 100,
    });
    expect(widened.size).toBe(100);
    // Names are unique in their namespace; none carries meshward's label.
    expect(new Set(objects.map((o) => `${o.metadata.namespace}/${o.kind}/${o.metadata.name}`)).size).toBe(
      1000,
    );
    expect(objects.every((o) => isForeign(o))).toBe(true);
  });

  it("spreads a count that does not divide: namespaces differ by one object at most", () => {
    const f = fleet(100, 10);
    for (const n of [0, 1, 7, 15, 123]) {
      const { objects } = foreignObjects(f, n);
      expect(objects).toHaveLength(n);
      const counts = f.namespaces.map((ns) => objects.filter((o) => o.metadata.namespace === ns).length);
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    }
  });

  it("widens exactly the profiles it says, by the operator's decision", () => {
    const f = fleet(100, 10);
    const { objects, widened } = foreignObjects(f, 100);
    const profiles = f.profiles.map((p, i) => {
      const v = validateProfile({
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name: p.name, namespace: p.namespace, uid: `u${i}` },
        spec: spec(i % 10, 10),
      });
      if (!v.ok) throw new Error("bench profile invalid");
      return v.profile;
    });
    const ctx = makeContext({ profiles: indexProfiles(profiles) });
    const read = <T>(kind: string, fn: (o: unknown) => T | undefined) =>
      objects
        .filter((o) => o.kind === kind)
        .map(fn)
        .filter((x): x is T => x !== undefined);
    const foreign = {
      networkPolicies: read("NetworkPolicy", readNetworkPolicy),
      authorizationPolicies: read("AuthorizationPolicy", readAuthorizationPolicy),
      peerAuthentications: [],
      requestAuthentications: [],
      externalSecrets: read("ExternalSecret", readExternalSecret),
    };
    expect(foreign.networkPolicies).toHaveLength(70);
    expect(foreign.authorizationPolicies).toHaveLength(10);
    expect(foreign.externalSecrets).toHaveLength(20);
    const found = new Set<string>();
    for (const p of profiles) {
      const namespace = p.metadata.namespace;
      const w = findWidening({
        profile: p,
        ctx,
        namespaceLabels: { "kubernetes.io/metadata.name": namespace },
        namespaceProfiles: profiles
          .filter((q) => q.metadata.namespace === namespace)
          .map((q) => q.metadata.name),
        policies: [],
        foreign,
      });
      if (w.findings.length > 0) {
        found.add(`${namespace}/${p.metadata.name}`);
        expect(w.findings.map((x) => x.name)).toEqual([expect.stringMatching(/^tenant-allow-all-/)]);
      }
    }
    expect(found).toEqual(widened);
    expect(widened.size).toBe(10);
  });
});
