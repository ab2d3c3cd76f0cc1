// Golden files of the three drawings: examples/fleet (its SVG is the one in docs/) and a small fleet
// with every kind of node and edge (one-sided both ways, a missing profile, a cycle).
// Refresh with UPDATE_GOLDEN=1 npx vitest run --project unit operator/graph, then review the diff
// (open the SVGs in a browser).
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { loadProfiles } from "../cli/load.ts";
import { buildGraph, type FleetProfile } from "./fleet.ts";
import { columns, layout } from "./layout.ts";
import { GRAPH_FORMATS, renderGraph } from "./render.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const TESTDATA = path.join(import.meta.dirname, "testdata");

function check(file: string, actual: string) {
  if (process.env.UPDATE_GOLDEN) fs.writeFileSync(file, actual);
  expect(fs.existsSync(file), `${file} missing: run with UPDATE_GOLDEN=1`).toBe(true);
  expect(actual).toBe(fs.readFileSync(file, "utf8"));
}

/** Loaded by a path relative to the working directory, as a user would pass it (files are named in the drawings). */
function load(dir: string): FleetProfile[] {
  const loaded = loadProfiles([path.relative(process.cwd(), dir) || "."]);
  expect(loaded.problems).toEqual([]);
  return loaded.profiles;
}

const fleet = buildGraph(load(path.join(ROOT, "examples/fleet")));
const mixed = buildGraph(load(path.join(TESTDATA, "one-sided")));

describe("graph drawings", () => {
  for (const format of GRAPH_FORMATS) {
    const ext = format === "mermaid" ? "mmd" : format;
    it(`draws examples/fleet as ${format}`, () => {
      const file =
        format === "svg"
          ? path.join(ROOT, "docs/graph-fleet.svg")
          : path.join(TESTDATA, `fleet.golden.${ext}`);
      check(file, renderGraph(fleet, format));
    });
    it(`draws one-sided edges, a missing profile and a cycle as ${format}`, () => {
      check(path.join(TESTDATA, `one-sided.golden.${ext}`), renderGraph(mixed, format));
    });
  }

  it("shows the current Mermaid in docs/graph.md", () => {
    const doc = fs.readFileSync(path.join(ROOT, "docs/graph.md"), "utf8");
    expect(doc).toContain(`\`\`\`mermaid\n${renderGraph(mixed, "mermaid")}\`\`\``);
  });

  it("marks one-sided edges in every format", () => {
    expect(mixed.edges.filter((e) => e.state === "callee-only" || e.state === "caller-only").length).toBe(2);
    expect(renderGraph(mixed, "mermaid")).toMatch(/-\.->.*caller declares no egress/);
    expect(renderGraph(mixed, "dot")).toMatch(/style="dashed", color="#d62728"/);
    expect(renderGraph(mixed, "svg").match(/class="edge one-sided"/g)?.length).toBe(2);
  });

  it("puts callers left of their callees, and survives cycles", () => {
    const col = columns(fleet);
    for (const e of fleet.edges)
      expect(col.get(e.from), `${e.from} -> ${e.to}`).toBeLessThan(col.get(e.to) ?? 0);
    const l = layout(mixed);
    expect(l.nodes.size).toBe(mixed.nodes.length);
    // No two boxes overlap.
    const boxes = [...l.nodes.values()];
    for (const a of boxes)
      for (const b of boxes)
        if (a !== b)
          expect(
            a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y,
            `${a.node.id} / ${b.node.id}`,
          ).toBe(true);
  });

  it("escapes labels", () => {
    const g = { nodes: [{ id: 'a"<b>', kind: "profile" as const, label: 'a"<b>&' }], edges: [] };
    expect(renderGraph(g, "svg")).toContain("a&quot;&lt;b&gt;&amp;");
    expect(renderGraph(g, "dot")).toContain('"a\\"<b>&"');
    expect(renderGraph(g, "mermaid")).toContain('["a#quot;<b>&"]');
  });
});
