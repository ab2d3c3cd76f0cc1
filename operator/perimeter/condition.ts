// The Widened condition of a profile, from the widening decision (pure), in the style of the
// reconciler's conditions (operator/reconcile/status.ts): a reason and a message a service team can
// act on. Informational, like OneSided: the generated objects are correct, a foreign object beside
// them is what opens more. The reconciler writes it with the other conditions (Outcome.extra).
import type { Condition } from "../api/schema.ts";
import type { Widening } from "./types.ts";

export const WIDENED = "Widened";

export type ConditionDraft = Pick<Condition, "type" | "status" | "reason" | "message">;

/** `skipped`: foreign objects of the namespace left unevaluated (too many of one kind). */
export function widenedCondition(w: Widening, skipped = 0): ConditionDraft {
  const first = w.findings[0];
  const unevaluated =
    skipped > 0
      ? `${skipped} object${skipped === 1 ? "" : "s"} that meshward did not create ${skipped === 1 ? "was" : "were"} not evaluated (too many of one kind in the namespace)`
      : "";
  if (!first && unevaluated)
    return {
      type: WIDENED,
      status: "True",
      reason: "NotEvaluated",
      message: `${unevaluated}: remove the ones that are not needed`,
    };
  if (!first)
    return {
      type: WIDENED,
      status: "False",
      reason: "NotWidened",
      message: "no object that meshward did not create widens what this profile declares",
    };
  const others = w.findings.slice(1).map((f) => `${f.kind} ${f.name}`);
  const more = others.length + w.omitted;
  const listed = others.join(", ");
  const unlisted = w.omitted > 0 ? `${listed ? " and " : ""}${w.omitted} not listed` : "";
  const tail =
    more > 0
      ? `; ${more} more object${more === 1 ? "" : "s"} widen${more === 1 ? "s" : ""} it: ${listed}${unlisted}`
      : "";
  return {
    type: WIDENED,
    status: "True",
    reason: "ForeignPolicy",
    message: `${first.kind} ${first.name}, not created by meshward, widens what this profile declares: ${first.example}${tail}. Remove or narrow it, or declare that access in the profile${unevaluated ? `; ${unevaluated}` : ""}`,
  };
}
