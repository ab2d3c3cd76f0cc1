// All problems of a profile in one run (pure). The CRD's rules stop at the first wrong level: the
// fields under a misspelt key (`ingres:`) are not checked, and an invalid profile never reaches the
// platform's policies or the fleet checks. Here the profile is repaired on a copy: a misspelt key
// with a clear suggestion is renamed, so what is under it is checked too (those problems are real
// and reported under the key as written); then each remaining wrong part is left out (the list
// entry or the field holding it) until the rest is valid. That rest goes through the policies and
// the fleet checks, and their findings' paths are mapped back to the file as written. The repaired
// profile is never rendered.
import { type Problem, validateProfile } from "../api/validate.ts";
import { API_VERSION, KIND, type Profile } from "../api/schema.ts";

type Segment = string | number;

export interface Salvaged {
  /** The valid remainder: only for the policies and the fleet checks. */
  profile: Profile;
  /** A path in the remainder (spec.ingress[1].ports[0]) as the file writes it. */
  mapPath: (path: string) => string;
}

export interface SalvageResult {
  /** Problems found under misspelt keys, with the key as written. */
  extra: Problem[];
  salvaged?: Salvaged;
}

const MAX_ROUNDS = 32;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function format(segments: readonly Segment[]): string {
  let out = "";
  for (const s of segments) out += typeof s === "number" ? `[${s}]` : out === "" ? s : `.${s}`;
  return out;
}

/** A printed path as segments, matching keys that hold dots against the object's own keys. */
export function segmentsIn(root: unknown, path: string): Segment[] | undefined {
  const out: Segment[] = [];
  let node = root;
  let rest = path === "(root)" ? "" : path;
  while (rest !== "") {
    if (rest.startsWith(".")) rest = rest.slice(1);
    if (node === undefined) {
      // Below a missing field: the rest as printed.
      const m = /^(?:\[(\d+)\]|([^.[]+))/.exec(rest);
      if (!m) return undefined;
      out.push(m[1] !== undefined ? Number(m[1]) : (m[2] ?? ""));
      rest = rest.slice(m[0].length);
      continue;
    }
    const index = /^\[(\d+)\]/.exec(rest);
    if (index) {
      if (!Array.isArray(node)) return undefined;
      const i = Number(index[1]);
      out.push(i);
      node = node[i];
      rest = rest.slice(index[0].length);
      continue;
    }
    if (!isRecord(node)) return undefined;
    let best: string | undefined;
    for (const k of Object.keys(node)) {
      if (!rest.startsWith(k)) continue;
      const next = rest.charAt(k.length);
      if (next !== "" && next !== "." && next !== "[") continue;
      if (best === undefined || k.length > best.length) best = k;
    }
    if (best === undefined) {
      // A missing field (e.g. "is required"): the path names it, the object does not have it.
      const m = /^[^.[]+/.exec(rest);
      if (!m) return undefined;
      out.push(m[0]);
      rest = rest.slice(m[0].length);
      node = undefined;
      continue;
    }
    out.push(best);
    node = node[best];
    rest = rest.slice(best.length);
  }
  return out;
}

function get(root: unknown, segments: readonly Segment[]): unknown {
  let node = root;
  for (const s of segments) node = (node as Record<string | number, unknown> | undefined)?.[s];
  return node;
}

/** "unknown field "ingres" (did you mean "ingress"?)" and "unknown fields "a", "b" (did you mean "c"?)": each key with its suggestion. */
function unknownKeys(message: string): { key: string; suggestion?: string }[] {
  if (!message.startsWith("unknown field")) return [];
  const out: { key: string; suggestion?: string }[] = [];
  for (const m of message.matchAll(/"([^"]*)"(?: \(did you mean "([^"]*)"\?\))?/g)) {
    const key = m[1] ?? "";
    out.push(m[2] !== undefined ? { key, suggestion: m[2] } : { key });
  }
  return out;
}

interface Rename {
  parent: string;
  from: string;
  to: string;
}

