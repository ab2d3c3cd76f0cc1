// Label selectors in matchLabels form (a map: every listed label must be on the object), as
// profiles' `selector` and policies' `namespaceSelector` are written. Pure.

export type Labels = Readonly<Record<string, string>>;

/** Every label of `selector` is on `labels`. An empty selector selects everything. */
export function selects(selector: Labels, labels: Labels): boolean {
  return Object.entries(selector).every(([k, v]) => Object.hasOwn(labels, k) && labels[k] === v);
}

/**
 * Two matchLabels selectors "can match the same pod" iff no key is required by both with different
 * values. Proof: if no key conflicts, a pod labelled with the union of both maps matches both; if a
 * key k is required as a by one and as b ≠ a by the other, a pod has one value for k and matches at
 * most one of them. So the check is exact, not an approximation (matchExpressions would need more).
 */
export function canOverlap(a: Labels, b: Labels): boolean {
  for (const [k, v] of Object.entries(a)) if (Object.hasOwn(b, k) && b[k] !== v) return false;
  return true;
}
