// The progress ticker of the test bed's builds, driven by fake timers: a line at every interval
// (so never more than 30 s without one), with the step, the elapsed time and the log to follow;
// nothing once stopped.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { formatElapsed, PROGRESS_EVERY_MS, progressLine, startProgress } from "./progress.ts";

describe("formatElapsed", () => {
  it.each([
    [0, "0 s"],
    [999, "0 s"],
    [45_000, "45 s"],
    [59_999, "59 s"],
    [60_000, "1 min 0 s"],
    [528_000, "8 min 48 s"],
    [7_200_000, "120 min 0 s"],
  ])("%i ms → %s", (ms, text) => expect(formatElapsed(ms)).toBe(text));
});

describe("progressLine", () => {
  it("names the step, the time so far and how to follow the log", () => {
    expect(progressLine("building istioctl v1.31.4", 528_000, "/c/istioctl.tmp-1/build.log")).toBe(
      "building istioctl v1.31.4: still running, 8 min 48 s so far; follow it: tail -f /c/istioctl.tmp-1/build.log",
    );
    expect(progressLine("waiting for another build", 20_000)).toBe(
      "waiting for another build: still running, 20 s so far",
    );
  });
});

describe("startProgress", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("writes a line every interval, under 30 s apart, until stopped", () => {
    expect(PROGRESS_EVERY_MS).toBeLessThanOrEqual(30_000);
    const lines: string[] = [];
    const stop = startProgress("building istioctl", (l) => lines.push(l), { logFile: "/tmp/b.log" });
    vi.advanceTimersByTime(PROGRESS_EVERY_MS - 1);
    expect(lines).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(lines).toEqual([progressLine("building istioctl", PROGRESS_EVERY_MS, "/tmp/b.log")]);
    // A 9-minute build: one line per interval, each later than the one before by the interval.
    vi.advanceTimersByTime(9 * 60_000);
    const expected = Math.floor((9 * 60_000 + PROGRESS_EVERY_MS) / PROGRESS_EVERY_MS);
    expect(lines).toHaveLength(expected);
    expect(lines.at(-1)).toBe(progressLine("building istioctl", expected * PROGRESS_EVERY_MS, "/tmp/b.log"));
    for (const l of lines) expect(l).toContain("tail -f /tmp/b.log");
    stop();
    vi.advanceTimersByTime(10 * PROGRESS_EVERY_MS);
    expect(lines).toHaveLength(expected);
  });

  it("takes another interval", () => {
    const lines: string[] = [];
    const stop = startProgress("x", (l) => lines.push(l), { everyMs: 5_000 });
    vi.advanceTimersByTime(15_000);
    expect(lines).toEqual([
      "x: still running, 5 s so far",
      "x: still running, 10 s so far",
      "x: still running, 15 s so far",
    ]);
    stop();
  });
});
