/**
 * Leader election on a coordination.k8s.io/v1 Lease, with the algorithm of client-go's leaderelection and
 * controller-runtime's defaults (lease 15 s, renew deadline 10 s, retry period 2 s).
 *
 * Safety rests on two clocks never being compared with each other:
 * - a follower takes the lease over only when the record it observes has not changed for the holder's
 *   leaseDurationSeconds, measured on the follower's own clock from the moment it saw the change;
 * - the leader steps down when it has not renewed successfully within renewDeadline (< leaseDuration),
 *   measured on its own clock from the moment it *sent* the last successful renewal.
 * Every write carries the resourceVersion that was read, so two writers cannot both succeed.
 */

import { sleep } from "./backoff.ts";

export interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number;
  };
}

/** Each call is given a signal that aborts when the attempt has timed out: the request must stop. */
export interface LeaseApi {
  /** The Lease, or undefined when it does not exist (404). */
  get(namespace: string, name: string, signal?: AbortSignal): Promise<Lease | undefined>;
  /** Creates the Lease; rejects (409) if it exists. */
  create(lease: Lease, signal?: AbortSignal): Promise<Lease>;
  /** Replaces the Lease (PUT) using metadata.resourceVersion; rejects on a conflict (409). */
  replace(lease: Lease, signal?: AbortSignal): Promise<Lease>;
}

export interface LeaderElectorOptions {
  api: LeaseApi;
  namespace: string;
  name: string;
  /** Unique per replica (e.g. pod name + random suffix). */
  identity: string;
  /** How long followers wait, after the last change they saw, before taking over. Default 15 000. */
  leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before stepping down. Default 10 000. */
  renewDeadlineMs?: number;
  /** Interval between attempts (acquire and renew). Default 2 000. */
  retryPeriodMs?: number;
  /** We became leader: start reconciling. */
  onStartedLeading(): void;
  /** We are no longer leader (called once per term): stop reconciling at once. */
  onStoppedLeading(): void;
  /** The observed holder changed (to another replica or to us). */
  onNewLeader?(identity: string): void;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /**
   * Clock in epoch milliseconds, used for durations and for the timestamps written to the Lease.
   * Default: performance.now() for durations (monotonic) and Date.now() for timestamps.
   */
  now?: () => number;
}

type Attempt = "leader" | "other" | "failed";

export class LeaderElector {
  readonly #api: LeaseApi;
  readonly #namespace: string;
  readonly #name: string;
  readonly #identity: string;
  readonly #leaseDurationMs: number;
  readonly #leaseDurationSeconds: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  readonly #onStartedLeading: () => void;
  readonly #onStoppedLeading: () => void;
  readonly #onNewLeader: ((identity: string) => void) | undefined;
  readonly #log: (msg: string, fields?: Record<string, unknown>) => void;
  readonly #clock: () => number;
  readonly #wall: () => number;

  #leading = false;
  /** Clock time at which the last successful acquire/renew was started. */
  #renewedAt = -Infinity;
  #observed: string | undefined;
  #observedAt = -Infinity;
  #holder: string | undefined;
  #known = false;
  #stop: AbortController | undefined;
  #runDone: Promise<void> | undefined;

