// The CI log's measure (scripts/ci-log.ts): stamped lines parsed, the longest silence found and
// reported with the lines around it.
import { describe, expect, it } from "vitest";
import { longestSilence, parseLine, parseLog, silenceLine } from "./ci-log.ts";

describe("parseLine", () => {
  it.each([
    ["[     0.0s] npm ci", { seconds: 0, text: "npm ci" }],
    ["[   528.3s] [testbed] built istioctl", { seconds: 528.3, text: "[testbed] built istioctl" }],
    ["[12s] no decimals", { seconds: 12, text: "no decimals" }],
    ["[     1.5s] ", { seconds: 1.5, text: "" }],
    ["no stamp", undefined],
    ["[abc] not a time", undefined],
  ])("%j", (line, want) => {
    expect(parseLine(line)).toEqual(want);
  });
});

describe("longestSilence", () => {
  const log = (...stamps: number[]) =>
    parseLog(stamps.map((s, i) => `[${s.toFixed(1)}s] line ${i + 1}`).join("\n"));
  const cases: { name: string; stamps: number[]; want: [number, number, number] | undefined }[] = [
    { name: "no line: nothing to measure", stamps: [], want: undefined },
    { name: "one line: the wait from the start", stamps: [4], want: [4, 0, 1] },
    { name: "the longest gap between two lines", stamps: [0, 1, 21, 22, 50, 51], want: [28, 4, 5] },
    { name: "the first of equal gaps", stamps: [0, 10, 20], want: [10, 1, 2] },
    { name: "a quiet start counts", stamps: [600, 601], want: [600, 0, 1] },
  ];
  for (const c of cases)
    it(c.name, () => {
      const s = longestSilence(log(...c.stamps));
      expect(s && [s.seconds, s.before.number, s.after.number]).toEqual(c.want);
    });

  it("numbers lines as in the file, unstamped lines left out", () => {
    const lines = parseLog("[0.0s] a\nunstamped\n[30.0s] b\n");
    expect(lines.map((l) => l.number)).toEqual([1, 3]);
    expect(longestSilence(lines)).toMatchObject({ seconds: 30, before: { number: 1 }, after: { number: 3 } });
  });
});

describe("silenceLine", () => {
  it("says how long, between which lines, and how long the log is", () => {
    const lines = parseLog(
      "[0.0s] [testbed] building istioctl\n[20.0s] still running\n[548.4s] [testbed] built istioctl\n[549.0s] done",
    );
    expect(silenceLine(lines)).toBe(
      'longest silence in this log: 528 s (between line 2 "still running" and line 3 "[testbed] built istioctl"); 4 lines in 549 s',
    );
  });

  it("names the start when the log is quiet from the beginning, and escapes control characters", () => {
    expect(silenceLine(parseLog("[40.0s] \u001b[32mok\u001b[0m"))).toBe(
      'longest silence in this log: 40 s (between the start and line 1 "\\\\x1b[32mok\\\\x1b[0m"); 1 line in 40 s',
    );
  });

  it("says so when nothing is stamped", () => {
    expect(silenceLine([])).toBe("longest silence in this log: no timestamped line");
  });
});
