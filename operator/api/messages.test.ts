// Messages that say what to write instead: "did you mean" for misspelt fields, numbers written as
// strings. Table-tested through validateProfile, as the CLI and the operator see them.
import { describe, expect, it } from "vitest";
import { ProfileSpec } from "./schema.ts";
import { closest, editDistance } from "./suggest.ts";
import { fieldsAt, validateProfile } from "./validate.ts";

function problems(spec: Record<string, unknown>) {
  const r = validateProfile({
    apiVersion: "meshward.io/v1alpha1",
    kind: "ServiceSecurityProfile",
    metadata: { name: "a", namespace: "b" },
    spec: { selector: { app: "a" }, ...spec },
  });
  return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
}

describe("did you mean", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ["a field of spec", { ingres: [] }, 'spec: unknown field "ingres" (did you mean "ingress"?)'],
    [
      "a field of an ingress rule",
      { ingress: [{ from: [{ namespace: "x" }], port: [80] }] },
      'spec.ingress[0]: unknown field "port" (did you mean "ports"?)',
    ],
    [
      "a field of a source",
      { ingress: [{ from: [{ servce: "x/y" }] }] },
      'spec.ingress[0].from[0]: unknown field "servce" (did you mean "service"?)',
    ],
    [
      "a field of an egress target",
      { egress: { to: [{ sevice: "x/y" }] } },
      'spec.egress.to[0]: unknown field "sevice" (did you mean "service"?)',
    ],
    [
      "a field under mtls",
      { mtls: { mdoe: "Strict" } },
      'spec.mtls: unknown field "mdoe" (did you mean "mode"?)',
    ],
    [
      "a field with the wrong case",
      { driftpolicy: "Report" },
      'spec: unknown field "driftpolicy" (did you mean "driftPolicy"?)',
    ],
    [
      "nothing close: the fields are listed",
      { egress: { zzz: 1 } },
      'spec.egress: unknown field "zzz": remove or check the spelling; the fields here are dns, to',
    ],
  ];
  for (const [what, spec, want] of cases) it(what, () => expect(problems(spec)).toContain(want));
});

describe("numbers written as strings", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    [
      "an ingress port",
      { ingress: [{ from: [{ namespace: "x" }], ports: ["8080"] }] },
      'spec.ingress[0].ports[0]: expected a number, got the string "8080": write 8080 without quotes',
    ],
    [
      "an egress port",
      { egress: { to: [{ cidr: "10.0.0.0/8", ports: [" 443"] }] } },
      'spec.egress.to[0].ports[0]: expected a number, got the string " 443": write 443 without quotes',
    ],
    [
      "a word is not a number",
      { ingress: [{ from: [{ namespace: "x" }], ports: ["http"] }] },
      "spec.ingress[0].ports[0]: expected a number, got a string",
    ],
  ];
  for (const [what, spec, want] of cases) it(what, () => expect(problems(spec)).toContain(want));
});

describe("fieldsAt", () => {
  it("walks objects, lists and optional fields of the schema", () => {
    expect(fieldsAt(ProfileSpec, [])).toContain("ingress");
    expect(fieldsAt(ProfileSpec, ["ingress", 0])).toEqual([
      "from",
      "protocol",
      "ports",
      "http",
      "requireToken",
    ]);
    expect(fieldsAt(ProfileSpec, ["ingress", 3, "from", 1])).toEqual([
      "service",
      "serviceAccount",
      "namespace",
    ]);
    expect(fieldsAt(ProfileSpec, ["selector"])).toEqual([]);
    expect(fieldsAt(ProfileSpec, ["nope", "deeper"])).toEqual([]);
  });
});

describe("closest", () => {
  const cases: [string, string[], string | undefined][] = [
    ["ingres", ["ingress", "egress"], "ingress"],
    ["egres", ["ingress", "egress"], "egress"],
    ["sercive", ["service", "serviceAccount"], "service"], // a transposition is one edit
    ["Ingress", ["ingress"], "ingress"],
    ["xyz", ["ingress", "egress"], undefined],
    ["ingress", ["ingress"], undefined], // the word itself is not a suggestion
  ];
  for (const [word, candidates, want] of cases)
    it(`${word} -> ${want}`, () => expect(closest(word, candidates)).toBe(want));
  it("counts edits", () => {
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("ab", "ba")).toBe(1);
    expect(editDistance("", "abc")).toBe(3);
  });
});
