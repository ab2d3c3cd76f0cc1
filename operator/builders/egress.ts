// Egress by host name (pure, no I/O): what a profile's `egress.to[].host` entries need besides the
// NetworkPolicy (docs/egress.md, docs/adr/0025-egress-by-host.md).
//
// - One Istio ServiceEntry per host, exported to the profile's namespace only (MESH_EXTERNAL; DNS
//   resolution, NONE for a wildcard), with exactly the ports and protocols the profile declares.
// - Sidecar mode: a Sidecar for the profile's pods with outboundTrafficPolicy REGISTRY_ONLY, so a
//   host nobody declared fails at the pod's own proxy; its egress hosts are the namespace's
//   services (the ServiceEntries among them), the mesh root's and those of the namespaces of the
//   services the profile calls.
// - Ambient mode: no Sidecar (no proxy in the pod reads one); the ServiceEntry is bound to the
//   platform's egress waypoint (istio.io/use-waypoint and istio.io/use-waypoint-namespace), as
//   Istio documents ambient egress, and exported to the waypoint's namespace as well.
// - The NetworkPolicy rules that admit the egress path (hostEgressRules): in sidecar mode any
//   address outside the cluster's and private ranges on the declared ports only (the sidecar
//   connects to the host's addresses, which a NetworkPolicy cannot name); in ambient mode only
//   HBONE to the egress waypoint's pods.
import { createHash } from "node:crypto";
import type { V1NetworkPolicyEgressRule, V1NetworkPolicyPeer } from "@kubernetes/client-node";
import { type HostProtocol, hostProtocolOf, type Profile } from "../api/schema.ts";
import type { Problem } from "../api/validate.ts";
import type { BuildContext, PlatformDefaults } from "./context.ts";
import { byString, childMeta, type KubeObject } from "./meta.ts";
import { parseServiceRef } from "./references.ts";

/** Istio's binding of a ServiceEntry to a waypoint, and the waypoint's namespace when elsewhere. */
export const USE_WAYPOINT_LABEL = "istio.io/use-waypoint";
export const USE_WAYPOINT_NAMESPACE_LABEL = "istio.io/use-waypoint-namespace";
/** The Gateway API label on a Gateway's pods (the egress waypoint's pods). */
const GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name";
const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";
const HBONE_PORT = 15008;
const MAX_NAME = 253;

export interface HostPort {
  port: number;
  protocol: HostProtocol;
}

export interface DeclaredHost {
  host: string;
  ports: HostPort[];
  /** The egress.to entries that name it. */
  entries: number[];
}

export interface ServiceEntrySpec {
  hosts: string[];
  exportTo: string[];
  location: "MESH_EXTERNAL";
  resolution: "DNS" | "NONE";
  ports: { number: number; name: string; protocol: HostProtocol }[];
}

export interface SidecarSpec {
  workloadSelector: { labels: Record<string, string> };
  outboundTrafficPolicy: { mode: "REGISTRY_ONLY" };
  egress: { hosts: string[] }[];
}

export type ServiceEntry = KubeObject & { spec: ServiceEntrySpec };
export type Sidecar = KubeObject & { spec: SidecarSpec };

export function isWildcard(host: string): boolean {
  return host.startsWith("*.");
}

/**
 * The hosts a profile declares, sorted, each with the union of its entries' ports. A port declared
 * twice with different protocols keeps the first, and the second entry gets a warning.
 */
export function declaredHosts(profile: Profile, problems: Problem[] = []): DeclaredHost[] {
  const byHost = new Map<string, DeclaredHost>();
  (profile.spec.egress?.to ?? []).forEach((t, i) => {
    if (t.host === undefined) return;
    const d = byHost.get(t.host) ?? { host: t.host, ports: [], entries: [] };
    d.entries.push(i);
    const protocol = hostProtocolOf(t);
    for (const port of t.ports ?? []) {
      const seen = d.ports.find((p) => p.port === port);
      if (!seen) d.ports.push({ port, protocol });
      else if (seen.protocol !== protocol)
        problems.push({
          path: `spec.egress.to[${i}].protocol`,
          message: `${t.host} port ${port} is declared as ${seen.protocol} in another entry and as ${protocol} here; Istio knows one protocol per port: keep one of the two (${seen.protocol} is applied)`,
          severity: "warning",
        });
    }
    byHost.set(t.host, d);
  });
  return [...byHost.values()]
    .map((d) => ({ ...d, ports: [...d.ports].sort((a, b) => a.port - b.port) }))
    .sort((a, b) => byString(a.host, b.host));
}

/**
 * The ServiceEntry's name: <profile>-egress.<host> (a wildcard's '*.' written as -egress-any.),
 * readable and distinct per host, since profile names hold no dots; hashed when too long.
 */
export function serviceEntryName(profile: string, host: string): string {
  const name = isWildcard(host) ? `${profile}-egress-any.${host.slice(2)}` : `${profile}-egress.${host}`;
  if (name.length <= MAX_NAME) return name;
  const hash = createHash("sha256").update(host).digest("hex").slice(0, 16);
  return `${profile}-egress-${hash}`;
}

function portName(p: HostPort): string {
  return `${p.protocol.toLowerCase()}-${p.port}`;
}

