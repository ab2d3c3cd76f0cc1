import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { imageEnv, imageNodeFlags, isReady, median, percentile, rssParts, timeBreakdown } from "./lib.ts";

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

describe("imageEnv", () => {
  it("reads the ENV lines of the last stage only", () => {
    expect(imageEnv("FROM a AS build\nENV BUILD_ONLY=1\nFROM b\nENV A=1 B=two\nENV C=\nRUN x\n")).toEqual({
      A: "1",
      B: "two",
      C: "",
    });
    expect(imageEnv("FROM b\nRUN x\n")).toEqual({});
  });

  it("refuses what it cannot read as the image would set it", () => {
    expect(() => imageEnv('FROM b\nENV A="x y"\n')).toThrow(/NAME=value/);
    expect(() => imageEnv("FROM b\nENV A $HOME\n")).toThrow(/NAME=value/);
  });

  it("reads the project's Dockerfile: the runtime's glibc arenas are limited", () => {
    const env = imageEnv(fs.readFileSync(path.join(import.meta.dirname, "../Dockerfile"), "utf8"));
    expect(env.MALLOC_ARENA_MAX).toBe("2");
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
  const scrape = (
    reconciles: number,
    secs: number,
    major: number,
    majorSecs: number,
    under100: number,
    fast = reconciles,
  ) =>
    new Map([
      ['controller_runtime_reconcile_time_seconds_count{controller="servicesecurityprofile"}', reconciles],
      ['controller_runtime_reconcile_time_seconds_sum{controller="servicesecurityprofile"}', secs],
      [
        'controller_runtime_reconcile_time_seconds_bucket{controller="servicesecurityprofile",le="0.05"}',
        fast,
      ],
      ['workqueue_queue_duration_seconds_count{name="x",controller="x"}', reconciles],
      ['workqueue_queue_duration_seconds_sum{name="x",controller="x"}', secs / 10],
      ['workqueue_queue_duration_seconds_bucket{name="x",controller="x",le="0.01"}', fast],
      ['nodejs_gc_duration_seconds_count{kind="major"}', major],
      ['nodejs_gc_duration_seconds_sum{kind="major"}', majorSecs],
      ['nodejs_gc_duration_seconds_bucket{le="0.1",kind="major"}', under100],
    ]);

  it("reports the differences between two scrapes", () => {
    expect(timeBreakdown(scrape(100, 1, 3, 0.1, 3), scrape(120, 1.2, 5, 0.45, 4))).toBe(
      "20 reconciles, mean 10.0 ms; mean queue wait 1.0 ms; GC major 2 (0.35 s, 1 ≥ 100 ms)",
    );
  });

  it("counts the slow reconciles and queue waits a mean hides", () => {
    expect(timeBreakdown(scrape(100, 1, 3, 0.1, 3), scrape(120, 1.2, 3, 0.1, 3, 117))).toBe(
      "20 reconciles, mean 10.0 ms, 3 ≥ 50 ms; mean queue wait 1.0 ms, 3 ≥ 10 ms",
    );
  });

  it("says when nothing ran", () => {
    const same = scrape(1, 1, 1, 1, 1);
    expect(timeBreakdown(same, same)).toBe("0 reconciles, mean –; mean queue wait –");
  });
});

describe("rssParts", () => {
  it("sums Rss by mapping: anonymous, the node binary, malloc's heap, the rest", () => {
    const smaps = [
      "00400000-00500000 r-xp 00000000 08:01 123 /usr/bin/node",
      "Size: 1024 kB",
      "Rss: 2048 kB",
      "Pss: 2048 kB",
      "00500000-00600000 r--p 00100000 08:01 123 /usr/bin/node",
      "Rss: 1024 kB",
      "01000000-02000000 rw-p 00000000 00:00 0 [heap]",
      "Rss: 512 kB",
      "7f0000000000-7f0001000000 rw-p 00000000 00:00 0 ",
      "Rss: 10240 kB",
      "7f0001000000-7f0002000000 rw-p 00000000 00:00 0",
      "Rss: 1024 kB",
      "7f0003000000-7f0003100000 r-xp 00000000 08:01 7 /usr/lib/libc.so.6",
      "Rss: 256 kB",
      "7ffd00000000-7ffd00100000 rw-p 00000000 00:00 0 [stack]",
      "Rss: 256 kB",
    ].join("\n");
    expect(rssParts(smaps, "/usr/bin/node")).toEqual({ anonymous: 11, binary: 3, malloc: 0.5, other: 0.5 });
  });
});

describe("median and percentile", () => {
  it("takes the mean of the two middle values of an even count (two rounds: their mean)", () => {
    expect(median([1.05, 0.94])).toBeCloseTo(0.995);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it("keeps percentiles to measured values (nearest rank)", () => {
    expect(percentile([1.05, 0.94], 50)).toBe(0.94);
    expect(percentile([10, 20, 30, 40], 99)).toBe(40);
  });
});
