import { describe, expect, it } from "vitest";
import { policy } from "../../test-support/fixtures/policy.ts";
import { type AccountLookup, identityStatuses, namedAccounts } from "./identities.ts";

const argocd = { serviceAccount: { namespace: "argocd", name: "argocd-application-controller" } };
const withIds = (name: string, platformIdentities?: object[]) =>
  policy(name, { perimeter: { mode: "Deny", ...(platformIdentities && { platformIdentities }) } });

describe("identityStatuses", () => {
  const lookups: [string, AccountLookup, string, string[]][] = [
    [
      "a ServiceAccount that exists",
      { state: "found" },
      "Found",
      ["ServiceAccount argocd/argocd-application-controller exists"],
    ],
    [
      "a ServiceAccount that does not exist",
      { state: "missing" },
      "NotFound",
      [
        "no ServiceAccount argocd-application-controller exists in namespace argocd",
        "the admission policies trust the name anyway, so whoever creates it there gets the platform's rights",
        "kubectl get serviceaccounts -n argocd",
        "or remove the entry",
      ],
    ],
    [
      "a ServiceAccount the operator may not read",
      { state: "unknown", why: "may not list ServiceAccounts in argocd" },
      "Unchecked",
      [
        "not checked: the operator may not list ServiceAccounts in argocd",
        "the admission policies trust the name whether or not it exists",
      ],
    ],
  ];
  it.each(lookups)("%s", (_what, lookup, state, says) => {
    const asked: string[] = [];
    const r = identityStatuses(withIds("p", [argocd]), (ns, name) => {
      asked.push(`${ns}/${name}`);
      return lookup;
    });
    expect(asked).toEqual(["argocd/argocd-application-controller"]);
    expect(r).toHaveLength(1);
    expect(r?.[0]).toMatchObject({ identity: "serviceAccount:argocd/argocd-application-controller", state });
    for (const s of says) expect(r?.[0]?.message).toContain(s);
  });

  it("users and groups are Unchecked and never looked up, in spec order", () => {
    const r = identityStatuses(
      withIds("p", [{ user: "alice@example.com" }, { group: "platform-admins" }, argocd]),
      (ns, name) =>
        ns === "argocd" && name === "argocd-application-controller"
          ? { state: "found" }
          : { state: "missing" },
    );
    expect(r?.map((i) => [i.identity, i.state])).toEqual([
      ["user:alice@example.com", "Unchecked"],
      ["group:platform-admins", "Unchecked"],
      ["serviceAccount:argocd/argocd-application-controller", "Found"],
    ]);
    expect(r?.[0]?.message).toContain("a user has no API object to look up");
    expect(r?.[1]?.message).toContain("a group has no API object to look up");
    expect(r?.[1]?.message).toContain(
      "requests authenticated as group:platform-admins may write the locked kinds",
    );
  });

  it("has nothing to say for a policy without platform identities", () => {
    const never = (): AccountLookup => {
      throw new Error("looked up");
    };
    expect(identityStatuses(withIds("p"), never)).toBeUndefined();
    expect(identityStatuses(withIds("p", []), never)).toBeUndefined();
    expect(identityStatuses(policy("p", {}), never)).toBeUndefined();
  });
});

describe("namedAccounts", () => {
  it("collects the ServiceAccounts of every perimeter, unique and sorted; users and groups are not watched", () => {
    const r = namedAccounts([
      withIds("a", [argocd, { group: "g" }, { serviceAccount: { namespace: "flux", name: "kustomize" } }]),
      withIds("b", [argocd, { user: "u" }]),
      policy("c", {}),
    ]);
    expect(r).toEqual({
      watched: ["argocd/argocd-application-controller", "flux/kustomize"],
      unwatched: [],
    });
  });

  it("watches at most `max`; the rest are named as unwatched", () => {
    const ids = ["d", "a", "c", "b"].map((n) => ({ serviceAccount: { namespace: "ns", name: n } }));
    expect(namedAccounts([withIds("p", ids)], 2)).toEqual({
      watched: ["ns/a", "ns/b"],
      unwatched: ["ns/c", "ns/d"],
    });
  });
});
