// The port between the reconcilers and the cluster: what they read (from the informers' caches)
// and write (through the API server). The operator backs it with informers and the API
// (caches.ts, api-writes.ts); unit tests with test-support/fake-cluster.ts.
import type { NetworkTierStatus, PolicyStatus } from "../api/policy.ts";
import type { ProfileStatus } from "../api/schema.ts";
import type { KubeObject } from "../builders/index.ts";
import type { AccountLookup } from "../perimeter/identities.ts";
import type { ForeignObjects } from "../perimeter/types.ts";
import type { KubeObjectLike } from "../runtime/client.ts";
import type { ChildKind } from "./kinds.ts";

/** What the reconciler reads and writes. The operator backs it with informers and the API; tests with a fake. */
export interface Cluster {
  profile(key: string): KubeObjectLike | undefined;
  /** The cached profiles of one namespace (from an index, not a scan). */
  profilesIn(namespace: string): Iterable<KubeObjectLike>;
  /** Cached live object of a kind we generate (only our labelled objects are cached). */
  live(kind: ChildKind, namespace: string, name: string): KubeObjectLike | undefined;
  /** Cached objects of a kind that belong to a profile (owner reference, else profile label). */
  owned(kind: ChildKind, namespace: string, profile: string): KubeObjectLike[];
  /** False while the kind's CRD is not installed. */
  available(kind: ChildKind): boolean;
  /** One read from the API server, only after a create found the name taken (409 AlreadyExists). */
  read(kind: ChildKind, namespace: string, name: string): Promise<KubeObjectLike | undefined>;
  /** A plain create (POST): never touches an existing object; 409 AlreadyExists when the name is taken. */
  create(kind: ChildKind, obj: KubeObject): Promise<KubeObjectLike>;
  /**
   * Server-side apply with force, on an object we own only: `uid` is the live object's uid, sent as
   * a precondition, so an object replaced behind a stale cache is refused instead of taken over.
   */
  apply(kind: ChildKind, obj: KubeObject, uid: string): Promise<KubeObjectLike>;
  remove(kind: ChildKind, namespace: string, name: string, uid: string): Promise<void>;
  applyStatus(namespace: string, name: string, status: ProfileStatus): Promise<void>;
  /** Every cached MeshwardPolicy, raw (the reconciler validates them). */
  policies(): Iterable<KubeObjectLike>;
  /** Every cached profile (for a policy's status and the quarantine). */
  allProfiles(): Iterable<KubeObjectLike>;
  /** Every cached namespace, with its labels. */
  namespaces(): Iterable<{ name: string; labels: Readonly<Record<string, string>> }>;
  /** The labels of a namespace from the cache; undefined when it is not cached. */
  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined;
  /** Whether the cached namespace is being deleted (it accepts no new objects). */
  namespaceTerminating(namespace: string): boolean;
  /** Cached objects of a kind owned by a fleet-wide key (e.g. the quarantine's), in any namespace. */
  ownedByKey(kind: ChildKind, key: string): KubeObjectLike[];
  /** Objects of the namespace that meshward did not create, as the widening decision takes them. */
  foreign(namespace: string): { objects: ForeignObjects; skipped: number };
  /** What the operator knows of a ServiceAccount a policy names as a platform identity. */
  account(namespace: string, name: string): AccountLookup;
  /** Whether a foreign object of `kind` exists; undefined for a kind that is not cached. */
  foreignExists(kind: string, namespace: string, name: string): boolean | undefined;
  /** The names and labels of a namespace's pods: one LIST, for an adoption audit only. */
  pods(namespace: string): Promise<{ name: string; labels: Readonly<Record<string, string>> }[]>;
  applyPolicyStatus(name: string, status: PolicyStatus): Promise<void>;
  /** Which network-policy tier the cluster serves (from the ClusterNetworkPolicy CRD). */
  networkTier(): NetworkTierStatus;
  /** The cached platform-tier ClusterNetworkPolicies meshward made; undefined until listed. */
  clusterTierObjects(): KubeObjectLike[] | undefined;
  /**
   * The newest error External Secrets Operator reported about an ExternalSecret (its Warning Event,
   * reason UpdateFailed: the provider's own words, e.g. Vault's "permission denied"), from the
   * cache of those Events (eso-events.ts); undefined when there is none. Absent: not known.
   */
  esoError?(namespace: string, name: string): string | undefined;
  /** A Service's labels (ambient binding check); undefined: none; null or absent method: unknown. */
  service?(namespace: string, name: string): { labels: Readonly<Record<string, string>> } | undefined | null;
}
