import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { TestCase } from "vitest/node";
import HeartbeatReporter from "./heartbeat-reporter.ts";

const test = (id: string, name: string) =>
  ({ id, fullName: name, module: { relativeModuleId: "e2e/x.e2e.test.ts" } }) as unknown as TestCase;

describe("heartbeat reporter", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("names the test still running every interval, and says nothing about quick ones", () => {
    const lines: string[] = [];
    const r = new HeartbeatReporter({ everyMs: 20_000, write: (l) => lines.push(l), now: () => Date.now() });
    r.onTestRunStart();
    const quick = test("1", "quick");
    r.onTestCaseReady(quick);
    vi.advanceTimersByTime(5_000);
    r.onTestCaseResult(quick);
    const slow = test("2", "slow > one");
    r.onTestCaseReady(slow);
    vi.advanceTimersByTime(60_000);
    r.onTestCaseResult(slow);
    vi.advanceTimersByTime(60_000);
    expect(lines).toEqual([
      "[vitest] still running: e2e/x.e2e.test.ts > slow > one (20 s)\n",
      "[vitest] still running: e2e/x.e2e.test.ts > slow > one (40 s)\n",
      "[vitest] still running: e2e/x.e2e.test.ts > slow > one (60 s)\n",
    ]);
    r.onTestRunEnd();
  });

  it("stops when the run ends", () => {
    const lines: string[] = [];
    const r = new HeartbeatReporter({ everyMs: 1_000, write: (l) => lines.push(l), now: () => Date.now() });
    r.onTestRunStart();
    r.onTestCaseReady(test("1", "left running"));
    r.onTestRunEnd();
    vi.advanceTimersByTime(10_000);
    expect(lines).toEqual([]);
  });
});
