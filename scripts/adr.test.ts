// Every ADR says whether it holds: "Status: Accepted" or "Status: Superseded by N".
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const DIR = join(import.meta.dirname, "..", "docs", "adr");

describe("docs/adr", () => {
  it("every ADR has a Status line under its title", () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith(".md"));
    expect(files.length).toBeGreaterThan(20);
    const missing = files.filter(
      (f) => !/^# .+\n\nStatus: (Accepted|Superseded by \d+)\n/.test(readFileSync(join(DIR, f), "utf8")),
    );
    expect(missing).toEqual([]);
  });
});
