// The platform's fleet-wide work (operator/policy): the quarantine objects (one DENY per mesh root
// namespace, an isolating NetworkPolicy per quarantined profile, a DENY and an isolating NetworkPolicy
// in each quarantined namespace) and each MeshwardPolicy's status.
// Quarantine objects have no owner reference: they are ours by label (scope: quarantine), found
// through the cache index under QUARANTINE_KEY, and deleted when no policy asks for them.
import { PolicyStatus as PolicyStatusSchema, type PolicyStatus } from "../api/policy.ts";
import type { Profile } from "../api/schema.ts";
import type { PlatformDefaults } from "../builders/context.ts";
import { byString, type KubeObject } from "../builders/meta.ts";
import { buildQuarantine, QUARANTINE_SCOPE } from "../policy/quarantine.ts";
import { selects } from "../policy/selectors.ts";
import { policyStatus } from "../policy/status.ts";
import { perimeterStatus } from "../perimeter/exemptions.ts";
import { identityStatuses } from "../perimeter/identities.ts";
import type { KubeObjectLike } from "../runtime/client.ts";
import type { Result } from "../runtime/queue.ts";
import { QUARANTINE_KEY } from "./keys.ts";
import { widenedOf } from "./mapping.ts";
import { CHILD_KINDS, childKind } from "./kinds.ts";
import { describe, managers } from "./plan.ts";
import type { PolicyBook } from "./policies.ts";
import type { Cluster } from "./cluster.ts";
import { ensureShared, isShared, removeOwned, stamp } from "./shared.ts";
import { mergeConditions } from "./status.ts";

type Log = { info(o: object, m: string): void; warn(o: object, m: string): void };

export interface PlatformConfig {
  trustDomain: string;
  dns: PlatformDefaults["dns"];
  now: () => Date;
  log: Log;
  /** A cached profile, validated (memoised by the profile reconciler); undefined when invalid. */
  profiles: (raw: KubeObjectLike) => Profile | undefined;
}

export class PlatformReconciler {
  private readonly cluster: Cluster;
  private readonly book: PolicyBook;
  private readonly cfg: PlatformConfig;

  constructor(cluster: Cluster, book: PolicyBook, cfg: PlatformConfig) {
    this.cluster = cluster;
    this.book = book;
    this.cfg = cfg;
  }

  /** The profiles a quarantine names, directly or by ServiceAccount: found by key and namespace index. */
  quarantineCandidates(): Profile[] {
    const out = new Map<string, Profile>();
    const add = (raw: KubeObjectLike | undefined) => {
      if (!raw || raw.metadata?.deletionTimestamp) return;
      const p = this.cfg.profiles(raw);
      if (p) out.set(`${p.metadata.namespace}/${p.metadata.name}`, p);
    };
    for (const policy of this.book.valid())
      for (const id of policy.spec.quarantine?.identities ?? []) {
        if (id.profile !== undefined) add(this.cluster.profile(id.profile));
        else if (id.serviceAccount)
          for (const raw of this.cluster.profilesIn(id.serviceAccount.namespace)) add(raw);
      }
    return [...out.values()];
  }

  async reconcileQuarantine(): Promise<Result> {
    const desired = buildQuarantine(this.book.valid(), this.quarantineCandidates(), {
      trustDomain: this.cfg.trustDomain,
      dns: this.cfg.dns,
    });
    const wanted = new Set(desired.map(id));
    const failures: unknown[] = [];
    // Independent objects: written together; one refused write does not hold up the others.
    const writes = desired.map(async (d) => {
      const kind = childKind(d.apiVersion, d.kind);
      if (!kind) throw new Error(`no kind registered for ${d.apiVersion} ${d.kind}`);
      if (!this.cluster.available(kind)) {
        this.cfg.log.warn({ object: describe(d) }, "quarantine: the kind is not served; not created");
        return;
      }
      const live = this.cluster.live(kind, d.metadata.namespace, d.metadata.name);
      const r = await ensureShared(this.cluster, kind, stamp(d), live, QUARANTINE_SCOPE);
      if (r.result === "foreign")
        this.cfg.log.warn(
          { object: describe(d), managers: managers(r.current) },
          "quarantine: an object with this name exists and is not ours; leaving it",
        );
      else if (r.result !== "unchanged")
        this.cfg.log.info({ object: describe(d) }, `quarantine: ${r.result}`);
    });
    for (const r of await Promise.allSettled(writes)) if (r.status === "rejected") failures.push(r.reason);
    // Lifted: every quarantine object no policy asks for any more goes.
    for (const kind of CHILD_KINDS) {
      if (!this.cluster.available(kind)) continue;
      for (const o of this.cluster.ownedByKey(kind, QUARANTINE_KEY)) {
        const key = `${o.kind ?? kind.resource.kind}/${o.metadata?.namespace}/${o.metadata?.name}`;
        if (wanted.has(key) || !isShared(o, QUARANTINE_SCOPE) || !o.metadata?.uid) continue;
        const ns = o.metadata.namespace ?? "";
        if (await removeOwned(this.cluster, kind, ns, o.metadata.name ?? "", o.metadata.uid))
          this.cfg.log.info({ object: key }, "quarantine lifted: deleted");
      }
    }
    if (failures.length > 0) throw failures[0];
  }

