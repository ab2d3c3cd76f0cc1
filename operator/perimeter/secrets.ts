// ExternalSecrets a tenant writes itself, against the platform's secrets guardrail (pure). A
// profile's own secrets are checked by the policy engine (operator/policy/guardrails.ts); one
// written beside them reads through the same stores, so it widens what the namespace may read
// when a governing MeshwardPolicy would refuse that store or key to a profile of the namespace.
// With no governing policy setting guardrails.secrets nothing is refused, so nothing widens.
//
// Policies combine as in the engine: each governing policy must allow the store and the key, in
// Enforce or Audit alike (this is a report, not an enforcement).
//
// {profile} in a key pattern: a foreign ExternalSecret belongs to no profile. A key counts as
// allowed when one profile P of the namespace could have declared it, that is when every governing
// policy allows it with {profile} standing for the same existing P; a pattern with {profile} allows
// nothing when the namespace has no profile. Reading a key that a profile of the same namespace may
// read does not cross the namespace's boundary; reading one no profile there may read does.
import type { MeshwardPolicy } from "../api/policy.ts";
import { governingPolicies } from "../policy/combine.ts";
import { keyMatches } from "../policy/patterns.ts";
import type { ExternalSecretInput, Labels, SecretRead, StoreRef } from "./types.ts";

export interface SecretScope {
  namespace: string;
  namespaceLabels: Labels;
  /** Names of the namespace's profiles, for {profile} in key patterns. */
  profiles: readonly string[];
  /** Every MeshwardPolicy; those that govern the namespace are picked as the engine picks them. */
  policies: readonly MeshwardPolicy[];
}

type Allowance = NonNullable<NonNullable<MeshwardPolicy["spec"]["guardrails"]>["secrets"]>["stores"][number];

function allowance(p: MeshwardPolicy, store: StoreRef): Allowance | undefined {
  return p.spec.guardrails?.secrets?.stores.find((a) => a.kind === store.kind && a.name === store.name);
}

function names(ps: readonly MeshwardPolicy[]): string {
  return ps.map((p) => p.metadata.name).join(", ");
}

/** The policy allows `key` from the store with {profile} standing for `profile` (none: no such pattern). */
function keyAllowed(
  p: MeshwardPolicy,
  store: StoreRef,
  key: string,
  namespace: string,
  profile?: string,
): boolean {
  const keys = allowance(p, store)?.keys ?? [];
  return keys.some(
    (k) =>
      (profile !== undefined || !k.includes("{profile}")) &&
      keyMatches(k, key, { namespace, profile: profile ?? "" }),
  );
}

/** A pattern that matches every key: a search of the store reads nothing the policy forbids. */
function allowsEveryKey(p: MeshwardPolicy, store: StoreRef): boolean {
  return (allowance(p, store)?.keys ?? []).some((k) => /^[*]+$/.test(k));
}

function readWidening(
  read: SecretRead,
  ruled: readonly MeshwardPolicy[],
  scope: SecretScope,
): string | undefined {
  if (read.kind === "generator") {
    // A namespaced generator runs with what the namespace holds; a ClusterGenerator is a platform
    // credential, and the guardrail lists stores only.
    if (read.generator.kind !== "ClusterGenerator") return undefined;
    return `${read.path} uses ClusterGenerator ${read.generator.name}, which the secrets guardrail of MeshwardPolicy ${names(ruled)} does not list (it allows stores only)`;
  }
  const store = `${read.store.kind} ${read.store.name}`;
  const noStore = ruled.filter((p) => allowance(p, read.store) === undefined);
  const what = read.kind === "key" ? `remote key "${read.key}"` : `a search (${read.filter})`;
  if (noStore.length > 0)
    return `${read.path} reads ${what} from ${store}, which MeshwardPolicy ${names(noStore)} does not allow in namespace ${scope.namespace}`;
  if (read.kind === "find") {
    const limited = ruled.filter((p) => !allowsEveryKey(p, read.store));
    if (limited.length === 0) return undefined;
    return `${read.path} searches ${store} (${read.filter}), which can return keys MeshwardPolicy ${names(limited)} does not allow in namespace ${scope.namespace} (only a store whose allowed keys are "*" may be searched)`;
  }
  const candidates: (string | undefined)[] = scope.profiles.length > 0 ? [...scope.profiles] : [undefined];
  const allowed = candidates.some((profile) =>
    ruled.every((p) => keyAllowed(p, read.store, read.key, scope.namespace, profile)),
  );
  if (allowed) return undefined;
  const refusing = ruled.filter(
    (p) => !candidates.some((profile) => keyAllowed(p, read.store, read.key, scope.namespace, profile)),
  );
  return `${read.path} reads remote key "${read.key}" from ${store}, which MeshwardPolicy ${names(refusing.length > 0 ? refusing : ruled)} does not allow to any profile of namespace ${scope.namespace}`;
}

/** The first read of a foreign ExternalSecret that a governing secrets guardrail refuses, or undefined. */
export function externalSecretWidening(es: ExternalSecretInput, scope: SecretScope): string | undefined {
  if (es.namespace !== scope.namespace) return undefined;
  const ruled = governingPolicies(scope.policies, scope.namespaceLabels).filter(
    (p) => p.spec.guardrails?.secrets !== undefined,
  );
  if (ruled.length === 0) return undefined;
  for (const read of es.reads) {
    const why = readWidening(read, ruled, scope);
    if (why !== undefined) return why;
  }
  return undefined;
}
