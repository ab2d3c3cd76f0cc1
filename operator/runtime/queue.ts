/**
 * A de-duplicating, rate-limited work queue for reconcilers (in the spirit of client-go's workqueue and
 * kube-rs' controller scheduler).
 *
 * A key is in at most one of these states:
 * - ready: waiting to run, in FIFO order (a key waits there once however often it is added);
 * - running: its handler is in flight (never two runs of one key at once); a key added meanwhile is marked
 *   dirty and runs once more after the current run;
 * - delayed: a timer will make it ready (requeue, retry after backoff, addAfter). The earliest pending time
 *   wins, and add() makes it ready at once (cancelling the timer).
 * A running key may also have a timer (set by addAfter while it runs).
 */

import { Backoff, clampTimeout } from "./backoff.ts";

export type Result = { requeueAfterMs?: number } | void;

/** Thrown by a handler when retrying cannot help: the key is logged and forgotten until it is added again. */
export class TerminalError extends Error {
  override name = "TerminalError";
}

export type Outcome = "success" | "requeue" | "error" | "terminal";

/** Optional hooks; the caller wires them to prom-client. Exceptions thrown by hooks are swallowed. */
export interface QueueMetrics {
  /** Keys waiting to run (not running, not delayed). */
  depth?(n: number): void;
  /** A key became ready or, while running, dirty (an add that a waiting key absorbs is not counted). */
  added?(key: string): void;
  /** Seconds from the key becoming ready (add(), timer firing) to the start of its handler. */
  latency?(seconds: number, key: string): void;
  /** Seconds the handler took, with its outcome. */
  workDuration?(seconds: number, outcome: Outcome, key: string): void;
  /** A handler failed with a retryable error. */
  retry?(): void;
}

export interface WorkQueueOptions {
  /** Handlers running at once; default 4. */
  concurrency?: number;
  /** First retry delay after an error; default 5 ms. */
  baseBackoffMs?: number;
  /** Largest retry delay; default 300 000 ms (5 min). */
  maxBackoffMs?: number;
  metrics?: QueueMetrics;
  /**
   * Called after every failed run with the delay before the retry: the backoff delay, 0 if the key was added
   * again during the run (it runs again at once), undefined for a TerminalError (no retry).
   */
  onError?(key: string, err: unknown, retryInMs: number | undefined): void;
  /** Monotonic clock in milliseconds, for latency and timer bookkeeping; default performance.now. */
  now?: () => number;
}

type Handler = (key: string, signal: AbortSignal) => Promise<Result>;

interface Delayed {
  at: number;
  timer: NodeJS.Timeout;
}

export class WorkQueue {
  readonly #handler: Handler;
  readonly #concurrency: number;
  readonly #baseBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #metrics: QueueMetrics;
  readonly #onError: WorkQueueOptions["onError"];
  readonly #now: () => number;

  /** Ready keys in FIFO order (Map keeps insertion order), with the time each became ready. */
  readonly #ready = new Map<string, number>();
  readonly #running = new Set<string>();
  /** Running keys added again meanwhile, with the time of that add. */
  readonly #dirty = new Map<string, number>();
  readonly #delayed = new Map<string, Delayed>();
  readonly #backoffs = new Map<string, Backoff>();
  readonly #abort = new AbortController();

  #started = false;
  #paused = false;
  #stopping = false;
  #closed = false;
  #shutdown: Promise<void> | undefined;
  #idleWaiters: (() => void)[] = [];
  #drainWaiters: (() => void)[] = [];

