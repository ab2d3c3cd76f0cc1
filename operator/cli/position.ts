// Where in a YAML file a problem is (pure): from a field path such as
// spec.ingress[0].from[1].service to the line and column of that node in the source, or of its
// nearest existing parent when the field is not in the file (a missing required field, an entry a
// policy would add). The paths are the ones validation and the policy engine print; a map key that
// holds dots (app.kubernetes.io/name) is matched whole against the keys the file has.
import { isMap, isPair, isScalar, isSeq, type LineCounter, type Node } from "yaml";

/** A node of a parsed document and the line table of its file. */
export interface Source {
  node: Node;
  lines: LineCounter;
}

/** 1-based line and column, as editors and CI systems count them. */
export interface Position {
  line: number;
  column: number;
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return undefined;
}

function positionOf(node: unknown, lines: LineCounter): Position | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  if (!range) return undefined;
  const p = lines.linePos(range[0]);
  return { line: p.line, column: p.col };
}

/**
 * The position of `path` below `source.node`: the key of the deepest map entry or the deepest list
 * entry the path reaches. `extraKey`: one more key to look for at the end (the first unknown field
 * of an "unknown field" problem, whose path is the object holding it).
 */
export function locate(source: Source, path: string, extraKey?: string): Position | undefined {
  let node: unknown = source.node;
  let at: unknown = source.node;
  let rest = path === "(root)" ? "" : path;
  if (extraKey !== undefined) rest = rest === "" ? extraKey : `${rest}\u0000${extraKey}`;
  while (rest !== "") {
    if (rest.startsWith(".") || rest.startsWith("\u0000")) rest = rest.slice(1);
    const index = /^\[(\d+)\]/.exec(rest);
    if (index) {
      if (!isSeq(node)) break;
      const item = node.items[Number(index[1])];
      if (item === undefined) break;
      node = item;
      at = item;
      rest = rest.slice(index[0].length);
      continue;
    }
    if (!isMap(node)) break;
    // The longest key the remaining path starts with, followed by the end, "." or "[".
    let best: { pair: unknown; key: string } | undefined;
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const k = keyText(pair.key);
      if (k === undefined || !rest.startsWith(k)) continue;
      const next = rest.charAt(k.length);
      if (next !== "" && next !== "." && next !== "[" && next !== "\u0000") continue;
      if (!best || k.length > best.key.length) best = { pair, key: k };
    }
    if (!best) break;
    const pair = best.pair as { key: unknown; value: unknown };
    at = pair.key;
    node = pair.value;
    rest = rest.slice(best.key.length);
  }
  return positionOf(at, source.lines) ?? positionOf(source.node, source.lines);
}

/** The first key an "unknown field" message names, to point at it rather than at its parent. */
export function unknownKeyOf(message: string): string | undefined {
  return /^unknown fields? "((?:[^"\\]|\\.)*)"/.exec(message)?.[1];
}
