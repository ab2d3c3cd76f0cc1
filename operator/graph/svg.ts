// The call graph as a self-contained SVG (pure): no browser, no Graphviz. Profiles are blue boxes,
// callers that are not profiles (a namespace, a service account, a CIDR) grey pills, references to
// profiles that were not given dashed boxes. Edges go from caller to callee with their ports and
// requests; one-sided edges (denied at run time) are dashed and red. A legend explains the marks.
import { escapeControls } from "../api/escape.ts";
import { edgeLabel, type FleetGraph, type GraphEdge, isOneSided, oneSidedNote } from "./fleet.ts";
import { labelLines, labelWidth, type Layout, layout, type Placed } from "./layout.ts";

const RED = "#d62728";
const GREY = "#5f6b7a";
const LEGEND_HEIGHT = 56;

function n(v: number): string {
  return (Math.round(v * 10) / 10).toString();
}

/** Text as XML; control characters (tenant strings: paths, file names) escaped first. */
function esc(s: string): string {
  return escapeControls(s)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

function nodeSvg(p: Placed): string {
  const { node } = p;
  const cls = node.kind === "profile" ? "profile" : node.kind === "missing" ? "missing" : "external";
  const radius = node.kind === "profile" || node.kind === "missing" ? 6 : p.height / 2;
  const title = node.file
    ? `<title>${esc(`${node.label} (${node.file})`)}</title>`
    : `<title>${esc(node.label)}</title>`;
  return [
    `  <g class="node ${cls}">${title}`,
    `    <rect x="${n(p.x)}" y="${n(p.y)}" width="${n(p.width)}" height="${n(p.height)}" rx="${n(radius)}"/>`,
    `    <text x="${n(p.x + p.width / 2)}" y="${n(p.y + p.height / 2 + 4)}">${esc(node.label)}</text>`,
    `  </g>`,
  ].join("\n");
}

/**
 * A path from the caller's right side to the callee's left side; an edge back to an earlier (or
 * the same) column loops below every node of the columns it spans.
 */
function edgePath(a: Placed, b: Placed, l: Layout): { d: string; lx: number; ly: number } {
  if (b.column > a.column) {
    const x1 = a.x + a.width;
    const y1 = a.y + a.height / 2;
    const x2 = b.x - 2;
    const y2 = b.y + b.height / 2;
    const dx = (x2 - x1) / 2;
    return {
      d: `M${n(x1)},${n(y1)} C${n(x1 + dx)},${n(y1)} ${n(x2 - dx)},${n(y2)} ${n(x2)},${n(y2)}`,
      lx: (x1 + x2) / 2,
      ly: (y1 + y2) / 2,
    };
  }
  const x1 = a.x + a.width / 2;
  const y1 = a.y + a.height;
  const x2 = b.x + b.width / 2;
  const y2 = b.y + b.height + 2;
  const spanned = [...l.nodes.values()].filter((p) => p.column >= b.column && p.column <= a.column);
  const low = Math.max(...spanned.map((p) => p.y + p.height)) + 46;
  return {
    d: `M${n(x1)},${n(y1)} C${n(x1)},${n(low)} ${n(x2)},${n(low)} ${n(x2)},${n(y2)}`,
    lx: (x1 + x2) / 2,
    // The lowest point of the curve: its control points both sit at `low`.
    ly: 0.75 * low + 0.125 * (y1 + y2),
  };
}

function edgeSvg(e: GraphEdge, a: Placed, b: Placed, l: Layout): string {
  const { d, lx, ly } = edgePath(a, b, l);
  const one = isOneSided(e);
  const label = edgeLabel(e);
  const note = oneSidedNote(e);
  const lines = labelLines(e);
  const w = labelWidth(e);
  const h = lines.length * 13 + 4;
  const top = ly - h / 2;
  const texts = lines
    .map((l, i) => `<text x="${n(lx)}" y="${n(top + 13 + i * 13)}">${esc(l)}</text>`)
    .join("");
  return [
    `  <g class="edge${one ? " one-sided" : ""}"><title>${esc(`${e.from} -> ${e.to}: ${label}${note ? ` (${note})` : ""}`)}</title>`,
    `    <path d="${d}" marker-end="url(#${one ? "arrow-red" : "arrow"})"/>`,
    `    <rect x="${n(lx - w / 2)}" y="${n(top)}" width="${n(w)}" height="${n(h)}" rx="3"/>${texts}`,
    `  </g>`,
  ].join("\n");
}

export function svg(g: FleetGraph): string {
  const l = layout(g);
  const loops = g.edges.some((e) => {
    const a = l.nodes.get(e.from);
    const b = l.nodes.get(e.to);
    return a && b && b.column <= a.column;
  });
  const height = l.height + (loops ? 56 : 0) + LEGEND_HEIGHT;
  const width = Math.max(l.width, 560);
  const edges = g.edges.flatMap((e) => {
    const a = l.nodes.get(e.from);
    const b = l.nodes.get(e.to);
    return a && b ? [edgeSvg(e, a, b, l)] : [];
  });
  const ly = height - LEGEND_HEIGHT + 20;
  const legend = [
    `  <g class="legend">`,
    `    <path d="M24,${n(ly)} H64" marker-end="url(#arrow)"/><text x="72" y="${n(ly + 4)}">both sides declare the call</text>`,
    `    <path class="one-sided" d="M260,${n(ly)} H300" marker-end="url(#arrow-red)"/><text x="308" y="${n(ly + 4)}">one side only: denied at run time</text>`,
    `    <text x="24" y="${n(ly + 24)}">caller → callee; labels: ports, methods, paths (any port: every TCP port)</text>`,
    `  </g>`,
  ].join("\n");
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${n(width)}" height="${n(height)}" viewBox="0 0 ${n(width)} ${n(height)}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `  <title>meshward: who may call whom</title>`,
    `  <defs>`,
    `    <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${GREY}"/></marker>`,
    `    <marker id="arrow-red" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${RED}"/></marker>`,
    `    <style>`,
    `      .node rect { stroke-width: 1.5; }`,
    `      .node text { text-anchor: middle; fill: #1b2733; }`,
    `      .profile rect { fill: #e8f1fb; stroke: #2f6db3; }`,
    `      .external rect { fill: #eef2f7; stroke: #8a99ad; }`,
    `      .missing rect { fill: #f7f7f7; stroke: #999999; stroke-dasharray: 5 3; }`,
    `      .missing text { fill: #666666; }`,
    `      .edge path, .legend path { fill: none; stroke: ${GREY}; stroke-width: 1.4; }`,
    `      .edge rect { fill: #ffffff; fill-opacity: 0.9; stroke: none; }`,
    `      .edge text { text-anchor: middle; font-size: 10px; fill: #33414f; }`,
    `      .one-sided path, path.one-sided { stroke: ${RED}; stroke-dasharray: 6 4; }`,
    `      .one-sided text { fill: ${RED}; }`,
    `      .legend text { font-size: 11px; fill: #33414f; }`,
    `    </style>`,
    `  </defs>`,
    `  <rect width="100%" height="100%" fill="#ffffff"/>`,
    ...edges,
    ...[...l.nodes.values()].map(nodeSvg),
    legend,
    `</svg>`,
    ``,
  ].join("\n");
}
