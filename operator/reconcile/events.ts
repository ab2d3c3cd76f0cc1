// Kubernetes Events (events.k8s.io/v1) about profiles, rate-limited so that a hot loop cannot
// flood the API: the same reason and note for one profile at most once a minute, at most 10
// events a minute per profile, and a ceiling per type. Warnings (a refusal, a conflict) have
// their own budget, so routine Normal Events (Created, Updated) never crowd them out; Normal Events
// are a sample when the whole fleet changes at once (a new fleet, a platform-wide fix).
import { randomBytes } from "node:crypto";
import type { KubeClient } from "../runtime/client.ts";
import { resourcePath } from "../runtime/client.ts";
import { errorFields } from "../runtime/informer.ts";
import type { Logger } from "../runtime/log.ts";
import type { FindingReason } from "../policy/types.ts";
import { EVENTS } from "./kinds.ts";

export type EventReason =
  | "Created"
  | "Updated"
  | "Pruned"
  | "DriftDetected"
  | "DriftCorrected"
  | "Conflict"
  | "InvalidSpec"
  | "ExceptionExpired"
  | "ApplyFailed"
  | "SecretSynced"
  | "SecretSyncFailed"
  | "SecretLeaseEnding"
  // The platform's policies (operator/policy): a finding, its end, and an adoption audit.
  | FindingReason
  | "Compliant"
  | "AdoptionAudit"
  | "Widened";

export interface Regarding {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid?: string;
}

export interface EventSink {
  /**
   * Sends an Event, unless the rate limits hold it back. True when it was sent, or the same one
   * was sent within the minute; false when it was throttled (a caller whose report matters, such as
   * the adoption audit, tries again later).
   */
  record(
    regarding: Regarding,
    type: "Normal" | "Warning",
    reason: EventReason,
    note: string,
    related?: Regarding,
  ): boolean;
}

/** What the rate limits decide for one Event. */
type Admission = "send" | "duplicate" | "throttled";

class Bucket {
  private tokens: number;
  private last: number;
  private readonly capacity: number;
  private readonly perMs: number;
  constructor(capacity: number, perMs: number, now: number) {
    this.capacity = capacity;
    this.perMs = perMs;
    this.tokens = capacity;
    this.last = now;
  }
  idleSince(now: number): number {
    return now - this.last;
  }
  take(now: number): boolean {
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.last) / this.perMs);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export interface RecorderOptions {
  client: KubeClient;
  log: Logger;
  instance: string;
  now?: () => number;
  onRecorded?: (reason: EventReason) => void;
  /** Asked at every write: aborted once this replica may no longer write (see api-writes.ts). */
  signal?: () => AbortSignal | undefined;
}

/** A per-object bucket is full again after this long unused: forgetting it changes nothing. */
const IDLE_MS = 60_000;

type EventType = "Normal" | "Warning";

/** The ceilings for the whole operator, per Event type: a burst, then one Event every `everyMs`. */
export const CEILINGS: Record<EventType, { burst: number; everyMs: number }> = {
  // 50 at once, then 10 a second (as before the split): refusals and conflicts are never sampled
  // because of routine Events.
  Warning: { burst: 50, everyMs: 100 },
  // 50 at once (a team's change is always told), then one a second: creating 10,000 profiles sends
  // about 400 Created Events instead of 3,500, each costing the API server and etcd a write.
  Normal: { burst: 50, everyMs: 1_000 },
};

export class EventRecorder implements EventSink {
  private readonly recent = new Map<string, number>();
  private readonly perObject = new Map<string, Bucket>();
  private readonly global: Record<EventType, Bucket>;
  private readonly now: () => number;
  private lastEviction: number;
  suppressed = 0;

  private readonly o: RecorderOptions;

  constructor(o: RecorderOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
    const start = this.now();
    const bucket = ({ burst, everyMs }: { burst: number; everyMs: number }) =>
      new Bucket(burst, everyMs, start);
    this.global = { Warning: bucket(CEILINGS.Warning), Normal: bucket(CEILINGS.Normal) };
    this.lastEviction = this.now();
  }

  /** Decides whether an event may be sent now (exported for tests). */
  admit(regarding: Regarding, reason: string, note: string, type: EventType = "Normal"): boolean {
    return this.decide(regarding, type, reason, note) === "send";
  }

  private decide(regarding: Regarding, type: EventType, reason: string, note: string): Admission {
    const now = this.now();
    const objKey = `${regarding.namespace}/${regarding.name}`;
    const dedupKey = `${objKey}\u0000${reason}\u0000${note}`;
    const seen = this.recent.get(dedupKey);
    if (seen !== undefined && now - seen < 60_000) return "duplicate";
    let bucket = this.perObject.get(objKey);
    if (!bucket) {
      bucket = new Bucket(10, 6_000, now);
      this.perObject.set(objKey, bucket);
    }
    if (!bucket.take(now) || !this.global[type].take(now)) return "throttled";
    this.recent.set(dedupKey, now);
    this.evict(now);
    return "send";
  }

  /** Forgets, about once a minute, dedup entries and per-object buckets unused for a minute. */
  private evict(now: number): void {
    if (now - this.lastEviction < IDLE_MS) return;
    this.lastEviction = now;
    for (const [k, t] of this.recent) if (now - t >= IDLE_MS) this.recent.delete(k);
    for (const [k, b] of this.perObject) if (b.idleSince(now) >= IDLE_MS) this.perObject.delete(k);
  }

  /** Per-object buckets held (for tests and metrics). */
  get buckets(): number {
    return this.perObject.size;
  }

  record(
    regarding: Regarding,
    type: EventType,
    reason: EventReason,
    note: string,
    related?: Regarding,
  ): boolean {
    const clipped = note.length > 1000 ? `${note.slice(0, 999)}…` : note;
    const decision = this.decide(regarding, type, reason, clipped);
    if (decision !== "send") {
      this.suppressed++;
      return decision === "duplicate";
    }
    const now = new Date(this.now());
    const event = {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: {
        name: `${regarding.name}.${randomBytes(8).toString("hex")}`,
        namespace: regarding.namespace,
      },
      eventTime: now.toISOString().replace("Z", "000Z"),
      reportingController: "meshward.io/operator",
      reportingInstance: this.o.instance.slice(0, 128),
      action: "Reconcile",
      reason,
      note: clipped,
      type,
      regarding,
      ...(related && { related }),
    };
    const signal = this.o.signal?.();
    this.o.client
      .request("POST", resourcePath(EVENTS, regarding.namespace), {
        body: event,
        verb: "create",
        ...(signal && { signal }),
      })
      .then(() => this.o.onRecorded?.(reason))
      .catch((e: unknown) => this.o.log.warn({ error: errorFields(e), reason }, "could not record event"));
    return true;
  }
}
