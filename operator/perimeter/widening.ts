// The widening decision for one profile (pure): which objects of its namespace that meshward did not
// create widen what the profile declares, each with one example of what it adds. Inputs in,
// findings out; the operator's caches hold the foreign objects as read.ts strips them.
//
// What the profile declares is what meshward builds for it (declared.ts); each kind is compared by
// its own module: network.ts (NetworkPolicy, L4), istio.ts (AuthorizationPolicy,
// PeerAuthentication, RequestAuthentication), secrets.ts (ExternalSecret, against the governing
// MeshwardPolicies' secrets guardrail). Findings are sorted by kind and name and capped, so a
// tenant cannot grow a profile's status by writing objects.
import { escapeControls } from "../api/escape.ts";
import type { MeshwardPolicy } from "../api/policy.ts";
import type { Profile } from "../api/schema.ts";
import type { BuildContext } from "../builders/context.ts";
import type { KubeObject } from "../builders/index.ts";
import { byString } from "../builders/meta.ts";
import { declaredObjects } from "./declared.ts";
import {
  authorizationWidening,
  type IstioScope,
  peerAuthenticationWidening,
  requestAuthenticationWidening,
} from "./istio.ts";
import { networkWidening } from "./network.ts";
import { externalSecretWidening } from "./secrets.ts";
import type { ForeignObjects, Labels, Widening, WideningFinding } from "./types.ts";

export interface WideningInput {
  /**
   * The profile as meshward builds it: the policy engine's `effective` (guardrails and quarantine
   * applied). A profile that builds nothing (selector overlap) has nothing to widen.
   */
  profile: Profile;
  /** The context the reconciler builds it with (references, mesh mode, `now` for exceptions). */
  ctx: BuildContext;
  /** What the builders made of `profile` with `ctx`, when the caller has it (built again otherwise). */
  built?: readonly KubeObject[];
  /** Labels of the profile's namespace. */
  namespaceLabels: Labels;
  /** Names of the namespace's profiles, for {profile} in key patterns (this one is added). */
  namespaceProfiles: readonly string[];
  /** Every MeshwardPolicy; the engine's rule picks those that govern the namespace. */
  policies: readonly MeshwardPolicy[];
  /** Foreign objects of the profile's namespace (objects of other namespaces are ignored). */
  foreign: ForeignObjects;
}

/** Findings kept per profile; the rest are counted. */
export const MAX_FINDINGS = 8;
/** An example longer than this is cut (names, keys and label values come from tenants). */
export const MAX_EXAMPLE = 300;

/** Keys, names and label values come from tenants: no control character reaches a terminal. */
function clip(raw: string): string {
  const s = escapeControls(raw);
  return s.length > MAX_EXAMPLE ? `${s.slice(0, MAX_EXAMPLE - 1)}…` : s;
}

export function findWidening(input: WideningInput): Widening {
  const { profile, foreign } = input;
  const namespace = profile.metadata.namespace;
  const declared = declaredObjects(profile, input.ctx, input.built);
  const scope: IstioScope = { namespace, selector: profile.spec.selector };
  const found: WideningFinding[] = [];
  const add = (kind: WideningFinding["kind"], name: string, example: string | undefined) => {
    if (example !== undefined) found.push({ kind, namespace, name, example: clip(example) });
  };
  const mine = <T extends { namespace: string }>(xs: readonly T[]) =>
    xs.filter((x) => x.namespace === namespace);

  const networkScope = { ...scope, namespaceLabels: input.namespaceLabels };
  for (const np of mine(foreign.networkPolicies))
    add("NetworkPolicy", np.name, networkWidening(np, declared.networkPolicies, networkScope)?.example);
  for (const ap of mine(foreign.authorizationPolicies))
    add("AuthorizationPolicy", ap.name, authorizationWidening(ap, declared.authorizationPolicies, scope));
  const peerAuthentications = mine(foreign.peerAuthentications);
  for (const pa of peerAuthentications)
    add(
      "PeerAuthentication",
      pa.name,
      peerAuthenticationWidening(pa, peerAuthentications, declared.peerAuthentications, scope),
    );
  for (const ra of mine(foreign.requestAuthentications))
    add("RequestAuthentication", ra.name, requestAuthenticationWidening(ra, declared, scope));
  const secretScope = {
    namespace,
    namespaceLabels: input.namespaceLabels,
    profiles: [...new Set([...input.namespaceProfiles, profile.metadata.name])],
    policies: input.policies,
  };
  for (const es of mine(foreign.externalSecrets))
    add("ExternalSecret", es.name, externalSecretWidening(es, secretScope));

  found.sort((a, b) => byString(a.kind, b.kind) || byString(a.name, b.name));
  return { findings: found.slice(0, MAX_FINDINGS), omitted: Math.max(0, found.length - MAX_FINDINGS) };
}
