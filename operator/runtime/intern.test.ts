import { describe, expect, it } from "vitest";
import { Interner } from "./intern.ts";

// Two equal strings that are different heap objects, as JSON.parse makes them.
const parsed = (json: string): unknown => JSON.parse(json);

describe("Interner", () => {
  it("hands out the first copy of a value and leaves the tree equal", () => {
    const i = new Interner();
    const a = parsed('{"metadata":{"namespace":"team-a","labels":{"p":"web"}},"spec":{"to":["team-a"]}}');
    const b = parsed('{"metadata":{"namespace":"team-a","labels":{"p":"web"}},"spec":{"to":["team-a"]}}');
    const before = structuredClone(b);
    expect(i.tree(a)).toBe(a);
    expect(i.tree(b)).toEqual(before);
    expect(i.size).toBe(2); // "team-a" and "web"
  });

  it("leaves the values of skipped keys and long strings out of the table", () => {
    const i = new Interner({ skip: new Set(["uid", "resourceVersion"]), maxLength: 8 });
    i.tree({ metadata: { uid: "u-1", resourceVersion: "42", name: "web" }, note: "a long message" });
    expect(i.size).toBe(1);
    expect(i.string("web")).toBe("web");
  });

  it("starts over when the table is full, and keeps interning afterwards", () => {
    const i = new Interner({ max: 3 });
    for (const s of ["a", "b", "c"]) i.string(s);
    expect(i.size).toBe(3);
    i.string("d");
    expect(i.restarts).toBe(1);
    expect(i.size).toBe(1);
    i.string("a");
    expect(i.size).toBe(2);
  });

  it("does not descend forever into a pathological tree", () => {
    let deep: Record<string, unknown> = { leaf: "x" };
    for (let n = 0; n < 100; n++) deep = { child: deep };
    const i = new Interner();
    i.tree(deep);
    expect(i.size).toBe(0); // the leaf is 100 levels down: not reached
  });

  it("ignores what is not a tree", () => {
    const i = new Interner();
    expect(i.tree(null)).toBeNull();
    expect(i.tree("s")).toBe("s");
    expect(i.tree(3)).toBe(3);
    expect(i.size).toBe(0);
  });
});
