// The chart's dashboard and alerts query metrics the operator exposes: every metric name in their
// PromQL is in the registry (a rename here fails the test instead of leaving a blank panel).
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { Metrics } from "./metrics.ts";

const CHART = path.resolve(import.meta.dirname, "../../charts/meshward");

/** Metric names of the registry, with the series names histograms add. */
async function exposed(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const m of await new Metrics().registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(m.name + s);
  }
  return names;
}

/** Names of the series a PromQL expression selects (every selector here has a label matcher). */
function selected(expr: string): string[] {
  return [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{/g)].map((m) => m[1] as string);
}

describe("queries of the chart", () => {
  it("dashboard panels select exposed metrics", async () => {
    const names = await exposed();
    const dash = JSON.parse(fs.readFileSync(path.join(CHART, "dashboards/meshward.json"), "utf8")) as {
      panels: { title: string; targets?: { expr: string }[] }[];
    };
    const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => [p.title, t.expr] as const));
    expect(exprs.length).toBeGreaterThan(15);
    for (const [title, expr] of exprs) {
      const used = selected(expr);
      expect(used.length, `${title}: ${expr}`).toBeGreaterThan(0);
      for (const n of used) expect(names, `${title}: ${n}`).toContain(n);
    }
  });

  it("alerts select exposed metrics", async () => {
    const names = await exposed();
    const text = fs.readFileSync(path.join(CHART, "templates/prometheusrule.yaml"), "utf8");
    const exprs = [...text.matchAll(/^\s*expr: (.*)$/gm)].map((m) => m[1] as string);
    expect(exprs).toHaveLength(8);
    for (const expr of exprs) {
      // "meshward_profile_ready{ {{- $sel -}} }": the selector is a template action.
      const used = [...expr.matchAll(/([a-z_:][a-z0-9_:]*)\{ \{\{/g)].map((m) => m[1] as string);
      expect(used.length, expr).toBe(1);
      for (const n of used) expect(names, expr).toContain(n);
    }
  });
});
