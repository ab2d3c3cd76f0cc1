// Reading profiles from files, directories and stdin for the CLI. A service's repository holds
// more than profiles (Deployments, Services, kustomization.yaml, Helm templates, rendered objects):
// documents that are not meshward kinds are skipped and counted, files that are templates rather
// than YAML are skipped with a note. Every failure becomes a one-line problem with the file it is
// about; nothing here throws for bad input.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { GROUP, KIND, type Profile } from "../api/schema.ts";
import { type Problem, validateProfile } from "../api/validate.ts";

export const MAX_FILE_BYTES = 1024 * 1024;

export interface LoadedProfile {
  file: string;
  profile: Profile;
}

export interface FileProblem extends Problem {
  file: string;
  /** namespace/name, when the document got that far. */
  profile?: string;
  /** The file could not be read at all (missing, unreadable): a usage/IO error, exit 2. */
  io?: boolean;
}

/** A document that is not a meshward kind: skipped (and counted), or a failure with --strict. */
export interface SkippedDocument {
  file: string;
  /** "document 2" in a multi-document file, else "". */
  document: string;
  apiVersion: string;
  kind: string;
}

/** A file skipped as a whole (e.g. a Helm template), with why. Never a failure. */
export interface Note {
  file: string;
  message: string;
}

export interface LoadResult {
  profiles: LoadedProfile[];
  problems: FileProblem[];
  skipped: SkippedDocument[];
  notes: Note[];
  /** Every file read, in order (for per-file reports such as JUnit). */
  files: string[];
}

export interface LoadOptions {
  /** Reads all of standard input, for the argument "-". */
  readStdin?: () => string;
}

/** The name "-" is read as standard input. */
export const STDIN = "-";
export const STDIN_LABEL = "<stdin>";

/** A Go template action ({{ ... }} or {{- ... }}): a Helm or kustomize-less template, not YAML yet. */
const TEMPLATE_ACTION = /\{\{-?\s/;

const YAML_FILE = /\.ya?ml$/i;

function errorText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case "ENOENT":
      return "no such file or directory";
    case "EACCES":
      return "permission denied";
    case "ELOOP":
      return "too many levels of symbolic links (a symlink loop)";
    default:
      return err.message ?? String(e);
  }
}

/** Expands files and directories (recursively, YAML files only, each real path once). */
export function collectFiles(args: string[], problems: FileProblem[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (p: string, explicit: boolean) => {
    let real: string;
    let st: fs.Stats;
    try {
      real = fs.realpathSync(p);
      st = fs.statSync(real);
    } catch (e) {
      problems.push({ file: p, path: "", message: errorText(e), io: true });
      return;
    }
    if (seen.has(real)) return; // symlink loops and duplicates are read once
    seen.add(real);
    if (st.isDirectory()) {
      let entries: string[];
      try {
        entries = fs.readdirSync(real).sort();
      } catch (e) {
        problems.push({ file: p, path: "", message: errorText(e), io: true });
        return;
      }
      for (const e of entries) visit(path.join(p, e), false);
    } else if (st.isFile()) {
      if (explicit || YAML_FILE.test(p)) out.push(p);
    } else if (explicit) {
      problems.push({ file: p, path: "", message: "not a regular file or directory" });
    }
  };
  for (const a of args) {
    if (a === STDIN) out.push(STDIN);
    else visit(a, true);
  }
  return out;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/**
 * Whether a document is for this CLI: anything of the meshward.io group (an unknown kind there is
 * most likely a typo, which validation reports) or anything claiming to be a ServiceSecurityProfile.
 */
function isMeshwardDocument(raw: unknown): boolean {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return false;
  const { apiVersion, kind } = raw as { apiVersion?: unknown; kind?: unknown };
  return kind === KIND || str(apiVersion).startsWith(`${GROUP}/`);
}

function readText(file: string, opts: LoadOptions): string {
  if (file === STDIN) {
    if (!opts.readStdin)
      throw Object.assign(new Error("standard input is not available"), { code: "ENOSTDIN" });
    return opts.readStdin();
  }
  return fs.readFileSync(file, "utf8");
}

export function loadProfiles(args: string[], opts: LoadOptions = {}): LoadResult {
  const problems: FileProblem[] = [];
  const profiles: LoadedProfile[] = [];
  const skipped: SkippedDocument[] = [];
  const notes: Note[] = [];
  const files: string[] = [];
  const byKey = new Map<string, string>();
  for (const name of collectFiles(args, problems)) {
    const file = name === STDIN ? STDIN_LABEL : name;
    files.push(file);
    let text: string;
    try {
      const size = name === STDIN ? 0 : fs.statSync(file).size;
      if (size > MAX_FILE_BYTES) {
        problems.push({
          file,
          path: "",
          message: `file is too large (${(size / 1e6).toFixed(1)} MB; the limit is 1 MiB)`,
        });
        continue;
      }
      text = readText(name, opts);
    } catch (e) {
      problems.push({ file, path: "", message: errorText(e), io: true });
      continue;
    }
    if (text.length > MAX_FILE_BYTES) {
      problems.push({ file, path: "", message: "input is too large (the limit is 1 MiB)" });
      continue;
    }
    if (text.includes("\u0000")) {
      problems.push({ file, path: "", message: "not a text file" });
      continue;
    }
    if (TEMPLATE_ACTION.test(text)) {
      notes.push({
        file,
        message:
          "skipped: a template ({{ ... }}), not YAML; render it first (e.g. helm template ... | meshward validate -)",
      });
      continue;
    }
    const docs = parseAllDocuments(text, { uniqueKeys: true });
    const list = Array.isArray(docs) ? docs : [docs];
    list.forEach((doc, i) => {
      const where = list.length > 1 ? `document ${i + 1}` : "";
      if (doc.errors.length > 0) {
        const err = doc.errors[0];
        const line = err?.pos ? lineOf(text, err.pos[0]) : undefined;
        const msg = (err?.message ?? "invalid YAML").split("\n")[0];
        problems.push({
          file,
          path: where,
          message: `not valid YAML${line ? ` (line ${line})` : ""}: ${msg}`,
        });
        return;
      }
      let raw: unknown;
      try {
        raw = doc.toJS({ maxAliasCount: 100 });
      } catch (e) {
        problems.push({ file, path: where, message: `YAML cannot be read: ${errorText(e)}` });
        return;
      }
      if (raw === null || raw === undefined) return; // empty document
      if (!isMeshwardDocument(raw)) {
        const o = (typeof raw === "object" && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
        skipped.push({ file, document: where, apiVersion: str(o.apiVersion), kind: str(o.kind) });
        return;
      }
      const r = validateProfile(raw);
      const meta = (raw as { metadata?: { name?: unknown; namespace?: unknown } }).metadata;
      const label =
        typeof meta?.name === "string"
          ? `${typeof meta.namespace === "string" ? meta.namespace : "?"}/${meta.name}`
          : undefined;
      if (!r.ok) {
        for (const p of r.problems)
          problems.push({
            file,
            ...(label && { profile: label }),
            ...p,
            path: [where, p.path].filter(Boolean).join(": "),
          });
        return;
      }
      const key = `${r.profile.metadata.namespace}/${r.profile.metadata.name}`;
      const dup = byKey.get(key);
      if (dup !== undefined) {
        problems.push({
          file,
          profile: key,
          path: "metadata.name",
          message: `profile ${key} is also defined in ${dup}; one profile per service`,
        });
        return;
      }
      byKey.set(key, file);
      profiles.push({ file, profile: r.profile });
    });
  }
  return { profiles, problems, skipped, notes, files };
}
