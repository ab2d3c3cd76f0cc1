// The operator's reaction to requests to stop (signals, the npm parent gone) and its deadline.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "./config.ts";
import { onStopRequest, shutdownDeadlineMs, type StopRequest } from "./main.ts";

describe("onStopRequest", () => {
  const cases: [string, StopRequest | undefined, StopRequest, ReturnType<typeof onStopRequest>][] = [
    ["the first SIGTERM", undefined, { at: 0, signal: "SIGTERM" }, "shut down"],
    ["the first SIGINT", undefined, { at: 0, signal: "SIGINT" }, "shut down"],
    ["the npm parent gone, first", undefined, { at: 0 }, "shut down"],
    [
      "Ctrl-C on npm start: SIGINT again at once",
      { at: 1000, signal: "SIGINT" },
      { at: 1005, signal: "SIGINT" },
      "ignore",
    ],
    ["the same signal 999 ms later", { at: 0, signal: "SIGTERM" }, { at: 999, signal: "SIGTERM" }, "ignore"],
    [
      "the same signal a second later",
      { at: 0, signal: "SIGINT" },
      { at: 1000, signal: "SIGINT" },
      "exit now",
    ],
    ["another signal at once", { at: 0, signal: "SIGTERM" }, { at: 1, signal: "SIGINT" }, "exit now"],
    ["a signal after the parent went", { at: 0 }, { at: 1, signal: "SIGTERM" }, "exit now"],
    ["the parent gone during a shutdown", { at: 0, signal: "SIGTERM" }, { at: 5000 }, "ignore"],
  ];
  it.each(cases)("%s", (_name, first, next, action) => expect(onStopRequest(first, next)).toBe(action));
});

describe("shutdownDeadlineMs", () => {
  it("is the shutdown timeout plus 5 s, under the chart's 30 s grace period by default", () => {
    expect(shutdownDeadlineMs(20)).toBe(25_000);
    expect(shutdownDeadlineMs(2)).toBe(7_000);
    const byDefault = shutdownDeadlineMs(loadConfig([], {}).shutdownTimeoutSeconds);
    const deployment = fs.readFileSync(
      path.join(import.meta.dirname, "../charts/meshward/templates/deployment.yaml"),
      "utf8",
    );
    const grace = Number(/terminationGracePeriodSeconds: (\d+)/.exec(deployment)?.[1]);
    expect(byDefault).toBe(25_000);
    expect(byDefault).toBeLessThan(grace * 1000);
  });
});