  constructor(o: LeaderElectorOptions) {
    this.#api = o.api;
    this.#namespace = o.namespace;
    this.#name = o.name;
    this.#identity = o.identity;
    this.#leaseDurationMs = o.leaseDurationMs ?? 15_000;
    this.#renewDeadlineMs = o.renewDeadlineMs ?? 10_000;
    this.#retryPeriodMs = o.retryPeriodMs ?? 2_000;
    if (!o.identity) throw new RangeError("LeaderElector: identity must not be empty");
    if (!(this.#retryPeriodMs > 0 && this.#renewDeadlineMs > this.#retryPeriodMs)) {
      throw new RangeError("LeaderElector: need 0 < retryPeriodMs < renewDeadlineMs");
    }
    if (!(this.#leaseDurationMs > this.#renewDeadlineMs)) {
      throw new RangeError("LeaderElector: need renewDeadlineMs < leaseDurationMs");
    }
    this.#leaseDurationSeconds = Math.max(1, Math.ceil(this.#leaseDurationMs / 1000));
    this.#onStartedLeading = o.onStartedLeading;
    this.#onStoppedLeading = o.onStoppedLeading;
    this.#onNewLeader = o.onNewLeader;
    this.#log = o.log ?? (() => {});
    const now = o.now;
    this.#clock = now ?? (() => performance.now());
    this.#wall = now ?? (() => Date.now());
  }

  /** True while we hold the lease and the last renewal is within renewDeadline (checked on every call). */
  get isLeader(): boolean {
    return this.#leading && this.#clock() - this.#renewedAt < this.#renewDeadlineMs;
  }

  /** True once the Lease has been observed (read or created) at least once. */
  get leaderKnown(): boolean {
    return this.#known;
  }

  /** The holder in the last observed record; undefined if none or not observed yet. */
  get leader(): string | undefined {
    return this.#holder;
  }

  /**
   * Tries to acquire the lease every retryPeriod; while leader, renews it every retryPeriod. Losing the
   * lease calls onStoppedLeading and goes back to acquiring. Resolves when `signal` aborts (or release() is
   * called), after calling onStoppedLeading if we were leading. It never rejects, except when called while
   * already running.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#runDone) throw new Error("LeaderElector.run: already running");
    const stop = new AbortController();
    const onAbort = (): void => stop.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    if (signal.aborted) stop.abort();
    this.#stop = stop;
    let finished!: () => void;
    this.#runDone = new Promise((resolve) => (finished = resolve));
    try {
      await this.#loop(stop.signal);
    } catch (err) {
      this.#log("leader election loop failed", { err });
    } finally {
      signal.removeEventListener("abort", onAbort);
      this.#stepDown("stopped");
      this.#stop = undefined;
      this.#runDone = undefined;
      finished();
    }
  }

  /**
   * Stops run() (stepping down) and, if the Lease names us as holder, clears the holder
   * (holderIdentity null, leaseDurationSeconds 1) so another replica takes over at once.
   * Best effort: never rejects; gives up after renewDeadline.
   */
  async release(): Promise<void> {
    this.#stop?.abort();
    if (this.#runDone) await this.#runDone;
    this.#stepDown("released");
    const gaveUp = new AbortController();
    const timeout = sleep(this.#renewDeadlineMs, gaveUp.signal).then(() => "timeout" as const);
    try {
      const r = await Promise.race([this.#release(), timeout]);
      if (r === "timeout") this.#log("releasing the lease timed out");
    } finally {
      gaveUp.abort();
    }
  }

  // ---------------------------------------------------------------------------------------------------

  async #release(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      try {
        const lease = await this.#api.get(this.#namespace, this.#name);
        if (!lease || (lease.spec.holderIdentity ?? "") !== this.#identity) return;
        const t = microTime(this.#wall());
        const released = await this.#api.replace({
          ...lease,
          metadata: { ...lease.metadata },
          spec: {
            ...lease.spec,
            holderIdentity: null,
            leaseDurationSeconds: 1,
            acquireTime: t,
            renewTime: t,
          },
        });
        this.#observe(released);
        this.#log("released the lease");
        return;
      } catch (err) {
        this.#log("releasing the lease failed", { err, attempt: i + 1 });
      }
    }
  }

  async #loop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const started = this.#clock();
      const r = await this.#attemptWithin(this.#renewDeadlineMs, signal);
      if (signal.aborted) return;
      if (r === "leader") {
        this.#renewedAt = started;
        this.#leading = true;
        this.#log("became leader", { identity: this.#identity });
        this.#call("onStartedLeading", this.#onStartedLeading);
        const why = await this.#renew(signal);
        this.#stepDown(why);
        continue;
      }
      // Jitter (up to +20 %) keeps replicas that started together from polling in lockstep.
      await sleep(this.#retryPeriodMs * (1 + 0.2 * Math.random()), signal);
    }
  }

  /** Renews until that fails for renewDeadline, someone else holds the lease, or the signal aborts. */
  async #renew(signal: AbortSignal): Promise<string> {
    const deadlinePassed = (): string => {
      this.#log("could not renew the lease within the renew deadline", {
        renewDeadlineMs: this.#renewDeadlineMs,
      });
      return "renew deadline passed";
    };
    for (;;) {
      const deadline = this.#renewedAt + this.#renewDeadlineMs;
      const wait = Math.min(this.#retryPeriodMs, deadline - this.#clock());
      if (wait <= 0) return deadlinePassed();
      await sleep(wait, signal);
      if (signal.aborted) return "stopped";
      const started = this.#clock();
      const remaining = deadline - started;
      if (remaining <= 0) return deadlinePassed();
      const r = await this.#attemptWithin(remaining, signal);
      if (signal.aborted) return "stopped";
      if (r === "leader") this.#renewedAt = started;
      else if (r === "other") {
        this.#log("the lease is held by another replica", { holder: this.#holder });
        return "lease taken over";
      }
    }
  }

