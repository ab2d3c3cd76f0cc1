// One rule, two evaluators: the CEL expression goes into the CRD (checked by the API server at
// `kubectl apply` time) and the TypeScript predicate runs in the operator and the CLI (an older CRD
// may be installed, and `meshward validate` works offline). Keeping both in one object keeps the
// message identical in both places. The e2e suite applies every example of examples/invalid/ to a real
// API server and checks both give the message in the example's header (e2e/testbed.e2e.test.ts).
import * as z from "zod";

export interface Rule<T> {
  /** CEL expression, evaluated with `self` bound to the value the rule is attached to. */
  cel: string;
  /** What a service team reads. Say what is wrong and what to write instead. */
  message: string;
  /** TypeScript twin of `cel`: true when the value is valid. */
  check: (value: T) => boolean;
  /** Field the message is about, relative to the value (e.g. ["mtls", "mode"]). */
  path?: (string | number)[];
}

function celFieldPath(path: (string | number)[] | undefined): string | undefined {
  if (!path || path.length === 0) return undefined;
  return path.map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`)).join("");
}

/** Attaches rules to a schema: as zod refinements and as `x-kubernetes-validations`. */
export function withRules<S extends z.ZodType>(schema: S, rules: Rule<z.output<S>>[]): S {
  const refined = schema.superRefine((value, ctx) => {
    for (const r of rules) {
      // A fresh array: zod prefixes the parents' keys onto an issue's path in place, which would
      // grow the rule's own path on every parse.
      if (!r.check(value)) ctx.addIssue({ code: "custom", message: r.message, path: [...(r.path ?? [])] });
    }
  }) as S;
  return refined.meta({
    "x-kubernetes-validations": rules.map((r) => {
      const fieldPath = celFieldPath(r.path);
      return fieldPath ? { rule: r.cel, message: r.message, fieldPath } : { rule: r.cel, message: r.message };
    }),
  }) as S;
}

/**
 * A string checked by a regular expression, with a friendly message. In the CRD it becomes a CEL
 * `matches` rule rather than `pattern`, because the API server's pattern error prints the raw
 * regex, while a CEL rule prints our message.
 */
export function patterned(re: RegExp, message: string, maxLength: number): z.ZodString {
  const src = re.source;
  if (src.includes("'") || src.includes("\\")) {
    throw new Error(`pattern ${src} must not contain quotes or backslashes (it is embedded in CEL)`);
  }
  return withRules(z.string().min(1).max(maxLength), [
    { cel: `self.matches('${src}')`, message, check: (v) => re.test(v) },
  ]);
}
