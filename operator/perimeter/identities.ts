// The perimeter's platform identities in a MeshwardPolicy's status (pure). The admission policies
// trust an identity by name, whether or not it exists; a ServiceAccount that does not exist is most
// likely a mistyped name, and whoever may later create a ServiceAccount of that name in that
// namespace gets the platform's rights. Users and groups have no API object: they cannot be checked.
// The operator watches each named ServiceAccount (operator/reconcile/identities.ts), at most
// MAX_WATCHED_ACCOUNTS across every policy.
import type { IdentityStatus, MeshwardPolicy, PlatformIdentity } from "../api/policy.ts";
import { byString } from "../builders/meta.ts";

/**
 * How many named ServiceAccounts the operator watches, across every policy (one watch each, the
 * most one policy may name). Beyond that the rest are reported Unchecked.
 */
export const MAX_WATCHED_ACCOUNTS = 32;

/** What the operator knows of one ServiceAccount. */
export type AccountLookup =
  | { state: "found" }
  | { state: "missing" }
  /** Not known: why, in words that finish "the operator …". */
  | { state: "unknown"; why: string };

export function accountKey(sa: { namespace: string; name: string }): string {
  return `${sa.namespace}/${sa.name}`;
}

/** The identity as the status names it: user:<name>, group:<name>, serviceAccount:<namespace>/<name>. */
export function identityName(i: PlatformIdentity): string {
  if (i.serviceAccount) return `serviceAccount:${accountKey(i.serviceAccount)}`;
  if (i.group !== undefined) return `group:${i.group}`;
  return `user:${i.user ?? ""}`;
}

/**
 * The ServiceAccounts the policies' perimeters name, sorted and unique: the first
 * MAX_WATCHED_ACCOUNTS are watched, the rest are not.
 */
export function namedAccounts(
  policies: readonly MeshwardPolicy[],
  max = MAX_WATCHED_ACCOUNTS,
): { watched: string[]; unwatched: string[] } {
  const all = new Set<string>();
  for (const p of policies)
    for (const i of p.spec.perimeter?.platformIdentities ?? [])
      if (i.serviceAccount) all.add(accountKey(i.serviceAccount));
  const sorted = [...all].sort(byString);
  return { watched: sorted.slice(0, max), unwatched: sorted.slice(max) };
}

/**
 * Each platform identity of the policy with its state and a message saying what it means and what
 * to write instead; undefined when the policy names none. `lookup` tells what the operator knows of
 * a ServiceAccount. Nothing here changes what the admission policies trust.
 */
export function identityStatuses(
  policy: MeshwardPolicy,
  lookup: (namespace: string, name: string) => AccountLookup,
): IdentityStatus[] | undefined {
  const ids = policy.spec.perimeter?.platformIdentities;
  if (!ids || ids.length === 0) return undefined;
  return ids.map((i) => {
    const identity = identityName(i);
    if (!i.serviceAccount) {
      const what = i.group !== undefined ? "a group" : "a user";
      return {
        identity,
        state: "Unchecked" as const,
        message: `${what} has no API object to look up: requests authenticated as ${identity} may write the locked kinds; check the spelling against your identity provider`,
      };
    }
    const { namespace, name } = i.serviceAccount;
    const found = lookup(namespace, name);
    if (found.state === "found")
      return {
        identity,
        state: "Found" as const,
        message: `ServiceAccount ${namespace}/${name} exists; its requests may write the locked kinds`,
      };
    if (found.state === "missing")
      return {
        identity,
        state: "NotFound" as const,
        message: `no ServiceAccount ${name} exists in namespace ${namespace}: the admission policies trust the name anyway, so whoever creates it there gets the platform's rights; check the name (kubectl get serviceaccounts -n ${namespace}) and write the one your platform tool runs as, or remove the entry`,
      };
    return {
      identity,
      state: "Unchecked" as const,
      message: `not checked: the operator ${found.why}; the admission policies trust the name whether or not it exists`,
    };
  });
}
