// The Services of the watched namespaces, as much as the waypoint binding check needs (ambient
// mode): each Service's name and its istio.io/use-waypoint label, nothing else. meshward never
// writes a Service; it reports a missing binding with the command to run (docs/ambient.md).
import { USE_WAYPOINT_LABEL } from "../builders/ambient.ts";
import { identityMetadata, type KubeObjectLike, type Resource } from "../runtime/client.ts";
import type { InformerEventType } from "../runtime/informer.ts";
import type { NamespacedInformers } from "../runtime/multi.ts";

export const SERVICES: Resource = {
  group: "",
  version: "v1",
  plural: "services",
  kind: "Service",
  namespaced: true,
};

/** The cached form of a Service: its identity and the waypoint label, when it has one. */
export function leanService(o: KubeObjectLike): KubeObjectLike {
  const m = o.metadata ?? {};
  const metadata = identityMetadata(o);
  const value = m.labels?.[USE_WAYPOINT_LABEL];
  if (typeof value === "string") metadata.labels = { [USE_WAYPOINT_LABEL]: value };
  return { apiVersion: "v1", kind: "Service", metadata };
}

/**
 * Keys for an event on a Service: the profiles of its namespace, when the Service appears, goes, or
 * its waypoint label changes (any other update: none, so a Service's churn costs nothing).
 */
export function serviceEventKeys(
  type: InformerEventType,
  obj: KubeObjectLike,
  old: KubeObjectLike | undefined,
  profilesIn: (namespace: string) => Iterable<KubeObjectLike>,
): string[] {
  const ns = obj.metadata?.namespace;
  if (!ns) return [];
  if (
    type === "update" &&
    obj.metadata?.labels?.[USE_WAYPOINT_LABEL] === old?.metadata?.labels?.[USE_WAYPOINT_LABEL]
  )
    return [];
  const out: string[] = [];
  for (const p of profilesIn(ns)) out.push(`${ns}/${p.metadata?.name ?? ""}`);
  return out;
}

/** A Service's labels from the cache; undefined: no such Service; null: the cache does not know. */
export function serviceOf(
  services: NamespacedInformers<KubeObjectLike>,
  namespace: string,
  name: string,
): { labels: Readonly<Record<string, string>> } | undefined | null {
  if (services.state !== "synced") return null;
  const s = services.get(namespace, name);
  return s ? { labels: s.metadata?.labels ?? {} } : undefined;
}
