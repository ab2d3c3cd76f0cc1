// Ambient mode in the reconciler (docs/ambient.md, docs/adr/0024-the-shared-waypoint.md): the
// namespace's shared waypoint, kept by the namespace key like the default deny; and the pure folds
// of what a profile's status says about its waypoint (the shared one's state, the Service binding)
// and about istiod's verdict on its AuthorizationPolicies.
import { escapeControls } from "../api/escape.ts";
import type { ObjectStatus } from "../api/schema.ts";
import type { Problem } from "../api/validate.ts";
import {
  checkBinding,
  NAMESPACE_WAYPOINT,
  WAYPOINT_SCOPE,
  type WaypointBinding,
} from "../builders/ambient.ts";
import { buildNamespaceWaypoint, type KubeObject } from "../builders/index.ts";
import type { KubeObjectLike } from "../runtime/client.ts";
import { GATEWAY_KIND } from "./kinds.ts";
import { describe, managers } from "./plan.ts";
import type { Cluster } from "./cluster.ts";
import { ensureShared, isShared, removeOwned, stamp } from "./shared.ts";

/**
 * What the namespace key found for the shared waypoint: none (not needed, or not served), ours, or
 * a Gateway of that name that meshward did not create (its managers), left as it is.
 */
export type SharedWaypointState =
  { state: "none" } | { state: "ours" } | { state: "foreign"; managers: string };

type Log = { info(o: object, m: string): void; warn(o: object, m: string): void };

/**
 * Makes the namespace's shared waypoint exist while `needed`, and deletes it (ours only) when not.
 * A Gateway of that name that meshward did not create is never modified nor deleted.
 */
export async function keepSharedWaypoint(
  cluster: Pick<Cluster, "available" | "live" | "create" | "read" | "apply" | "remove">,
  namespace: string,
  needed: boolean,
  log: Log,
): Promise<SharedWaypointState> {
  if (!cluster.available(GATEWAY_KIND)) return { state: "none" };
  const live = cluster.live(GATEWAY_KIND, namespace, NAMESPACE_WAYPOINT);
  const [desired] = buildNamespaceWaypoint(namespace, needed);
  if (!desired) {
    if (
      live &&
      isShared(live, WAYPOINT_SCOPE) &&
      live.metadata?.uid &&
      (await removeOwned(cluster, GATEWAY_KIND, namespace, NAMESPACE_WAYPOINT, live.metadata.uid))
    )
      log.info({ namespace }, "deleted the namespace's shared waypoint: no profile needs it");
    return { state: "none" };
  }
  const r = await ensureShared(cluster, GATEWAY_KIND, stamp(desired), live, WAYPOINT_SCOPE);
  if (r.result === "created") log.info({ namespace }, "created the namespace's shared waypoint");
  if (r.result !== "foreign") return { state: "ours" };
  const by = managers(r.current);
  log.warn(
    { namespace, managers: by },
    `a Gateway named ${NAMESPACE_WAYPOINT} exists and is not meshward's; leaving it`,
  );
  return { state: "foreign", managers: by };
}

export function sameState(a: SharedWaypointState | undefined, b: SharedWaypointState): boolean {
  return JSON.stringify(a ?? { state: "none" }) === JSON.stringify(b);
}

/** What a profile's status says about the shared waypoint it needs. */
export interface SharedStatus {
  object: ObjectStatus;
  conflict?: string;
  missing?: "GatewayApiNotInstalled";
}

/**
 * The shared waypoint as one of the profile's objects: Missing while the Gateway API is not served
 * or until the namespace key has created it, Conflict when a Gateway of that name is someone
 * else's, InSync when ours is there (the namespace key corrects its drift).
 */
export function sharedWaypointStatus(
  desired: KubeObject,
  available: boolean,
  live: KubeObjectLike | undefined,
  known: SharedWaypointState | undefined,
): SharedStatus {
  const base = { apiVersion: desired.apiVersion, kind: desired.kind, name: desired.metadata.name };
  if (!available)
    return {
      object: { ...base, state: "Missing", message: `the ${GATEWAY_KIND.crd?.name} CRD is not installed` },
      missing: "GatewayApiNotInstalled",
    };
  // The namespace key's own answer counts too: its watch event may not have reached the cache.
  if ((live && isShared(live, WAYPOINT_SCOPE)) || known?.state === "ours")
    return {
      object: {
        ...base,
        state: "InSync",
        message: "shared by the namespace's profiles with http rules or token checks",
      },
    };
  if (known?.state === "foreign") {
    const by = escapeControls(known.managers);
    return {
      object: {
        ...base,
        state: "Conflict",
        message: `exists and was not created by meshward (managed by ${by}); left unchanged`,
      },
      conflict: `${describe(desired)} (managed by ${by}; the namespace's shared waypoint: rename that Gateway, or set spec.waypoint.scope: Service)`,
    };
  }
  return {
    object: { ...base, state: "Missing", message: "not created yet: the namespace's reconcile creates it" },
  };
}

/** The binding check with the tenant's label value escaped; nothing when the Service is not known. */
export function bindingProblem(
  binding: WaypointBinding | undefined,
  service: { labels: Readonly<Record<string, string>> } | undefined | null,
): Problem | undefined {
  // null: the Services are not cached (not synced, or not readable): no verdict.
  if (!binding || service === null) return undefined;
  const labels = service
    ? Object.fromEntries(Object.entries(service.labels).map(([k, v]) => [k, escapeControls(v)]))
    : undefined;
  const p = checkBinding(binding, labels);
  return p ? { ...p, message: escapeControls(p.message) } : undefined;
}

/** Condition types istiod writes on an AuthorizationPolicy in ambient mode. */
export const ISTIO_VERDICTS = ["ZtunnelAccepted", "WaypointAccepted"] as const;

export interface IstioRejection {
  /** "AuthorizationPolicy <name>" */
  object: string;
  type: (typeof ISTIO_VERDICTS)[number];
  reason: string;
  message: string;
}

/**
 * istiod's verdicts on the profile's AuthorizationPolicies: every ZtunnelAccepted/WaypointAccepted
 * condition with status False. Absent conditions are no verdict (istiod not running, or not in
 * ambient): they block nothing. Read defensively: the status comes from the cluster.
 */
export function istioRejections(
  policies: readonly { desired: KubeObject; live: KubeObjectLike | undefined }[],
): IstioRejection[] {
  const out: IstioRejection[] = [];
  for (const { desired, live } of policies) {
    if (desired.kind !== "AuthorizationPolicy" || !live) continue;
    const conditions = (live as { status?: { conditions?: unknown } }).status?.conditions;
    if (!Array.isArray(conditions)) continue;
    for (const c of conditions as unknown[]) {
      if (typeof c !== "object" || c === null) continue;
      const { type, status, reason, message } = c as Record<string, unknown>;
      if (!ISTIO_VERDICTS.includes(type as IstioRejection["type"]) || status !== "False") continue;
      out.push({
        object: describe(desired),
        type: type as IstioRejection["type"],
        reason:
          typeof reason === "string" && /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/.test(reason)
            ? reason.slice(0, 1024)
            : "IstioRejected",
        message: escapeControls(typeof message === "string" ? message.slice(0, 1024) : ""),
      });
    }
  }
  return out;
}
