// The reconciler's reads, from the informers' caches, and what those caches keep: a transform
// strips what no reader needs before an object is cached, and indexes find a profile's objects
// and a namespace's profiles without scanning a cache (ADR 7).
import type { KubeObjectLike } from "../runtime/client.ts";
import type { Informer } from "../runtime/informer.ts";
import { Interner } from "../runtime/intern.ts";
import type { NamespacedInformers } from "../runtime/multi.ts";
import { ownerKey } from "./mapping.ts";
import type { ChildKind } from "./kinds.ts";
import type { Cluster } from "./cluster.ts";

/** Index of child objects by owning profile ("namespace/name"), or namespace for shared objects. */
export const BY_OWNER = "owner";
/** Index of profiles by namespace. */
export const BY_NAMESPACE = "namespace";

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

/**
 * The cached form of an object. Dropped: managedFields (kept: the managers' names, for Conflict
 * messages), kubectl's last-applied annotation (a copy of the whole object), and the status unless
 * `keepStatus` (a profile's status is its previous state; ExternalSecret's status is read for secret
 * health). Kept: everything drift detection compares (metadata, spec and the top-level fields
 * meshward sets).
 */
export function leanObject(obj: KubeObjectLike, keepStatus: boolean, strings?: Interner): KubeObjectLike {
  const meta = obj.metadata;
  if (!meta) return strings ? strings.tree(obj) : obj;
  const { managedFields, annotations, ...rest } = meta;
  const out: KubeObjectLike = { ...obj, metadata: rest };
  if (!keepStatus) delete out.status;
  const managers = [...new Set((managedFields ?? []).map((m) => m.manager).filter((m) => !!m))];
  if (managers.length > 0)
    out.metadata = { ...rest, managedFields: managers.map((manager) => ({ manager })) };
  if (annotations) {
    const kept = { ...annotations };
    delete kept[LAST_APPLIED];
    if (Object.keys(kept).length > 0) out.metadata = { ...out.metadata, annotations: kept };
  }
  return strings ? strings.tree(out) : out;
}

/**
 * The interner the caches share (see runtime/intern.ts): values repeated across objects and kinds
 * (apiVersions, kinds, namespaces, profile names in labels and owner references, condition
 * messages) are held once. Values unique to one object are left out of the table.
 */
export function cacheInterner(): Interner {
  return new Interner({ skip: new Set(["uid", "resourceVersion", "creationTimestamp"]) });
}

/** Kinds whose status a reader needs (ExternalSecret: ESO reports the secret's health there). */
export function keepsStatus(kind: ChildKind): boolean {
  // AuthorizationPolicy: istiod writes its verdict (ZtunnelAccepted, WaypointAccepted) there.
  return kind.resource.kind === "ExternalSecret" || kind.resource.kind === "AuthorizationPolicy";
}

export const childIndexes = { [BY_OWNER]: (o: KubeObjectLike) => ownerKey(o) };
export const profileIndexes = { [BY_NAMESPACE]: (o: KubeObjectLike) => o.metadata?.namespace };

export type CacheReads = Pick<
  Cluster,
  | "profile"
  | "profilesIn"
  | "live"
  | "owned"
  | "available"
  | "policies"
  | "allProfiles"
  | "namespaces"
  | "namespaceLabels"
  | "namespaceTerminating"
  | "ownedByKey"
>;

/**
 * The cached form of a namespace: its name and labels are all the policies need (which
 * MeshwardPolicies select it).
 */
export function leanNamespace(obj: KubeObjectLike, strings?: Interner): KubeObjectLike {
  const m = obj.metadata ?? {};
  const metadata: NonNullable<KubeObjectLike["metadata"]> = {};
  if (m.name !== undefined) metadata.name = m.name;
  if (m.uid !== undefined) metadata.uid = m.uid;
  if (m.resourceVersion !== undefined) metadata.resourceVersion = m.resourceVersion;
  if (m.labels !== undefined) metadata.labels = m.labels;
  if (m.deletionTimestamp !== undefined) metadata.deletionTimestamp = m.deletionTimestamp;
  const out = { apiVersion: obj.apiVersion, kind: obj.kind, metadata };
  return strings ? strings.tree(out) : out;
}

/** The platform's caches: MeshwardPolicies and namespaces (cluster-scoped, one informer each). */
export interface PlatformCaches {
  policies: Informer<KubeObjectLike>;
  namespaces: Informer<KubeObjectLike>;
}

/** The reconciler's reads, answered from the caches. */
export function cacheReads(
  profiles: NamespacedInformers<KubeObjectLike>,
  children: ReadonlyMap<ChildKind, NamespacedInformers<KubeObjectLike>>,
  platform: PlatformCaches,
): CacheReads {
  const childInf = (k: ChildKind) => {
    const i = children.get(k);
    if (!i) throw new Error(`no informer for ${k.resource.kind}`);
    return i;
  };
  return {
    profile: (key) => {
      const [ns = "", name = ""] = key.split("/");
      return profiles.get(ns, name);
    },
    profilesIn: (ns) => profiles.byIndex(ns, BY_NAMESPACE, ns),
    live: (kind, ns, name) => childInf(kind).get(ns, name),
    owned: (kind, ns, profile) => childInf(kind).byIndex(ns, BY_OWNER, `${ns}/${profile}`),
    available: (kind) => childInf(kind).state !== "absent",
    policies: () => platform.policies.list(),
    allProfiles: () => profiles.list(),
    namespaces: () =>
      platform.namespaces
        .list()
        .filter((n) => !n.metadata?.deletionTimestamp)
        .map((n) => ({ name: n.metadata?.name ?? "", labels: n.metadata?.labels ?? {} })),
    namespaceLabels: (ns) => platform.namespaces.get(ns)?.metadata?.labels,
    namespaceTerminating: (ns) => platform.namespaces.get(ns)?.metadata?.deletionTimestamp !== undefined,
    ownedByKey: (kind, key) => childInf(kind).byIndexAll(BY_OWNER, key),
  };
}
