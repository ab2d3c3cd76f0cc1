// The perimeter's exemptions in a MeshwardPolicy's status (pure). The admission policies
// (admission.ts) cannot read a clock, so the operator publishes the exemptions in force as
// status.perimeter.active and takes each one out when it expires.
import type { MeshwardPolicy, PerimeterExemption, PerimeterStatus } from "../api/policy.ts";

export function exemptionKey(e: Pick<PerimeterExemption, "kind" | "namespace" | "name">): string {
  return `${e.kind}/${e.namespace}/${e.name}`;
}

export interface PerimeterStatusResult {
  status: PerimeterStatus | undefined;
  /** Milliseconds until the next exemption expires (the status must then be written again). */
  nextChangeMs: number | undefined;
}

/**
 * Which exemptions are in force at `now`, and when that changes. `governed` tells whether the
 * policy selects a namespace; an exemption elsewhere is listed with a message but never active.
 * `exists` tells whether the exempted object is there (undefined: a kind the operator does not
 * cache); an exemption for a missing object stays in force (it is how the object gets created) and
 * says so, in case the name is mistyped.
 */
export function perimeterStatus(
  policy: MeshwardPolicy,
  now: Date,
  governed: (namespace: string) => boolean,
  exists: (e: PerimeterExemption) => boolean | undefined = () => undefined,
): PerimeterStatusResult {
  const exemptions = policy.spec.perimeter?.exemptions;
  if (!policy.spec.perimeter) return { status: undefined, nextChangeMs: undefined };
  const active: string[] = [];
  let next: number | undefined;
  const states = (exemptions ?? []).map((e) => {
    const key = exemptionKey(e);
    const left = Date.parse(e.expires) - now.getTime();
    if (left <= 0)
      return { key, state: "Expired" as const, message: `ended at ${e.expires}: remove the exemption` };
    if (!governed(e.namespace))
      return {
        key,
        state: "NotGoverned" as const,
        message: `namespace ${e.namespace} is not governed by this policy (namespaceSelector): the exemption has no effect`,
      };
    active.push(key);
    next = next === undefined ? left : Math.min(next, left);
    const missing =
      exists(e) === false
        ? `; no ${e.kind} ${e.name} exists in ${e.namespace} yet (check the name if one should)`
        : "";
    return {
      key,
      state: "Active" as const,
      message: `tenants may write it until ${e.expires} (ticket ${e.ticket})${missing}`,
    };
  });
  return {
    status: { active: active.sort(), exemptions: states },
    nextChangeMs: next,
  };
}
