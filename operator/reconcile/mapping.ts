// Event mapping: which work-queue keys an informer event concerns. A child maps to its owning
// profile (both the old and the new owner when an update moved it) or to its namespace for the
// shared default deny; a profile maps to itself, its namespace and the profiles that reference it.
import { PROFILE_LABEL, SCOPE_LABEL } from "../builders/index.ts";
import { parseServiceRef } from "../builders/references.ts";
import type { KubeObjectLike } from "../runtime/client.ts";
import type { InformerEventType } from "../runtime/informer.ts";

/** Which profiles reference which: a change to A must reach every profile that calls or is called by A. */
export class ReferenceIndex {
  private readonly out = new Map<string, Set<string>>();
  private readonly inbound = new Map<string, Set<string>>();

  /** The profiles a raw (possibly invalid) profile references, as keys. Never throws. */
  static refs(raw: KubeObjectLike): Set<string> {
    const namespace: unknown = raw?.metadata?.namespace;
    const ns = typeof namespace === "string" ? namespace : "";
    const spec = (raw as { spec?: { ingress?: unknown; egress?: { to?: unknown } } } | null)?.spec;
    const out = new Set<string>();
    const add = (ref: unknown) => {
      if (typeof ref !== "string" || ref === "") return;
      const r = parseServiceRef(ref, ns);
      out.add(`${r.namespace}/${r.name}`);
    };
    if (Array.isArray(spec?.ingress)) {
      for (const rule of spec.ingress as { from?: unknown }[]) {
        if (Array.isArray(rule?.from)) for (const s of rule.from as { service?: unknown }[]) add(s?.service);
      }
    }
    if (Array.isArray(spec?.egress?.to))
      for (const t of spec.egress.to as { service?: unknown }[]) add(t?.service);
    return out;
  }

  set(key: string, targets: Set<string>): void {
    this.remove(key);
    this.out.set(key, targets);
    for (const t of targets) {
      const s = this.inbound.get(t) ?? new Set<string>();
      s.add(key);
      this.inbound.set(t, s);
    }
  }

  remove(key: string): void {
    for (const t of this.out.get(key) ?? []) {
      const s = this.inbound.get(t);
      s?.delete(key);
      if (s?.size === 0) this.inbound.delete(t);
    }
    this.out.delete(key);
  }

  /** Profiles that reference `key`. */
  referrers(key: string): Set<string> {
    return this.inbound.get(key) ?? new Set();
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isName = (v: unknown): v is string => typeof v === "string" && v !== "" && !v.includes("/");

/**
 * The work-queue key an event on one of our generated objects maps to: its namespace for the shared
 * default deny, else the profile that owns it (controller owner reference, else our profile label).
 * Never throws: whatever the cache hands over, odd metadata maps to no key.
 */
export function ownerKey(o: KubeObjectLike): string | undefined {
  const meta: unknown = o?.metadata;
  if (!isRecord(meta) || !isName(meta.namespace)) return undefined;
  const ns = meta.namespace;
  const labels = isRecord(meta.labels) ? meta.labels : {};
  if (labels[SCOPE_LABEL] === "namespace") return ns;
  const refs = Array.isArray(meta.ownerReferences) ? (meta.ownerReferences as unknown[]) : [];
  const ref = refs.find(
    (r): r is { name: string } =>
      isRecord(r) && r.controller === true && r.kind === "ServiceSecurityProfile" && isName(r.name),
  );
  if (ref) return `${ns}/${ref.name}`;
  const label = labels[PROFILE_LABEL];
  return isName(label) ? `${ns}/${label}` : undefined;
}

/** Keys to enqueue for an event on one of our generated objects: the new owner, and the old one if it moved. */
export function childEventKeys(obj: KubeObjectLike, old: KubeObjectLike | undefined): string[] {
  const keys = new Set<string>();
  const now = ownerKey(obj);
  if (now) keys.add(now);
  const before = old ? ownerKey(old) : undefined;
  if (before) keys.add(before);
  return [...keys];
}

/**
 * Keys to enqueue for an event on a profile, keeping the reference index up to date (incrementally:
 * only this profile's entries change). Our own status writes come back as updates: when only the
 * status changed, nothing is enqueued.
 */
export function profileEventKeys(
  refs: ReferenceIndex,
  type: InformerEventType,
  obj: KubeObjectLike,
  old: KubeObjectLike | undefined,
): string[] {
  const ns = obj.metadata?.namespace ?? "";
  const key = `${ns}/${obj.metadata?.name ?? ""}`;
  if (type === "delete") refs.remove(key);
  else if (type === "add" || !sameSpec(obj, old)) refs.set(key, ReferenceIndex.refs(obj));
  if (type === "update" && old) {
    const same =
      old.metadata?.generation === obj.metadata?.generation &&
      old.metadata?.deletionTimestamp === obj.metadata?.deletionTimestamp &&
      JSON.stringify(old.metadata?.labels) === JSON.stringify(obj.metadata?.labels);
    if (same) return [];
  }
  return [key, ns, ...refs.referrers(key)];
}

function sameSpec(a: KubeObjectLike, b: KubeObjectLike | undefined): boolean {
  return (
    b !== undefined &&
    a.metadata?.generation !== undefined &&
    a.metadata.generation === b.metadata?.generation
  );
}
