// canOverlap is exact: it says yes iff some label set matches both selectors. Checked against a
// brute-force search over every label set of a small alphabet.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canOverlap, type Labels, selects } from "./selectors.ts";

const KEYS = ["app", "tier", "team"];
const VALUES = ["a", "b"];
const selector = fc.dictionary(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES), { maxKeys: 3 });

/** Every label set over KEYS × VALUES (each key absent or one value): 3^3 = 27 pods. */
function allPods(): Labels[] {
  let pods: Record<string, string>[] = [{}];
  for (const k of KEYS) pods = pods.flatMap((p) => [p, ...VALUES.map((v) => ({ ...p, [k]: v }))]);
  return pods;
}
const PODS = allPods();

describe("selector overlap", () => {
  it("is true iff some pod matches both (exhaustive over a small alphabet)", () => {
    fc.assert(
      fc.property(selector, selector, (a, b) => {
        const witness = PODS.some((p) => selects(a, p) && selects(b, p));
        expect(canOverlap(a, b)).toBe(witness);
      }),
      { numRuns: 2000 },
    );
  });

  it("is symmetric, and every selector overlaps itself and the empty selector", () => {
    fc.assert(
      fc.property(selector, selector, (a, b) => {
        expect(canOverlap(a, b)).toBe(canOverlap(b, a));
        expect(canOverlap(a, a)).toBe(true);
        expect(canOverlap(a, {})).toBe(true);
      }),
    );
  });

  it.each([
    [{ app: "a" }, { app: "a", tier: "b" }, true],
    [{ app: "a" }, { tier: "b" }, true],
    [{ app: "a" }, { app: "b" }, false],
    [{ app: "a", tier: "a" }, { app: "a", tier: "b" }, false],
  ])("%j and %j: %s", (a, b, want) => expect(canOverlap(a, b)).toBe(want));

  it("is not fooled by inherited properties", () => {
    expect(selects({ constructor: "x" }, {})).toBe(false);
    expect(canOverlap({ toString: "a" }, { app: "b" })).toBe(true);
  });
});
