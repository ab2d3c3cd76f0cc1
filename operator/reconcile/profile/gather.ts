// The profile reconcile's first stage: everything its decisions read, gathered from the caches
// (and the reconciler's memory of its own last status write) into one snapshot. The planner
// (plan.ts) reads nothing else; unit tests build snapshots by hand.
import type { MeshwardPolicy } from "../../api/policy.ts";
import type { Profile, ProfileStatus } from "../../api/schema.ts";
import type { Problem } from "../../api/validate.ts";
import type { BuildContext, MeshMode } from "../../builders/index.ts";
import { type ForeignObjects, noForeignObjects } from "../../perimeter/types.ts";
import type { KubeObjectLike } from "../../runtime/client.ts";
import type { Cluster } from "../cluster.ts";
import { CHILD_KINDS, type ChildKind } from "../kinds.ts";
import type { SharedWaypointState } from "../waypoints.ts";

export interface ProfileSnapshot {
  key: string;
  namespace: string;
  name: string;
  /** The cached profile; undefined once deleted. */
  raw: KubeObjectLike | undefined;
  /** The namespace is being deleted. */
  terminating: boolean;
  /** The status as last written (ours, until the cache has it). */
  previous: ProfileStatus | undefined;
  validation: { profile: Profile | undefined; problems: Problem[] };
  namespaceLabels: Readonly<Record<string, string>>;
  /** The valid, not deleted profiles of the namespace. */
  namespaceProfiles: Profile[];
  /** The valid MeshwardPolicies, sorted by name. */
  policies: MeshwardPolicy[];
  /** Objects of the namespace that meshward did not create. */
  foreign: { objects: ForeignObjects; skipped: number };
  /** The builders' context: trust domain, mesh mode, defaults, the profiles it references, now. */
  ctx: BuildContext;
  /** The operator's mesh mode (a namespace or profile may choose another data plane). */
  meshMode: MeshMode;
  /**
   * The valid, not deleted profiles of any namespace (the OneSided check: whether a profile of a
   * namespace this one admits as a whole calls it).
   */
  validIn(namespace: string): readonly Profile[];
  /** What the namespace key last found for the namespace's shared waypoint (ambient; absent: none). */
  waypoint: SharedWaypointState | undefined;
  /**
   * A Service's labels (the ambient binding check): undefined when there is no such Service, null
   * when the Services are not known (not cached, or not synced).
   */
  service(namespace: string, name: string): { labels: Readonly<Record<string, string>> } | undefined | null;
  /**
   * The cached live object of a generated kind (ours by label; maybe another profile's). With its
   * status where the cache keeps one (ExternalSecret, AuthorizationPolicy: keepsStatus in cache.ts).
   */
  live(kind: ChildKind, namespace: string, name: string): KubeObjectLike | undefined;
  /** False while the kind's CRD is not installed. */
  available(kind: ChildKind): boolean;
  /** ESO's newest error about an ExternalSecret (its UpdateFailed Event, cached); undefined: none. */
  esoError(namespace: string, name: string): string | undefined;
  /** The cached objects of each served kind that belong to the profile (for the prune). */
  owned: ReadonlyMap<ChildKind, readonly KubeObjectLike[]>;
}

/** What gather reads besides the caches: the reconciler's memoised validation and memory. */
export interface GatherSources {
  cluster: Pick<
    Cluster,
    "profile" | "live" | "available" | "owned" | "foreign" | "namespaceTerminating" | "service" | "esoError"
  >;
  previousStatus(key: string, raw: KubeObjectLike): ProfileStatus | undefined;
  validate(raw: KubeObjectLike): { profile: Profile | undefined; problems: Problem[] };
  labelsOf(namespace: string): Readonly<Record<string, string>>;
  validIn(namespace: string): Profile[];
  policies(): MeshwardPolicy[];
  context(): BuildContext;
  meshMode: MeshMode;
  /** The reconciler's memory of the namespace key's last answer about the shared waypoint. */
  waypoint(namespace: string): SharedWaypointState | undefined;
}

const NOTHING = { profile: undefined, problems: [] };

export function gatherProfile(key: string, s: GatherSources): ProfileSnapshot {
  const [namespace = "", name = ""] = key.split("/");
  const { cluster } = s;
  const raw = cluster.profile(key);
  const terminating = cluster.namespaceTerminating(namespace);
  const base = {
    key,
    namespace,
    name,
    raw,
    terminating,
    meshMode: s.meshMode,
    live: (kind: ChildKind, ns: string, n: string) => cluster.live(kind, ns, n),
    available: (kind: ChildKind) => cluster.available(kind),
    validIn: (ns: string) => s.validIn(ns),
    service: (ns: string, n: string) => (cluster.service ? cluster.service(ns, n) : null),
    esoError: (ns: string, n: string) => cluster.esoError?.(ns, n),
    waypoint: s.waypoint(namespace),
  };
  // Deleted, being deleted, or in a namespace being deleted: nothing else is read.
  if (!raw || raw.metadata?.deletionTimestamp || terminating)
    return {
      ...base,
      previous: undefined,
      validation: NOTHING,
      namespaceLabels: {},
      namespaceProfiles: [],
      policies: [],
      foreign: { objects: noForeignObjects(), skipped: 0 },
      ctx: s.context(),
      owned: new Map(),
    };
  const validation = s.validate(raw);
  const owned = new Map<ChildKind, readonly KubeObjectLike[]>();
  if (validation.profile)
    for (const kind of CHILD_KINDS)
      if (cluster.available(kind)) owned.set(kind, cluster.owned(kind, namespace, name));
  return {
    ...base,
    previous: s.previousStatus(key, raw),
    validation,
    namespaceLabels: s.labelsOf(namespace),
    namespaceProfiles: validation.profile ? s.validIn(namespace) : [],
    policies: s.policies(),
    foreign: validation.profile ? cluster.foreign(namespace) : { objects: noForeignObjects(), skipped: 0 },
    ctx: s.context(),
    owned,
  };
}
