// What the operator keeps of objects it did not create (operator/perimeter/): the NetworkPolicies,
// Istio security policies and ExternalSecrets of every namespace that lack meshward's label, each
// stripped at the cache to the widening decision's input (operator/perimeter/read.ts), so neither
// annotations nor anything else a tenant writes sits in memory. A namespace's objects beyond
// MAX_PER_NAMESPACE of a kind are not evaluated, and the profile says so.
import { MANAGED_BY, MANAGED_BY_LABEL } from "../builders/meta.ts";
import {
  readAuthorizationPolicy,
  readExternalSecret,
  readNetworkPolicy,
  readPeerAuthentication,
  readRequestAuthentication,
} from "../perimeter/read.ts";
import type { ForeignObjects } from "../perimeter/types.ts";
import { identityMetadata, type KubeObjectLike } from "../runtime/client.ts";
import type { NamespacedInformers } from "../runtime/multi.ts";
import { BY_NAMESPACE } from "./cache.ts";
import type { ChildKind } from "./kinds.ts";

/** The label selector of the foreign caches: everything but meshward's own objects. */
export const NOT_OURS = `${MANAGED_BY_LABEL}!=${MANAGED_BY}`;

/** Foreign objects of one kind and namespace that are evaluated; the rest are counted. */
export const MAX_PER_NAMESPACE = 256;

const READERS = {
  NetworkPolicy: readNetworkPolicy,
  AuthorizationPolicy: readAuthorizationPolicy,
  PeerAuthentication: readPeerAuthentication,
  RequestAuthentication: readRequestAuthentication,
  ExternalSecret: readExternalSecret,
} as const;

type ForeignKindName = keyof typeof READERS;

export function isForeignKind(kind: ChildKind): boolean {
  return kind.resource.kind in READERS;
}

/** A cached foreign object: its identity and the decision's input (none when it cannot be read). */
export type LeanForeign = KubeObjectLike & { input?: unknown };

export function leanForeign(kind: ChildKind, o: KubeObjectLike): LeanForeign {
  const metadata = identityMetadata(o);
  const read = READERS[kind.resource.kind as ForeignKindName];
  const input = read?.(o);
  return { apiVersion: o.apiVersion, kind: o.kind, metadata, ...(input !== undefined && { input }) };
}

export const foreignIndexes = { [BY_NAMESPACE]: (o: KubeObjectLike) => o.metadata?.namespace };

/** The namespace's foreign objects as the decision takes them, and how many were left out. */
export function foreignIn(
  informers: ReadonlyMap<ChildKind, NamespacedInformers<KubeObjectLike>>,
  namespace: string,
): { objects: ForeignObjects; skipped: number } {
  const of = (name: ForeignKindName) => {
    for (const [kind, inf] of informers)
      if (kind.resource.kind === name && inf.state !== "absent") {
        const all = (inf.byIndex(namespace, BY_NAMESPACE, namespace) as LeanForeign[])
          .filter((o) => o.input !== undefined)
          .sort((a, b) => ((a.metadata?.name ?? "") < (b.metadata?.name ?? "") ? -1 : 1));
        return {
          inputs: all.slice(0, MAX_PER_NAMESPACE).map((o) => o.input),
          skipped: Math.max(0, all.length - MAX_PER_NAMESPACE),
        };
      }
    return { inputs: [], skipped: 0 };
  };
  const np = of("NetworkPolicy");
  const ap = of("AuthorizationPolicy");
  const pa = of("PeerAuthentication");
  const ra = of("RequestAuthentication");
  const es = of("ExternalSecret");
  return {
    objects: {
      networkPolicies: np.inputs,
      authorizationPolicies: ap.inputs,
      peerAuthentications: pa.inputs,
      requestAuthentications: ra.inputs,
      externalSecrets: es.inputs,
    } as ForeignObjects,
    skipped: np.skipped + ap.skipped + pa.skipped + ra.skipped + es.skipped,
  };
}

/** Whether the foreign object exists; undefined for a kind with no foreign cache (or not served). */
export function foreignExists(
  informers: ReadonlyMap<ChildKind, NamespacedInformers<KubeObjectLike>>,
  kind: string,
  namespace: string,
  name: string,
): boolean | undefined {
  for (const [k, inf] of informers)
    if (k.resource.kind === kind)
      return inf.state === "absent" ? undefined : inf.get(namespace, name) !== undefined;
  return undefined;
}
