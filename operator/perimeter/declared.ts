// meshward's own side of the comparison: the objects it builds for a profile, made by the builders
// (the single source of truth for what a profile declares) and read like foreign ones (read.ts).
// Pure.
import type { Profile } from "../api/schema.ts";
import type { BuildContext } from "../builders/context.ts";
import { buildProfile, type KubeObject } from "../builders/index.ts";
import { buildNamespaceDefaultDeny } from "../builders/network.ts";
import {
  readAuthorizationPolicy,
  readNetworkPolicy,
  readPeerAuthentication,
  readRequestAuthentication,
} from "./read.ts";
import type {
  AuthorizationPolicyInput,
  NetworkPolicyInput,
  PeerAuthenticationInput,
  RequestAuthenticationInput,
} from "./types.ts";

export interface Declared {
  /** The profile's NetworkPolicy and the namespace's default deny. */
  networkPolicies: NetworkPolicyInput[];
  authorizationPolicies: AuthorizationPolicyInput[];
  peerAuthentications: PeerAuthenticationInput[];
  requestAuthentications: RequestAuthenticationInput[];
}

function defined<T>(xs: (T | undefined)[]): T[] {
  return xs.filter((x): x is T => x !== undefined);
}

/**
 * What meshward builds for `profile`: pass the profile as meshward builds it (the policy engine's
 * `effective`, where guardrails and quarantine have already removed what they refuse), and the
 * context the reconciler builds it with (references, mesh mode, exceptions at `now`). `objects`:
 * what the builders already made of it, when the caller has them (the reconciler does).
 */
export function declaredObjects(
  profile: Profile,
  ctx: BuildContext,
  objects: readonly KubeObject[] = buildProfile(profile, ctx).objects,
): Declared {
  const of = (kind: string) => objects.filter((o) => o.kind === kind);
  return {
    networkPolicies: defined(
      [...of("NetworkPolicy"), buildNamespaceDefaultDeny(profile.metadata.namespace)].map(readNetworkPolicy),
    ),
    authorizationPolicies: defined(of("AuthorizationPolicy").map(readAuthorizationPolicy)),
    peerAuthentications: defined(of("PeerAuthentication").map(readPeerAuthentication)),
    requestAuthentications: defined(of("RequestAuthentication").map(readRequestAuthentication)),
  };
}
