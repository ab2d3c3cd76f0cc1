/**
 * Exponential backoff with jitter, and an abortable sleep.
 */

export interface BackoffOptions {
  /** Delay after the first failure. */
  baseMs: number;
  /** Upper bound of any delay (jitter included). */
  maxMs: number;
  /** Growth per failure; default 2. */
  factor?: number;
  /** Relative jitter; 0.1 means ±10 %. Default 0.1. */
  jitter?: number;
  /** Source of randomness in [0, 1); default Math.random. For tests. */
  random?: () => number;
}

export class Backoff {
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #factor: number;
  readonly #jitter: number;
  readonly #random: () => number;
  #failures = 0;

  constructor(opts: BackoffOptions) {
    if (!(opts.baseMs >= 0) || !(opts.maxMs >= opts.baseMs)) {
      throw new RangeError(`Backoff: need 0 <= baseMs <= maxMs, got ${opts.baseMs} and ${opts.maxMs}`);
    }
    const factor = opts.factor ?? 2;
    const jitter = opts.jitter ?? 0.1;
    if (!(factor >= 1)) throw new RangeError(`Backoff: factor must be >= 1, got ${factor}`);
    if (!(jitter >= 0 && jitter < 1))
      throw new RangeError(`Backoff: jitter must be in [0, 1), got ${jitter}`);
    this.#baseMs = opts.baseMs;
    this.#maxMs = opts.maxMs;
    this.#factor = factor;
    this.#jitter = jitter;
    this.#random = opts.random ?? Math.random;
  }

  /** Records one more failure and returns the delay before the next attempt, in whole milliseconds. */
  next(): number {
    // base * factor^failures, computed so that it saturates at max instead of overflowing.
    const raw = Math.min(this.#maxMs, this.#baseMs * this.#factor ** this.#failures);
    this.#failures++;
    const spread = raw * this.#jitter * (2 * this.#random() - 1);
    return Math.round(Math.min(this.#maxMs, Math.max(0, raw + spread)));
  }

  /** Forgets all failures: the next delay is the base again. */
  reset(): void {
    this.#failures = 0;
  }

  /** Failures recorded since the last reset. */
  get failures(): number {
    return this.#failures;
  }
}

/**
 * Resolves after `ms` milliseconds, or as soon as `signal` aborts (without throwing).
 * The timer is a normal (ref'd) timer: awaiting a sleep keeps the process alive, like any await on I/O.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, clampTimeout(ms));
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Largest delay setTimeout accepts; above it Node fires after 1 ms instead. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** Makes any number a delay setTimeout honours (NaN and negatives become 0). */
export function clampTimeout(ms: number): number {
  if (!(ms > 0)) return 0;
  return Math.min(ms, MAX_TIMEOUT_MS);
}
