// CEL cost: the API server estimates the worst-case cost of every x-kubernetes-validations rule from
// the schema, and refuses a CRD whose estimate is too high. A string without maxLength (or enum), a
// list without maxItems or a map without maxProperties is estimated at the size of a whole request,
// so one unbounded field under a rule that iterates can make the CRD uninstallable. Every one of them
// is bounded here (ADR 2), for the generated CRD and for the file in crds/.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { buildCrd, buildPolicyCrd } from "./crd.ts";
import { NAME_RULE, RESERVED_NAME_PREFIX, RESERVED_NAME_RULE } from "./schema.ts";

type Schema = Record<string, unknown>;

/** Where a string, list or map lacks a bound, as JSON-ish paths. */
function unbounded(node: unknown, at: string, out: string[]): string[] {
  if (typeof node !== "object" || node === null) return out;
  const s = node as Schema;
  if (s.type === "string" && s.maxLength === undefined && s.enum === undefined)
    out.push(`${at}: string without maxLength`);
  if (s.type === "array" && s.maxItems === undefined) out.push(`${at}: list without maxItems`);
  if (s.type === "object" && s.additionalProperties !== undefined && s.additionalProperties !== false) {
    if (s.maxProperties === undefined) out.push(`${at}: map without maxProperties`);
    unbounded(s.additionalProperties, `${at}{}`, out);
  }
  if (
    s.type === "object" &&
    s.properties === undefined &&
    s.additionalProperties === undefined &&
    !s["x-kubernetes-preserve-unknown-fields"]
  )
    if (at !== ".metadata") out.push(`${at}: object without properties`);
  for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, unknown>))
    unbounded(v, `${at}.${k}`, out);
  if (s.items !== undefined) unbounded(s.items, `${at}[]`, out);
  for (const key of ["allOf", "anyOf", "oneOf"] as const)
    for (const [i, sub] of ((s[key] ?? []) as unknown[]).entries()) unbounded(sub, `${at}(${key}${i})`, out);
  if (s.not !== undefined) unbounded(s.not, `${at}(not)`, out);
  return out;
}

function root(crd: unknown): Schema {
  const versions = (crd as { spec: { versions: { schema: { openAPIV3Schema: Schema } }[] } }).spec.versions;
  expect(versions).toHaveLength(1);
  return versions[0]?.schema.openAPIV3Schema as Schema;
}

function check(schema: Schema): string[] {
  // apiVersion and kind are set and checked by the API server, metadata is its own ObjectMeta
  // (name and generateName bounded): none is ours to bound.
  const props = { ...(schema.properties as Record<string, unknown>) };
  for (const k of ["apiVersion", "kind", "metadata"]) delete props[k];
  return unbounded({ ...schema, properties: props }, "", []);
}

describe("CRD bounds (CEL cost)", () => {
  it("bounds every string, list and map of the schema buildCrd() derives", () => {
    expect(check(root(buildCrd()))).toEqual([]);
  });

  it("bounds every string, list and map of crds/", () => {
    const file = path.resolve(import.meta.dirname, "../../crds/meshward.io_servicesecurityprofiles.yaml");
    expect(check(root(parse(fs.readFileSync(file, "utf8"))))).toEqual([]);
  });

  it("bounds every string, list and map of the MeshwardPolicy CRD, generated and in crds/", () => {
    expect(check(root(buildPolicyCrd()))).toEqual([]);
    const file = path.resolve(import.meta.dirname, "../../crds/meshward.io_meshwardpolicies.yaml");
    expect(check(root(parse(fs.readFileSync(file, "utf8"))))).toEqual([]);
  });

  it("finds what it is looking for", () => {
    const schema = {
      type: "object",
      properties: {
        a: { type: "string" },
        b: { type: "array", items: { type: "string", maxLength: 1 } },
        c: { type: "object", additionalProperties: { type: "string" } },
        d: { type: "string", enum: ["x"] },
      },
    };
    expect(unbounded(schema, "", [])).toEqual([
      ".a: string without maxLength",
      ".b: list without maxItems",
      ".c: map without maxProperties",
      ".c{}: string without maxLength",
    ]);
  });
});

// Rules on the whole object: the API server evaluates them at apply time with self.metadata.name
// (the one field of metadata CEL sees at the root); validateProfile applies the same messages.
describe("CRD root rules (metadata.name)", () => {
  const file = path.resolve(import.meta.dirname, "../../crds/meshward.io_servicesecurityprofiles.yaml");
  const crds: [string, () => unknown][] = [
    ["buildCrd()", () => buildCrd()],
    ["crds/", () => parse(fs.readFileSync(file, "utf8"))],
  ];
  it.each(crds)("%s refuses names that are not DNS labels and names starting with meshward-", (_, crd) => {
    expect(root(crd())["x-kubernetes-validations"]).toEqual([
      { rule: NAME_RULE.cel, message: NAME_RULE.message },
      // Checked when a profile is created (names never change), so an older one stays writable.
      {
        rule: `oldSelf.hasValue() || ${RESERVED_NAME_RULE.cel}`,
        message: RESERVED_NAME_RULE.message,
        optionalOldSelf: true,
      },
    ]);
  });

  it("the reserved-name rule in CEL tests the prefix validateProfile tests", () => {
    const m = /^!self\.metadata\.name\.startsWith\('([^'\\]+)'\)$/.exec(RESERVED_NAME_RULE.cel);
    expect(m?.[1]).toBe(RESERVED_NAME_PREFIX);
    expect(RESERVED_NAME_PREFIX).toBe("meshward-");
    for (const name of ["meshward-default-deny", "meshward-quarantine-api"])
      expect(RESERVED_NAME_RULE.check(name)).toBe(false);
    for (const name of ["payments-api", "meshward", "my-meshward-api"])
      expect(RESERVED_NAME_RULE.check(name)).toBe(true);
  });
});
