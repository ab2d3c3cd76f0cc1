// Deciding whether a live object still says what we asked for (pure).
import { createHash } from "node:crypto";

/** Annotation holding a hash of the last desired object we applied. */
export const DESIRED_HASH_ANNOTATION = "meshward.io/desired-hash";

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as Record<string, unknown>).sort())
      out[k] = canonical((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

export function hashOf(obj: unknown): string {
  return createHash("sha256")
    .update(JSON.stringify(canonical(obj)))
    .digest("hex")
    .slice(0, 32);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function isEmpty(v: unknown): boolean {
  return (Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0);
}

/**
 * Paths where `live` does not say what `desired` says. Objects are compared key by key for the
 * keys we set: keys the server defaults (e.g. ExternalSecret's decodingStrategy) or others added
 * are not drift. Lists must have the same length and matching entries, since the lists we write
 * are atomic: a rule added to or removed from our list is drift.
 */
export function driftPaths(desired: unknown, live: unknown, path = ""): string[] {
  // The API server drops empty lists and maps of built-in kinds: absent is the same as empty.
  if (isEmpty(desired) && (live === undefined || live === null || isEmpty(live))) return [];
  if (isObject(desired)) {
    if (!isObject(live)) return [path || "(root)"];
    const out: string[] = [];
    for (const [k, v] of Object.entries(desired)) {
      const child = path ? `${path}.${k}` : k;
      out.push(...driftPaths(v, live[k], child));
    }
    return out;
  }
  if (Array.isArray(desired)) {
    if (!Array.isArray(live)) return [path];
    if (desired.length !== live.length) return [path];
    const out: string[] = [];
    desired.forEach((d, i) => out.push(...driftPaths(d, live[i], `${path}[${i}]`)));
    // an atomic list differs as a whole; report the list once with its first differing entry
    return out.length > 0 ? [out[0] as string] : [];
  }
  return desired === live ? [] : [path];
}
