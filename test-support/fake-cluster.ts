// An in-memory Cluster for reconciler tests: profiles and live objects in maps, every write
// recorded. Shared by reconciler.test.ts and the fuzzer (test-support/fuzz/).
import type { PolicyStatus } from "../operator/api/policy.ts";
import type { ProfileStatus } from "../operator/api/schema.ts";
import type { KubeObject } from "../operator/builders/index.ts";
import { ApiError, type KubeObjectLike } from "../operator/runtime/client.ts";
import type { ChildKind } from "../operator/reconcile/kinds.ts";
import type { AccountLookup } from "../operator/perimeter/identities.ts";
import { type ForeignObjects, noForeignObjects } from "../operator/perimeter/types.ts";
import { networkTier, type TierCrd } from "../operator/policy/network-tier.ts";
import { ownerKey } from "../operator/reconcile/mapping.ts";
import type { Cluster } from "../operator/reconcile/cluster.ts";

export type Call = {
  op: "create" | "apply" | "remove" | "status" | "read";
  kind?: string;
  name: string;
  force?: boolean;
};

export class FakeCluster implements Cluster {
  objects = new Map<string, KubeObjectLike>();
  profilesMap = new Map<string, KubeObjectLike>();
  absent = new Set<string>();
  policiesMap = new Map<string, KubeObjectLike>();
  namespaceLabelsMap = new Map<string, Record<string, string>>();
  podsMap = new Map<string, { name: string; labels: Record<string, string> }[]>();
  calls: Call[] = [];
  private rv = 1;
  private uid = 1;

