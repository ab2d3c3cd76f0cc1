// The length in lines of every function in a source tree (declarations, methods, arrows and
// function expressions, each counted from its first to its last line, nested ones included in
// their parent's), with the TypeScript compiler's parser. `node scripts/function-length.ts
// [dir…]` prints the five longest of operator/ and bench/ (test files left out).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";

export interface FunctionLength {
  file: string;
  name: string;
  line: number;
  lines: number;
}

/** The functions of one file's text. */
export function functionLengths(file: string, text: string): FunctionLength[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: FunctionLength[] = [];
  const lineOf = (pos: number) => sf.getLineAndCharacterOfPosition(pos).line + 1;
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && "body" in node && node.body) {
      const start = lineOf(node.getStart(sf));
      out.push({ file, name: nameOf(node), line: start, lines: lineOf(node.getEnd()) - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function nameOf(node: ts.Node): string {
  const named = node as { name?: ts.Node };
  if (named.name && ts.isIdentifier(named.name)) return named.name.text;
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (parent && ts.isPropertyAssignment(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (ts.isConstructorDeclaration(node)) return "constructor";
  return "(anonymous)";
}

/** Every function of the non-test .ts files under `dirs` (relative to `base`), longest first. */
export function longestFunctions(base: string, dirs: readonly string[]): FunctionLength[] {
  const out: FunctionLength[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(join(base, d), { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== "node_modules" && e.name !== "generated") walk(p);
      } else if (p.endsWith(".ts") && !p.endsWith(".test.ts"))
        out.push(...functionLengths(p, readFileSync(join(base, p), "utf8")));
    }
  };
  for (const d of dirs) walk(d);
  return out.sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file) || a.line - b.line);
}

if (import.meta.main) {
  const dirs = process.argv.slice(2);
  for (const f of longestFunctions(process.cwd(), dirs.length > 0 ? dirs : ["operator", "bench"]).slice(0, 5))
    console.log(`${String(f.lines).padStart(4)}  ${f.file}:${f.line}  ${f.name}`);
}
