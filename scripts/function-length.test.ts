// Functions a reader can hold in their head: the longest non-test function of operator/ and bench/,
// measured with the TypeScript parser (scripts/function-length.ts), stays under the limit. The few
// still over it are listed with their current length, which may only go down; a new one over the
// limit, or a listed one grown, fails here with its file and line.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { functionLengths, longestFunctions } from "./function-length.ts";

const ROOT = join(import.meta.dirname, "..");
const LIMIT = 120;

/** Over the limit today (file:name → lines): split them, then delete their entries. */
const KNOWN: Record<string, number> = {};

describe("function length", () => {
  it("measures declarations, methods and arrows from their first to their last line", () => {
    const text = [
      "export function a() {", // 1
      "  const b = () => {", // 2
      "    return 1;", // 3
      "  };", // 4
      "  return b();", // 5
      "}", // 6
      "class C {", // 7
      "  m(): void {}", // 8
      "}", // 9
      "declare function d(): void;", // no body: not a function to read
    ].join("\n");
    expect(functionLengths("x.ts", text).map((f) => [f.name, f.line, f.lines])).toEqual([
      ["a", 1, 6],
      ["b", 2, 3],
      ["m", 8, 1],
    ]);
  });

  it(`no function of operator/ or bench/ outside tests is ${LIMIT} lines or longer, but the known ones, which only shrink`, () => {
    const all = longestFunctions(ROOT, ["operator", "bench"]);
    const over = all
      .filter((f) => f.lines >= LIMIT)
      .filter((f) => {
        const known = KNOWN[`${f.file}:${f.name}`];
        return known === undefined || f.lines > known;
      })
      .map((f) => `${f.file}:${f.line} ${f.name}: ${f.lines} lines`);
    expect(over).toEqual([]);
    // The top five, for the report.
    console.log(
      all
        .slice(0, 5)
        .map((f) => `${f.lines} ${f.file}:${f.line} ${f.name}`)
        .join("\n"),
    );
  });
});
