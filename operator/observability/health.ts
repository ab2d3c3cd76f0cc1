// Liveness: the process is live while its event loop turns and its watches hear from the API server.
// - Event loop: a heartbeat timer measures how late it fires. A turn of the loop that took longer
//   than maxLagMs (a busy loop, a huge synchronous job) makes the next probe fail; so does a beat
//   that has not come for that long. One slow turn fails one probe; the kubelet restarts the pod
//   only after failureThreshold probes in a row, i.e. a loop that stays stuck.
// - Watches: every informer records when the API server last answered it (list, watch event or
//   bookmark, a watch ended by the server, 404 for an absent resource). One that has heard nothing
//   for longer than maxSilenceMs is stuck; its own watchdog and relists failed to recover it, and a
//   restart starts it clean.
// Clocks are injected: the unit tests drive them by hand.

export interface Check {
  ok: boolean;
  detail: string;
}

export interface EventLoopOptions {
  /** Heartbeat period; default 1000 ms. */
  intervalMs?: number;
  /** A beat later than this (or missing for this long) is a stuck loop; default 10 000 ms. */
  maxLagMs?: number;
  /** Monotonic clock in ms; default performance.now. */
  now?: () => number;
}

export class EventLoopHealth {
  readonly intervalMs: number;
  readonly maxLagMs: number;
  readonly #now: () => number;
  #lastBeat: number;
  #lastLag = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(o: EventLoopOptions = {}) {
    this.intervalMs = o.intervalMs ?? 1000;
    this.maxLagMs = o.maxLagMs ?? 10_000;
    this.#now = o.now ?? (() => performance.now());
    this.#lastBeat = this.#now();
  }

  /** Starts the heartbeat timer (unref'd: it keeps no process alive). */
  start(): void {
    if (this.#timer) return;
    this.#lastBeat = this.#now();
    this.#timer = setInterval(() => this.beat(), this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One heartbeat: how late it came is the lag of the loop's last turn. */
  beat(): void {
    const now = this.#now();
    this.#lastLag = Math.max(0, now - this.#lastBeat - this.intervalMs);
    this.#lastBeat = now;
  }

  check(): Check {
    const since = this.#now() - this.#lastBeat;
    if (since > this.intervalMs + this.maxLagMs)
      return { ok: false, detail: `event loop: no heartbeat for ${Math.round(since)} ms` };
    if (this.#lastLag > this.maxLagMs)
      return { ok: false, detail: `event loop: a turn blocked it for ${Math.round(this.#lastLag)} ms` };
    return { ok: true, detail: "event loop turning" };
  }
}

/** What the watch check needs of an informer (runtime/informer.ts Informer has both). */
export interface WatchSource {
  readonly resource: { kind: string; group: string };
  /** Date.now() of the last answer from the API server; 0 while not started. */
  readonly lastContact: number;
}

export interface WatchOptions {
  /** The informers, read at each check (they may be created after the check is). */
  sources: () => Iterable<WatchSource & { namespace?: string }>;
  /** Silence longer than this is a stuck watch; default 600 000 ms (10 min). */
  maxSilenceMs?: number;
  /** Wall clock in ms (the informers' clock); default Date.now. */
  now?: () => number;
}

export class WatchHealth {
  readonly maxSilenceMs: number;
  readonly #o: WatchOptions;
  readonly #now: () => number;

  constructor(o: WatchOptions) {
    this.#o = o;
    this.maxSilenceMs = o.maxSilenceMs ?? 600_000;
    this.#now = o.now ?? Date.now;
  }

  check(): Check {
    const now = this.#now();
    const stuck: string[] = [];
    let n = 0;
    for (const s of this.#o.sources()) {
      if (s.lastContact === 0) continue;
      n++;
      const silent = now - s.lastContact;
      if (silent > this.maxSilenceMs) {
        const what = `${s.resource.kind}${s.resource.group ? `.${s.resource.group}` : ""}`;
        stuck.push(`${what}${s.namespace ? ` in ${s.namespace}` : ""} (${Math.round(silent / 1000)} s)`);
      }
    }
    if (stuck.length > 0)
      return { ok: false, detail: `watches: no answer from the API server for ${stuck.join(", ")}` };
    return { ok: true, detail: `watches: ${n} hearing from the API server` };
  }
}

/** Live when every check is. */
export function combine(...checks: Check[]): Check {
  const failed = checks.filter((c) => !c.ok);
  return failed.length > 0
    ? { ok: false, detail: failed.map((c) => c.detail).join("; ") }
    : { ok: true, detail: checks.map((c) => c.detail).join("; ") };
}
