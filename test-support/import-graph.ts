// The import graph of a source tree, read from its import and export statements with the
// TypeScript compiler's pre-processor (type-only imports count: a type cycle is a cycle), and the
// checks the architecture test applies to it: layer rules, allow-lists and cycles.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import ts from "typescript";

/** Source file → the files of the tree it imports (paths relative to the tree's parent, "/"). */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

/** Every non-test .ts file under `dir` (relative to `base`) with its relative imports. */
export function readImportGraph(base: string, dir: string): ImportGraph {
  const graph = new Map<string, string[]>();
  const walk = (d: string): void => {
    for (const e of readdirSync(join(base, d), { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith(".ts") && !p.endsWith(".test.ts"))
        graph.set(p, importsOf(p, readFileSync(join(base, p), "utf8")));
    }
  };
  walk(dir);
  return graph;
}

/** The relative imports of one file's text, as normalised paths. */
export function importsOf(file: string, text: string): string[] {
  const info = ts.preProcessFile(text, true, false);
  return info.importedFiles
    .map((i) => i.fileName)
    .filter((s) => s.startsWith("."))
    .map((s) =>
      normalize(join(dirname(file), s))
        .split("\\")
        .join("/"),
    );
}

/** A rule: files matching `from` must not import files matching `to`; `why` is the message. */
export interface LayerRule {
  from: (file: string) => boolean;
  to: (file: string) => boolean;
  why: string;
}

export interface Edge {
  from: string;
  to: string;
}

/** Each edge of the graph that breaks a rule, as "from → to: why". */
export function ruleViolations(graph: ImportGraph, rules: readonly LayerRule[]): string[] {
  const out: string[] = [];
  for (const [from, deps] of graph)
    for (const to of deps)
      for (const r of rules) if (r.from(from) && r.to(to)) out.push(`${from} → ${to}: ${r.why}`);
  return out;
}

/** The imports of `file` that are not in `allowed` (paths), as "file → import". */
export function outsideAllowList(graph: ImportGraph, file: string, allowed: readonly string[]): string[] {
  return (graph.get(file) ?? []).filter((d) => !allowed.includes(d)).map((d) => `${file} → ${d}`);
}

/** The strongly connected components of more than one file (or a file importing itself), sorted. */
export function cycles(graph: ImportGraph): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string | undefined;
    do {
      w = stack.pop();
      if (w === undefined) break;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

/** "operator/runtime/queue.ts" → "runtime"; a file directly in the tree → its name. */
export function layerOf(file: string, tree: string): string {
  const parts = relative(tree, file).split(/[\\/]/);
  return parts.length > 1 ? (parts[0] ?? "") : file;
}
