// From what was loaded and built to one verdict (pure): fleet checks across every input (references
// to profiles not given, one-sided declarations), unknown kinds, --strict, and the exit code.
import { isError } from "../api/validate.ts";
import { findMissingReferences, findOneSided } from "../graph/fleet.ts";
import { type FileProblem, type LoadedProfile, type LoadResult, placeProblems } from "./load.ts";

export interface CheckOptions {
  /** The inputs are the whole fleet: a reference to a profile not among them is an error. */
  fleet: boolean;
  /** Warnings (unknown fields of meshward's kinds among them) and an input without profiles fail. */
  strict: boolean;
  /** Documents that are not meshward kinds are skipped (default); off, each is an error. */
  skipUnknown: boolean;
}

export const EXIT = {
  /** Every profile is valid. */
  valid: 0,
  /** At least one error (or, with --strict, a warning or an unknown kind). */
  invalid: 1,
  /** Bad flags or arguments, or an input that cannot be read. */
  usage: 2,
  /** A bug in meshward. */
  internal: 3,
} as const;

export interface CheckResult {
  problems: FileProblem[];
  errors: number;
  warnings: number;
  exitCode: number;
}

/** The builders' warning for an unresolved reference; the fleet check says it better (with a suggestion). */
function isUnresolvedReference(p: FileProblem): boolean {
  return p.severity === "warning" && p.message.startsWith("no ServiceSecurityProfile ");
}

export function check(loaded: LoadResult, built: FileProblem[], opts: CheckOptions): CheckResult {
  const problems: FileProblem[] = [...loaded.problems, ...built.filter((p) => !isUnresolvedReference(p))];
  // Invalid profiles take part with what is valid of them: a reference to one is no missing
  // profile, and their own references and declarations are checked in the same run.
  const keyOf = (l: LoadedProfile) => `${l.profile.metadata.namespace}/${l.profile.metadata.name}`;
  const valid = new Set(loaded.profiles.map(keyOf));
  const salvaged = new Map(
    (loaded.salvaged ?? []).filter((s) => !valid.has(keyOf(s))).map((s) => [`${s.file}\u0000${keyOf(s)}`, s]),
  );
  const fleet = [...loaded.profiles, ...salvaged.values()];
  const mapped = (file: string, owner: string, p: string) =>
    salvaged.get(`${file}\u0000${owner}`)?.mapPath(p) ?? p;
  for (const m of findMissingReferences(fleet, { fleet: opts.fleet })) {
    problems.push({
      file: m.file,
      profile: m.owner,
      path: mapped(m.file, m.owner, m.path),
      message: m.message,
      severity: opts.fleet ? "error" : "warning",
      code: "UnknownReference",
    });
  }
  for (const o of findOneSided(fleet)) {
    problems.push({
      file: o.ownerFile,
      profile: o.owner,
      path: mapped(o.ownerFile, o.owner, o.path),
      message: o.message, // names the other side's file
      severity: "warning",
      code: "OneSided",
    });
  }
  // --strict is about meshward's own kinds: a Deployment or a Service next to a profile is fine.
  if (!opts.skipUnknown) {
    for (const s of loaded.skipped) {
      const what = s.kind
        ? `kind ${s.kind}${s.apiVersion ? ` (${s.apiVersion})` : ""}`
        : "a document without kind";
      problems.push({
        file: s.file,
        path: s.document,
        ...(s.line !== undefined && { line: s.line, column: s.column }),
        code: "UnknownKind",
        message: `${what} is not a meshward kind (--no-skip-unknown fails on it; leave it out to skip such documents)`,
      });
    }
  }
  // A folder of MeshwardPolicies alone (the platform team's repository) is a valid input.
  const policiesOnly = loaded.policies.some((l) => !l.viaFlag);
  if (loaded.profiles.length === 0 && !policiesOnly && !problems.some((p) => isError(p))) {
    problems.push({
      file: loaded.files.length === 1 ? (loaded.files[0] ?? "") : "",
      path: "",
      message: `no ServiceSecurityProfile found (${loaded.files.length} file${loaded.files.length === 1 ? "" : "s"} read, ${loaded.skipped.length} other document${loaded.skipped.length === 1 ? "" : "s"} skipped)`,
      severity: "warning",
      code: "NoProfile",
    });
  }
  const final = opts.strict
    ? problems.map((p) => (isError(p) ? p : { ...p, severity: "error" as const }))
    : problems;
  const errors = final.filter(isError).length;
  const warnings = final.length - errors;
  const exitCode = final.some((p) => p.io) ? EXIT.usage : errors > 0 ? EXIT.invalid : EXIT.valid;
  return { problems: placeProblems(loaded, final), errors, warnings, exitCode };
}
