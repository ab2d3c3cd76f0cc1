import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { TestCase, TestModule } from "vitest/node";
import HeartbeatReporter from "./heartbeat-reporter.ts";

const FILE = "e2e/x.e2e.test.ts";
const module = { id: "m", relativeModuleId: FILE } as unknown as TestModule;
const test = (id: string, name: string) =>
  ({ id, fullName: name, module: { relativeModuleId: FILE } }) as unknown as TestCase;

function reporter(lines: string[], everyMs = 20_000) {
  return new HeartbeatReporter({ everyMs, write: (l) => lines.push(l), now: () => Date.now() });
}

describe("heartbeat reporter", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("speaks after 20 s without output: many short tests in one file, then one long test", () => {
    const lines: string[] = [];
    const r = reporter(lines);
    r.onTestRunStart();
    r.onTestModuleStart(module);
    for (let i = 0; i < 5; i++) {
      const t = test(`s${i}`, `short ${i}`);
      r.onTestCaseReady(t);
      vi.advanceTimersByTime(5_000);
      r.onTestCaseResult(t);
    }
    const slow = test("slow", "slow > one");
    r.onTestCaseReady(slow);
    vi.advanceTimersByTime(40_000);
    r.onTestCaseResult(slow);
    r.onTestModuleEnd(module);
    vi.advanceTimersByTime(19_000);
    expect(lines).toEqual([
      `[vitest] still running: ${FILE} > short 3 (5 s; 3 tests done)\n`,
      `[vitest] still running: ${FILE} > slow > one (15 s; 5 tests done)\n`,
      `[vitest] still running: ${FILE} > slow > one (35 s; 5 tests done)\n`,
    ]);
    r.onTestRunEnd();
  });

  it("names the file while its hooks run outside any test; nothing when no file runs", () => {
    const lines: string[] = [];
    const r = reporter(lines, 10_000);
    r.onTestRunStart();
    r.onTestModuleStart(module);
    vi.advanceTimersByTime(10_000);
    r.onTestModuleEnd(module);
    vi.advanceTimersByTime(30_000);
    expect(lines).toEqual([`[vitest] still running: ${FILE} (10 s; 0 tests done)\n`]);
    r.onTestRunEnd();
  });

  it("stops when the run ends", () => {
    const lines: string[] = [];
    const r = reporter(lines, 1_000);
    r.onTestRunStart();
    r.onTestModuleStart(module);
    r.onTestCaseReady(test("1", "left running"));
    r.onTestRunEnd();
    vi.advanceTimersByTime(10_000);
    expect(lines).toEqual([]);
  });
});
