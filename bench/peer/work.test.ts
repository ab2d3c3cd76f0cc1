// The probe loop of the side-by-side benchmark: skipped probes are not tried, misses in a row stop it.
import { describe, expect, it } from "vitest";
import { probes } from "./work.ts";

describe("probes", () => {
  it("counts tries and restores, skips what there was nothing to disturb", async () => {
    const outcomes: (number | undefined | "skip")[] = [10, "skip", 30, undefined, 20];
    const r = await probes(outcomes.length, 3, "missed", (i) => Promise.resolve(outcomes[i]));
    expect(r).toEqual({ tried: 4, restored: 3, latenciesMs: [10, 30, 20] });
  });

  it("stops after the given misses in a row, saying why", async () => {
    let calls = 0;
    const r = await probes(10, 2, "edited objects in a row not restored", () => {
      calls++;
      return Promise.resolve(calls === 1 ? 5 : undefined);
    });
    expect(calls).toBe(3);
    expect(r).toEqual({
      tried: 3,
      restored: 1,
      latenciesMs: [5],
      stopped: "2 edited objects in a row not restored",
    });
  });
});
