// A small deterministic layered layout for the call graph (pure): callers to the left of callees.
// Columns are the longest path from a node without callers (cycles broken at the first edge that
// closes one, in id order); within a column, nodes are ordered by the mean row of their callers,
// then by id. No randomness, no floating-point surprises: the same graph always gives the same
// drawing (the SVG is a golden file).
import { edgeLabel, type FleetGraph, type GraphEdge, type GraphNode, oneSidedNote } from "./fleet.ts";

export interface Placed {
  node: GraphNode;
  column: number;
  row: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Layout {
  nodes: Map<string, Placed>;
  width: number;
  height: number;
}

export const CHAR_WIDTH = 7.2; // 12px Helvetica/Arial, an upper bound for lowercase text
export const LABEL_CHAR_WIDTH = 6; // 10px, for edge labels
export const NODE_HEIGHT = 34;
const NODE_PADDING = 24;
const MIN_COLUMN_GAP = 120;
const ROW_GAP = 40;
const MARGIN = 24;

export function textWidth(s: string): number {
  return Math.ceil(s.length * CHAR_WIDTH);
}

/** The lines of an edge's label: ports and requests, then what a one-sided edge lacks. */
export function labelLines(e: GraphEdge): string[] {
  const note = oneSidedNote(e);
  return note ? [edgeLabel(e), note] : [edgeLabel(e)];
}

export function labelWidth(e: GraphEdge): number {
  return Math.ceil(Math.max(...labelLines(e).map((l) => l.length)) * LABEL_CHAR_WIDTH) + 8;
}

/** Column of every node: longest path from a source, over the graph without its back edges. */
export function columns(g: FleetGraph): Map<string, number> {
  const out = new Map<string, string[]>();
  for (const n of g.nodes) out.set(n.id, []);
  for (const e of g.edges) if (e.from !== e.to) out.get(e.from)?.push(e.to);
  // Depth-first in id order; an edge to a node still on the stack closes a cycle and is dropped.
  const state = new Map<string, "open" | "done">();
  const forward = new Map<string, string[]>();
  const visit = (id: string) => {
    state.set(id, "open");
    const kept: string[] = [];
    for (const to of out.get(id) ?? []) {
      if (state.get(to) === "open") continue;
      kept.push(to);
      if (!state.has(to)) visit(to);
    }
    forward.set(id, kept);
    state.set(id, "done");
  };
  for (const n of g.nodes) if (!state.has(n.id)) visit(n.id);
  // Longest path in the acyclic remainder, in topological order (reverse post-order).
  const order: string[] = [];
  const seen = new Set<string>();
  const post = (id: string) => {
    seen.add(id);
    for (const to of forward.get(id) ?? []) if (!seen.has(to)) post(to);
    order.push(id);
  };
  for (const n of g.nodes) if (!seen.has(n.id)) post(n.id);
  const col = new Map<string, number>(g.nodes.map((n) => [n.id, 0]));
  for (const id of order.reverse()) {
    for (const to of forward.get(id) ?? []) col.set(to, Math.max(col.get(to) ?? 0, (col.get(id) ?? 0) + 1));
  }
  // A node nobody calls (a namespace, a service account, an entry point) sits just left of its
  // nearest callee rather than in the first column, so that its edges do not cross other columns.
  const called = new Set(g.edges.filter((e) => e.from !== e.to).map((e) => e.to));
  for (const n of g.nodes) {
    const targets = (forward.get(n.id) ?? []).map((to) => col.get(to) ?? 0);
    if (!called.has(n.id) && targets.length > 0) col.set(n.id, Math.max(0, Math.min(...targets) - 1));
  }
  return col;
}

export function layout(g: FleetGraph): Layout {
  const col = columns(g);
  const count = Math.max(0, ...col.values()) + 1;
  const byColumn: GraphNode[][] = Array.from({ length: count }, () => []);
  for (const n of g.nodes) byColumn[col.get(n.id) ?? 0]?.push(n);
  const row = new Map<string, number>();
  const callers = (id: string) =>
    g.edges.filter((e) => e.to === id && row.has(e.from)).map((e) => row.get(e.from) ?? 0);
  for (const nodes of byColumn) {
    const keyed = nodes.map((n) => {
      const rows = callers(n.id);
      return { n, key: rows.length > 0 ? rows.reduce((a, b) => a + b, 0) / rows.length : Infinity };
    });
    keyed.sort((a, b) => a.key - b.key || (a.n.id < b.n.id ? -1 : a.n.id > b.n.id ? 1 : 0));
    keyed.forEach((k, i) => row.set(k.n.id, i));
  }
  const widths = byColumn.map((nodes) => Math.max(0, ...nodes.map((n) => textWidth(n.label) + NODE_PADDING)));
  const rows = Math.max(0, ...byColumn.map((c) => c.length));
  // Room between two columns for the widest label of the edges crossing that gap.
  const gaps = byColumn.map((_, c) =>
    Math.max(
      MIN_COLUMN_GAP,
      ...g.edges
        .filter((e) => col.get(e.from) === c && col.get(e.to) === c + 1)
        .map((e) => labelWidth(e) + 40),
    ),
  );
  const placed = new Map<string, Placed>();
  let x = MARGIN;
  byColumn.forEach((nodes, c) => {
    const w = widths[c] ?? 0;
    // Shorter columns are centred vertically against the tallest one.
    const offset = ((rows - nodes.length) * (NODE_HEIGHT + ROW_GAP)) / 2;
    for (const n of nodes) {
      const r = row.get(n.id) ?? 0;
      placed.set(n.id, {
        node: n,
        column: c,
        row: r,
        x,
        y: MARGIN + offset + r * (NODE_HEIGHT + ROW_GAP),
        width: w,
        height: NODE_HEIGHT,
      });
    }
    x += w + (gaps[c] ?? 0);
  });
  return {
    nodes: placed,
    width: Math.max(x - (gaps.at(-1) ?? 0) + MARGIN, 2 * MARGIN),
    height: MARGIN * 2 + Math.max(rows, 1) * (NODE_HEIGHT + ROW_GAP) - ROW_GAP,
  };
}
