// The call graph as text for other tools (pure): Mermaid (GitHub and GitLab render it in Markdown),
// Graphviz DOT, and a self-contained SVG drawn by our own layout (svg.ts). One-sided edges (denied
// at run time) are dashed and red in all three.
import {
  edgeLabel,
  type FleetGraph,
  type GraphEdge,
  type GraphNode,
  isOneSided,
  oneSidedNote,
} from "./fleet.ts";
import { escapeControls } from "../api/escape.ts";
import { svg } from "./svg.ts";

export type GraphFormat = "mermaid" | "dot" | "svg";
export const GRAPH_FORMATS: readonly GraphFormat[] = ["mermaid", "dot", "svg"];

function fullLabel(e: GraphEdge): string {
  const note = oneSidedNote(e);
  return note ? `${edgeLabel(e)} (${note})` : edgeLabel(e);
}

// Labels hold tenant strings (paths, file names): their control characters are escaped, so that
// they neither break the line-based formats nor reach a terminal raw.
function mermaidText(s: string): string {
  return escapeControls(s).replace(/"/g, "#quot;");
}

export function mermaid(g: FleetGraph): string {
  const id = new Map(g.nodes.map((n, i) => [n.id, `n${i}`]));
  const shape = (n: GraphNode) => {
    const label = `"${mermaidText(n.label)}"`;
    switch (n.kind) {
      case "profile":
        return `[${label}]`;
      case "missing":
        return `[${label}]:::missing`;
      default:
        return `([${label}]):::external`;
    }
  };
  const lines = ["flowchart LR"];
  for (const n of g.nodes) lines.push(`  ${id.get(n.id)}${shape(n)}`);
  const oneSided: number[] = [];
  g.edges.forEach((e, i) => {
    const arrow = isOneSided(e) ? "-.->" : "-->";
    if (isOneSided(e)) oneSided.push(i);
    lines.push(`  ${id.get(e.from)} ${arrow}|"${mermaidText(fullLabel(e))}"| ${id.get(e.to)}`);
  });
  lines.push("  classDef missing stroke-dasharray:4 3,fill:#f4f4f4,color:#666");
  lines.push("  classDef external fill:#eef2f7,stroke:#8a99ad");
  if (oneSided.length > 0) lines.push(`  linkStyle ${oneSided.join(",")} stroke:#d62728,color:#d62728`);
  return `${lines.join("\n")}\n`;
}

function dotText(s: string): string {
  return `"${escapeControls(s).replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

export function dot(g: FleetGraph): string {
  const lines = [
    "digraph meshward {",
    "  rankdir=LR;",
    '  node [shape=box, style="rounded,filled", fillcolor="#e8f1fb", color="#2f6db3", fontname="Helvetica"];',
    '  edge [fontname="Helvetica", fontsize=10, color="#555555"];',
  ];
  for (const n of g.nodes) {
    const attrs = [`label=${dotText(n.label)}`];
    if (n.kind === "missing") attrs.push('style="dashed"', 'color="#999999"', 'fontcolor="#666666"');
    else if (n.kind !== "profile") attrs.push("shape=ellipse", 'fillcolor="#eef2f7"', 'color="#8a99ad"');
    if (n.file) attrs.push(`tooltip=${dotText(n.file)}`);
    lines.push(`  ${dotText(n.id)} [${attrs.join(", ")}];`);
  }
  for (const e of g.edges) {
    const attrs = [`label=${dotText(fullLabel(e))}`];
    if (isOneSided(e)) attrs.push('style="dashed"', 'color="#d62728"', 'fontcolor="#d62728"');
    lines.push(`  ${dotText(e.from)} -> ${dotText(e.to)} [${attrs.join(", ")}];`);
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

export function renderGraph(g: FleetGraph, format: GraphFormat): string {
  switch (format) {
    case "mermaid":
      return mermaid(g);
    case "dot":
      return dot(g);
    case "svg":
      return svg(g);
  }
}