  constructor(handler: Handler, opts: WorkQueueOptions = {}) {
    const concurrency = opts.concurrency ?? 4;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`WorkQueue: concurrency must be a positive integer, got ${concurrency}`);
    }
    this.#handler = handler;
    this.#concurrency = concurrency;
    this.#baseBackoffMs = opts.baseBackoffMs ?? 5;
    this.#maxBackoffMs = opts.maxBackoffMs ?? 300_000;
    // Validate the backoff settings now rather than at the first failure.
    new Backoff({ baseMs: this.#baseBackoffMs, maxMs: this.#maxBackoffMs });
    this.#metrics = opts.metrics ?? {};
    this.#onError = opts.onError;
    this.#now = opts.now ?? (() => performance.now());
  }

  /** Makes the key ready now (de-duplicated; cancels a pending timer for it). Ignored after shutdown. */
  add(key: string): void {
    if (this.#stopping) return;
    this.#cancelTimer(key);
    this.#enqueue(key, this.#now());
    this.#pump();
  }

  /** Makes the key ready after `ms`, unless it is due sooner already (earliest pending time wins). */
  addAfter(key: string, ms: number): void {
    if (this.#stopping) return;
    if (!(ms > 0)) {
      this.add(key);
      return;
    }
    this.#schedule(key, ms);
  }

  /** Starts processing with `concurrency` handlers at most. Idempotent. */
  start(): void {
    this.#started = true;
    this.#pump();
  }

  /** Stops starting handlers (running ones finish); keys and timers are kept. */
  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#pump();
  }

  /**
   * Stops taking work and drops waiting and delayed keys, waits up to `deadlineMs` for running handlers,
   * then aborts the signal they were given and resolves (without waiting for handlers that ignore it).
   */
  shutdown(deadlineMs: number): Promise<void> {
    this.#shutdown ??= this.#doShutdown(deadlineMs);
    return this.#shutdown;
  }

  /** Keys waiting to run (not running, not delayed). */
  get depth(): number {
    return this.#ready.size;
  }

  /** Handlers in flight. */
  get running(): number {
    return this.#running.size;
  }

  /**
   * Resolves once nothing is waiting, nothing is running and no timer is due (timers further in the future
   * do not count), or once the queue has shut down. Meant for tests.
   */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  // ---------------------------------------------------------------------------------------------------

  /** `fresh` false: a dirty key moving to ready after its run (its add was counted when it became dirty). */
  #enqueue(key: string, at: number, fresh = true): void {
    if (this.#running.has(key)) {
      if (!this.#dirty.has(key)) {
        this.#dirty.set(key, at);
        this.#safe(() => this.#metrics.added?.(key));
      }
      return;
    }
    if (this.#ready.has(key)) return;
    this.#ready.set(key, at);
    if (fresh) this.#safe(() => this.#metrics.added?.(key));
    this.#reportDepth();
  }

  #schedule(key: string, ms: number): void {
    if (!(ms > 0)) {
      this.#cancelTimer(key);
      this.#enqueue(key, this.#now());
      return;
    }
    // Already due now: the coming run covers this request.
    if (this.#ready.has(key) || this.#dirty.has(key)) return;
    const at = this.#now() + ms;
    const existing = this.#delayed.get(key);
    if (existing) {
      if (existing.at <= at) return;
      clearTimeout(existing.timer);
    }
    const timer = setTimeout(() => {
      if (this.#delayed.get(key)?.timer !== timer) return;
      this.#delayed.delete(key);
      if (this.#stopping) return;
      this.#enqueue(key, this.#now());
      this.#pump();
    }, clampTimeout(ms));
    timer.unref();
    this.#delayed.set(key, { at, timer });
  }

  #cancelTimer(key: string): void {
    const existing = this.#delayed.get(key);
    if (!existing) return;
    clearTimeout(existing.timer);
    this.#delayed.delete(key);
  }

  #pump(): void {
    if (this.#started && !this.#paused && !this.#stopping) {
      let took = false;
      while (this.#running.size < this.#concurrency) {
        const next = this.#ready.entries().next();
        if (next.done) break;
        const [key, readyAt] = next.value;
        this.#ready.delete(key);
        this.#running.add(key);
        took = true;
        void this.#process(key, readyAt);
      }
      if (took) this.#reportDepth();
    }
    this.#checkIdle();
  }

  /** Runs one handler; never rejects. */
  async #process(key: string, readyAt: number): Promise<void> {
    // Start the handler in a microtask, not inside the caller of add().
    await Promise.resolve();
    if (this.#stopping) {
      // Shut down before the handler began: do not start it.
      this.#running.delete(key);
      this.#afterRun();
      return;
    }
    const started = this.#now();
    this.#safe(() => this.#metrics.latency?.(Math.max(0, started - readyAt) / 1000, key));

    let result: Result = undefined;
    let failed = false;
    let error: unknown;
    try {
      result = await this.#handler(key, this.#abort.signal);
    } catch (err) {
      failed = true;
      error = err;
    }
    const seconds = Math.max(0, this.#now() - started) / 1000;
    this.#running.delete(key);

    let outcome: Outcome;
    let after: number | undefined;
    if (!failed) {
      this.#backoffs.delete(key);
      after = requeueDelay(result);
      outcome = after === undefined ? "success" : "requeue";
    } else if (error instanceof TerminalError) {
      this.#backoffs.delete(key);
      outcome = "terminal";
    } else {
      after = this.#backoffFor(key).next();
      outcome = "error";
    }

    // Added while running: run once more now (that run's result decides what comes next). A failure
    // still counts towards the key's backoff, but the retry is this immediate run.
    const dirtyAt = this.#stopping ? undefined : this.#dirty.get(key);
    if (dirtyAt !== undefined && after !== undefined) after = 0;

    this.#safe(() => this.#metrics.workDuration?.(seconds, outcome, key));
    if (outcome === "error") this.#safe(() => this.#metrics.retry?.());
    if (failed) this.#safe(() => this.#onError?.(key, error, after));

    if (dirtyAt !== undefined) {
      this.#dirty.delete(key);
      this.#cancelTimer(key);
      this.#enqueue(key, dirtyAt, false);
    } else if (after !== undefined && !this.#stopping) {
      this.#schedule(key, after);
    }

    this.#afterRun();
  }

  #afterRun(): void {
    if (this.#running.size === 0) {
      const waiters = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const w of waiters) w();
    }
    this.#pump();
  }

  #backoffFor(key: string): Backoff {
    let b = this.#backoffs.get(key);
    if (!b) {
      b = new Backoff({ baseMs: this.#baseBackoffMs, maxMs: this.#maxBackoffMs, jitter: 0.1 });
      this.#backoffs.set(key, b);
    }
    return b;
  }

  async #doShutdown(deadlineMs: number): Promise<void> {
    this.#stopping = true;
    for (const d of this.#delayed.values()) clearTimeout(d.timer);
    this.#delayed.clear();
    this.#ready.clear();
    this.#dirty.clear();
    this.#backoffs.clear();
    this.#reportDepth();
    if (this.#running.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, clampTimeout(deadlineMs));
        this.#drainWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.#abort.abort(new Error("work queue shut down"));
    this.#closed = true;
    this.#checkIdle();
  }

  #isIdle(): boolean {
    if (this.#closed) return true;
    if (this.#ready.size > 0 || this.#running.size > 0) return false;
    const now = this.#now();
    for (const d of this.#delayed.values()) if (d.at <= now) return false;
    return true;
  }

  #checkIdle(): void {
    if (this.#idleWaiters.length === 0 || !this.#isIdle()) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  #reportDepth(): void {
    this.#safe(() => this.#metrics.depth?.(this.#ready.size));
  }

  #safe(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      console.error("work queue: metrics or onError hook threw", err);
    }
  }
}

/** The requeue delay a handler asked for, if any (negative means now; NaN and Infinity mean none). */
function requeueDelay(result: Result): number | undefined {
  if (typeof result !== "object" || result === null) return undefined;
  const ms = result.requeueAfterMs;
  if (typeof ms !== "number" || !Number.isFinite(ms)) return undefined;
  return Math.max(0, ms);
}
