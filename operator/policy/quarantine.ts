// Emergency quarantine (pure builders): one DENY AuthorizationPolicy per mesh root namespace for the
// principals of every quarantined identity and the sources of every quarantined namespace, and a
// NetworkPolicy that isolates the pods of each quarantined profile (no ingress, egress to cluster DNS
// only). A quarantined namespace also gets, in itself, a DENY of every request to every workload and
// a NetworkPolicy isolating every pod: nothing new in it (an account, an unprofiled pod) escapes. Quarantine is fleet-wide: every
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
/** The root namespace's DENY for waypoints (they enforce only policies attached by targetRefs). */
export const QUARANTINE_WAYPOINTS_NAME = "meshward-quarantine-waypoints";
const WAYPOINT_CLASS_REF = {
  group: "gateway.networking.k8s.io",
  kind: "GatewayClass",
  name: "istio-waypoint",
};
const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

export interface QuarantineContext {
  trustDomain: string;
  dns: PlatformDefaults["dns"];
}

function meta(name: string, namespace: string): KubeObject["metadata"] {
  return { name, namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [SCOPE_LABEL]: QUARANTINE_SCOPE } };
}

export interface QuarantineTargets {
  /** Quarantined principals by mesh root namespace. */
  principals: Map<string, Set<string>>;
  /** Quarantined namespaces (denied as sources) by mesh root namespace. */
  namespaces: Map<string, Set<string>>;
  /** Profiles whose pods are isolated one by one, sorted by reference. */
  isolated: Profile[];
}

function add(m: Map<string, Set<string>>, root: string, value: string): void {
  const set = m.get(root) ?? new Set<string>();
  set.add(value);
  m.set(root, set);
}

function sorted(set: Set<string> | undefined): string[] {
  return [...(set ?? [])].sort(byString);
}

/** What the quarantine of every policy denies and isolates. */
export function quarantineTargets(
  policies: readonly MeshwardPolicy[],
  profiles: readonly Profile[],
  trustDomain: string,
): QuarantineTargets {
  const byRef = new Map(profiles.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p]));
  const principals = new Map<string, Set<string>>();
  const namespaces = new Map<string, Set<string>>();
  const isolated = new Map<string, Profile>();
  for (const policy of policies) {
    const q = policy.spec.quarantine;
    if (!q) continue;
    const root = q.meshRootNamespace ?? DEFAULT_MESH_ROOT_NAMESPACE;
    for (const id of q.identities) {
      if (id.namespace !== undefined) {
        // Its pods are isolated as a whole (podSelector {}), not profile by profile.
        add(namespaces, root, id.namespace);
      } else if (id.profile !== undefined) {
        const [ns = "", name = ""] = id.profile.split("/");
        const p = byRef.get(id.profile);
        // A profile not (yet) known: deny the principal it would have with its default account.
        add(principals, root, principal(trustDomain, ns, p ? serviceAccountName(p) : name));
        if (p) isolated.set(id.profile, p);
      } else if (id.serviceAccount) {
        const { namespace, name } = id.serviceAccount;
        add(principals, root, principal(trustDomain, namespace, name));
        // Pods cannot be selected by account: isolate the profiles that run as it.
        for (const p of profiles)
          if (p.metadata.namespace === namespace && serviceAccountName(p) === name)
            isolated.set(`${namespace}/${p.metadata.name}`, p);
      }
    }
  }
  const bySortedRef = [...isolated.entries()].sort((a, b) => byString(a[0], b[0])).map(([, p]) => p);
  return { principals, namespaces, isolated: bySortedRef };
}

/** The NetworkPolicy spec that isolates the pods selected: no ingress, egress to cluster DNS only. */
function isolation(podSelector: { matchLabels?: Record<string, string> }, dns: QuarantineContext["dns"]) {
  return {
    podSelector,
    policyTypes: ["Ingress", "Egress"],
    egress: [
      {
        to: [
          {
            namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: dns.namespace } },
            podSelector: { matchLabels: { ...dns.podSelector } },
          },
        ],
        ports: [
          { protocol: "UDP", port: 53 },
          { protocol: "TCP", port: 53 },
        ],
      },
    ],
  };
}

export function buildQuarantine(
  policies: readonly MeshwardPolicy[],
  profiles: readonly Profile[],
  ctx: QuarantineContext,
): KubeObject[] {
  const { principals, namespaces, isolated } = quarantineTargets(policies, profiles, ctx.trustDomain);
  const out: KubeObject[] = [];
  const roots = new Set([...principals.keys(), ...namespaces.keys()]);
  for (const root of [...roots].sort(byString)) {
    const rules: object[] = [];
    const denied = sorted(principals.get(root));
    if (denied.length > 0) rules.push({ from: [{ source: { principals: denied } }] });
    // Every principal of the namespace, whatever its ServiceAccount (one created later too).
    const spaces = sorted(namespaces.get(root));
    if (spaces.length > 0) rules.push({ from: [{ source: { namespaces: spaces } }] });
    out.push({
      apiVersion: "security.istio.io/v1",
      kind: "AuthorizationPolicy",
      metadata: meta(QUARANTINE_NAME, root),
      // No selector in the root namespace: every workload of the mesh refuses these callers
      // (sidecars, and ztunnel in ambient namespaces).
      spec: { action: "DENY", rules },
    });
    // Waypoints ignore policies without targetRefs, and behind a waypoint ztunnel sees the
    // waypoint, not the caller: the same DENY, attached in the root namespace to every waypoint
    // of the istio-waypoint class (Istio's pilot/pkg/model/policyattachment.go; ADR 24).
    out.push({
      apiVersion: "security.istio.io/v1",
      kind: "AuthorizationPolicy",
      metadata: meta(QUARANTINE_WAYPOINTS_NAME, root),
      spec: { targetRefs: [WAYPOINT_CLASS_REF], action: "DENY", rules },
    });
  }
  for (const ns of [...new Set([...namespaces.values()].flatMap((s) => [...s]))].sort(byString)) {
    // The root cannot select workloads by namespace: in the namespace itself, every workload
    // refuses every request (a rule with no field matches all).
    out.push({
      apiVersion: "security.istio.io/v1",
      kind: "AuthorizationPolicy",
      metadata: meta(QUARANTINE_NAME, ns),
      spec: { action: "DENY", rules: [{}] },
    });
    out.push({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: meta(QUARANTINE_NAME, ns),
      spec: isolation({}, ctx.dns),
    });
  }
  for (const p of isolated) {
    out.push({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: meta(`${QUARANTINE_NAME}-${p.metadata.name}`, p.metadata.namespace),
      spec: isolation({ matchLabels: { ...p.spec.selector } }, ctx.dns),
    });
  }
  return out;
}
