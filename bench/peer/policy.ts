// The work both sides do in the side-by-side benchmark, and Kyverno's version of it.
//
// A "simple" profile selects `app: <its name>` and admits port 8080 from the gateways namespace.
// meshward turns it into a ServiceAccount, PeerAuthentication, AuthorizationPolicy and NetworkPolicy,
// plus one default-deny NetworkPolicy per namespace. Kyverno's ClusterPolicy is derived from what
// meshward's own builders produce for such a profile (rendered with placeholder names, which become
// Kyverno variables), so both sides create the same objects. Pure: no I/O.
import { API_VERSION, KIND } from "../../operator/api/schema.ts";
import { validateProfile } from "../../operator/api/validate.ts";
import {
  buildNamespaceDefaultDeny,
  buildProfile,
  indexProfiles,
  makeContext,
} from "../../operator/builders/index.ts";
import { MANAGED_BY_LABEL, type KubeObject } from "../../operator/builders/meta.ts";

/** Label that marks the benchmark's namespaces (Kyverno's namespace rule matches it). */
export const PEER_NAMESPACE_LABEL = "meshward.io/bench-peer";
export const POLICY_NAME = "meshward-peer-bench";

export function simpleSpec(app: string) {
  return { selector: { app }, ingress: [{ from: [{ namespace: "gateways" }], ports: [8080] }] };
}

export function simpleProfile(namespace: string, name: string) {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name, namespace },
    spec: simpleSpec(name),
  };
}

/** meshward's objects for one simple profile (what both sides must create), without owner references. */
export function expectedObjects(namespace: string, name: string): KubeObject[] {
  const v = validateProfile(simpleProfile(namespace, name));
  if (!v.ok) throw new Error(`simple profile ${namespace}/${name} is invalid: ${JSON.stringify(v)}`);
  return buildProfile(v.profile, makeContext({ profiles: indexProfiles([v.profile]) })).objects;
}

export function namespaceDefaultDeny(namespace: string): KubeObject {
  return buildNamespaceDefaultDeny(namespace);
}

// Placeholders: lowercase DNS labels, so that the profile validates; each maps to one Kyverno variable.
const PLACEHOLDERS: [string, string][] = [
  ["zzkyvernoname", "{{request.object.metadata.name}}"],
  ["zzkyvernoapp", "{{request.object.spec.selector.app}}"],
  ["zzkyvernons", "{{request.object.metadata.namespace}}"],
];

function substitute(value: unknown): unknown {
  let text = JSON.stringify(value);
  for (const [from, to] of PLACEHOLDERS) text = text.split(from).join(to);
  return JSON.parse(text) as unknown;
}

/** The body of a generate rule's `data`: the object without apiVersion/kind/name/namespace; Kyverno sets managed-by. */
function generateData(o: KubeObject): Record<string, unknown> {
  const { apiVersion: _a, kind: _k, metadata, ...rest } = o;
  const labels = { ...(metadata.labels ?? {}) };
  delete labels[MANAGED_BY_LABEL];
  return { ...(Object.keys(labels).length > 0 ? { metadata: { labels } } : {}), ...rest };
}

function generateRule(
  name: string,
  match: Record<string, unknown>,
  o: KubeObject,
  nameVar: string,
  nsVar: string,
) {
  return {
    name,
    match: { any: [{ resources: match }] },
    generate: {
      apiVersion: o.apiVersion,
      kind: o.kind,
      name: nameVar,
      namespace: nsVar,
      synchronize: true,
      data: generateData(o),
    },
  };
}

/**
 * One ClusterPolicy: a generate rule (data, synchronize: true) per object of a profile, triggered by
 * ServiceSecurityProfiles, and the namespace default deny triggered by namespaces that carry
 * PEER_NAMESPACE_LABEL (the usual Kyverno way: "every namespace gets a default deny").
 */
export function kyvernoPolicy(): Record<string, unknown> {
  const profile = {
    ...simpleProfile("zzkyvernons", "zzkyvernoname"),
    spec: simpleSpec("zzkyvernoapp"),
  };
  const v = validateProfile(profile);
  if (!v.ok) throw new Error("placeholder profile is invalid");
  const objects = buildProfile(v.profile, makeContext({ profiles: indexProfiles([v.profile]) })).objects;
  const profileMatch = { kinds: [`${API_VERSION}/${KIND}`] };
  const rules = objects.map((o) =>
    substitute(
      generateRule(
        `profile-${o.kind.toLowerCase()}`,
        profileMatch,
        o,
        o.metadata.name,
        o.metadata.namespace as string,
      ),
    ),
  );
  const deny = buildNamespaceDefaultDeny("zzkyvernons");
  rules.push({
    ...generateRule(
      "namespace-default-deny",
      { kinds: ["Namespace"], selector: { matchLabels: { [PEER_NAMESPACE_LABEL]: "true" } } },
      deny,
      deny.metadata.name,
      "{{request.object.metadata.name}}",
    ),
  });
  return {
    apiVersion: "kyverno.io/v1",
    kind: "ClusterPolicy",
    metadata: { name: POLICY_NAME },
    spec: { background: true, rules },
  };
}
