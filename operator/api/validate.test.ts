// Every example in examples/invalid/ is rejected for the reason its header names, at that field.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { loadProfiles } from "../cli/load.ts";
import { render } from "../cli/render.ts";
import { DEFAULT_PLATFORM } from "../builders/context.ts";
import { NAMESPACE_DEFAULT_DENY } from "../builders/meta.ts";
import { QUARANTINE_NAME } from "../policy/quarantine.ts";
import { RESERVED_NAME_RULE } from "./schema.ts";
import { validateProfile } from "./validate.ts";

const INVALID = path.resolve(import.meta.dirname, "../../examples/invalid");

export function expectation(file: string): { path: string; message: string; crd: boolean } {
  const text = fs.readFileSync(file, "utf8");
  const get = (k: string) => new RegExp(`^# ${k}: (.*)$`, "m").exec(text)?.[1]?.trim() ?? "";
  return { path: get("expect-path"), message: get("expect-message"), crd: get("crd").startsWith("yes") };
}

describe("examples/invalid", () => {
  const files = fs.readdirSync(INVALID).filter((f) => f.endsWith(".yaml"));
  it("has one example per reason", () => expect(files.length).toBeGreaterThanOrEqual(15));
  for (const f of files) {
    it(`rejects ${f}`, () => {
      const file = path.join(INVALID, f);
      const want = expectation(file);
      expect(want.path, "header needs # expect-path").not.toBe("");
      const loaded = loadProfiles([file]);
      const built = render(loaded.profiles, {
        trustDomain: "cluster.local",
        meshMode: "sidecar",
        defaults: DEFAULT_PLATFORM,
        now: new Date("2026-11-20T00:00:00Z"),
      });
      const problems = [...loaded.problems, ...built.problems];
      expect(problems.length, "exactly one reason").toBe(1);
      expect(problems[0]?.path).toBe(want.path);
      expect(problems[0]?.message).toContain(want.message);
    });
  }
});

