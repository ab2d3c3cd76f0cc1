// Kubernetes label selectors on concrete labels (matchLabels and matchExpressions), as the API
// server and every NetworkPolicy implementation read them. Pure.
import type { LabelRequirement, LabelSelector, Labels } from "./types.ts";

/** A selector of matchLabels only (a profile's `selector`, an Istio selector). */
export function fromMatchLabels(matchLabels: Labels): LabelSelector {
  return { matchLabels: { ...matchLabels }, matchExpressions: [] };
}

function requirementHolds(r: LabelRequirement, labels: Labels): boolean {
  const present = Object.hasOwn(labels, r.key);
  switch (r.operator) {
    case "In":
      return present && r.values.includes(labels[r.key] ?? "");
    case "NotIn":
      return !present || !r.values.includes(labels[r.key] ?? "");
    case "Exists":
      return present;
    case "DoesNotExist":
      return !present;
  }
}

/** Every matchLabels entry is on `labels` and every requirement holds. */
export function matches(selector: LabelSelector, labels: Labels): boolean {
  return (
    Object.entries(selector.matchLabels).every(([k, v]) => Object.hasOwn(labels, k) && labels[k] === v) &&
    selector.matchExpressions.every((r) => requirementHolds(r, labels))
  );
}

/** Every label key a selector mentions. */
export function selectorKeys(selector: LabelSelector): string[] {
  return [...Object.keys(selector.matchLabels), ...selector.matchExpressions.map((r) => r.key)];
}
