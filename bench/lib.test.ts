import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { imageNodeFlags } from "./lib.ts";

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
