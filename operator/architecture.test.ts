// The layering of operator/, read from the import statements: no cycles, and no upward imports.
// runtime/ (the Kubernetes client, informers, queue) knows nothing of meshward's objects; api/,
// builders/ and policy/ are pure and know nothing of the cluster or the reconcile. A failure names
// the offending import, "from → to: rule".
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  cycles,
  type ImportGraph,
  type LayerRule,
  layerOf,
  outsideAllowList,
  readImportGraph,
  ruleViolations,
} from "../test-support/import-graph.ts";

const ROOT = join(import.meta.dirname, "..");

const inLayer =
  (...layers: string[]) =>
  (file: string) =>
    layers.includes(layerOf(file, "operator"));

const RULES: readonly LayerRule[] = [
  {
    from: inLayer("runtime"),
    to: inLayer("reconcile", "builders", "policy"),
    why: "runtime/ is the generic Kubernetes runtime; it must not import meshward's reconcile, builders or policy",
  },
  {
    from: inLayer("api", "builders", "policy"),
    to: inLayer("reconcile", "runtime"),
    why: "api/, builders/ and policy/ are pure; they must not import the reconcile or the runtime",
  },
];

describe("the import graph checks", () => {
  const graph = (edges: Record<string, string[]>): ImportGraph => new Map(Object.entries(edges));

  it.each([
    ["a runtime file importing the reconcile", { "operator/runtime/q.ts": ["operator/reconcile/k.ts"] }, 1],
    ["a builder importing the runtime", { "operator/builders/b.ts": ["operator/runtime/client.ts"] }, 1],
    ["the policy engine importing the reconcile", { "operator/policy/e.ts": ["operator/reconcile/x.ts"] }, 1],
    [
      "the reconcile importing the runtime and builders",
      { "operator/reconcile/r.ts": ["operator/runtime/q.ts", "operator/builders/b.ts"] },
      0,
    ],
    ["runtime importing runtime", { "operator/runtime/a.ts": ["operator/runtime/b.ts"] }, 0],
  ])("%s: %i violation(s)", (_name, edges, n) => {
    const found = ruleViolations(graph(edges), RULES);
    expect(found).toHaveLength(n);
    for (const f of found) expect(f).toMatch(/^operator\/\S+ → operator\/\S+: /);
  });

  it("finds cycles, type-only ones included, and nothing in a tree without one", () => {
    expect(cycles(graph({ a: ["b"], b: ["c"], c: ["a"], d: ["a"] }))).toEqual([["a", "b", "c"]]);
    expect(cycles(graph({ a: ["a"] }))).toEqual([["a"]]);
    expect(cycles(graph({ a: ["b"], b: ["c"], c: [] }))).toEqual([]);
  });

  it("lists imports outside an allow-list", () => {
    expect(outsideAllowList(graph({ x: ["p", "q"] }), "x", ["p"])).toEqual(["x → q"]);
    expect(outsideAllowList(graph({ x: ["p"] }), "x", ["p"])).toEqual([]);
  });
});

describe("operator/", () => {
  const graph = readImportGraph(ROOT, "operator");

  it("is read: every layer is there", () => {
    const layers = new Set([...graph.keys()].map((f) => layerOf(f, "operator")));
    for (const l of ["api", "builders", "policy", "runtime", "reconcile", "observability"])
      expect(layers).toContain(l);
    // type-only imports count
    expect(graph.get("operator/reconcile/api-writes.ts")).toContain("operator/reconcile/cluster.ts");
  });

  it("has no upward import", () => {
    expect(ruleViolations(graph, RULES)).toEqual([]);
  });

  it("has no import cycle", () => {
    expect(cycles(graph)).toEqual([]);
  });

  // The profile reconcile is staged: decisions in profile/plan.ts, I/O in profile/execute.ts. The
  // executor performs and reports; it may import the plan's types, the Cluster port and the
  // runtime's client and error names, nothing that decides (builders, policy, classify, plan.ts).
  it("keeps decisions out of the profile executor", () => {
    expect(
      outsideAllowList(graph, "operator/reconcile/profile/execute.ts", [
        "operator/reconcile/profile/types.ts",
        "operator/reconcile/cluster.ts",
        "operator/runtime/client.ts",
        "operator/runtime/errors.ts",
      ]),
    ).toEqual([]);
  });

  it("keeps I/O out of the profile planner", () => {
    const io = [
      "operator/reconcile/cluster.ts",
      "operator/reconcile/api-writes.ts",
      "operator/reconcile/profile/execute.ts",
      "operator/reconcile/caches.ts",
    ];
    expect((graph.get("operator/reconcile/profile/plan.ts") ?? []).filter((d) => io.includes(d))).toEqual([]);
  });
});
