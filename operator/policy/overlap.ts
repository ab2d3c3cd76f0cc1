// Selector overlap, always on: two profiles of one namespace whose selectors can match the same pod.
// The older profile (creationTimestamp, then name) keeps its pods; the newer one builds nothing.
// A profile loses to every older profile it overlaps, whether or not that one lost itself: the
// rule never depends on a chain of decisions, and it fails closed. Pure.
import { byString } from "../builders/meta.ts";
import { canOverlap } from "./selectors.ts";
import type { Overlap, PolicyProfile } from "./types.ts";

function created(p: PolicyProfile): number {
  const t = p.metadata.creationTimestamp ? Date.parse(p.metadata.creationTimestamp) : Number.NaN;
  // Without a timestamp (a file given to the CLI) the name alone decides, after every dated profile.
  return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
}

/** Negative when `a` is older than `b` (keeps the pods). */
export function olderFirst(a: PolicyProfile, b: PolicyProfile): number {
  const ta = created(a);
  const tb = created(b);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return byString(a.metadata.name, b.metadata.name);
}

function show(selector: Record<string, string>): string {
  return `{${Object.entries(selector)
    .map(([k, v]) => `${k}: ${v}`)
    .join(", ")}}`;
}

export function overlapDecision(
  profile: PolicyProfile,
  namespaceProfiles: readonly PolicyProfile[],
): Overlap | undefined {
  const older = namespaceProfiles
    .filter(
      (o) => o.metadata.name !== profile.metadata.name && o.metadata.namespace === profile.metadata.namespace,
    )
    .filter((o) => olderFirst(o, profile) < 0 && canOverlap(o.spec.selector, profile.spec.selector))
    .sort(olderFirst);
  const first = older[0];
  if (!first) return undefined;
  const keptBy = `${first.metadata.namespace}/${first.metadata.name}`;
  return {
    keptBy,
    message: `spec.selector ${show(profile.spec.selector)} can match the same pods as ServiceSecurityProfile ${keptBy} (selector ${show(first.spec.selector)}), which is older and keeps them; nothing is generated for this profile: add a label whose value differs from ${keptBy}'s selector, or merge the two profiles`,
  };
}
