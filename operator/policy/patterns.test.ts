import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { KEY_PATTERN } from "../api/policy.ts";
import {
  expandPattern,
  globMatches,
  isPlainKey,
  keyMatches,
  type KeyScope,
  type MatchCounter,
} from "./patterns.ts";

const scope = { namespace: "pay", profile: "api" };

// The matcher this one replaced, kept here as the reference for its semantics: a RegExp with each
// '*' as '.*' (dotAll), everything else escaped, anchored at both ends. Exponential on some inputs,
// so only ever run on short ones.
function referenceGlob(pattern: string, key: string): boolean {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^${pattern.split("*").map(escape).join(".*")}$`, "s").test(key);
}
function referenceKeyMatches(pattern: string, key: string, s: KeyScope): boolean {
  return isPlainKey(key) && referenceGlob(expandPattern(pattern, s), key);
}

/** The bound globMatches guarantees: the work of one match is linear in the two lengths. */
const linearBound = (pattern: string, key: string) => 2 * (pattern.length + key.length);

describe("remote-key patterns", () => {
  it.each([
    ["{namespace}/*", "pay/db", true],
    ["{namespace}/*", "pay/a/b", true],
    ["{namespace}/*", "payx/db", false],
    ["{namespace}/*", "shop/db", false],
    ["{namespace}/{profile}", "pay/api", true],
    ["{namespace}/{profile}", "pay/web", false],
    ["shared/*.json", "shared/x.json", true],
    ["shared/*.json", "shared/xjson", false],
    ["a+b=c", "a+b=c", true],
    ["a+b=c", "aab=c", false],
    ["{namespace}/*", "pay/../shop/db", false],
    ["*", "anything/at/all", true],
  ])("%s matches %s: %s", (pattern, key, want) => expect(keyMatches(pattern, key, scope)).toBe(want));

  it.each([
    ["{namespace}/*", true],
    ["{team}/*", false],
    ["a b", false],
    ["{namespace", false],
    ["arn:aws:secretsmanager:eu-west-1:1:secret:{profile}-*", true],
    ["x\\y", false],
  ])("pattern %s is valid: %s", (pattern, valid) => expect(KEY_PATTERN.test(pattern)).toBe(valid));
});

describe("globMatches", () => {
  it.each([
    // empty key and empty pattern
    ["", "", true],
    ["", "a", false],
    ["*", "", true],
    ["**", "", true],
    ["a*", "", false],
    ["*a", "", false],
    // leading, trailing and consecutive stars
    ["*b", "aab", true],
    ["*b", "aba", false],
    ["a*", "abb", true],
    ["a*", "bab", false],
    ["*a*", "bab", true],
    ["*a*", "bbb", false],
    ["a**b", "ab", true],
    ["a***b", "a/x/b", true],
    ["a**b", "a", false],
    // prefix and suffix must not share characters
    ["ab*ba", "aba", false],
    ["ab*ba", "abba", true],
    ["a*a", "a", false],
    ["a*a", "aa", true],
    // the leftmost occurrence of each middle part leaves room for the rest
    ["*ab*ab*", "abab", true],
    ["*ab*ab*", "aba", false],
    ["a*aab*b", "aaabab", true],
    ["a*aab*b", "aabab", false],
    ["a*aab*b", "aaabb", true],
    ["*aab*", "aaab", true],
    ["x*abcabd*y", "xabcabcabdy", true],
    ["x*abcabd*y", "xabcabcabey", false],
    // '*' spans '/', and nothing else is special
    ["*", "a/b/c", true],
    ["a.b", "axb", false],
    ["a?b", "axb", false],
    ["(a)", "(a)", true],
    ["a*b", "a\nb", true],
  ])("%j matches %j: %s", (pattern, key, want) => {
    expect(globMatches(pattern, key)).toBe(want);
    expect(referenceGlob(pattern, key)).toBe(want);
  });

  it.each([
    ["{namespace}-*", "pay-x", true],
    ["{namespace}*{profile}", "pay/api", true],
    ["{namespace}*{profile}", "payapi", true],
    ["{namespace}*{profile}", "pay", false],
    ["*{profile}*", "x/api/y", true],
    ["{profile}", "{profile}", false],
    ["{namespace}/*", "pay//x", false],
    ["{namespace}/*", "pay/./x", false],
    ["*", "", true],
  ])("with placeholders, %j matches %j: %s", (pattern, key, want) => {
    expect(keyMatches(pattern, key, scope)).toBe(want);
    expect(referenceKeyMatches(pattern, key, scope)).toBe(want);
  });

  it("agrees with the RegExp construction on short inputs, within the linear bound", () => {
    const pattern = fc
      .array(fc.constantFrom("a", "b", "/", "*", "."), { maxLength: 10 })
      .map((cs) => cs.join(""));
    const key = fc.array(fc.constantFrom("a", "b", "/", "."), { maxLength: 14 }).map((cs) => cs.join(""));
    fc.assert(
      fc.property(pattern, key, (p, k) => {
        const counter: MatchCounter = { steps: 0 };
        expect(globMatches(p, k, counter)).toBe(referenceGlob(p, k));
        expect(counter.steps).toBeLessThanOrEqual(linearBound(p, k));
      }),
      { numRuns: 5000 },
    );
  });

  it("agrees with the RegExp construction with placeholders and the plain-key rule", () => {
    const pattern = fc
      .array(fc.constantFrom("a", "p", "/", "*", "{namespace}", "{profile}"), { maxLength: 8 })
      .map((cs) => cs.join(""));
    const key = fc
      .array(fc.constantFrom("a", "p", "/", ".", "pa", "api"), { maxLength: 8 })
      .map((cs) => cs.join(""));
    const s = { namespace: "pa", profile: "api" };
    fc.assert(
      fc.property(pattern, key, (p, k) => {
        expect(keyMatches(p, k, s)).toBe(referenceKeyMatches(p, k, s));
      }),
      { numRuns: 3000 },
    );
  });

  it.each([
    // The RegExp construction backtracks through every way of splitting the key among the stars
    // before it fails: it spent 22 s on the first input with 4 stars instead of 16.
    [`${"a*".repeat(16)}b`, "a".repeat(512), false],
    [`${"a*".repeat(15)}b*a`, "a".repeat(512), false],
    [`${"a*".repeat(16)}b`, `${"a".repeat(511)}b`, true],
    [`*${"a*".repeat(15)}`, "a".repeat(512), true],
  ])("matches %s against 512 characters with bounded work: %s", (pattern, key, want) => {
    const counter: MatchCounter = { steps: 0 };
    expect(globMatches(pattern, key, counter)).toBe(want);
    expect(counter.steps).toBeLessThanOrEqual(linearBound(pattern, key));
    expect(counter.steps).toBeLessThanOrEqual((pattern.length + 1) * (key.length + 1));
  });

  it("keeps the work linear where a naive substring search would not", () => {
    // Middle parts like a…ab against a run of a's: restarting the comparison at each position costs
    // len(part) per position; the scan here never looks at a key character more than twice.
    const mid = `${"a".repeat(63)}b`;
    const pattern = `*${mid}*${mid}*`;
    const key = "a".repeat(4096);
    const counter: MatchCounter = { steps: 0 };
    expect(globMatches(pattern, key, counter)).toBe(false);
    expect(counter.steps).toBeLessThanOrEqual(linearBound(pattern, key));
  });
});
