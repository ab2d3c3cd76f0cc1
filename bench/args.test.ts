import { describe, expect, it } from "vitest";
import { parseOptions, UsageError } from "./args.ts";

const spec = {
  profiles: { type: "number", default: 1000, min: 1, help: "profiles" },
  "quiet-minutes": { type: "number", default: 10, help: "quiet minutes" },
  out: { type: "string", default: "docs/benchmarks.md", help: "where" },
  "keep-testbed": { type: "boolean", help: "keep it" },
} as const;

const parse = (argv: string[]) => parseOptions("npm run bench", "Benchmarks.", spec, argv);

function usageError(argv: string[]): UsageError {
  try {
    parse(argv);
  } catch (e) {
    if (e instanceof UsageError) return e;
    throw e;
  }
  throw new Error(`no UsageError for ${argv.join(" ")}`);
}

describe("parseOptions", () => {
  it("gives the defaults, and numbers as numbers", () => {
    expect(parse([])).toEqual({
      profiles: 1000,
      "quiet-minutes": 10,
      out: "docs/benchmarks.md",
      "keep-testbed": false,
    });
    expect(parse(["--profiles", "20", "--quiet-minutes=0.5", "--out", "x.md", "--keep-testbed"])).toEqual({
      profiles: 20,
      "quiet-minutes": 0.5,
      out: "x.md",
      "keep-testbed": true,
    });
  });

  it("answers --help with the usage and exit code 0", () => {
    const e = usageError(["--help"]);
    expect(e.exitCode).toBe(0);
    expect(e.message).toContain("usage: npm run bench -- [options]");
    expect(e.message).toMatch(/--profiles N\s+profiles \(default 1000\)/);
    expect(e.message).toMatch(/--keep-testbed\s+keep it\n/);
    expect(usageError(["-h"]).exitCode).toBe(0);
  });

  it.each([
    [["--profiles", "many"], '--profiles takes a number ≥ 1, not "many"'],
    [["--profiles", "0"], '--profiles takes a number ≥ 1, not "0"'],
    [["--quiet-minutes", "-1"], "--quiet-minutes"],
    [["--profile", "10"], "Unknown option '--profile'"],
  ])("refuses %j naming the option, with the usage and exit code 2", (argv, message) => {
    const e = usageError(argv);
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(message);
    expect(e.message).toContain("usage: npm run bench");
  });
});
