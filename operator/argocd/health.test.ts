// The Argo CD health check run by a real Lua 5.1 interpreter (needs lua5.1 on PATH, or $LUA), in
// the sandbox Argo CD gives it. No cluster: the fixtures were written by e2e/argocd.e2e.test.ts
// from profiles the real operator reconciled.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { ProfileStatus } from "../api/schema.ts";
import { buildStatus, type Outcome } from "../reconcile/status.ts";
import { expectedHealth, FIXTURES, readFixture } from "./fixtures.ts";
import {
  argocdDoc,
  BLOCK_BEGIN,
  BLOCK_END,
  configMap,
  CONFIGMAP_FILE,
  DOC_FILE,
  HEALTH_KEY,
  healthScript,
  helmValues,
  VALUES_FILE,
} from "./generate.ts";
import { luaLiteral, runHealth, TESTDATA } from "./harness.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "meshward-lua-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function script(name: string, text: string): string {
  const file = path.join(tmp, `${name}.lua`);
  fs.writeFileSync(file, text);
  return file;
}

describe("the harness", () => {
  it("hands the script JSON as the Lua values Argo CD would: strings byte for byte, numbers, nesting", () => {
    const echo = script(
      "echo",
      'return { status = "Healthy", message = obj.s .. "|" .. obj.list[2].n .. "|" .. #obj.list .. "|" .. tostring(obj.missing) .. "|" .. tostring(obj.t) }',
    );
    const s = 'quote " backslash \\ newline \n tab \t dollar $& bracket ]] é … ✓ \u0001';
    expect(runHealth({ s, list: [{}, { n: 42 }], missing: null, t: true }, echo)).toEqual({
      status: "Healthy",
      message: `${s}|42|2|nil|true`,
    });
    expect(luaLiteral({ a: [1, -2.5, "x"], b: {} })).toBe('{["a"] = {1, -2.5, "x"}, ["b"] = {}}');
  });

  it("gives the script no string or math library and no string methods, as Argo CD does by default", () => {
    const viaMethod = script("method", 'return { status = ("Healthy"):lower() }');
    const viaLibrary = script("library", 'return { status = string.lower("Healthy") }');
    const viaMath = script("math", 'return { status = "Healthy", message = tostring(math.floor(1.5)) }');
    expect(() => runHealth({}, viaMethod)).toThrow(/attempt to index a string value/);
    expect(() => runHealth({}, viaLibrary)).toThrow(/global 'string'/);
    expect(() => runHealth({}, viaMath)).toThrow(/global 'math'/);
  });

  it("rejects a status Argo CD does not know", () => {
    expect(() => runHealth({}, script("bad", 'return { status = "Fine" }'))).toThrow(/invalid health status/);
  });
});

describe("on objects written by the real operator", () => {
  it("has exactly the fixture files the e2e test writes", () => {
    const files = fs
      .readdirSync(TESTDATA)
      .filter((f) => f.endsWith(".json"))
      .map((f) => f.slice(0, -".json".length))
      .sort();
    expect(files).toEqual(FIXTURES.map((f) => f.name).sort());
  });

  for (const c of FIXTURES) {
    it(`${c.name}: ${c.status} (${c.what})`, () => {
      const obj = readFixture(c.name);
      const health = runHealth(obj);
      expect(health).toMatchObject(expectedHealth(obj, c));
      expect(health.message).toContain(c.messageIncludes);
    });
  }
});

