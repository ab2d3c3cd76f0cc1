import { describe, expect, it } from "vitest";
import { SignalScope } from "./signal-scope.ts";

describe("SignalScope", () => {
  it("gives each run its own signal, across awaits, and none outside a run", async () => {
    const scope = new SignalScope();
    const a = new AbortController();
    const b = new AbortController();
    let release = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const seen: [string, AbortSignal | undefined][] = [];
    const run = (name: string, s: AbortSignal) =>
      scope.run(s, async () => {
        await gate;
        seen.push([name, scope.current()]);
      });
    const both = Promise.all([run("a", a.signal), run("b", b.signal)]);
    release();
    await both;
    expect(seen).toEqual([
      ["a", a.signal],
      ["b", b.signal],
    ]);
    expect(scope.current()).toBeUndefined();
  });
});
