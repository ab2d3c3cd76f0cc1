// Event mapping: a child's event reaches its old and new owner; a profile's status-only update
// enqueues nothing; the reference index follows spec changes.
import { describe, expect, it } from "vitest";
import type { KubeObjectLike } from "../runtime/client.ts";
import { QUARANTINE_KEY } from "./keys.ts";
import {
  childEventKeys,
  policyEventKeys,
  profileEventKeys,
  quarantinedNamespaceKeys,
  ReferenceIndex,
} from "./mapping.ts";

const child = (owner: string, label = owner): KubeObjectLike => ({
  metadata: {
    name: "x",
    namespace: "ns",
    labels: { "meshward.io/profile": label },
    ownerReferences: [
      {
        apiVersion: "meshward.io/v1alpha1",
        kind: "ServiceSecurityProfile",
        name: owner,
        uid: "u",
        controller: true,
      },
    ],
  },
});

const profile = (
  name: string,
  generation: number,
  calls: string[] = [],
  status?: unknown,
): KubeObjectLike => ({
  metadata: { name, namespace: "ns", generation, resourceVersion: String(generation) },
  spec: { selector: { app: name }, egress: { to: calls.map((service) => ({ service })) } },
  ...(status !== undefined && { status }),
});

describe("childEventKeys", () => {
  it("maps an update that moved the owner reference to both owners", () => {
    expect(childEventKeys(child("b"), child("a")).sort()).toEqual(["ns/a", "ns/b"]);
  });
  it("maps an update that keeps the owner to that owner once", () => {
    expect(childEventKeys(child("a"), child("a"))).toEqual(["ns/a"]);
  });
  it("maps an add to its owner", () => {
    expect(childEventKeys(child("a"), undefined)).toEqual(["ns/a"]);
  });
});

describe("profileEventKeys", () => {
  it("enqueues the profile, its namespace and its referrers; a status-only update nothing", () => {
    const refs = new ReferenceIndex();
    expect(profileEventKeys(refs, "add", profile("a", 1, ["b"]), undefined)).toEqual(["ns/a", "ns"]);
    expect(profileEventKeys(refs, "add", profile("b", 1), undefined)).toEqual(["ns/b", "ns", "ns/a"]);
    expect(profileEventKeys(refs, "update", profile("b", 1, [], { x: 1 }), profile("b", 1))).toEqual([]);
  });
  it("follows a spec change of the references, and a deletion", () => {
    const refs = new ReferenceIndex();
    profileEventKeys(refs, "add", profile("a", 1, ["b"]), undefined);
    profileEventKeys(refs, "update", profile("a", 2, ["c"]), profile("a", 1, ["b"]));
    expect([...refs.referrers("ns/b")]).toEqual([]);
    expect([...refs.referrers("ns/c")]).toEqual(["ns/a"]);
    profileEventKeys(refs, "delete", profile("a", 2, ["c"]), profile("a", 2, ["c"]));
    expect([...refs.referrers("ns/c")]).toEqual([]);
  });
});

describe("profileEventKeys: a whole namespace admitted", () => {
  const admits = (name: string, ns: string, namespaces: string[]): KubeObjectLike => ({
    metadata: { name, namespace: ns, generation: 1, resourceVersion: "1" },
    spec: { selector: { app: name }, ingress: [{ from: namespaces.map((namespace) => ({ namespace })) }] },
  });
  const inShop = (name: string, generation = 1): KubeObjectLike => ({
    metadata: { name, namespace: "shop", generation, resourceVersion: String(generation) },
    spec: { selector: { app: name } },
  });
  it("records the namespace as <namespace>/*", () => {
    expect([...ReferenceIndex.refs(admits("ledger", "pay", ["shop", "ops"]))]).toEqual(["shop/*", "ops/*"]);
  });
  it("an event on any profile of that namespace reaches the profiles that admit it", () => {
    const refs = new ReferenceIndex();
    profileEventKeys(refs, "add", admits("ledger", "pay", ["shop"]), undefined);
    expect(profileEventKeys(refs, "add", inShop("web"), undefined)).toEqual([
      "shop/web",
      "shop",
      "pay/ledger",
    ]);
    expect(profileEventKeys(refs, "update", inShop("web", 2), inShop("web"))).toEqual([
      "shop/web",
      "shop",
      "pay/ledger",
    ]);
    expect(profileEventKeys(refs, "delete", inShop("web", 2), inShop("web", 2))).toEqual([
      "shop/web",
      "shop",
      "pay/ledger",
    ]);
    // Another namespace's profiles do not reach it.
    expect(
      profileEventKeys(
        refs,
        "add",
        { ...inShop("api"), metadata: { name: "api", namespace: "ops" } },
        undefined,
      ),
    ).toEqual(["ops/api", "ops"]);
  });
});

describe("policyEventKeys (a change to the quarantine alone)", () => {
  const inNs: Record<string, string[]> = { shop: ["cart", "worker"], pay: ["api"] };
  const ctx = {
    namespaces: () => [],
    profilesIn: (ns: string) => (inNs[ns] ?? []).map((name) => ({ metadata: { name, namespace: ns } })),
  };
  const pol = (identities: unknown[]): KubeObjectLike =>
    ({ metadata: { name: "p" }, spec: { quarantine: { identities } } }) as KubeObjectLike;

  it.each([
    ["a profile", [{ profile: "pay/api" }], ["pay/api"]],
    [
      "a ServiceAccount: every profile of its namespace",
      [{ serviceAccount: { namespace: "shop", name: "x" } }],
      ["shop/cart", "shop/worker"],
    ],
    ["a namespace: every profile of it", [{ namespace: "shop" }], ["shop/cart", "shop/worker"]],
    ["a namespace with no profile", [{ namespace: "empty" }], []],
  ])("quarantining %s reaches the quarantine and those profiles, on and off", (_, identities, profiles) => {
    const on = policyEventKeys("update", pol(identities), pol([]), ctx);
    const off = policyEventKeys("update", pol([]), pol(identities), ctx);
    for (const keys of [on, off]) expect([...keys].sort()).toEqual([QUARANTINE_KEY, ...profiles].sort());
  });
});

describe("quarantinedNamespaceKeys", () => {
  const pol = (identities: unknown[]): KubeObjectLike =>
    ({ metadata: { name: "p" }, spec: { quarantine: { identities } } }) as KubeObjectLike;
  const ns = (name: string): KubeObjectLike => ({ metadata: { name } });
  it.each([
    ["add", "shop", [pol([{ namespace: "shop" }])], [QUARANTINE_KEY]],
    ["add", "shop", [pol([{ profile: "pay/api" }]), pol([{ namespace: "shop" }])], [QUARANTINE_KEY]],
    ["add", "pay", [pol([{ namespace: "shop" }])], []],
    ["add", "shop", [pol([{ serviceAccount: { namespace: "shop", name: "x" } }])], []],
    ["update", "shop", [pol([{ namespace: "shop" }])], []],
    ["delete", "shop", [pol([{ namespace: "shop" }])], []],
  ] as const)("%s of namespace %s", (type, name, policies, expected) => {
    expect(quarantinedNamespaceKeys(type, ns(name), policies)).toEqual(expected);
  });
});
