import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type QueueMetrics, type Result, TerminalError, WorkQueue, type WorkQueueOptions } from "./queue.ts";

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets pending promise callbacks run (no timers advance). */
async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** Records every handler call with its fake-clock time; each call can be held open. */
function recorder(
  opts: { hold?: boolean; impl?: (key: string, n: number) => Promise<Result> | Result } = {},
) {
  const calls: { key: string; at: number }[] = [];
  const open: Deferred[] = [];
  const active = new Map<string, number>();
  let maxActive = 0;
  let maxActivePerKey = 0;
  let activeTotal = 0;
  const handler = async (key: string): Promise<Result> => {
    calls.push({ key, at: Date.now() });
    const n = calls.filter((c) => c.key === key).length;
    active.set(key, (active.get(key) ?? 0) + 1);
    activeTotal++;
    maxActive = Math.max(maxActive, activeTotal);
    maxActivePerKey = Math.max(maxActivePerKey, active.get(key) ?? 0);
    try {
      if (opts.hold) {
        const d = deferred();
        open.push(d);
        await d.promise;
      }
      return await opts.impl?.(key, n);
    } finally {
      active.set(key, (active.get(key) ?? 0) - 1);
      activeTotal--;
    }
  };
  return {
    handler,
    calls,
    open,
    keys: () => calls.map((c) => c.key),
    times: (key: string) => calls.filter((c) => c.key === key).map((c) => c.at),
    get maxActive() {
      return maxActive;
    },
    get maxActivePerKey() {
      return maxActivePerKey;
    },
    /** Finishes the oldest held run. */
    async release(): Promise<void> {
      const d = open.shift();
      if (!d) throw new Error("no held run");
      d.resolve();
      await flush();
    },
  };
}

function queue(handler: (key: string, signal: AbortSignal) => Promise<Result>, opts: WorkQueueOptions = {}) {
  return new WorkQueue(handler, { now: () => Date.now(), ...opts });
}

/** Advances fake time 1 ms at a time until `done()` or `maxMs` passed. */
async function advanceUntil(done: () => boolean, maxMs: number): Promise<void> {
  for (let i = 0; i < maxMs && !done(); i++) await vi.advanceTimersByTimeAsync(1);
}

/** |actual - nominal| within the ±10 % jitter, plus rounding to whole milliseconds. */
function expectJittered(actual: number | undefined, nominal: number): void {
  expect(actual).toBeDefined();
  expect(Math.abs((actual ?? NaN) - nominal)).toBeLessThanOrEqual(nominal * 0.1 + 0.5);
}