interface Removal {
  /** The list the entry was removed from, as printed. */
  list: string;
  index: number;
}

function renamePath(path: string, r: Rename, from: string, to: string): string {
  const prefix = r.parent === "" ? to : `${r.parent}.${to}`;
  if (path !== prefix && !path.startsWith(`${prefix}.`) && !path.startsWith(`${prefix}[`)) return path;
  return (r.parent === "" ? from : `${r.parent}.${from}`) + path.slice(prefix.length);
}

function unshift(path: string, r: Removal): string {
  const prefix = `${r.list}[`;
  if (!path.startsWith(prefix)) return path;
  const m = /^(\d+)\]/.exec(path.slice(prefix.length));
  if (!m) return path;
  const n = Number(m[1]);
  return n >= r.index ? `${prefix}${n + 1}${path.slice(prefix.length + (m[1] ?? "").length)}` : path;
}

/**
 * `raw` failed validation with `problems`. Finds what the CRD's rules skipped under misspelt keys,
 * and the valid remainder of the profile, when its metadata and selector are there to name it.
 */
export function salvageProfile(raw: unknown, problems: readonly Problem[]): SalvageResult {
  if (!isRecord(raw) || !isRecord(raw.spec)) return { extra: [] };
  const copy = structuredClone(raw);
  copy.apiVersion = API_VERSION;
  copy.kind = KIND;
  const renames: Rename[] = [];
  for (const p of problems) {
    const segs = segmentsIn(copy, p.path);
    if (!segs) continue;
    const obj = get(copy, segs);
    if (!isRecord(obj)) continue;
    for (const { key, suggestion } of unknownKeys(p.message)) {
      if (suggestion === undefined || !(key in obj) || suggestion in obj) continue;
      obj[suggestion] = obj[key];
      delete obj[key];
      renames.push({ parent: format(segs), from: key, to: suggestion });
    }
  }
  const toFile = (path: string) => renames.reduceRight((p, r) => renamePath(p, r, r.from, r.to), path);

  // What was under the misspelt keys, now checked: reported with the key as written.
  const extra: Problem[] = [];
  const first = validateProfile(copy);
  if (!first.ok)
    for (const p of first.problems) if (toFile(p.path) !== p.path) extra.push({ ...p, path: toFile(p.path) });

  const removals: Removal[] = [];
  let result = first;
  for (let round = 0; round < MAX_ROUNDS && !result.ok; round++) {
    let changed = false;
    for (const p of result.problems) {
      const segs = segmentsIn(copy, p.path);
      // Without a name, a namespace and a selector there is nothing to check it as.
      if (!segs || segs[0] !== "spec" || segs.length < 2 || (segs[1] === "selector" && segs.length === 2))
        return { extra };
      const unknown = unknownKeys(p.message);
      if (unknown.length > 0) {
        const obj = get(copy, segs);
        if (isRecord(obj))
          for (const { key } of unknown)
            if (key in obj) {
              delete obj[key];
              changed = true;
            }
        continue;
      }
      // The deepest list entry holding the problem, else the field itself.
      const last = segs.reduce<number>((at, s, i) => (typeof s === "number" ? i : at), -1);
      if (last > 1) {
        const list = get(copy, segs.slice(0, last));
        const index = segs[last] as number;
        if (Array.isArray(list) && index < list.length) {
          list.splice(index, 1);
          removals.push({ list: format(segs.slice(0, last)), index });
          changed = true;
          // The other problems' indices may have moved: validate again first.
          break;
        }
        continue;
      }
      const parent = get(copy, segs.slice(0, -1));
      const key = segs.at(-1);
      if (isRecord(parent) && typeof key === "string" && key in parent) {
        delete parent[key];
        changed = true;
      }
    }
    if (!changed) return { extra };
    result = validateProfile(copy);
  }
  if (!result.ok) return { extra };
  const mapPath = (path: string) => toFile(removals.reduceRight((p, r) => unshift(p, r), path));
  return { extra, salvaged: { profile: result.profile, mapPath } };
}
