import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { imageNodeFlags, isReady, timeBreakdown } from "./lib.ts";

describe("imageNodeFlags", () => {
  it("reads the node flags between node and the entry point of the ENTRYPOINT", () => {
    expect(
      imageNodeFlags('FROM x\nENTRYPOINT ["node", "--max-semi-space-size=1", "dist/operator/main.js"]\n'),
    ).toEqual(["--max-semi-space-size=1"]);
    expect(imageNodeFlags('ENTRYPOINT ["node", "dist/operator/main.js"]')).toEqual([]);
  });

  it("refuses an ENTRYPOINT that is not node running the compiled operator", () => {
    expect(() => imageNodeFlags("FROM x\n")).toThrow(/no ENTRYPOINT/);
    expect(() => imageNodeFlags('ENTRYPOINT ["sh", "-c", "node dist/operator/main.js"]')).toThrow(
      /is not \["node"/,
    );
  });

  it("reads the project's Dockerfile", () => {
    const flags = imageNodeFlags(fs.readFileSync(path.join(import.meta.dirname, "../Dockerfile"), "utf8"));
    expect(flags.every((f) => f.startsWith("--"))).toBe(true);
  });
});

describe("isReady", () => {
  const profile = (generation: number, observed: number | undefined, ready: string | undefined) => ({
    metadata: { name: "a", namespace: "n", generation },
    status: {
      ...(observed !== undefined && { observedGeneration: observed }),
      conditions: ready ? [{ type: "Ready", status: ready }] : [],
    },
  });

  it("counts a profile Ready only at its current generation with Ready=True", () => {
    expect(isReady(profile(2, 2, "True") as never)).toBe(true);
    expect(isReady(profile(2, 1, "True") as never)).toBe(false);
    expect(isReady(profile(2, 2, "False") as never)).toBe(false);
    expect(isReady(profile(2, 2, undefined) as never)).toBe(false);
    expect(isReady({ metadata: { name: "a", generation: 1 } })).toBe(false);
  });
});

describe("timeBreakdown", () => {
  const scrape = (reconciles: number, secs: number, major: number, majorSecs: number, under100: number) =>
    new Map([
      ['controller_runtime_reconcile_time_seconds_count{controller="servicesecurityprofile"}', reconciles],
      ['controller_runtime_reconcile_time_seconds_sum{controller="servicesecurityprofile"}', secs],
      ['workqueue_queue_duration_seconds_count{name="x",controller="x"}', reconciles],
      ['workqueue_queue_duration_seconds_sum{name="x",controller="x"}', secs / 10],
      ['nodejs_gc_duration_seconds_count{kind="major"}', major],
      ['nodejs_gc_duration_seconds_sum{kind="major"}', majorSecs],
      ['nodejs_gc_duration_seconds_bucket{le="0.1",kind="major"}', under100],
    ]);

  it("reports the differences between two scrapes", () => {
    expect(timeBreakdown(scrape(100, 1, 3, 0.1, 3), scrape(120, 1.2, 5, 0.45, 4))).toBe(
      "20 reconciles, mean 10.0 ms; mean queue wait 1.0 ms; GC major 2 (0.35 s, 1 ≥ 100 ms)",
    );
  });

  it("says when nothing ran", () => {
    const same = scrape(1, 1, 1, 1, 1);
    expect(timeBreakdown(same, same)).toBe("0 reconciles, mean –; mean queue wait –");
  });
});
