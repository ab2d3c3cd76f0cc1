// The platform tier in the cluster: when the ClusterNetworkPolicy CRD serves v1beta1 (see
// operator/policy/network-tier.ts), the Admin-tier quarantine isolation and egress denials and the
// Baseline-tier default deny (operator/policy/cluster-tier.ts) are kept as built; objects of ours
// that no policy asks for any more are deleted. The namespaced NetworkPolicies stay as they are:
// the tier adds to them (docs/adr/0016-the-platform-tier-in-the-operator.md).
// Ours means the managed-by label and one of the tier's scope labels; a ClusterNetworkPolicy of
// that name made by someone else is left alone and logged.
import type { Profile } from "../api/schema.ts";
import type { KubeObject } from "../builders/meta.ts";
import { SCOPE_LABEL } from "../builders/meta.ts";
import { BASELINE_SCOPE, buildClusterTier, EGRESS_SCOPE } from "../policy/cluster-tier.ts";
import type { QuarantineContext } from "../policy/quarantine.ts";
import { QUARANTINE_SCOPE } from "../policy/quarantine.ts";
import type { Result } from "../runtime/queue.ts";
import { CLUSTER_NETWORK_POLICIES } from "./kinds.ts";
import { managers } from "./plan.ts";
import type { PolicyBook } from "./policies.ts";
import type { Cluster } from "./cluster.ts";
import { ensureShared, isShared, removeOwned, stamp } from "./shared.ts";

type Log = { info(o: object, m: string): void; warn(o: object, m: string): void };

const TIER_SCOPES = [QUARANTINE_SCOPE, EGRESS_SCOPE, BASELINE_SCOPE];
/** How soon to look again while the tier's cache has not listed yet (the CRD was just installed). */
const CACHE_WAIT_MS = 1_000;

export interface ClusterTierInputs {
  ctx: QuarantineContext;
  log: Log;
  /** The profiles a quarantine names (valid, not being deleted). */
  quarantined: () => Profile[];
  /** The namespaces that hold the namespaced default deny (profiles, adoption Enforce). */
  defaultDenyNamespaces: () => string[];
}

export async function reconcileClusterTier(
  cluster: Pick<Cluster, "networkTier" | "clusterTierObjects" | "create" | "read" | "apply" | "remove">,
  book: PolicyBook,
  inputs: ClusterTierInputs,
): Promise<Result> {
  if (cluster.networkTier().tier !== "ClusterNetworkPolicy") return;
  const cached = cluster.clusterTierObjects();
  if (!cached) return { requeueAfterMs: CACHE_WAIT_MS };
  const desired = buildClusterTier(
    book.valid(),
    inputs.quarantined(),
    inputs.ctx,
    inputs.defaultDenyNamespaces(),
  ) as unknown as KubeObject[];
  const live = new Map(cached.map((o) => [o.metadata?.name ?? "", o]));
  const failures: unknown[] = [];
  const writes = desired.map(async (d) => {
    const scope = d.metadata.labels?.[SCOPE_LABEL] ?? "";
    const r = await ensureShared(
      cluster,
      CLUSTER_NETWORK_POLICIES,
      stamp(d),
      live.get(d.metadata.name),
      scope,
    );
    const object = `ClusterNetworkPolicy/${d.metadata.name}`;
    if (r.result === "foreign")
      inputs.log.warn(
        { object, managers: managers(r.current) },
        "platform tier: a ClusterNetworkPolicy with this name exists and is not ours; leaving it",
      );
    else if (r.result !== "unchanged") inputs.log.info({ object }, `platform tier: ${r.result}`);
  });
  for (const r of await Promise.allSettled(writes)) if (r.status === "rejected") failures.push(r.reason);
  const wanted = new Set(desired.map((d) => d.metadata.name));
  for (const [name, o] of live) {
    const uid = o.metadata?.uid;
    if (wanted.has(name) || !uid || !TIER_SCOPES.some((s) => isShared(o, s))) continue;
    try {
      if (await removeOwned(cluster, CLUSTER_NETWORK_POLICIES, "", name, uid))
        inputs.log.info(
          { object: `ClusterNetworkPolicy/${name}` },
          "platform tier: no longer asked for; deleted",
        );
    } catch (e) {
      failures.push(e);
    }
  }
  if (failures.length > 0) throw failures[0];
}
