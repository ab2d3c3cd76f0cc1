// The Argo CD health check run by gopher-lua, the Lua VM Argo CD embeds, through argocd-lua (our
// runner, built from the Go module proxy on first use): health_test.yaml as Argo CD's own test runs
// it, the sandbox the runner gives a script, and every status the operator can write. No cluster:
// the testdata was written by e2e/argocd.e2e.test.ts from profiles the real operator reconciled.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { ProfileStatus } from "../operator/api/schema.ts";
import { foldSecretHealth, type SecretInput } from "../operator/reconcile/secret-health.ts";
import { buildStatus, type Outcome } from "../operator/reconcile/status.ts";
import { checkHealth, FIXTURES, inputPath, readFixture, readHealthTest } from "./fixtures.ts";
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
import { type ArgocdLua, argocdLua, LIBS, type TestRun } from "./harness.ts";
import { CHECK_DIR, CUSTOMIZATIONS, TESTDATA } from "./paths.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "meshward-lua-"));
let lua: ArgocdLua;
let upstream: TestRun;

// A first build of the runner takes about 20 s to a few minutes on a busy machine (README).
beforeAll(async () => {
  lua = await argocdLua();
  upstream = lua.test([CUSTOMIZATIONS]);
}, 900_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function script(name: string, text: string): string {
  const file = path.join(tmp, `${name}.lua`);
  fs.writeFileSync(file, text);
  return file;
}

describe("health_test.yaml, run as Argo CD's TestLuaHealthScript runs it", () => {
  const spec = readHealthTest();

  it("passes as a whole (argocd-lua test exits 0)", () => {
    expect(upstream.stderr).not.toMatch(/^FAIL/m);
    expect(upstream.exitCode).toBe(0);
    expect(upstream.results).toHaveLength(spec.tests.length * LIBS.length);
  });

  for (const t of spec.tests) {
    for (const libs of LIBS) {
      it(`${t.inputPath} (${libs === "open" ? "standard libraries, as a built-in script" : "as an argocd-cm entry"}): ${t.healthStatus.status}`, () => {
        const r = upstream.results.find((x) => x.inputPath === t.inputPath && x.libs === libs);
        expect(r?.error).toBeUndefined();
        expect(r?.actual).toEqual(t.healthStatus);
        expect(r?.pass).toBe(true);
      });
    }
  }

  it("lists exactly the fixture cases, each with the health its case requires", () => {
    expect(spec.tests.map((t) => t.inputPath)).toEqual(FIXTURES.map((c) => inputPath(c.name)));
    const files = fs.readdirSync(TESTDATA).sort();
    expect(files).toEqual(FIXTURES.map((c) => `${c.name}.yaml`).sort());
    for (const [i, c] of FIXTURES.entries()) {
      const expected = spec.tests[i]?.healthStatus ?? {};
      expect(() => checkHealth(readFixture(c.name), c, expected)).not.toThrow();
    }
  });
});

describe("argocd-lua fails when Argo CD's test would", () => {
  function copyCheck(name: string, edit: (dir: string) => void): string {
    const root = path.join(tmp, name);
    const dir = path.join(root, "meshward.io", "ServiceSecurityProfile");
    fs.cpSync(CHECK_DIR, dir, { recursive: true });
    edit(dir);
    return root;
  }

  it("a message that differs in one character fails its case, and only that one", () => {
    const root = copyCheck("wrong-message", (dir) => {
      const file = path.join(dir, "health_test.yaml");
      const text = fs.readFileSync(file, "utf8");
      fs.writeFileSync(file, text.replace("generated objects are in sync", "generated objects are in synk"));
    });
    const run = lua.test([root], "argocd-cm");
    expect(run.exitCode).toBe(1);
    const failed = run.results.filter((r) => !r.pass);
    expect(failed.map((r) => r.inputPath)).toEqual(["testdata/ready.yaml"]);
    expect(failed[0]?.actual?.message).toContain("generated objects are in sync");
    expect(run.stderr).toMatch(/^FAIL .*testdata\/ready\.yaml \(argocd-cm\): want/m);
  });

  it("an object of another kind is an error: Argo CD would run another script on it", () => {
    const root = copyCheck("other-kind", (dir) => {
      const file = path.join(dir, "testdata", "ready.yaml");
      fs.writeFileSync(
        file,
        fs.readFileSync(file, "utf8").replace("kind: ServiceSecurityProfile", "kind: Other"),
      );
    });
    const run = lua.test([root], "open");
    expect(run.exitCode).toBe(1);
    expect(run.results.find((r) => r.inputPath === "testdata/ready.yaml")?.error).toMatch(
      /is a meshward.io\/Other, but Argo CD runs .* only for objects of that folder's group and kind/,
    );
  });

  it("a health.lua without health_test.yaml cannot be read (exit 2)", () => {
    const root = copyCheck("no-spec", (dir) => fs.rmSync(path.join(dir, "health_test.yaml")));
    const run = lua.test([root]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/has a health.lua but no health_test.yaml/);
  });
});

describe("the VM as Argo CD sets it up", () => {
  it("hands the script JSON as Argo CD does: strings byte for byte, numbers, nesting, null as nil", () => {
    const echo = script(
      "echo",
      'return { status = "Healthy", message = obj.s .. "|" .. obj.list[2].n .. "|" .. #obj.list .. "|" .. tostring(obj.missing) .. "|" .. tostring(obj.t) }',
    );
    const s = 'quote " backslash \\ newline \n tab \t dollar $& bracket ]] é … ✓ \u0001';
    for (const libs of LIBS)
      expect(
        lua.health({ s, list: [{}, { n: 42 }], missing: null, t: true }, { script: echo, libs }),
      ).toEqual({
        status: "Healthy",
        message: `${s}|42|2|nil|true`,
      });
  });

  it("as an argocd-cm entry: no string or math library, no string methods; base, table and a safe os", () => {
    const run = (text: string) => () => lua.health({}, { script: script("cm", text), libs: "argocd-cm" });
    expect(run('return { status = ("Healthy"):lower() }')).toThrow(
      /attempt to index a non-table object\(string\)/,
    );
    expect(run('return { status = string.lower("Healthy") }')).toThrow(
      /attempt to index a non-table object\(nil\)/,
    );
    expect(run("return { status = tostring(math.floor(1.5)) }")).toThrow(/non-table object\(nil\)/);
    const ok =
      'return { status = "Healthy", message = table.concat({ type(os.time()), type(require("os").date), type(os.exit), type(io) }, ",") }';
    expect(run(ok)()).toEqual({ status: "Healthy", message: "number,function,nil,nil" });
  });

  it("as a built-in script: the standard libraries are there", () => {
    const text =
      'return { status = ("HEALTHY"):sub(1, 1) .. string.lower("EALTHY"), message = tostring(math.floor(1.5)) }';
    expect(lua.health({}, { script: script("open", text), libs: "open" })).toEqual({
      status: "Healthy",
      message: "1",
    });
  });

  it("reads the result as Argo CD does: unknown status, nil, and a non-table", () => {
    expect(lua.health({}, { script: script("fine", 'return { status = "Fine", message = "x" }') })).toEqual({
      status: "Unknown",
      message: "Lua returned an invalid health status",
    });
    expect(lua.health({}, { script: script("nil", "return nil") })).toEqual({});
    expect(() => lua.health({}, { script: script("string", 'return "Healthy"') })).toThrow(
      /expect table output from Lua script, not string/,
    );
  });
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
  ];
  for (const [what, partial] of outcomes) {
    it(`${what}: Ready's status and message`, () => {
      const status = buildStatus({ ...base, ...partial }, undefined, new Date());
      const ready = status.conditions?.find((c) => c.type === "Ready");
      for (const libs of LIBS)
        expect(lua.health({ metadata: { generation: 3 }, status }, { libs })).toEqual({
          status: ready?.status === "True" ? "Healthy" : "Degraded",
          message: ready?.message,
        });
    });
  }
  describe("secrets, as External Secrets Operator reports them", () => {
    const spec = (name: string, key: string) => ({
      name,
      storeRef: { kind: "ClusterSecretStore" as const, name: "vault" },
      data: [{ secretKey: "password", remoteRef: { key, property: "password" } }],
    });
    const externalSecret = (status?: string, reason = "", message = "") => ({
      metadata: { generation: 1 },
      status: status
        ? {
            conditions: [{ type: "Ready", status, reason, message }],
            refreshTime: "2026-12-01T00:00:00Z",
            syncedResourceVersion: "1-abc",
          }
        : {},
    });
    const input = (name: string, key: string, live: unknown): SecretInput => ({
      spec: spec(name, key) as SecretInput["spec"],
      object: { apiVersion: "external-secrets.io/v1", kind: "ExternalSecret", name, state: "InSync" },
      live,
    });
    const health = (inputs: SecretInput[], extra: Partial<Outcome> = {}) => {
      const status = buildStatus(
        { ...base, ...extra, secrets: foldSecretHealth(inputs, undefined) },
        undefined,
        new Date(),
      );
      const byType = (t: string) => status.conditions?.find((c) => c.type === t);
      const results = LIBS.map((libs) => lua.health({ metadata: { generation: 3 }, status }, { libs }));
      expect(results[1]).toEqual(results[0]);
      return { health: results[0], ready: byType("Ready"), secrets: byType("SecretsReady") };
    };
    const synced = externalSecret("True", "SecretSynced", "secret synced");
    const failed = externalSecret("False", "SecretSyncedError", "could not get secret data from provider");

    it("every secret synced: Healthy, with Ready's message", () => {
      const r = health([input("api-db", "db", synced)]);
      expect(r.secrets?.status).toBe("True");
      expect(r.health).toEqual({ status: "Healthy", message: r.ready?.message });
    });

    it("one cannot be synced: Degraded, naming the secret, its remote key and ESO's reason and message", () => {
      const r = health([input("api-db", "db", synced), input("cache", "no-such-key", failed)]);
      expect(r.ready).toMatchObject({ status: "False", reason: "SecretSyncFailed" });
      expect(r.health).toEqual({ status: "Degraded", message: r.ready?.message });
      expect(r.health?.message).toContain(
        "1 of 2 secrets cannot be synced by External Secrets Operator: cache (remote key no-such-key (property password) from ClusterSecretStore vault): SecretSyncedError: could not get secret data from provider",
      );
    });

    it("one cannot be synced and another object conflicts: Degraded with Ready's message (the conflict)", () => {
      const r = health([input("cache", "no-such-key", failed)], {
        conflicts: ["ServiceAccount api (managed by x)"],
      });
      expect(r.ready?.reason).toBe("Conflict");
      expect(r.health).toEqual({ status: "Degraded", message: r.ready?.message });
    });

    it("one not reported on yet: Progressing, with SecretsReady's message (Ready stays True)", () => {
      const r = health([input("api-db", "db", synced), input("cache", "db", externalSecret())]);
      expect(r.ready?.status).toBe("True");
      expect(r.secrets).toMatchObject({ status: "Unknown", reason: "Pending" });
      expect(r.health).toEqual({ status: "Progressing", message: r.secrets?.message });
      expect(r.health?.message).toContain("1 of 2 secrets not synced yet: cache (remote key db");
    });

    it("SecretsReady=False under Ready=True (a status another writer made): Degraded, SecretsReady's message", () => {
      const status: ProfileStatus = {
        observedGeneration: 3,
        conditions: [
          {
            type: "Ready",
            status: "True",
            reason: "Reconciled",
            message: "ok",
            lastTransitionTime: "2026-01-01T00:00:00Z",
          },
          {
            type: "SecretsReady",
            status: "False",
            reason: "SecretSyncedError",
            message: "",
            lastTransitionTime: "2026-01-01T00:00:00Z",
          },
        ],
      };
      for (const libs of LIBS)
        expect(lua.health({ metadata: { generation: 3 }, status }, { libs })).toEqual({
          status: "Degraded",
          message: "SecretsReady=False (SecretSyncedError)",
        });
    });
  });

  it("warning only is still Healthy", () => {
    const status = buildStatus(
      { ...base, warnings: [{ path: "spec", message: "ambient mode needs a waypoint" }] },
      undefined,
      new Date(),
    );
    expect(lua.health({ metadata: { generation: 3 }, status }).status).toBe("Healthy");
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
      "Waiting for meshward to reconcile generation 1 (status is for generation none)",
    ],
    [
      "older status",
      { metadata: { generation: 5 }, status: ready(4) },
      "Waiting for meshward to reconcile generation 5 (status is for generation 4)",
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
      "Waiting for meshward to reconcile generation 2 (Ready is for generation 1)",
    ],
  ];
  for (const [what, obj, message] of cases) {
    it(what, () => {
      for (const libs of LIBS) expect(lua.health(obj, { libs })).toEqual({ status: "Progressing", message });
    });
  }
  it("a current status is not Progressing", () => {
    expect(lua.health({ metadata: { generation: 4 }, status: ready(4) }).status).toBe("Healthy");
  });
});

describe("the generated copies", () => {
  const text = healthScript();
  it("carry the script unchanged under the argocd-cm key", () => {
    const values = parse(helmValues(text)) as { configs: { cm: Record<string, string> } };
    expect(values.configs.cm[HEALTH_KEY]).toBe(text);
    const cm = parse(configMap(text)) as { metadata: { name: string }; data: Record<string, string> };
    expect(cm.metadata.name).toBe("argocd-cm");
    expect(cm.data[HEALTH_KEY]).toBe(text);
    expect(fs.readFileSync(path.join(ROOT, VALUES_FILE), "utf8")).toBe(helmValues(text));
    expect(fs.readFileSync(path.join(ROOT, CONFIGMAP_FILE), "utf8")).toBe(configMap(text));
  });

  it("docs/argocd.md holds the script between its markers", () => {
    const doc = fs.readFileSync(path.join(ROOT, DOC_FILE), "utf8");
    expect(argocdDoc(doc, text)).toBe(doc);
    expect(doc.slice(doc.indexOf(BLOCK_BEGIN), doc.indexOf(BLOCK_END))).toContain(`\`\`\`lua\n${text}\`\`\``);
    expect(() => argocdDoc("no markers", text)).toThrow(/must hold/);
  });
});
