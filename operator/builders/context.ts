// What the builders need besides the profile itself. Everything is passed in: builders do no I/O.
import type { VaultIdentityStore } from "../api/policy.ts";
import type { AccessLogMode, Profile } from "../api/schema.ts";

export type MeshMode = "sidecar" | "ambient";

/** Platform-wide settings a platform team may change (Helm values, operator flags). */
export interface PlatformDefaults {
  /** ExternalSecret refresh interval when a secret sets none. */
  secretRefreshInterval: string;
  /** Exceptions may expire at most this many days ahead; later ones are not honoured. */
  maxExceptionDays: number;
  /** Where cluster DNS runs (egress allowed on port 53 UDP and TCP). */
  dns: { namespace: string; podSelector: Record<string, string> };
  /** Where istiod runs (sidecars need egress to it on 15012). */
  istiod: { namespace: string; podSelector: Record<string, string> };
  /**
   * Access logs (an Istio Telemetry) for profiles that do not set spec.audit.accessLogs. The
   * extension point for a platform policy's default (docs/audit.md).
   */
  accessLogs: AccessLogMode;
  /**
   * Egress by host in ambient mode: the egress waypoint (a Gateway of class istio-waypoint that
   * the platform team runs) every ServiceEntry is bound to, and the namespace Istio's root config
   * lives in (the Sidecar's egress keeps it reachable). docs/egress.md.
   */
  egress: {
    waypoint: { namespace: string; name: string };
    meshRootNamespace: string;
    /**
     * Sidecar mode: ranges the NetworkPolicy never opens for a host (the cluster's own and private
     * networks, link-local with the cloud metadata address); the rest, on the declared ports only.
     */
    clusterCidrs: string[];
  };
}

export const DEFAULT_PLATFORM: PlatformDefaults = {
  secretRefreshInterval: "1h",
  maxExceptionDays: 90,
  dns: { namespace: "kube-system", podSelector: { "k8s-app": "kube-dns" } },
  istiod: { namespace: "istio-system", podSelector: { app: "istiod" } },
  // Opt-in: existing fleets get no new objects on upgrade, and a mesh that already logs every
  // request (meshConfig.accessLogFile) would log each one twice (docs/audit.md).
  accessLogs: "Disabled",
  egress: {
    waypoint: { namespace: "istio-egress", name: "waypoint" },
    meshRootNamespace: "istio-system",
    clusterCidrs: [
      "10.0.0.0/8",
      "100.64.0.0/10",
      "169.254.0.0/16",
      "172.16.0.0/12",
      "192.168.0.0/16",
      "fc00::/7",
      "fe80::/10",
    ],
  },
};

export interface BuildContext {
  /** SPIFFE trust domain of the mesh, e.g. cluster.local. */
  trustDomain: string;
  meshMode: MeshMode;
  /** Profiles that references may point to, by "namespace/name". */
  profiles: ReadonlyMap<string, Profile>;
  defaults: PlatformDefaults;
  /** The current time, for exception expiry. */
  now: Date;
  /**
   * The identity stores the profile's governing policies define (MeshwardPolicy
   * spec.secretIdentity.stores), by name; the policy engine resolves them per profile.
   */
  identityStores?: Readonly<Record<string, { vault: VaultIdentityStore }>>;
}

export function profileKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function indexProfiles(profiles: Iterable<Profile>): Map<string, Profile> {
  const m = new Map<string, Profile>();
  for (const p of profiles) m.set(profileKey(p.metadata.namespace, p.metadata.name), p);
  return m;
}

export function makeContext(partial: Partial<BuildContext> = {}): BuildContext {
  return {
    trustDomain: partial.trustDomain ?? "cluster.local",
    meshMode: partial.meshMode ?? "sidecar",
    profiles: partial.profiles ?? new Map(),
    defaults: partial.defaults ?? DEFAULT_PLATFORM,
    now: partial.now ?? new Date(),
    ...(partial.identityStores && { identityStores: partial.identityStores }),
  };
}
