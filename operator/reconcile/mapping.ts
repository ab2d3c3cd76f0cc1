// Event mapping: which work-queue keys an informer event concerns. A child maps to its owning
// profile (both the old and the new owner when an update moved it) or to its namespace for the
// shared default deny; a profile maps to itself, its namespace and the profiles that reference it.
import { WIDENED } from "../perimeter/condition.ts";
import { PROFILE_LABEL, SCOPE_LABEL } from "../builders/index.ts";
import { WAYPOINT_SCOPE } from "../builders/ambient.ts";
import { parseServiceRef } from "../builders/references.ts";
import { QUARANTINE_SCOPE } from "../policy/quarantine.ts";
import { canOverlap, selects } from "../policy/selectors.ts";
import type { KubeObjectLike } from "../runtime/client.ts";
import type { InformerEventType } from "../runtime/informer.ts";
import { policyKey, QUARANTINE_KEY } from "./keys.ts";

/**
 * Which profiles reference which: a change to A must reach every profile that calls or is called by
 * A. A profile that admits a whole namespace X references "X/*": a change to any profile of X
 * reaches it (its OneSided condition depends on whether one of them calls it).
 */
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
        if (!Array.isArray(rule?.from)) continue;
        for (const s of rule.from as { service?: unknown; namespace?: unknown }[]) {
          add(s?.service);
          if (typeof s?.namespace === "string" && s.namespace !== "") out.add(namespaceRef(s.namespace));
        }
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

/** The reference a whole-namespace entry makes ("shop/*": no profile can be named "*"). */
export function namespaceRef(namespace: string): string {
  return `${namespace}/*`;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isName = (v: unknown): v is string => typeof v === "string" && v !== "" && !v.includes("/");

/**
 * The work-queue key an event on one of our generated objects maps to: its namespace for the shared
 * default deny, the quarantine key for quarantine objects, else the profile that owns it (controller owner reference, else our profile label).
 * Never throws: whatever the cache hands over, odd metadata maps to no key.
 */
export function ownerKey(o: KubeObjectLike): string | undefined {
  const meta: unknown = o?.metadata;
  if (!isRecord(meta) || !isName(meta.namespace)) return undefined;
  const ns = meta.namespace;
  const labels = isRecord(meta.labels) ? meta.labels : {};
  // The namespace's default deny and its shared waypoint: the namespace key keeps them.
  if (labels[SCOPE_LABEL] === "namespace" || labels[SCOPE_LABEL] === WAYPOINT_SCOPE) return ns;
  if (labels[SCOPE_LABEL] === QUARANTINE_SCOPE) return QUARANTINE_KEY;
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
  return [...new Set([key, ns, ...refs.referrers(key), ...refs.referrers(namespaceRef(ns))])];
}

function sameSpec(a: KubeObjectLike, b: KubeObjectLike | undefined): boolean {
  return (
    b !== undefined &&
    a.metadata?.generation !== undefined &&
    a.metadata.generation === b.metadata?.generation
  );
}

type Labels = Readonly<Record<string, string>>;

function labelsOf(v: unknown): Labels {
  if (!isRecord(v)) return {};
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === "string"));
}

function selectorOf(o: KubeObjectLike | undefined): Labels | undefined {
  const spec = (o as { spec?: { selector?: unknown } } | undefined)?.spec;
  return isRecord(spec?.selector) ? labelsOf(spec.selector) : undefined;
}

/**
 * The other profiles of a namespace whose selectors can match a pod that a changed profile's old or
 * new selector matches: the selector-overlap decision of each may change with it.
 */
export function overlapPeerKeys(
  obj: KubeObjectLike,
  old: KubeObjectLike | undefined,
  profilesIn: (namespace: string) => Iterable<KubeObjectLike>,
): string[] {
  const ns = obj.metadata?.namespace ?? "";
  const name = obj.metadata?.name ?? "";
  const mine = [selectorOf(obj), selectorOf(old)].filter((s): s is Labels => s !== undefined);
  if (mine.length === 0) return [];
  const out: string[] = [];
  for (const p of profilesIn(ns)) {
    if (p.metadata?.name === name) continue;
    const theirs = selectorOf(p);
    if (theirs && mine.some((s) => canOverlap(s, theirs))) out.push(`${ns}/${p.metadata?.name ?? ""}`);
  }
  return out;
}

/** Keys for an event on a namespace: when its labels change, which policies govern it may change. */
export function namespaceEventKeys(
  type: InformerEventType,
  obj: KubeObjectLike,
  old: KubeObjectLike | undefined,
  profilesIn: (namespace: string) => Iterable<KubeObjectLike>,
): string[] {
  const ns = obj.metadata?.name ?? "";
  if (!ns) return [];
  if (type === "update" && JSON.stringify(obj.metadata?.labels) === JSON.stringify(old?.metadata?.labels))
    return [];
  const keys = [ns];
  for (const p of profilesIn(ns)) keys.push(`${ns}/${p.metadata?.name ?? ""}`);
  return keys.length > 1 ? keys : [];
}

/**
 * Keys for a namespace that appears: the quarantine's, when a policy quarantines that namespace, so
 * its DENY and isolation (refused while it did not exist) are created at once, not after a backoff.
 */