  /**
   * One attempt, given up (as "failed") after `ms` or when the signal aborts; never rejects. Giving
   * up aborts the attempt's requests: a renewal that timed out cannot land later.
   */
  async #attemptWithin(ms: number, signal: AbortSignal): Promise<Attempt> {
    const giveUp = new AbortController();
    const onAbort = (): void => giveUp.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    const timer = new AbortController();
    const timeout = sleep(ms, AbortSignal.any([giveUp.signal, timer.signal])).then(() => {
      giveUp.abort();
      return "failed" as const;
    });
    try {
      return await Promise.race([this.#attempt(giveUp.signal), timeout]);
    } finally {
      signal.removeEventListener("abort", onAbort);
      timer.abort();
    }
  }

  /** client-go's tryAcquireOrRenew. Never rejects. */
  async #attempt(signal: AbortSignal): Promise<Attempt> {
    let lease: Lease | undefined;
    try {
      lease = await this.#api.get(this.#namespace, this.#name, signal);
    } catch (err) {
      this.#log("reading the lease failed", { err });
      return "failed";
    }

    if (!lease) {
      const t = microTime(this.#wall());
      try {
        const created = await this.#api.create(
          {
            metadata: { name: this.#name, namespace: this.#namespace },
            spec: {
              holderIdentity: this.#identity,
              leaseDurationSeconds: this.#leaseDurationSeconds,
              acquireTime: t,
              renewTime: t,
              leaseTransitions: 0,
            },
          },
          signal,
        );
        this.#observe(created);
        return "leader";
      } catch (err) {
        this.#log("creating the lease failed", { err });
        return "failed";
      }
    }

    this.#observe(lease);
    const holder = lease.spec.holderIdentity ?? "";
    const ours = holder === this.#identity;
    if (holder !== "" && !ours) {
      const seconds = lease.spec.leaseDurationSeconds;
      const durationMs = seconds !== undefined && seconds > 0 ? seconds * 1000 : this.#leaseDurationMs;
      if (this.#clock() < this.#observedAt + durationMs) return "other";
    }

    const t = microTime(this.#wall());
    const transitions = lease.spec.leaseTransitions ?? 0;
    try {
      const updated = await this.#api.replace(
        {
          ...lease,
          metadata: { ...lease.metadata },
          spec: {
            ...lease.spec,
            holderIdentity: this.#identity,
            leaseDurationSeconds: this.#leaseDurationSeconds,
            acquireTime: ours ? (lease.spec.acquireTime ?? t) : t,
            renewTime: t,
            leaseTransitions: ours ? transitions : transitions + 1,
          },
        },
        signal,
      );
      this.#observe(updated);
      return "leader";
    } catch (err) {
      this.#log(ours ? "renewing the lease failed" : "acquiring the lease failed", { err });
      return "failed";
    }
  }

  /** Records the lease; restarts the expiry clock when the record changed since last seen. */
  #observe(lease: Lease): void {
    this.#known = true;
    const s = lease.spec;
    const record = JSON.stringify([
      s.holderIdentity ?? "",
      s.leaseDurationSeconds ?? null,
      s.acquireTime ?? null,
      s.renewTime ?? null,
      s.leaseTransitions ?? 0,
    ]);
    if (record !== this.#observed) {
      this.#observed = record;
      this.#observedAt = this.#clock();
    }
    const holder = s.holderIdentity || undefined;
    if (holder !== this.#holder) {
      this.#holder = holder;
      if (holder !== undefined && this.#onNewLeader) {
        const cb = this.#onNewLeader;
        this.#call("onNewLeader", () => cb(holder));
      }
    }
  }

  #stepDown(reason: string): void {
    if (!this.#leading) return;
    this.#leading = false;
    this.#log("stopped leading", { identity: this.#identity, reason });
    this.#call("onStoppedLeading", this.#onStoppedLeading);
  }

  #call(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#log(`${what} threw`, { err });
    }
  }
}

/** Formats epoch milliseconds as a Kubernetes MicroTime: RFC 3339 with six fractional digits, UTC. */
export function microTime(ms: number): string {
  const whole = Math.floor(ms);
  const micros = Math.min(999, Math.floor((ms - whole) * 1000));
  return new Date(whole).toISOString().replace(/Z$/, `${String(micros).padStart(3, "0")}Z`);
}