  /** A MeshwardPolicy's status: what it governs, contradictions, entries that name nothing. */
  async reconcilePolicy(name: string): Promise<Result> {
    const raw = [...this.cluster.policies()].find((p) => p.metadata?.name === name);
    if (!raw || raw.metadata?.deletionTimestamp) return;
    const previous = readPolicyStatus((raw as { status?: unknown }).status);
    const now = this.cfg.now();
    const g = raw.metadata?.generation;
    const generation = typeof g === "number" && Number.isSafeInteger(g) ? g : 0;
    const checked = this.book.check(raw);
    let next: PolicyStatus;
    let requeueAfterMs: number | undefined;
    if (!checked.ok) {
      const message = `the policy is invalid and takes no part in any decision: ${checked.problems
        .slice(0, 5)
        .map((p) => `${p.path}: ${p.message}`)
        .join("; ")}`;
      next = {
        observedGeneration: generation,
        conditions: mergeConditions(
          [{ type: "Ready", status: "False", reason: "InvalidSpec", message }],
          previous?.conditions,
          generation,
          now,
        ),
        problems: checked.problems.slice(0, 64),
      };
    } else {
      const profiles: Profile[] = [];
      for (const p of this.cluster.allProfiles()) {
        if (p.metadata?.deletionTimestamp) continue;
        const v = this.cfg.profiles(p);
        if (v) profiles.push(v);
      }
      const r = policyStatus({
        policy: checked.policy,
        policies: this.book.valid(),
        namespaces: [...this.cluster.namespaces()],
        profiles,
        now,
      });
      const selector = checked.policy.spec.namespaceSelector ?? {};
      const labels = new Map([...this.cluster.namespaces()].map((n) => [n.name, n.labels]));
      const perimeter = perimeterStatus(
        checked.policy,
        now,
        (ns) => selects(selector, labels.get(ns) ?? {}),
        (e) => this.cluster.foreignExists(e.kind, e.namespace, e.name),
      );
      if (perimeter.nextChangeMs !== undefined) requeueAfterMs = perimeter.nextChangeMs + 1000;
      // Whether each platform identity exists (the ServiceAccounts' watches enqueue this on a change).
      const identities = identityStatuses(checked.policy, (ns, n) => this.cluster.account(ns, n));
      const widened = widenedProfiles(this.cluster.allProfiles(), (ns) =>
        selects(selector, labels.get(ns) ?? {}),
      );
      next = {
        observedGeneration: generation,
        namespaceCount: r.namespaceCount,
        namespaces: r.namespaces,
        profileCount: r.profileCount,
        conditions: mergeConditions(
          r.conditions.map(({ type, status, reason, message }) => ({ type, status, reason, message })),
          previous?.conditions,
          generation,
          now,
        ),
        problems: r.problems,
        ...(perimeter.status && { perimeter: { ...perimeter.status, ...(identities && { identities }) } }),
        networkTier: this.cluster.networkTier(),
        ...(widened.count > 0 && { widened }),
      };
    }
    const result = requeueAfterMs === undefined ? undefined : { requeueAfterMs };
    if (previous && canonical(previous) === canonical(next)) return result;
    await this.cluster.applyPolicyStatus(name, next);
    return result;
  }
}

/** The governed profiles whose cached status says Widened=True, sorted, the first 64 named. */
function widenedProfiles(
  profiles: Iterable<KubeObjectLike>,
  governed: (namespace: string) => boolean,
): { count: number; profiles: string[] } {
  const keys: string[] = [];
  for (const p of profiles) {
    const ns = p.metadata?.namespace ?? "";
    if (widenedOf(p) === "True" && governed(ns)) keys.push(`${ns}/${p.metadata?.name ?? ""}`);
  }
  keys.sort(byString);
  return { count: keys.length, profiles: keys.slice(0, 64) };
}

function id(o: KubeObject): string {
  return `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`;
}

function readPolicyStatus(v: unknown): PolicyStatus | undefined {
  const r = PolicyStatusSchema.safeParse(v);
  return r.success ? r.data : undefined;
}

function canonical(s: PolicyStatus): string {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sorted)
      : v && typeof v === "object"
        ? Object.fromEntries(
            Object.entries(v as Record<string, unknown>)
              .filter(([, x]) => x !== undefined)
              .sort(([a], [b]) => byString(a, b))
              .map(([k, x]) => [k, sorted(x)]),
          )
        : v;
  return JSON.stringify(sorted({ problems: [], ...s }));
}
