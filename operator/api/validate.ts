// Validation of a raw object as a ServiceSecurityProfile: the same rules the CRD enforces at
// apply time, run offline (CLI) and at runtime (the operator; an older CRD may be installed).
import type * as z from "zod";
import { closest } from "./suggest.ts";
import {
  API_VERSION,
  DNS_LABEL,
  KIND,
  NAME_RULE,
  type Profile,
  RESERVED_NAME_RULE,
  ProfileSpec,
  SELECTOR_KEY_MESSAGE,
} from "./schema.ts";

const NAMESPACE_MESSAGE =
  "must be a namespace name: a DNS label of 1-63 lowercase letters, digits or '-' (e.g. payments)";

/** One thing wrong with a profile, with the field it is about (e.g. spec.ingress[0].from[1].service). */
export interface Problem {
  path: string;
  message: string;
  /** Errors block (validate exits 1, the operator reports InvalidSpec); warnings are reported only. */
  severity?: "error" | "warning";
}

export function isError(p: Problem): boolean {
  return p.severity !== "warning";
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out === "" ? String(p) : `.${String(p)}`;
  }
  return out;
}

/** The schema below optional/default/pipe wrappers (zod's internal definition, read only). */
type Def = {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
};
function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** The field names an object accepts at `path` below `root` (for "did you mean"); [] when unknown. */
export function fieldsAt(root: z.ZodType, path: readonly PropertyKey[]): string[] {
  let s: z.ZodType | undefined = root;
  let i = 0;
  while (s) {
    const def = defOf(s);
    if (def.innerType) s = def.innerType;
    else if (def.type === "pipe" && def.in) s = def.in;
    else if (i === path.length) return def.type === "object" ? Object.keys(def.shape ?? {}) : [];
    else if (def.type === "array" || def.type === "record") {
      s = def.type === "array" ? def.element : def.valueType;
      i++;
    } else if (def.type === "object") s = def.shape?.[String(path[i++])];
    else return [];
  }
  return [];
}

function unknownKeysMessage(keys: string[], known: string[]): string {
  const hints = keys.map((k) => {
    const c = closest(k, known);
    return c ? `"${k}" (did you mean "${c}"?)` : `"${k}"`;
  });
  const tail = hints.some((h) => h.includes("did you mean"))
    ? ""
    : known.length > 0
      ? `: remove or check the spelling; the fields here are ${known.join(", ")}`
      : ": remove or check the spelling";
  return `unknown field${keys.length > 1 ? "s" : ""} ${hints.join(", ")}${tail}`;
}