export function quarantinedNamespaceKeys(
  type: InformerEventType,
  obj: KubeObjectLike,
  policies: Iterable<KubeObjectLike>,
): string[] {
  const ns = obj.metadata?.name;
  if (type !== "add" || !ns) return [];
  for (const p of policies) {
    const ids = specOf(p)?.quarantine?.identities;
    if (Array.isArray(ids) && (ids as unknown[]).some((id) => isRecord(id) && id.namespace === ns))
      return [QUARANTINE_KEY];
  }
  return [];
}

interface PolicyShape {
  namespaceSelector?: unknown;
  guardrails?: unknown;
  baseline?: unknown;
  admission?: unknown;
  quarantine?: { identities?: unknown };
}

function specOf(o: KubeObjectLike | undefined): PolicyShape | undefined {
  const spec = (o as { spec?: unknown } | undefined)?.spec;
  return isRecord(spec) ? (spec as PolicyShape) : undefined;
}

/** Profile keys a quarantine names (by profile, or every profile of a ServiceAccount's or quarantined namespace). */
function quarantinedKeys(
  spec: PolicyShape | undefined,
  profilesIn: (namespace: string) => Iterable<KubeObjectLike>,
): string[] {
  const ids = spec?.quarantine?.identities;
  if (!Array.isArray(ids)) return [];
  const out: string[] = [];
  for (const id of ids as unknown[]) {
    if (!isRecord(id)) continue;
    if (typeof id.profile === "string") out.push(id.profile);
    else {
      // A ServiceAccount's profiles are in its namespace; a namespace's are all of them.
      const ns = isRecord(id.serviceAccount) ? id.serviceAccount.namespace : id.namespace;
      if (isName(ns)) for (const p of profilesIn(ns)) out.push(`${ns}/${p.metadata?.name ?? ""}`);
    }
  }
  return out;
}

export interface PolicyEventContext {
  namespaces: () => Iterable<{ name: string; labels: Labels }>;
  profilesIn: (namespace: string) => Iterable<KubeObjectLike>;
}

/**
 * Keys for an event on a MeshwardPolicy. A change to its quarantine alone reaches only the
 * quarantine and the profiles it names (old and new), so an emergency quarantine is not queued
 * behind the whole fleet; any other change reaches every profile and namespace it governed or
 * governs. Policy statuses are separate keys (policyStatusKeys).
 */
export function policyEventKeys(
  type: InformerEventType,
  obj: KubeObjectLike,
  old: KubeObjectLike | undefined,
  ctx: PolicyEventContext,
): string[] {
  const now = specOf(obj);
  const before = type === "update" ? specOf(old) : undefined;
  if (type === "update" && JSON.stringify(now) === JSON.stringify(before)) return [];
  const keys = new Set<string>([QUARANTINE_KEY]);
  for (const k of quarantinedKeys(now, ctx.profilesIn)) keys.add(k);
  for (const k of quarantinedKeys(before, ctx.profilesIn)) keys.add(k);
  const rest = (s: PolicyShape | undefined) => JSON.stringify({ ...s, quarantine: undefined });
  if (type === "update" && rest(now) === rest(before)) return [...keys];
  const selectors = [now, before]
    .filter((s): s is PolicyShape => s !== undefined)
    .map((s) => labelsOf(s.namespaceSelector));
  for (const ns of ctx.namespaces()) {
    if (!selectors.some((sel) => selects(sel, ns.labels))) continue;
    let any = false;
    for (const p of ctx.profilesIn(ns.name)) {
      keys.add(`${ns.name}/${p.metadata?.name ?? ""}`);
      any = true;
    }
    if (any) keys.add(ns.name);
  }
  return [...keys];
}

/** The status keys of every policy (a policy's status names its contradictions with the others). */
export function policyStatusKeys(policies: Iterable<KubeObjectLike>): string[] {
  const out: string[] = [];
  for (const p of policies) if (p.metadata?.name) out.push(policyKey(p.metadata.name));
  return out;
}

/** A foreign object (one meshward did not create) changed: every profile of its namespace. */
export function foreignEventKeys(
  obj: KubeObjectLike,
  profilesIn: (ns: string) => KubeObjectLike[],
): string[] {
  const ns = obj.metadata?.namespace;
  if (!ns) return [];
  return profilesIn(ns).map((p) => `${ns}/${p.metadata?.name ?? ""}`);
}

/** The status of a cached profile's Widened condition, read defensively; undefined without one. */
export function widenedOf(o: KubeObjectLike | undefined): string | undefined {
  const conditions = (o as { status?: { conditions?: unknown } } | undefined)?.status?.conditions;
  if (!Array.isArray(conditions)) return undefined;
  return (conditions as { type?: unknown; status?: unknown }[]).find((c) => c?.type === WIDENED)?.status as
    string | undefined;
}

/** Whether a profile's Widened condition changed status (the policies' status counts them). */
export function widenedChanged(obj: KubeObjectLike, old: KubeObjectLike | undefined): boolean {
  return widenedOf(obj) !== widenedOf(old);
}
