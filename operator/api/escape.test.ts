import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { escapeControls } from "./escape.ts";

/** Code units a terminal acts on rather than shows: C0, DEL, C1, bidi overrides and isolates. */
function rawControls(s: string): string[] {
  return [...s].filter((ch) => {
    const c = ch.charCodeAt(0);
    return (
      c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)
    );
  });
}

describe("escapeControls", () => {
  it.each([
    ["\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"],
    ["\x1b]0;title\x07", "\\x1b]0;title\\x07"],
    ["ok\rforged", "ok\\rforged"],
    ["one\ntwo", "one\\ntwo"],
    ["a\tb", "a\\tb"],
    ["\x00\x01\x1f", "\\x00\\x01\\x1f"],
    ["del\x7f", "del\\x7f"],
    ["c1\x80\x85\x9b\x9f", "c1\\x80\\x85\\x9b\\x9f"],
    ["\u202a\u202b\u202c\u202d\u202e", "\\u202a\\u202b\\u202c\\u202d\\u202e"],
    ["\u2066\u2067\u2068\u2069", "\\u2066\\u2067\\u2068\\u2069"],
  ])("escapes %j as %j", (input, want) => expect(escapeControls(input)).toBe(want));

  it.each([
    ["plain ASCII ~!@#$%^&*()", "plain ASCII ~!@#$%^&*()"],
    ["back\\slash \\x1b as typed", "back\\slash \\x1b as typed"],
    ["non-ASCII: é ü 日本 \u00a0 \u00ff \u2028", "non-ASCII: é ü 日本 \u00a0 \u00ff \u2028"],
    ["astral: \u{1f512}", "astral: \u{1f512}"],
    ["", ""],
  ])("keeps %j", (input, want) => expect(escapeControls(input)).toBe(want));

  it("leaves no raw control character in any string, and changes only those", { timeout: 60_000 }, () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        const out = escapeControls(s);
        expect(rawControls(out)).toEqual([]);
        if (rawControls(s).length === 0) expect(out).toBe(s);
        expect(escapeControls(out)).toBe(out);
      }),
      { numRuns: 2000 },
    );
  });
});
