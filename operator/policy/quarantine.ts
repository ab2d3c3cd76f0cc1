// Emergency quarantine (pure builders): one DENY AuthorizationPolicy per mesh root namespace for the
// principals of every quarantined identity, and a NetworkPolicy that isolates the pods of each
// quarantined profile (no ingress, egress to cluster DNS only). Quarantine is fleet-wide: every
// policy's list counts, whatever namespaces the policy selects. An empty list builds nothing, so
// lifting a quarantine is deleting what was built (objects carry meshward.io/scope: quarantine).
import { DEFAULT_MESH_ROOT_NAMESPACE, type MeshwardPolicy } from "../api/policy.ts";
import type { Profile } from "../api/schema.ts";
import type { PlatformDefaults } from "../builders/context.ts";
import {
  byString,
  type KubeObject,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  principal,
  SCOPE_LABEL,
  serviceAccountName,
} from "../builders/meta.ts";

export const QUARANTINE_SCOPE = "quarantine";
export const QUARANTINE_NAME = "meshward-quarantine";
const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

export interface QuarantineContext {
  trustDomain: string;
  dns: PlatformDefaults["dns"];
}

function meta(name: string, namespace: string): KubeObject["metadata"] {
  return { name, namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [SCOPE_LABEL]: QUARANTINE_SCOPE } };
}

/** Quarantined principals by mesh root namespace, and the profiles whose pods are isolated. */
export function quarantineTargets(
  policies: readonly MeshwardPolicy[],
  profiles: readonly Profile[],
  trustDomain: string,
): { principals: Map<string, Set<string>>; isolated: Profile[] } {
  const byRef = new Map(profiles.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p]));
  const principals = new Map<string, Set<string>>();
  const isolated = new Map<string, Profile>();
  for (const policy of policies) {
    const q = policy.spec.quarantine;
    if (!q) continue;
    const root = q.meshRootNamespace ?? DEFAULT_MESH_ROOT_NAMESPACE;
    const set = principals.get(root) ?? new Set<string>();
    principals.set(root, set);
    for (const id of q.identities) {
      if (id.profile !== undefined) {
        const [ns = "", name = ""] = id.profile.split("/");
        const p = byRef.get(id.profile);
        // A profile not (yet) known: deny the principal it would have with its default account.
        set.add(principal(trustDomain, ns, p ? serviceAccountName(p) : name));
        if (p) isolated.set(id.profile, p);
      } else if (id.serviceAccount) {
        const { namespace, name } = id.serviceAccount;
        set.add(principal(trustDomain, namespace, name));
        // Pods cannot be selected by account: isolate the profiles that run as it.
        for (const p of profiles)
          if (p.metadata.namespace === namespace && serviceAccountName(p) === name)
            isolated.set(`${namespace}/${p.metadata.name}`, p);
      }
    }
    if (set.size === 0) principals.delete(root);
  }
  const sorted = [...isolated.entries()].sort((a, b) => byString(a[0], b[0])).map(([, p]) => p);
  return { principals, isolated: sorted };
}

export function buildQuarantine(
  policies: readonly MeshwardPolicy[],
  profiles: readonly Profile[],
  ctx: QuarantineContext,
): KubeObject[] {
  const { principals, isolated } = quarantineTargets(policies, profiles, ctx.trustDomain);
  const out: KubeObject[] = [];
  for (const root of [...principals.keys()].sort(byString)) {
    out.push({
      apiVersion: "security.istio.io/v1",
      kind: "AuthorizationPolicy",
      metadata: meta(QUARANTINE_NAME, root),
      // No selector in the root namespace: every workload of the mesh refuses these callers.
      spec: {
        action: "DENY",
        rules: [{ from: [{ source: { principals: [...(principals.get(root) ?? [])].sort(byString) } }] }],
      },
    });
  }
  for (const p of isolated) {
    out.push({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: meta(`${QUARANTINE_NAME}-${p.metadata.name}`, p.metadata.namespace),
      spec: {
        podSelector: { matchLabels: { ...p.spec.selector } },
        policyTypes: ["Ingress", "Egress"],
        egress: [
          {
            to: [
              {
                namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: ctx.dns.namespace } },
                podSelector: { matchLabels: { ...ctx.dns.podSelector } },
              },
            ],
            ports: [
              { protocol: "UDP", port: 53 },
              { protocol: "TCP", port: 53 },
            ],
          },
        ],
      },
    });
  }
  return out;
}
