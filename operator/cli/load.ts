// Reading profiles from files and directories for the CLI. Every failure becomes a one-line
// problem with the file it is about; nothing here throws for bad input.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import type { Profile } from "../api/schema.ts";
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
}

export interface LoadResult {
  profiles: LoadedProfile[];
  problems: FileProblem[];
}

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
      problems.push({ file: p, path: "", message: errorText(e) });
      return;
    }
    if (seen.has(real)) return; // symlink loops and duplicates are read once
    seen.add(real);
    if (st.isDirectory()) {
      let entries: string[];
      try {
        entries = fs.readdirSync(real).sort();
      } catch (e) {
        problems.push({ file: p, path: "", message: errorText(e) });
        return;
      }
      for (const e of entries) visit(path.join(p, e), false);
    } else if (st.isFile()) {
      if (explicit || YAML_FILE.test(p)) out.push(p);
    } else if (explicit) {
      problems.push({ file: p, path: "", message: "not a regular file or directory" });
    }
  };
  for (const a of args) visit(a, true);
  return out;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

export function loadProfiles(args: string[]): LoadResult {
  const problems: FileProblem[] = [];
  const profiles: LoadedProfile[] = [];
  const byKey = new Map<string, string>();
  for (const file of collectFiles(args, problems)) {
    let text: string;
    try {
      const size = fs.statSync(file).size;
      if (size > MAX_FILE_BYTES) {
        problems.push({
          file,
          path: "",
          message: `file is too large (${(size / 1e6).toFixed(1)} MB; the limit is 1 MiB)`,
        });
        continue;
      }
      text = fs.readFileSync(file, "utf8");
    } catch (e) {
      problems.push({ file, path: "", message: errorText(e) });
      continue;
    }
    if (text.includes("\u0000")) {
      problems.push({ file, path: "", message: "not a text file" });
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
  return { profiles, problems };
}