  private k(kind: string, ns: string | undefined, name: string) {
    return `${kind}/${ns ?? ""}/${name}`;
  }
  putProfile(
    ns: string,
    name: string,
    spec: Record<string, unknown>,
    status?: ProfileStatus,
    generation = 1,
  ) {
    const p = this.profilesMap.get(`${ns}/${name}`);
    this.profilesMap.set(`${ns}/${name}`, {
      apiVersion: "meshward.io/v1alpha1",
      kind: "ServiceSecurityProfile",
      metadata: {
        name,
        namespace: ns,
        uid: p?.metadata?.uid ?? `p-${this.uid++}`,
        generation,
        resourceVersion: String(this.rv++),
      },
      spec,
      ...((status ?? p?.status) ? { status: status ?? p?.status } : {}),
    });
  }
  putForeign(kind: string, ns: string, name: string, body: Record<string, unknown>) {
    this.objects.set(this.k(kind, ns, name), {
      kind,
      metadata: { name, namespace: ns, uid: `f-${this.uid++}`, managedFields: [{ manager: "kubectl" }] },
      ...body,
    });
  }
  profile(key: string) {
    return this.profilesMap.get(key);
  }
  profilesIn(ns: string) {
    return [...this.profilesMap.values()].filter((p) => p.metadata?.namespace === ns);
  }
  /** When set, objects written since are not in the cache yet (their watch events on their way). */
  holdLive = false;
  private readonly unseen = new Set<string>();
  /** The held objects reach the cache. */
  deliverLive() {
    this.unseen.clear();
  }
  live(kind: ChildKind, ns: string, name: string) {
    if (this.unseen.has(this.k(kind.resource.kind, ns, name))) return undefined;
    const o = this.objects.get(this.k(kind.resource.kind, ns, name));
    return o?.metadata?.labels?.["app.kubernetes.io/managed-by"] === "meshward" ? o : undefined;
  }
  owned(kind: ChildKind, ns: string, profile: string) {
    return [...this.objects.values()].filter(
      (o) =>
        o.kind === kind.resource.kind &&
        o.metadata?.labels?.["app.kubernetes.io/managed-by"] === "meshward" &&
        ownerKey(o) === `${ns}/${profile}`,
    );
  }
  available(kind: ChildKind) {
    return !this.absent.has(kind.resource.kind);
  }
  async read(kind: ChildKind, ns: string, name: string) {
    this.calls.push({ op: "read", kind: kind.resource.kind, name });
    return this.objects.get(this.k(kind.resource.kind, ns, name));
  }
  async create(kind: ChildKind, obj: KubeObject) {
    this.calls.push({ op: "create", kind: kind.resource.kind, name: obj.metadata.name });
    if (this.objects.has(this.k(obj.kind, obj.metadata.namespace, obj.metadata.name)))
      throw new ApiError(409, "AlreadyExists", `${obj.kind} "${obj.metadata.name}" already exists`);
    return this.store(obj);
  }
  async apply(kind: ChildKind, obj: KubeObject, uid: string) {
    this.calls.push({ op: "apply", kind: kind.resource.kind, name: obj.metadata.name, force: true });
    const prev = this.objects.get(this.k(obj.kind, obj.metadata.namespace, obj.metadata.name));
    if (prev && uid && prev.metadata?.uid !== uid)
      throw new ApiError(409, "Conflict", `the uid precondition ${uid} does not match ${prev.metadata?.uid}`);
    return this.store(obj);
  }
  private store(obj: KubeObject) {
    const key = this.k(obj.kind, obj.metadata.namespace, obj.metadata.name);
    const prev = this.objects.get(key);
    const stored = structuredClone({
      ...obj,
      metadata: {
        ...obj.metadata,
        uid: prev?.metadata?.uid ?? `o-${this.uid++}`,
        resourceVersion: String(this.rv++),
      },
    });
    this.objects.set(key, stored);
    if (this.holdLive) this.unseen.add(key);
    return stored;
  }
  async remove(kind: ChildKind, ns: string, name: string) {
    this.calls.push({ op: "remove", kind: kind.resource.kind, name });
    this.objects.delete(this.k(kind.resource.kind, ns, name));
  }
  /** When set, status writes wait in `heldStatus` (the watch event not yet here) until deliverStatus(). */
  holdStatus = false;
  heldStatus = new Map<string, ProfileStatus>();
  async applyStatus(ns: string, name: string, status: ProfileStatus) {
    this.calls.push({ op: "status", name });
    if (this.holdStatus) {
      this.heldStatus.set(`${ns}/${name}`, structuredClone(status));
      return;
    }
    const p = this.profilesMap.get(`${ns}/${name}`);
    if (p) p.status = structuredClone(status);
  }
  /** The held status writes reach the cache, each with a new resourceVersion. */
  deliverStatus() {
    for (const [key, status] of this.heldStatus) {
      const p = this.profilesMap.get(key);
      if (!p) continue;
      p.status = status;
      p.metadata = { ...p.metadata, resourceVersion: String(this.rv++) };
    }
    this.heldStatus.clear();
  }
  putPolicy(name: string, spec: Record<string, unknown>, creationTimestamp = "2026-01-01T00:00:00Z") {
    this.policiesMap.set(name, {
      apiVersion: "meshward.io/v1alpha1",
      kind: "MeshwardPolicy",
      metadata: {
        name,
        uid: `mp-${this.uid++}`,
        generation: 1,
        resourceVersion: String(this.rv++),
        creationTimestamp,
      },
      spec,
    });
  }
  policies() {
    return [...this.policiesMap.values()];
  }
  allProfiles() {
    return [...this.profilesMap.values()];
  }
  namespaces() {
    return [...this.namespaceLabelsMap.entries()].map(([name, labels]) => ({ name, labels }));
  }
  /** Objects meshward did not create, per namespace (as the foreign caches hold them). */
  foreignObjects = new Map<string, ForeignObjects>();
  foreign(ns: string) {
    return {
      objects: this.foreignObjects.get(ns) ?? noForeignObjects(),
      skipped: 0,
    };
  }
  /** ServiceAccounts named as platform identities, by namespace/name; any other is missing. */
  accounts = new Map<string, AccountLookup>();
  account(ns: string, name: string): AccountLookup {
    return this.accounts.get(`${ns}/${name}`) ?? { state: "missing" };
  }
  foreignExists(_kind: string, ns: string, name: string) {
    const all = this.foreignObjects.get(ns);
    if (!all) return false;
    return Object.values(all).some((xs: readonly { name: string }[]) => xs.some((x) => x.name === name));
  }
  /** The ClusterNetworkPolicy CRD, when "installed". */
  tierCrd: TierCrd | undefined;
  networkTier() {
    return networkTier(this.tierCrd);
  }
  clusterTierObjects() {
    return [...this.objects.values()].filter(
      (o) =>
        o.kind === "ClusterNetworkPolicy" &&
        o.metadata?.labels?.["app.kubernetes.io/managed-by"] === "meshward",
    );
  }
  /** Namespaces being deleted. */
  /** Services by "namespace/name": their labels (the waypoint binding check). */
  servicesMap = new Map<string, Record<string, string>>();
  service(ns: string, name: string) {
    const labels = this.servicesMap.get(`${ns}/${name}`);
    return labels ? { labels } : undefined;
  }
  terminating = new Set<string>();
  namespaceTerminating(ns: string) {
    return this.terminating.has(ns);
  }
  namespaceLabels(ns: string) {
    return this.namespaceLabelsMap.get(ns);
  }
  ownedByKey(kind: ChildKind, key: string) {
    return [...this.objects.values()].filter(
      (o) =>
        o.kind === kind.resource.kind &&
        o.metadata?.labels?.["app.kubernetes.io/managed-by"] === "meshward" &&
        ownerKey(o) === key,
    );
  }
  async pods(ns: string) {
    this.calls.push({ op: "read", kind: "Pod", name: ns });
    return this.podsMap.get(ns) ?? [];
  }
  async applyPolicyStatus(name: string, status: PolicyStatus) {
    this.calls.push({ op: "status", kind: "MeshwardPolicy", name });
    const p = this.policiesMap.get(name);
    if (p) p.status = structuredClone(status);
  }
  writes() {
    return this.calls.filter((c) => c.op !== "read");
  }
}
