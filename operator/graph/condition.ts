// The operator's view of one-sided declarations (pure): the OneSided condition of a profile that
// admits or calls other profiles, or admits a whole namespace that holds profiles. Informational: it does not make Ready False (the generated
// objects are correct; the peer's profile is what is missing), and Argo CD's health check reads
// only Ready.
import type { Condition, Profile } from "../api/schema.ts";
import { type FleetProfile, oneSidedOf } from "./fleet.ts";

export const ONE_SIDED = "OneSided";

export type ConditionDraft = Pick<Condition, "type" | "status" | "reason" | "message">;

/** Whether `p` names another profile, or admits a namespace that holds profiles (other than itself). */
function hasPeers(p: Profile, inNamespace: (namespace: string) => readonly Profile[]): boolean {
  const self = `${p.metadata.namespace}/${p.metadata.name}`;
  const profiled = (ns: string) =>
    inNamespace(ns).some((o) => `${o.metadata.namespace}/${o.metadata.name}` !== self);
  return (
    (p.spec.ingress ?? []).some((r) =>
      r.from.some((s) => s.service !== undefined || (s.namespace !== undefined && profiled(s.namespace))),
    ) || (p.spec.egress?.to ?? []).some((t) => t.service !== undefined)
  );
}

/**
 * The OneSided condition of `profile`, against the other profiles found by `lookup` and
 * `inNamespace` (the cache). None for a profile that names no other profile and admits no
 * namespace that holds profiles: it has no peer to disagree with.
 */
export function oneSidedConditions(
  profile: Profile,
  lookup: (key: string) => Profile | undefined,
  inNamespace: (namespace: string) => readonly Profile[] = () => [],
): ConditionDraft[] {
  if (!hasPeers(profile, inNamespace)) return [];
  const fleet = (p: Profile): FleetProfile => ({ file: "", profile: p });
  const found = oneSidedOf(
    fleet(profile),
    (key) => {
      const p = lookup(key);
      return p ? fleet(p) : undefined;
    },
    (ns) => inNamespace(ns).map(fleet),
  );
  if (found.length === 0) {
    return [
      {
        type: ONE_SIDED,
        status: "False",
        reason: "PeersDeclared",
        message:
          "every profile this one admits or calls, and a profile of every namespace it admits, declares the other side",
      },
    ];
  }
  const peers = [...new Set(found.map((f) => f.peer))].sort();
  return [
    {
      type: ONE_SIDED,
      status: "True",
      reason: "UndeclaredPeer",
      message: `calls declared on one side only are denied at run time; ${peers.join(", ")} must declare the other side: ${found.map((f) => `${f.path}: ${f.message}`).join("; ")}`,
    },
  ];
}
