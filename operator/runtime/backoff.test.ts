import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Backoff, clampTimeout, MAX_TIMEOUT_MS, sleep } from "./backoff.ts";

describe("Backoff", () => {
  it("grows by the factor from the base and is capped at the max", () => {
    const b = new Backoff({ baseMs: 5, maxMs: 100, jitter: 0 });
    expect(Array.from({ length: 8 }, () => b.next())).toEqual([5, 10, 20, 40, 80, 100, 100, 100]);
    expect(b.failures).toBe(8);
    const c = new Backoff({ baseMs: 100, maxMs: 10_000, factor: 3, jitter: 0 });
    expect([c.next(), c.next(), c.next()]).toEqual([100, 300, 900]);
  });

  it("does not overflow after very many failures", () => {
    const b = new Backoff({ baseMs: 5, maxMs: 300_000, jitter: 0 });
    for (let i = 0; i < 5_000; i++) b.next();
    expect(b.next()).toBe(300_000);
  });

  it("jitters by at most the given fraction, never above the max", () => {
    const low = new Backoff({ baseMs: 1_000, maxMs: 1_000_000, jitter: 0.1, random: () => 0 });
    const high = new Backoff({ baseMs: 1_000, maxMs: 1_000_000, jitter: 0.1, random: () => 0.999999 });
    expect(low.next()).toBe(900);
    expect(high.next()).toBe(1_100);
    const capped = new Backoff({ baseMs: 1_000, maxMs: 1_000, random: () => 0.999999 });
    expect(capped.next()).toBe(1_000);
    const real = new Backoff({ baseMs: 1_000, maxMs: 1_000_000 });
    for (let i = 0; i < 100; i++) {
      real.reset();
      const d = real.next();
      expect(d).toBeGreaterThanOrEqual(900);
      expect(d).toBeLessThanOrEqual(1_100);
    }
  });

  it("starts at the base again after reset()", () => {
    const b = new Backoff({ baseMs: 5, maxMs: 100, jitter: 0 });
    b.next();
    b.next();
    b.reset();
    expect(b.failures).toBe(0);
    expect(b.next()).toBe(5);
  });

  it("rejects nonsense options", () => {
    expect(() => new Backoff({ baseMs: 10, maxMs: 5 })).toThrow(RangeError);
    expect(() => new Backoff({ baseMs: -1, maxMs: 5 })).toThrow(RangeError);
    expect(() => new Backoff({ baseMs: 1, maxMs: 5, factor: 0.5 })).toThrow(RangeError);
    expect(() => new Backoff({ baseMs: 1, maxMs: 5, jitter: 1 })).toThrow(RangeError);
  });
});

describe("sleep", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("resolves after the delay", async () => {
    let done = false;
    void sleep(100).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(99);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
  });

  it("resolves early, without throwing, when the signal aborts, and clears its timer", async () => {
    const ctl = new AbortController();
    let done = false;
    const p = sleep(60_000, ctl.signal).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(10);
    expect(done).toBe(false);
    ctl.abort(new Error("stop"));
    await p;
    expect(done).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("resolves at once when the signal is already aborted", async () => {
    const ctl = new AbortController();
    ctl.abort();
    await sleep(60_000, ctl.signal);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("removes its abort listener when the time is up", async () => {
    const ctl = new AbortController();
    const remove = vi.spyOn(ctl.signal, "removeEventListener");
    const p = sleep(10, ctl.signal);
    await vi.advanceTimersByTimeAsync(10);
    await p;
    expect(remove).toHaveBeenCalledWith("abort", expect.any(Function));
  });
});

describe("clampTimeout", () => {
  it("keeps delays setTimeout can honour", () => {
    expect(clampTimeout(-5)).toBe(0);
    expect(clampTimeout(Number.NaN)).toBe(0);
    expect(clampTimeout(250)).toBe(250);
    expect(clampTimeout(Number.POSITIVE_INFINITY)).toBe(MAX_TIMEOUT_MS);
    expect(clampTimeout(MAX_TIMEOUT_MS + 1)).toBe(MAX_TIMEOUT_MS);
  });
});