describe("WorkQueue", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date("2026-11-23T13:00:00Z") });
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it("keeps a waiting key once however often it is added", async () => {
    const r = recorder();
    const q = queue(r.handler);
    q.add("a");
    q.add("b");
    q.add("a");
    q.add("a");
    expect(q.depth).toBe(2);
    q.start();
    await q.idle();
    expect(r.keys()).toEqual(["a", "b"]);
  });

  it("does not start the handler inside add()", () => {
    const r = recorder();
    const q = queue(r.handler);
    q.start();
    q.add("a");
    expect(r.calls).toHaveLength(0);
    expect(q.running).toBe(1);
  });

  it("never runs one key twice at once; adds during a run cause exactly one more run", async () => {
    const r = recorder({ hold: true });
    const q = queue(r.handler);
    q.start();
    q.add("a");
    await flush();
    expect(r.calls).toHaveLength(1);
    for (let i = 0; i < 5; i++) q.add("a");
    await flush();
    expect(r.calls).toHaveLength(1);
    expect(q.running).toBe(1);
    expect(q.depth).toBe(0);

    await r.release();
    expect(r.calls).toHaveLength(2);
    await r.release();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(r.calls).toHaveLength(2);
    expect(r.maxActivePerKey).toBe(1);
    await q.idle();
  });

  it("never runs more than `concurrency` handlers at once", async () => {
    const r = recorder({ hold: true });
    const q = queue(r.handler, { concurrency: 3 });
    q.start();
    for (let i = 0; i < 10; i++) q.add(`k${i}`);
    await flush();
    expect(q.running).toBe(3);
    expect(q.depth).toBe(7);
    while (r.open.length > 0) {
      await r.release();
      expect(q.running).toBeLessThanOrEqual(3);
    }
    await q.idle();
    expect(r.calls).toHaveLength(10);
    expect(r.maxActive).toBe(3);
  });

  it("defaults to 4 handlers at once", async () => {
    const r = recorder({ hold: true });
    const q = new WorkQueue(r.handler);
    q.start();
    for (let i = 0; i < 6; i++) q.add(`k${i}`);
    await flush();
    expect(q.running).toBe(4);
  });

  it("takes ready keys first in, first out; a dirty key goes to the back", async () => {
    const r = recorder({ hold: true });
    const q = queue(r.handler, { concurrency: 1 });
    q.add("a");
    q.add("b");
    q.add("c");
    q.start();
    await flush();
    q.add("d");
    q.add("a"); // dirty: a is running
    while (r.open.length > 0) await r.release();
    await q.idle();
    expect(r.keys()).toEqual(["a", "b", "c", "d", "a"]);
  });

  it("retries errors with per-key exponential backoff, capped, and resets it on success", async () => {
    const failing = new Set(["a", "b"]);
    const retries: { key: string; delay: number | undefined }[] = [];
    const r = recorder({
      impl: (key) => {
        if (failing.has(key)) throw new Error(`boom ${key}`);
      },
    });
    const q = queue(r.handler, {
      maxBackoffMs: 80,
      onError: (key, _err, delay) => retries.push({ key, delay }),
    });
    const delays = (key: string) => retries.filter((x) => x.key === key).map((x) => x.delay);
    q.start();
    q.add("a");
    await advanceUntil(() => delays("a").length >= 7, 2_000);

    const a = delays("a");
    [5, 10, 20, 40, 80, 80, 80].forEach((nominal, i) => expectJittered(a[i], nominal));
    for (const d of a) expect(d).toBeLessThanOrEqual(80);
    // Each retry ran exactly its reported delay after the failure, not before.
    const times = r.times("a");
    for (let i = 0; i + 1 < times.length; i++) expect((times[i + 1] ?? 0) - (times[i] ?? 0)).toBe(a[i]);

    // Another key has its own backoff, starting at the base.
    q.add("b");
    await advanceUntil(() => delays("b").length >= 2, 100);
    expectJittered(delays("b")[0], 5);
    expectJittered(delays("b")[1], 10);

    // Success resets a's backoff: its next failure starts at the base again.
    failing.delete("a");
    await advanceUntil(() => r.times("a").length > times.length, 200);
    failing.add("a");
    const before = delays("a").length;
    q.add("a");
    await advanceUntil(() => delays("a").length > before, 100);
    expectJittered(delays("a")[before], 5);
    await q.shutdown(0);
  });

  it("applies the jitter: delays are not all equal", async () => {
    const seen = new Set<number | undefined>();
    const q = queue(
      async () => {
        throw new Error("x");
      },
      { baseBackoffMs: 1000, maxBackoffMs: 1000, onError: (_k, _e, d) => seen.add(d) },
    );
    q.start();
    for (let i = 0; i < 20; i++) q.add(`k${i}`);
    await vi.advanceTimersByTimeAsync(0);
    expect(seen.size).toBeGreaterThan(1);
    for (const d of seen) {
      expect(d).toBeGreaterThanOrEqual(900);
      expect(d).toBeLessThanOrEqual(1000);
    }
    await q.shutdown(0);
  });

  it("does not retry a TerminalError, reports it with no delay and forgets the backoff", async () => {
    let mode: "error" | "terminal" = "error";
    const errors: { err: unknown; delay: number | undefined }[] = [];
    const r = recorder({
      impl: (_key, n) => {
        if (mode === "terminal" && n === 3) throw new TerminalError("bad spec");
        throw new Error("transient");
      },
    });
    const q = queue(r.handler, { onError: (_k, err, delay) => errors.push({ err, delay }) });
    q.start();
    q.add("a");
    await advanceUntil(() => errors.length >= 2, 100);
    mode = "terminal";
    await advanceUntil(() => errors.length >= 3, 100);
    expect(errors[2]?.err).toBeInstanceOf(TerminalError);
    expect(errors[2]?.delay).toBeUndefined();
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(r.calls).toHaveLength(3);

    // Added again later: the backoff starts from the base.
    q.add("a");
    await advanceUntil(() => errors.length >= 4, 100);
    expectJittered(errors[3]?.delay, 5);
    await q.shutdown(0);
  });

  it("runs a key again after requeueAfterMs, which counts as success", async () => {
    const errors: (number | undefined)[] = [];
    const r = recorder({
      impl: (_key, n) => {
        if (n === 1 || n === 2) throw new Error("transient");
        if (n === 3) return { requeueAfterMs: 1_000 };
        if (n === 4) throw new Error("transient again");
      },
    });
    const q = queue(r.handler, { onError: (_k, _e, d) => errors.push(d) });
    q.start();
    q.add("a");
    await advanceUntil(() => r.calls.length >= 3, 100);
    const third = r.times("a")[2] ?? 0;
    await vi.advanceTimersByTimeAsync(999);
    expect(r.calls).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(r.calls).toHaveLength(4);
    expect(r.times("a")[3]).toBe(third + 1_000);
    await advanceUntil(() => errors.length >= 3, 100);
    expectJittered(errors[0], 5);
    expectJittered(errors[1], 10);
    expectJittered(errors[2], 5); // reset by the requeue (success)
    await q.shutdown(0);
  });

  it("runs a requeued key at once when added before its time, and only once", async () => {
    const r = recorder({ impl: (_key, n) => (n === 1 ? { requeueAfterMs: 1_000 } : undefined) });
    const q = queue(r.handler);
    q.start();
    q.add("a");
    await vi.advanceTimersByTimeAsync(300);
    expect(r.calls).toHaveLength(1);
    q.add("a");
    await flush();
    expect(r.calls).toHaveLength(2);
    expect(r.times("a")[1]).toBe(Date.now());
    await vi.advanceTimersByTimeAsync(5_000);
    expect(r.calls).toHaveLength(2);
  });

  it("addAfter: the earliest pending time wins", async () => {
    const r = recorder();
    const q = queue(r.handler);
    q.start();
    const t0 = Date.now();
    q.addAfter("a", 500);
    q.addAfter("a", 200);
    q.addAfter("a", 800);
    expect(q.depth).toBe(0);
    await vi.advanceTimersByTimeAsync(199);
    expect(r.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(r.times("a")).toEqual([t0 + 200]);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(r.calls).toHaveLength(1);
  });

  it("addAfter does not delay a key that is already waiting, and addAfter(0) is add()", async () => {
    const r = recorder();
    const q = queue(r.handler);
    q.add("a");
    q.addAfter("a", 1_000);
    q.addAfter("b", 1_000);
    q.addAfter("b", 0);
    expect(q.depth).toBe(2);
    q.start();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(r.keys()).toEqual(["a", "b"]);
  });

  it("addAfter on a running key runs it again at that time", async () => {
    const r = recorder({ hold: true });
    const q = queue(r.handler);
    q.start();
    q.add("a");
    await flush();
    q.addAfter("a", 100);
    await vi.advanceTimersByTimeAsync(50);
    await r.release();
    expect(r.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(50);
    expect(r.calls).toHaveLength(2);
    await r.release();
  });

  it("a key that fails while added again runs once more at once", async () => {
    const errors: (number | undefined)[] = [];
    const r = recorder({
      hold: true,
      impl: (_key, n) => {
        if (n === 1) throw new Error("x");
      },
    });
    const q = queue(r.handler, { onError: (_k, _e, d) => errors.push(d) });
    q.start();
    q.add("a");
    await flush();
    q.add("a");
    await r.release();
    expect(errors).toEqual([0]); // the retry is the immediate run
    expect(r.calls).toHaveLength(2);
    await r.release();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(r.calls).toHaveLength(2);
  });

  it("pause() stops taking work without dropping keys; resume() continues", async () => {
    const r = recorder({ hold: true });
    const q = queue(r.handler, { concurrency: 2 });
    q.start();
    q.add("a");
    await flush();
    q.pause();
    q.add("b");
    q.add("c");
    q.add("a"); // dirty
    q.addAfter("d", 10);
    await vi.advanceTimersByTimeAsync(100);
    expect(r.keys()).toEqual(["a"]);
    await r.release(); // the running handler finishes normally
    await vi.advanceTimersByTimeAsync(100);
    expect(r.keys()).toEqual(["a"]);
    expect(q.depth).toBe(4);
    q.resume();
    await flush();
    while (r.open.length > 0) await r.release();
    await q.idle();
    expect(r.keys()).toEqual(["a", "b", "c", "d", "a"]);
  });

  it("shutdown() waits for running handlers and resolves when they finish", async () => {
    const r = recorder({ hold: true });
    let signal: AbortSignal | undefined;
    const handler = vi.fn(async (key: string, s: AbortSignal) => {
      signal = s;
      return r.handler(key);
    });
    const q = queue(handler);
    q.start();
    q.add("x");
    q.add("y");
    await flush();
    const t0 = Date.now();
    let done = false;
    void q.shutdown(1_000).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(500);
    expect(done).toBe(false);
    expect(signal?.aborted).toBe(false);
    await r.release();
    expect(done).toBe(false);
    await r.release();
    expect(done).toBe(true);
    expect(Date.now() - t0).toBe(500);
    // Work added after shutdown is ignored.
    q.add("z");
    q.addAfter("z", 1);
    await vi.advanceTimersByTimeAsync(10);
    expect(handler).toHaveBeenCalledTimes(2);
    await q.idle();
  });

  it("shutdown() aborts handlers still running at the deadline, drops waiting and delayed keys", async () => {
    let signal: AbortSignal | undefined;
    const handler = vi.fn(async (_key: string, s: AbortSignal) => {
      signal = s;
      await new Promise<void>(() => {}); // ignores the signal, never finishes
    });
    const q = queue(handler, { concurrency: 1 });
    q.start();
    q.add("a");
    q.add("b");
    q.addAfter("c", 100);
    await flush();
    const t0 = Date.now();
    let done = false;
    void q.shutdown(1_000).then(() => (done = true));
    expect(q.depth).toBe(0);
    await vi.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    expect(signal?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
    expect(Date.now() - t0).toBe(1_000);
    expect(signal?.aborted).toBe(true);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(handler).toHaveBeenCalledTimes(1);
    expect(q.running).toBe(1);
  });

  it("does not start a handler taken just before shutdown", async () => {
    const handler = vi.fn(async () => {});
    const q = queue(handler);
    q.start();
    q.add("a");
    await q.shutdown(100);
    expect(handler).not.toHaveBeenCalled();
    expect(q.running).toBe(0);
  });

  it("idle() waits for due timers but not for later ones", async () => {
    const r = recorder({ impl: (_k, n) => (n === 1 ? { requeueAfterMs: 0 } : undefined) });
    const q = queue(r.handler);
    q.start();
    q.add("a");
    q.addAfter("later", 60_000);
    await q.idle();
    expect(r.keys()).toEqual(["a", "a"]);
  });

  it("idle() does not resolve while a timer is due but has not fired yet", async () => {
    let skew = 0;
    const r = recorder();
    const q = queue(r.handler, { now: () => Date.now() + skew });
    q.start();
    q.addAfter("a", 10);
    skew = 10; // the queue's clock says the timer is due; the timer has not fired
    let idle = false;
    void q.idle().then(() => (idle = true));
    await flush();
    expect(idle).toBe(false);
    await vi.advanceTimersByTimeAsync(10);
    expect(idle).toBe(true);
    expect(r.keys()).toEqual(["a"]);
  });

  it("catches every handler failure and hook exception: no unhandled rejections", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    const consoleError = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const handler = ((key: string) => {
        if (key === "sync") throw new Error("thrown synchronously");
        if (key === "string") return Promise.reject("a string");
        if (key === "undefined") return Promise.reject(undefined);
        return Promise.resolve();
      }) as (key: string) => Promise<Result>;
      const seen: string[] = [];
      const boom = () => {
        throw new Error("hook");
      };
      const q = queue(handler, {
        onError: (key) => {
          seen.push(key);
          throw new Error("onError throws");
        },
        metrics: { depth: boom, latency: boom, workDuration: boom, retry: boom },
      });
      q.start();
      for (const k of ["sync", "string", "undefined", "ok"]) q.add(k);
      await vi.advanceTimersByTimeAsync(50);
      await q.shutdown(0);
      vi.useRealTimers();
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
      expect(new Set(seen)).toEqual(new Set(["sync", "string", "undefined"]));
      expect(consoleError).toHaveBeenCalled();
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("reports metrics: depth, latency, work duration with outcome, retries", async () => {
    const depth: number[] = [];
    const latency: number[] = [];
    const work: [number, string][] = [];
    let retries = 0;
    const metrics: QueueMetrics = {
      depth: (n) => depth.push(n),
      latency: (s) => latency.push(s),
      workDuration: (s, o) => work.push([s, o]),
      retry: () => retries++,
    };
    const q = queue(
      async (key) => {
        await new Promise((resolve) => setTimeout(resolve, 250));
        if (key === "requeue") return { requeueAfterMs: 60_000 };
        if (key === "error") throw new Error("x");
        if (key === "terminal") throw new TerminalError("y");
      },
      { concurrency: 1, metrics, maxBackoffMs: 60_000, baseBackoffMs: 60_000 },
    );
    q.add("ok");
    q.add("requeue");
    q.add("error");
    q.add("terminal");
    expect(depth).toEqual([1, 2, 3, 4]);
    await vi.advanceTimersByTimeAsync(100);
    q.start();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(depth.at(-1)).toBe(0);
    expect(work).toEqual([
      [0.25, "success"],
      [0.25, "requeue"],
      [0.25, "error"],
      [0.25, "terminal"],
    ]);
    expect(retries).toBe(1);
    // Latency: ready at t=0, started at 100, 350, 600, 850 ms.
    expect(latency).toEqual([0.1, 0.35, 0.6, 0.85]);
    await q.shutdown(0);
  });

  it("unrefs its timers", async () => {
    const spy = vi.spyOn(globalThis, "setTimeout");
    const q = queue(
      async (key) => {
        if (key === "requeue") return { requeueAfterMs: 60_000 };
        throw new Error("retry later");
      },
      { baseBackoffMs: 60_000 },
    );
    q.start();
    q.addAfter("delayed", 60_000);
    q.add("requeue");
    q.add("error");
    await vi.advanceTimersByTimeAsync(10);
    const timers = spy.mock.results.map((r) => r.value as NodeJS.Timeout);
    expect(timers.length).toBeGreaterThanOrEqual(3);
    for (const t of timers) expect(t.hasRef()).toBe(false);
    await q.shutdown(0);
  });
});

describe("WorkQueue in a real process", () => {
  const node = fileURLToPath(new URL("../../node_modules/.bin/node", import.meta.url));
  it.skipIf(!existsSync(node))("does not keep the process alive with pending timers", async () => {
    const queueUrl = new URL("./queue.ts", import.meta.url).href;
    const script = `
      import { WorkQueue } from ${JSON.stringify(queueUrl)};
      const q = new WorkQueue(async (k) => (k === "r" ? { requeueAfterMs: 600000 } : Promise.reject(new Error("x"))), { baseBackoffMs: 600000, maxBackoffMs: 600000 });
      q.start();
      q.addAfter("later", 600000);
      q.add("r");
      q.add("e");
      await q.idle();
      console.log("idle", q.running, q.depth);
    `;
    const started = Date.now();
    const out = await new Promise<string>((resolve, reject) => {
      execFile(node, ["--input-type=module", "-e", script], { timeout: 20_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      );
    });
    expect(out.trim()).toBe("idle 0 0");
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
