// Writing one object: the desired-hash stamp, a create that never touches someone else's object
// (409 AlreadyExists → one read), and objects shared by many profiles or by the whole fleet (the
// namespace default deny, the quarantine objects): no owner reference, ours when they carry our
// managed-by label and their scope label; corrected with forced SSA on our own only (ADR 7).
import { type KubeObject, MANAGED_BY, MANAGED_BY_LABEL, SCOPE_LABEL } from "../builders/index.ts";
import type { KubeObjectLike } from "../runtime/client.ts";
import { isAlreadyExists, isConflict, isNotFound, RetryError } from "../runtime/errors.ts";
import { DESIRED_HASH_ANNOTATION, driftPaths, hashOf } from "./compare.ts";
import type { ChildKind } from "./kinds.ts";
import { describe } from "./plan.ts";
import type { Cluster } from "./cluster.ts";

type Writes = Pick<Cluster, "create" | "read" | "apply">;

/** The desired object with the hash of what was desired, for drift detection. */
export function stamp(desired: KubeObject): KubeObject {
  const hash = hashOf(desired);
  return {
    ...desired,
    metadata: {
      ...desired.metadata,
      annotations: { ...desired.metadata.annotations, [DESIRED_HASH_ANNOTATION]: hash },
    },
  };
}

export function inSync(stamped: KubeObject, live: KubeObjectLike): boolean {
  return driftPaths(stamped, live).length === 0;
}

/**
 * Creates the object; undefined once created. When the name is taken (409 AlreadyExists) the
 * object there is read once and returned, for the caller to decide whether it is ours.
 */
async function createOrRead(
  cluster: Writes,
  kind: ChildKind,
  obj: KubeObject,
): Promise<{ created: KubeObjectLike; existing?: undefined } | { existing: KubeObjectLike }> {
  try {
    return { created: await cluster.create(kind, obj) };
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
  const existing = await cluster.read(kind, obj.metadata.namespace, obj.metadata.name);
  // Deleted again in between: an error the queue retries, and the next try creates it.
  if (!existing) throw new RetryError(`${describe(obj)} was deleted while being created`);
  return { existing };
}

export function isShared(o: KubeObjectLike | undefined, scope: string): boolean {
  return o?.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY && o.metadata.labels[SCOPE_LABEL] === scope;
}

export type SharedResult =
  { result: "created" | "updated" | "unchanged" } | { result: "foreign"; current: KubeObjectLike };

/** Makes a shared object of `scope` match `desired` (already stamped); `live` is the cached one. */
export async function ensureShared(
  cluster: Writes,
  kind: ChildKind,
  desired: KubeObject,
  live: KubeObjectLike | undefined,
  scope: string,
): Promise<SharedResult> {
  // Not in our (label-filtered) cache: create it; a name someone else holds is answered 409.
  const current = live ?? (await createOrRead(cluster, kind, desired)).existing;
  if (!current) return { result: "created" };
  if (!isShared(current, scope) || !current.metadata?.uid) return { result: "foreign", current };
  if (inSync(desired, current)) return { result: "unchanged" };
  await cluster.apply(kind, desired, current.metadata.uid);
  return { result: "updated" };
}

/**
 * Deletes an object of ours: `uid` is a precondition, so an object replaced behind a stale cache
 * is left alone. False when it was already gone (404) or replaced (409): nothing was deleted.
 */
export async function removeOwned(
  cluster: Pick<Cluster, "remove">,
  kind: ChildKind,
  namespace: string,
  name: string,
  uid: string,
): Promise<boolean> {
  try {
    await cluster.remove(kind, namespace, name, uid);
    return true;
  } catch (e) {
    if (isNotFound(e) || isConflict(e)) return false;
    throw e;
  }
}