describe("on every status the operator can write", () => {
  const base: Outcome = {
    generation: 3,
    objects: [{ apiVersion: "v1", kind: "ServiceAccount", name: "api", state: "InSync" }],
    conflicts: [],
    drift: [],
    missing: [],
    warnings: [],
    failures: [],
    exceptions: [],
  };
  const outcomes: [string, Partial<Outcome>][] = [
    ["reconciled", {}],
    ["invalid spec", { invalid: [{ path: "spec.selector", message: "required" }] }],
    ["conflict", { conflicts: ["PeerAuthentication api (managed by platform-team)"] }],
    ["drift", { drift: ["AuthorizationPolicy api: spec.rules"] }],
    [
      "drift and conflict",
      { drift: ["NetworkPolicy api: spec"], conflicts: ["ServiceAccount api (managed by x)"] },
    ],
    ["Istio missing", { missing: ["IstioNotInstalled"] }],
    ["ESO missing", { missing: ["ExternalSecretsNotInstalled"] }],
    ["apply failed", { failures: ["NetworkPolicy api: admission webhook denied it"] }],
    [
      "reference not found",
      {
        warnings: [
          { path: "spec.ingress[0].from[0].service", message: "no ServiceSecurityProfile a/b was found" },
        ],
      },
    ],
    [
      "warning only",
      { warnings: [{ path: "spec.ingress[0].http", message: "ambient mode needs a waypoint" }] },
    ],
    [
      "long message",
      { drift: Array.from({ length: 300 }, (_, i) => `NetworkPolicy n${i}: ${"spec.x".repeat(5)}`) },
    ],
  ];
  for (const [what, o] of outcomes) {
    it(`${what}: Healthy exactly when Ready=True, with Ready's message`, () => {
      const status = buildStatus({ ...base, ...o }, undefined, new Date("2026-01-01T00:00:00Z"));
      const ready = status.conditions?.find((c) => c.type === "Ready");
      const health = runHealth({ metadata: { name: "api", generation: 3 }, status });
      expect(health).toEqual({
        status: ready?.status === "True" ? "Healthy" : "Degraded",
        message: ready?.message,
      });
    });
  }
  it("warning only is still Healthy", () => {
    const status = buildStatus(
      { ...base, warnings: [{ path: "spec", message: "ambient mode needs a waypoint" }] },
      undefined,
      new Date(),
    );
    expect(runHealth({ metadata: { generation: 3 }, status }).status).toBe("Healthy");
  });
});

describe("Progressing until meshward has seen the current generation", () => {
  const ready = (observedGeneration?: number): ProfileStatus => ({
    ...(observedGeneration !== undefined && { observedGeneration }),
    conditions: [
      {
        type: "Ready",
        status: "True",
        reason: "Reconciled",
        message: "1 generated object is in sync with the profile",
        lastTransitionTime: "2026-01-01T00:00:00Z",
        ...(observedGeneration !== undefined && { observedGeneration }),
      },
    ],
  });
  const cases: [string, unknown, string][] = [
    [
      "no status",
      { metadata: { generation: 1 } },
      "Waiting for meshward to reconcile the profile (no status yet)",
    ],
    [
      "empty status",
      { metadata: { generation: 1 }, status: {} },
      "generation 1 (status is for generation none)",
    ],
    [
      "older status",
      { metadata: { generation: 5 }, status: ready(4) },
      "generation 5 (status is for generation 4)",
    ],
    [
      "no Ready condition",
      { metadata: { generation: 2 }, status: { observedGeneration: 2, conditions: [] } },
      "Waiting for meshward to report the Ready condition",
    ],
    [
      "Ready from an older generation",
      {
        metadata: { generation: 2 },
        status: { observedGeneration: 2, conditions: [{ ...ready(1).conditions?.[0] }] },
      },
      "generation 2 (Ready is for generation 1)",
    ],
  ];
  for (const [what, obj, message] of cases) {
    it(what, () => {
      const h = runHealth(obj);
      expect(h.status).toBe("Progressing");
      expect(h.message).toContain(message);
    });
  }
  it("a current status is not Progressing", () => {
    expect(runHealth({ metadata: { generation: 4 }, status: ready(4) }).status).toBe("Healthy");
  });
});

describe("the generated copies", () => {
  const lua = healthScript();
  it("carry the script unchanged under the argocd-cm key", () => {
    const values = parse(helmValues(lua)) as { configs: { cm: Record<string, string> } };
    expect(values.configs.cm[HEALTH_KEY]).toBe(lua);
    const cm = parse(configMap(lua)) as { metadata: { name: string }; data: Record<string, string> };
    expect(cm.metadata.name).toBe("argocd-cm");
    expect(cm.data[HEALTH_KEY]).toBe(lua);
    expect(fs.readFileSync(path.join(ROOT, VALUES_FILE), "utf8")).toBe(helmValues(lua));
    expect(fs.readFileSync(path.join(ROOT, CONFIGMAP_FILE), "utf8")).toBe(configMap(lua));
  });

  it("docs/argocd.md holds the script between its markers", () => {
    const doc = fs.readFileSync(path.join(ROOT, DOC_FILE), "utf8");
    expect(argocdDoc(doc, lua)).toBe(doc);
    expect(doc.slice(doc.indexOf(BLOCK_BEGIN), doc.indexOf(BLOCK_END))).toContain(`\`\`\`lua\n${lua}\`\`\``);
    expect(() => argocdDoc("no markers", lua)).toThrow(/must hold/);
  });
});
