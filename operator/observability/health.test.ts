// Liveness decisions with fake clocks: a stuck or slow event loop, silent watches.
import { afterEach, describe, expect, it, vi } from "vitest";
import { combine, EventLoopHealth, type WatchSource, WatchHealth } from "./health.ts";

describe("EventLoopHealth", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("is live while beats come on time, fails after a blocked turn, recovers at the next beat", () => {
    let now = 0;
    const h = new EventLoopHealth({ intervalMs: 1000, maxLagMs: 5000, now: () => now });
    for (let i = 0; i < 5; i++) {
      now += 1000;
      h.beat();
      expect(h.check().ok).toBe(true);
    }
    now += 1000 + 4000; // late, but within the allowed lag
    h.beat();
    expect(h.check()).toEqual({ ok: true, detail: "event loop turning" });
    now += 1000 + 7000; // a turn blocked the loop for 7 s
    h.beat();
    expect(h.check()).toEqual({ ok: false, detail: "event loop: a turn blocked it for 7000 ms" });
    now += 1000;
    h.beat();
    expect(h.check().ok).toBe(true);
  });

  it("fails when no beat has come for longer than the interval and the allowed lag", () => {
    let now = 0;
    const h = new EventLoopHealth({ intervalMs: 1000, maxLagMs: 5000, now: () => now });
    now = 6000;
    expect(h.check().ok).toBe(true);
    now = 6001;
    expect(h.check()).toEqual({ ok: false, detail: "event loop: no heartbeat for 6001 ms" });
  });

  it("beats on an unref'd timer once started, and stops", async () => {
    vi.useFakeTimers();
    const h = new EventLoopHealth({ intervalMs: 1000, maxLagMs: 2000, now: () => Date.now() });
    const spy = vi.spyOn(globalThis, "setInterval");
    h.start();
    const timer = spy.mock.results[0]?.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(h.check().ok).toBe(true);
    h.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(h.check().ok).toBe(false);
  });
});

describe("WatchHealth", () => {
  const src = (
    kind: string,
    lastContact: number,
    namespace?: string,
  ): WatchSource & { namespace?: string } => ({
    resource: { kind, group: kind === "ServiceSecurityProfile" ? "meshward.io" : "" },
    lastContact,
    namespace,
  });

  it("fails when one informer has heard nothing for longer than the threshold, naming it", () => {
    let now = 1_000_000;
    let sources = [
      src("ServiceSecurityProfile", now),
      src("ServiceAccount", now, "team-a"),
      src("NotStarted", 0),
    ];
    const h = new WatchHealth({ sources: () => sources, maxSilenceMs: 600_000, now: () => now });
    expect(h.check()).toEqual({ ok: true, detail: "watches: 2 hearing from the API server" });
    now += 600_000;
    expect(h.check().ok).toBe(true);
    now += 1;
    sources = [src("ServiceSecurityProfile", now - 10), src("ServiceAccount", 1_000_000, "team-a")];
    expect(h.check()).toEqual({
      ok: false,
      detail: "watches: no answer from the API server for ServiceAccount in team-a (600 s)",
    });
  });

  it("has a default threshold of 10 minutes", () => {
    expect(new WatchHealth({ sources: () => [] }).maxSilenceMs).toBe(600_000);
  });
});

describe("combine", () => {
  it("is live when every check is, and tells what failed", () => {
    expect(combine({ ok: true, detail: "a" }, { ok: true, detail: "b" })).toEqual({
      ok: true,
      detail: "a; b",
    });
    expect(combine({ ok: true, detail: "a" }, { ok: false, detail: "b" })).toEqual({
      ok: false,
      detail: "b",
    });
  });
});