describe("validateProfile", () => {
  it("never throws, whatever it is given", () => {
    for (const raw of [
      null,
      1,
      "x",
      [],
      {},
      { apiVersion: "meshward.io/v1alpha1", kind: "ServiceSecurityProfile", metadata: [], spec: 5 },
    ]) {
      const r = validateProfile(raw);
      expect(r.ok).toBe(false);
      expect(r.problems.length).toBeGreaterThan(0);
    }
  });

  it("bounds the name part of a selector key to 63 characters, as Kubernetes does", () => {
    const make = (key: string) =>
      validateProfile({
        apiVersion: "meshward.io/v1alpha1",
        kind: "ServiceSecurityProfile",
        metadata: { name: "a", namespace: "b" },
        spec: { selector: { [key]: "x" } },
      });
    expect(make(`example.com/${"a".repeat(63)}`).ok).toBe(true);
    const r = make(`example.com/${"a".repeat(64)}`);
    expect(r.ok).toBe(false);
    expect(r.problems[0]?.message).toContain("at most 63 characters");
  });

  it("applies the defaults the CRD applies", () => {
    const r = validateProfile({
      apiVersion: "meshward.io/v1alpha1",
      kind: "ServiceSecurityProfile",
      metadata: { name: "a", namespace: "b" },
      spec: { selector: { app: "a" }, egress: {}, mtls: {} },
    });
    expect(r.ok && r.profile.spec).toEqual({
      selector: { app: "a" },
      egress: { dns: true },
      mtls: { mode: "Strict" },
      driftPolicy: "Correct",
    });
  });

  it("says what type a field has instead of 'is required' when it is there (found by the fuzzer)", () => {
    const problems = (spec: unknown) =>
      validateProfile({
        apiVersion: "meshward.io/v1alpha1",
        kind: "ServiceSecurityProfile",
        metadata: { name: "a", namespace: "b" },
        spec,
      }).problems;
    expect(problems({ selector: { app: "a" }, requestAuthentication: { jwt: [{ issuer: null }] } })).toEqual([
      { path: "spec.requestAuthentication.jwt[0].issuer", message: "expected a string, got null" },
    ]);
    expect(
      problems({ selector: { app: "a" }, ingress: [{ from: [{ namespace: "x" }], ports: [1.5, "80"] }] }),
    ).toEqual([
      { path: "spec.ingress[0].ports[0]", message: "expected a whole number, got 1.5" },
      {
        path: "spec.ingress[0].ports[1]",
        message: 'expected a number, got the string "80": write 80 without quotes',
      },
    ]);
    expect(problems({ selector: { app: "a" }, ingress: [[]] })).toEqual([
      { path: "spec.ingress[0]", message: "expected an object (a YAML mapping), got a list" },
    ]);
    // A field that is really missing still reads "is required".
    expect(problems({ selector: { app: "a" }, ingress: [{}] })).toEqual([
      { path: "spec.ingress[0].from", message: "is required" },
    ]);
  });

  it("gives the same field path every time a rule with a path fails (found by the fuzzer)", () => {
    const raw = {
      apiVersion: "meshward.io/v1alpha1",
      kind: "ServiceSecurityProfile",
      metadata: { name: "a", namespace: "b" },
      spec: {
        selector: { app: "a" },
        egress: { to: [{ cidr: "10.0.0.0/8", except: ["11.0.0.0/8"] }] },
        mtls: { mode: "Permissive" },
      },
    };
    const paths = () => validateProfile(raw).problems.map((p) => p.path);
    const first = paths();
    expect(first).toEqual(["spec.egress.to[0].except", "spec.mtls.mode"]);
    for (let i = 0; i < 3; i++) expect(paths()).toEqual(first);
  });

  it("tells a wrongly typed or malformed metadata.name or namespace from a missing one (found by the fuzzer)", () => {
    const problems = (metadata: unknown) =>
      validateProfile({
        apiVersion: "meshward.io/v1alpha1",
        kind: "ServiceSecurityProfile",
        metadata,
        spec: { selector: { app: "a" } },
      }).problems;
    expect(problems({ name: { a: "x" }, namespace: 7 })).toEqual([
      { path: "metadata.name", message: "expected a string, got an object" },
      { path: "metadata.namespace", message: "expected a string, got 7" },
    ]);
    expect(problems({ namespace: "b" })).toEqual([{ path: "metadata.name", message: "is required" }]);
    for (const namespace of ["a/b", "*", "PAY", "a".repeat(64), "pay "])
      expect(problems({ name: "a", namespace })).toEqual([
        { path: "metadata.namespace", message: expect.stringContaining("namespace name") },
      ]);
  });

  it("rejects a serviceAccount name that would be an Istio wildcard principal (found by the fuzzer)", () => {
    const check = (name: string) =>
      validateProfile({
        apiVersion: "meshward.io/v1alpha1",
        kind: "ServiceSecurityProfile",
        metadata: { name: "a", namespace: "b" },
        spec: {
          selector: { app: "a" },
          ingress: [{ from: [{ serviceAccount: { namespace: "mon", name } }] }],
        },
      }).problems;
    // cluster.local/ns/mon/sa/* would admit every service account of the namespace.
    for (const name of ["*", "prom*", "*theus", "a/b", "../x", "A", "a b"])
      expect(check(name)).toEqual([
        {
          path: "spec.ingress[0].from[0].serviceAccount.name",
          message: expect.stringContaining("wildcards are not allowed"),
        },
      ]);
    for (const name of ["prometheus", "default", "sa-1.team"]) expect(check(name)).toEqual([]);
  });

  it("rejects a JWT issuer with '*', which would be a wildcard request principal (found by the fuzzer)", () => {
    const check = (issuer: string) =>
      validateProfile({
        apiVersion: "meshward.io/v1alpha1",
        kind: "ServiceSecurityProfile",
        metadata: { name: "a", namespace: "b" },
        spec: {
          selector: { app: "a" },
          ingress: [{ from: [{ namespace: "gw" }] }],
          requestAuthentication: { jwt: [{ issuer }] },
        },
      }).problems;
    // "*/*" admits a token from any issuer some other RequestAuthentication validates.
    for (const issuer of ["*", "*.example.com", "https://auth.example.com/*"])
      expect(check(issuer)).toEqual([
        {
          path: "spec.requestAuthentication.jwt[0].issuer",
          message: expect.stringContaining("'*' is not allowed"),
        },
      ]);
    expect(check("https://auth.example.com/")).toEqual([]);
  });

  it("rejects a __proto__ selector key instead of dropping it (found by the fuzzer)", () => {
    for (const spec of [
      JSON.parse('{"selector": {"__proto__": "x", "app": "a"}}') as unknown,
      parseYaml("selector:\n  __proto__: x\n  app: a\n") as unknown,
    ]) {
      const r = validateProfile({
        apiVersion: "meshward.io/v1alpha1",
        kind: "ServiceSecurityProfile",
        metadata: { name: "a", namespace: "b" },
        spec,
      });
      // Accepted, the generated policies would have selected every app=a pod.
      expect(r.ok).toBe(false);
      expect(r.problems).toEqual([{ path: "spec.selector", message: expect.stringContaining("label keys") }]);
    }
  });

  it("rejects IPv4-mapped IPv6 CIDRs as the API server's CEL does (CEL and TypeScript disagreed)", () => {
    const problems = (to: unknown) =>
      validateProfile({
        apiVersion: "meshward.io/v1alpha1",
        kind: "ServiceSecurityProfile",
        metadata: { name: "a", namespace: "b" },
        spec: { selector: { app: "a" }, egress: { to: [to] } },
      }).problems.map((p) => p.path);
    expect(problems({ cidr: "::ffff:a00:0/104" })).toEqual(["spec.egress.to[0].cidr"]);
    expect(problems({ cidr: "::ffff:0:0/96" })).toEqual(["spec.egress.to[0].cidr"]);
    expect(problems({ cidr: "::/0", except: ["::ffff:0:0/96"] })).toEqual(["spec.egress.to[0].except"]);
    expect(problems({ cidr: "::/0", except: ["fd00::/8"] })).toEqual([]);
    expect(problems({ cidr: "::fffe:0:0/96" })).toEqual([]);
  });

  it.each(["meshward-default-deny", "meshward-quarantine-api", "meshward-quarantine", "meshward-x"])(
    "refuses the reserved name %s at metadata.name, with the CRD's message",
    (name) => {
      const r = validateProfile({
        apiVersion: "meshward.io/v1alpha1",
        kind: "ServiceSecurityProfile",
        metadata: { name, namespace: "b" },
        spec: { selector: { app: "a" } },
      });
      expect(r.ok).toBe(false);
      expect(r.problems).toEqual([{ path: "metadata.name", message: RESERVED_NAME_RULE.message }]);
      expect(RESERVED_NAME_RULE.message).toBe(
        'metadata.name: names starting with "meshward-" are reserved for objects meshward creates (meshward-default-deny, meshward-quarantine-…): name the profile after its service, e.g. payments-api',
      );
    },
  );

  it.each(["meshward", "meshwardapi", "my-meshward-api", "payments-meshward"])(
    "accepts %s, which only contains meshward",
    (name) => {
      const r = validateProfile({
        apiVersion: "meshward.io/v1alpha1",
        kind: "ServiceSecurityProfile",
        metadata: { name, namespace: "b" },
        spec: { selector: { app: "a" } },
      });
      expect(r.problems).toEqual([]);
    },
  );

  it("reserves every name meshward gives the objects it shares in a namespace", () => {
    for (const shared of [NAMESPACE_DEFAULT_DENY, QUARANTINE_NAME, `${QUARANTINE_NAME}-api`])
      expect(RESERVED_NAME_RULE.check(shared), shared).toBe(false);
    expect(RESERVED_NAME_RULE.message).toContain(NAMESPACE_DEFAULT_DENY);
    expect(RESERVED_NAME_RULE.message).toContain(`${QUARANTINE_NAME}-`);
  });

  it("names the field of a bad metadata.name and says what to write", () => {
    const r = validateProfile({
      apiVersion: "meshward.io/v1alpha1",
      kind: "ServiceSecurityProfile",
      metadata: { name: "Payments_API", namespace: "b" },
      spec: { selector: { app: "a" } },
    });
    expect(r.problems).toEqual([{ path: "metadata.name", message: expect.stringContaining("DNS label") }]);
  });
});
