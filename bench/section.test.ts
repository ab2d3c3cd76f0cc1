import { describe, expect, it } from "vitest";
import { spliceSection } from "./section.ts";

const doc = [
  "# Benchmarks",
  "",
  "<!-- bench:main begin -->",
  "old bench figures",
  "<!-- bench:main end -->",
  "",
  "## Written by hand",
  "",
  "notes",
  "",
  "<!-- bench:peer N=100 begin -->",
  "Kyverno at 100",
  "<!-- bench:peer N=100 end -->",
  "",
].join("\n");

describe("spliceSection", () => {
  it("replaces only its own section and keeps the rest of the file to the byte", () => {
    const out = spliceSection(doc, "main", "## Bench\n\nnew figures\n");
    expect(out).toBe(doc.replace("old bench figures", "## Bench\n\nnew figures"));
  });

  it("tells apart sections whose ids share a prefix", () => {
    const withBoth = spliceSection(doc, "peer N=1000", "Kyverno at 1000");
    const out = spliceSection(withBoth, "peer N=100", "Kyverno at 100, again");
    expect(out).toContain("Kyverno at 1000");
    expect(out).toContain("Kyverno at 100, again");
    expect(out).not.toContain("Kyverno at 100\n");
    expect(out).toContain("old bench figures");
  });

  it("appends the section with its markers when the file has none, after a blank line", () => {
    expect(spliceSection("# Benchmarks\n\nnotes\n", "main", "figures")).toBe(
      "# Benchmarks\n\nnotes\n\n<!-- bench:main begin -->\nfigures\n<!-- bench:main end -->\n",
    );
  });

  it("gives the same file when run twice with the same section", () => {
    const once = spliceSection(doc, "main", "figures");
    expect(spliceSection(once, "main", "figures")).toBe(once);
  });

  it.each([
    ["a begin without an end", "x\n<!-- bench:main begin -->\ny\n", "found 1 and 0"],
    ["an end before its begin", "<!-- bench:main end -->\n<!-- bench:main begin -->\n", "in the wrong order"],
    ["two sections of the same id", `${doc}${doc}`, "found 2 and 2"],
  ])("refuses a file with %s, rather than write a second section", (_, text, message) => {
    expect(() => spliceSection(text, "main", "figures")).toThrow(message);
  });
});