export function buildServiceEntries(
  profile: Profile,
  ctx: BuildContext,
  hosts: DeclaredHost[],
): ServiceEntry[] {
  const { waypoint } = ctx.defaults.egress;
  const ambient = ctx.meshMode === "ambient";
  return hosts.map((h) => {
    const meta = childMeta(profile, serviceEntryName(profile.metadata.name, h.host));
    if (ambient)
      meta.labels = {
        ...meta.labels,
        [USE_WAYPOINT_LABEL]: waypoint.name,
        [USE_WAYPOINT_NAMESPACE_LABEL]: waypoint.namespace,
      };
    const exportTo =
      ambient && waypoint.namespace !== profile.metadata.namespace ? [".", waypoint.namespace] : ["."];
    return {
      apiVersion: "networking.istio.io/v1",
      kind: "ServiceEntry",
      metadata: meta,
      spec: {
        hosts: [h.host],
        exportTo,
        location: "MESH_EXTERNAL",
        resolution: isWildcard(h.host) ? "NONE" : "DNS",
        ports: h.ports.map((p) => ({ number: p.port, name: portName(p), protocol: p.protocol })),
      },
    };
  });
}

/** The namespaces of the services the profile calls (besides its own), sorted. */
function calledNamespaces(profile: Profile): string[] {
  const own = profile.metadata.namespace;
  const out = new Set<string>();
  for (const t of profile.spec.egress?.to ?? []) {
    if (t.service === undefined) continue;
    const ns = parseServiceRef(t.service, own).namespace;
    if (ns !== own) out.add(ns);
  }
  return [...out].sort(byString);
}

export function buildEgressSidecar(profile: Profile, defaults: PlatformDefaults): Sidecar {
  const root = defaults.egress.meshRootNamespace;
  const hosts = [
    "./*",
    `${root}/*`,
    ...calledNamespaces(profile)
      .filter((n) => n !== root)
      .map((n) => `${n}/*`),
  ];
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "Sidecar",
    metadata: childMeta(profile, profile.metadata.name),
    spec: {
      workloadSelector: { labels: { ...profile.spec.selector } },
      outboundTrafficPolicy: { mode: "REGISTRY_ONLY" },
      egress: [{ hosts }],
    },
  };
}

/**
 * The objects a profile's host entries need (none without one): the ServiceEntries and, in sidecar
 * mode, the Sidecar. Problems go to `problems`.
 */
export function buildEgress(profile: Profile, ctx: BuildContext, problems: Problem[]): KubeObject[] {
  const hosts = declaredHosts(profile, problems);
  if (hosts.length === 0) return [];
  const objects: KubeObject[] = buildServiceEntries(profile, ctx, hosts);
  if (ctx.meshMode === "sidecar") {
    objects.push(buildEgressSidecar(profile, ctx.defaults));
    (profile.spec.egress?.to ?? []).forEach((t, i) => {
      if (t.cidr === undefined || (t.protocol !== undefined && t.protocol !== "TCP")) return;
      problems.push({
        path: `spec.egress.to[${i}].cidr`,
        message: `with host entries the pods' sidecar admits only registered destinations (REGISTRY_ONLY), so TCP to ${t.cidr} is refused by the sidecar although the NetworkPolicy admits it: name the destination by host, or move the host entries to a profile of their own`,
        severity: "warning",
      });
    });
  }
  return objects;
}

function ipBlocks(clusterCidrs: readonly string[]): V1NetworkPolicyPeer[] {
  const v4 = clusterCidrs.filter((c) => !c.includes(":"));
  const v6 = clusterCidrs.filter((c) => c.includes(":"));
  return [
    { ipBlock: v4.length > 0 ? { cidr: "0.0.0.0/0", except: v4 } : { cidr: "0.0.0.0/0" } },
    { ipBlock: v6.length > 0 ? { cidr: "::/0", except: v6 } : { cidr: "::/0" } },
  ];
}

/**
 * The NetworkPolicy egress rules for the host entries: sidecar mode, addresses outside the
 * cluster's ranges on the ports the host entries declare (TCP); ambient mode, one rule, HBONE to the egress
 * waypoint's pods (ztunnel carries every host's traffic there).
 */
export function hostEgressRules(profile: Profile, ctx: BuildContext): V1NetworkPolicyEgressRule[] {
  const entries = (profile.spec.egress?.to ?? []).filter((t) => t.host !== undefined);
  if (entries.length === 0) return [];
  if (ctx.meshMode === "ambient") {
    const { waypoint } = ctx.defaults.egress;
    return [
      {
        to: [
          {
            namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: waypoint.namespace } },
            podSelector: { matchLabels: { [GATEWAY_NAME_LABEL]: waypoint.name } },
          },
        ],
        ports: [{ protocol: "TCP", port: HBONE_PORT }],
      },
    ];
  }
  // One rule: every host entry has the same peer, so the union of their ports is what they ask.
  const ports = [...new Set(entries.flatMap((t) => t.ports ?? []))].sort((a, b) => a - b);
  return [
    {
      to: ipBlocks(ctx.defaults.egress.clusterCidrs),
      ports: ports.map((port) => ({ protocol: "TCP", port })),
    },
  ];
}
