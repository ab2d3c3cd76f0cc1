// The operator's view of one-sided declarations (pure): the OneSided condition of a profile that
// admits or calls other profiles. Informational: it does not make Ready False (the generated
// objects are correct; the peer's profile is what is missing), and Argo CD's health check reads
// only Ready.
import type { Condition, Profile } from "../api/schema.ts";
import { type FleetProfile, oneSidedOf } from "./fleet.ts";

export const ONE_SIDED = "OneSided";

export type ConditionDraft = Pick<Condition, "type" | "status" | "reason" | "message">;

function namesPeers(p: Profile): boolean {
  return (
    (p.spec.ingress ?? []).some((r) => r.from.some((s) => s.service !== undefined)) ||
    (p.spec.egress?.to ?? []).some((t) => t.service !== undefined)
  );
}

/**
 * The OneSided condition of `profile`, against the other profiles found by `lookup` (the cache).
 * None for a profile that names no other profile: it has no peer to disagree with.
 */
export function oneSidedConditions(
  profile: Profile,
  lookup: (key: string) => Profile | undefined,
): ConditionDraft[] {
  if (!namesPeers(profile)) return [];
  const found = oneSidedOf({ file: "", profile }, (key) => {
    const p = lookup(key);
    return p ? ({ file: "", profile: p } satisfies FleetProfile) : undefined;
  });
  if (found.length === 0) {
    return [
      {
        type: ONE_SIDED,
        status: "False",
        reason: "PeersDeclared",
        message: "every profile this one admits or calls declares the other side",
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
