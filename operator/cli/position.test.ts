// From a field path to the line and column of its node in the YAML source.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LineCounter, type Node, parseDocument } from "yaml";
import { run } from "./main.ts";
import { locate, unknownKeyOf } from "./position.ts";

const TEXT = `apiVersion: meshward.io/v1alpha1
kind: ServiceSecurityProfile
metadata:
  name: cart
  namespace: shop
spec:
  selector:
    app.kubernetes.io/name: cart
  ingress:
    - from:
        - service: web
      ports: [8080, 9090]
  egress: {to: [{cidr: 10.0.0.0/8}]}
`;

function at(p: string, extra?: string) {
  const lines = new LineCounter();
  const doc = parseDocument(TEXT, { lineCounter: lines });
  return locate({ node: doc.contents as Node, lines }, p, extra);
}

describe("locate", () => {
  const cases: [string, string, string | undefined, [number, number]][] = [
    ["a top-level key", "kind", undefined, [2, 1]],
    ["a nested key", "metadata.namespace", undefined, [5, 3]],
    ["a key holding dots, matched whole", "spec.selector.app.kubernetes.io/name", undefined, [8, 5]],
    ["a list entry's key", "spec.ingress[0].from[0].service", undefined, [11, 11]],
    ["a flow list's entry", "spec.ingress[0].ports[1]", undefined, [12, 21]],
    ["flow mappings", "spec.egress.to[0].cidr", undefined, [13, 18]],
    ["a missing field: its nearest parent", "spec.ingress[0].http.paths[0]", undefined, [10, 7]],
    ["an index past the end: the list's key", "spec.ingress[3]", undefined, [9, 3]],
    ["a missing top-level field: the document", "status", undefined, [1, 1]],
    ["the root", "(root)", undefined, [1, 1]],
    ["an unknown field: the key itself", "metadata", "name", [4, 3]],
  ];
  it.each(cases)("%s", (_, p, extra, [line, column]) => {
    expect(at(p, extra)).toEqual({ line, column });
  });

  it("reads the key an unknown-field message names", () => {
    expect(unknownKeyOf('unknown field "ingres" (did you mean "ingress"?)')).toBe("ingres");
    expect(unknownKeyOf('unknown fields "a", "b": remove or check the spelling')).toBe("a");
    expect(unknownKeyOf("is required")).toBeUndefined();
  });
});

describe("problems carry the line and column of their field", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "meshward-position-"));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  function validate(...args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = run(["validate", ...args], { out: (s) => out.push(s), err: (s) => err.push(s) });
    return { code, out: out.join(""), err: err.join("\n") };
  }

  it("in the second document of a file and in an item of a v1 List", () => {
    const multi = path.join(tmp, "multi.yaml");
    fs.writeFileSync(
      multi,
      `apiVersion: v1\nkind: Service\nmetadata: {name: x}\n---\napiVersion: meshward.io/v1alpha1\nkind: ServiceSecurityProfile\nmetadata: {name: a, namespace: shop}\nspec:\n  selector: {app: a}\n  ingress:\n    - from: [{service: b}]\n      ports: [70000]\n`,
    );
    const list = path.join(tmp, "list.yaml");
    fs.writeFileSync(
      list,
      `apiVersion: v1\nkind: List\nitems:\n  - apiVersion: meshward.io/v1alpha1\n    kind: ServiceSecurityProfile\n    metadata: {name: ok, namespace: shop}\n    spec: {selector: {app: ok}}\n  - apiVersion: meshward.io/v1alpha1\n    kind: ServiceSecurityProfile\n    metadata: {name: bad, namespace: shop}\n    spec:\n      selector: {app: bad}\n      mtls: {mode: Off}\n`,
    );
    const r = validate(multi, list, "--now", "2026-11-20T00:00:00Z");
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      `${multi}:12:15: shop/a: document 2: spec.ingress[0].ports[0]: error: must be at most 65535`,
    );
    expect(r.err).toContain(`${list}:13:14: shop/bad: items[1]: spec.mtls.mode: error: must be one of`);
    const j = JSON.parse(validate("-o", "json", multi).out) as {
      problems: { line: number; column: number }[];
    };
    expect(j.problems.map((p) => [p.line, p.column])).toEqual([
      [12, 15],
      [11, 15], // the reference to shop/b, checked though the profile is invalid
    ]);
  });

  it("every YAML syntax error of a document, each at its line", () => {
    const f = path.join(tmp, "syntax.yaml");
    fs.writeFileSync(f, "a: 1\na: 2\nb: [1, 2\n");
    const r = validate(f);
    const lines = r.err.split("\n").filter((l) => l.includes("not valid YAML"));
    expect(lines.length).toBeGreaterThan(1);
    expect(lines[0]).toMatch(
      new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:2:1: error: not valid YAML \\(line 2\\)`),
    );
  });
});