function issueMessage(issue: z.core.$ZodIssue, root: z.ZodType | undefined): string {
  switch (issue.code) {
    case "unrecognized_keys":
      return unknownKeysMessage(issue.keys, root ? fieldsAt(root, issue.path) : []);
    case "invalid_type":
      if (issue.input === undefined) return "is required";
      if ((issue.expected === "number" || issue.expected === "int") && typeof issue.input === "string") {
        const n = issue.input.trim();
        if (/^[0-9]+$/.test(n))
          return `expected a number, got the string "${issue.input}": write ${Number(n)} without quotes`;
      }
      return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}, got ${describeType(issue.input)}`;
    case "invalid_value":
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "too_big":
      return issue.origin === "array"
        ? `has too many entries (at most ${issue.maximum})`
        : issue.origin === "string"
          ? `is too long (at most ${issue.maximum} characters)`
          : `must be at most ${issue.maximum}`;
    case "too_small":
      return issue.origin === "array"
        ? `needs at least ${issue.minimum} entr${issue.minimum === 1 ? "y" : "ies"}`
        : issue.origin === "string"
          ? issue.minimum === 1
            ? "must not be empty"
            : `is too short (at least ${issue.minimum} characters)`
          : `must be at least ${issue.minimum}`;
    case "invalid_format":
      if (issue.format === "datetime") return "must be an RFC 3339 UTC time such as 2026-12-31T00:00:00Z";
      return issue.message;
    default:
      return issue.message;
  }
}

const TYPE_NAMES: Record<string, string> = {
  record: "a map",
  object: "an object (a YAML mapping)",
  array: "a list",
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
};

function describeType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (typeof v === "string") return "a string";
  return typeof v === "object" ? "an object" : typeof v;
}

/** One problem per zod issue; `root` (the schema that was parsed) lets unknown fields get a suggestion. */
export function zodProblems(error: z.ZodError, prefix: readonly PropertyKey[], root?: z.ZodType): Problem[] {
  return error.issues.map((issue) => ({
    path: formatPath([...prefix, ...issue.path]) || "(root)",
    message: issueMessage(issue, root),
  }));
}

export type ValidationResult =
  { ok: true; profile: Profile; problems: [] } | { ok: false; problems: Problem[] };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Checks a raw object (as read from YAML or from the API server) and, when valid, returns it as a
 * Profile with defaults applied. Never throws.
 */
export function validateProfile(raw: unknown, opts: { defaultNamespace?: string } = {}): ValidationResult {
  const problems: Problem[] = [];
  if (!isRecord(raw))
    return { ok: false, problems: [{ path: "(root)", message: "expected a YAML mapping (an object)" }] };
  if (raw.apiVersion !== API_VERSION) {
    problems.push({ path: "apiVersion", message: `must be ${API_VERSION}` });
  }
  if (raw.kind !== KIND) problems.push({ path: "kind", message: `must be ${KIND}` });
  const meta = raw.metadata;
  let name = "";
  let namespace = "";
  if (!isRecord(meta)) {
    problems.push({ path: "metadata", message: "is required (with name and namespace)" });
  } else {
    if (meta.name === undefined || meta.name === "")
      problems.push({ path: "metadata.name", message: "is required" });
    else if (typeof meta.name !== "string")
      problems.push({ path: "metadata.name", message: `expected a string, got ${describeType(meta.name)}` });
    else if (!NAME_RULE.check(meta.name))
      problems.push({ path: "metadata.name", message: NAME_RULE.message });
    else if (!RESERVED_NAME_RULE.check(meta.name))
      problems.push({ path: "metadata.name", message: RESERVED_NAME_RULE.message });
    else name = meta.name;
    const ns = meta.namespace ?? opts.defaultNamespace;
    if (ns === undefined || ns === "") {
      problems.push({
        path: "metadata.namespace",
        message: "is required: a profile protects a service in one namespace",
      });
    } else if (typeof ns !== "string") {
      problems.push({ path: "metadata.namespace", message: `expected a string, got ${describeType(ns)}` });
    } else if (!DNS_LABEL.test(ns) || ns.length > 63) {
      // The API server only has such namespaces; a file given to the CLI may say anything.
      problems.push({ path: "metadata.namespace", message: NAMESPACE_MESSAGE });
    } else namespace = ns;
  }
  if (raw.spec === undefined) {
    problems.push({ path: "spec", message: "is required" });
    return { ok: false, problems };
  }
  // reportInput: without it zod leaves issue.input unset, and every wrong type would read "is required".
  const parsed = ProfileSpec.safeParse(raw.spec, { reportInput: true });
  if (!parsed.success) problems.push(...zodProblems(parsed.error, ["spec"], ProfileSpec));
  // zod's record parser assigns keys onto a plain object, so an own "__proto__" key (JSON.parse and
  // YAML create one) silently vanishes from the selector instead of failing its key rule, which the
  // API server's CEL does reject. Report it as the API server would.
  const selector = isRecord(raw.spec) ? raw.spec.selector : undefined;
  if (isRecord(selector) && Object.hasOwn(selector, "__proto__"))
    problems.push({ path: "spec.selector", message: SELECTOR_KEY_MESSAGE });
  if (problems.length > 0 || !parsed.success || !isRecord(meta)) return { ok: false, problems };

  const metadata: Profile["metadata"] = { name, namespace };
  if (typeof meta.uid === "string") metadata.uid = meta.uid;
  if (typeof meta.generation === "number") metadata.generation = meta.generation;
  if (typeof meta.resourceVersion === "string") metadata.resourceVersion = meta.resourceVersion;
  if (typeof meta.creationTimestamp === "string") metadata.creationTimestamp = meta.creationTimestamp;
  if (isRecord(meta.labels)) metadata.labels = meta.labels as Record<string, string>;
  if (isRecord(meta.annotations)) metadata.annotations = meta.annotations as Record<string, string>;
  return {
    ok: true,
    profile: { apiVersion: API_VERSION, kind: KIND, metadata, spec: parsed.data },
    problems: [],
  };
}
