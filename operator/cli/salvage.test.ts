// Every problem of a profile in one run: what is under a misspelt key, and the policies' and fleet
// checks' findings on an invalid profile.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { validateProfile } from "../api/validate.ts";
import { run } from "./main.ts";
import { salvageProfile, segmentsIn } from "./salvage.ts";

function salvage(text: string) {
  const raw = parse(text) as unknown;
  const r = validateProfile(raw);
  if (r.ok) throw new Error("fixture is valid");
  return salvageProfile(raw, r.problems);
}

const HEAD =
  "apiVersion: meshward.io/v1alpha1\nkind: ServiceSecurityProfile\nmetadata: {name: cart, namespace: shop}\n";

describe("salvageProfile", () => {
  it("checks what is under a misspelt key, reporting it under the key as written", () => {
    const r = salvage(
      `${HEAD}spec:\n  selector: {app: cart}\n  ingres:\n    - from: [{service: web}]\n      ports: ["8080"]\n`,
    );
    expect(r.extra).toEqual([
      {
        path: "spec.ingres[0].ports[0]",
        message: 'expected a number, got the string "8080": write 8080 without quotes',
      },
    ]);
    // The entry is kept for the other checks, its wrong port left out.
    expect(r.salvaged?.profile.spec.ingress?.[0]?.from).toEqual([{ service: "web" }]);
    expect(r.salvaged?.mapPath("spec.ingress[0].from[0].service")).toBe("spec.ingres[0].from[0].service");
    expect(r.salvaged?.mapPath("spec.selector")).toBe("spec.selector");
  });

  it("keeps a correct misspelt key's content, under its right name, for the policies", () => {
    const r = salvage(`${HEAD}spec:\n  selector: {app: cart}\n  egres:\n    to: [{cidr: 10.0.0.0/8}]\n`);
    expect(r.extra).toEqual([]);
    expect(r.salvaged?.profile.spec.egress?.to).toEqual([expect.objectContaining({ cidr: "10.0.0.0/8" })]);
    expect(r.salvaged?.mapPath("spec.egress.to[0].cidr")).toBe("spec.egres.to[0].cidr");
  });

  it("leaves wrong list entries out and maps later entries' paths back to the file", () => {
    const r = salvage(
      `${HEAD}spec:\n  selector: {app: cart}\n  egress:\n    to:\n      - {cidr: not-a-cidr}\n      - {cidr: 10.0.0.0/8}\n      - {cidr: nope}\n      - {cidr: 192.168.0.0/16}\n`,
    );
    expect(r.salvaged?.profile.spec.egress?.to?.map((t) => t.cidr)).toEqual(["10.0.0.0/8", "192.168.0.0/16"]);
    expect(r.salvaged?.mapPath("spec.egress.to[0].cidr")).toBe("spec.egress.to[1].cidr");
    expect(r.salvaged?.mapPath("spec.egress.to[1].cidr")).toBe("spec.egress.to[3].cidr");
    expect(r.salvaged?.mapPath("spec.egress")).toBe("spec.egress");
  });

  const none: [string, string][] = [
    [
      "no namespace",
      "apiVersion: meshward.io/v1alpha1\nkind: ServiceSecurityProfile\nmetadata: {name: a}\nspec: {selector: {app: a}}\n",
    ],
    ["no selector", `${HEAD}spec: {mtls: {mode: Strict}}\n`],
    ["a spec that is not a mapping", `${HEAD}spec: [1]\n`],
  ];
  it.each(none)("nothing to check with %s", (_, text) => expect(salvage(text).salvaged).toBeUndefined());

  it("segments a printed path against the object's keys, dots in keys included", () => {
    const o = { spec: { selector: { "app.kubernetes.io/name": "x" }, ingress: [{ ports: [1] }] } };
    expect(segmentsIn(o, "spec.selector.app.kubernetes.io/name")).toEqual([
      "spec",
      "selector",
      "app.kubernetes.io/name",
    ]);
    expect(segmentsIn(o, "spec.ingress[0].ports[0]")).toEqual(["spec", "ingress", 0, "ports", 0]);
    expect(segmentsIn(o, "spec.egress.to")).toEqual(["spec", "egress", "to"]);
  });
});

describe("salvageProfile on arbitrary damage", () => {
  const base = parse(
    `${HEAD}spec:\n  selector: {app: cart}\n  ingress:\n    - from: [{service: web}, {namespace: edge}]\n      ports: [8080, 9090]\n  egress:\n    to:\n      - {service: payments/api, ports: [443]}\n      - {cidr: 10.0.0.0/8, ports: [5432]}\n  secrets:\n    - name: db\n      storeRef: {kind: ClusterSecretStore, name: vault}\n      data: [{secretKey: k, remoteRef: {key: shop/db}}]\n`,
  ) as Record<string, unknown>;
  /** Every path to a value in `o`, as segments. */
  function paths(o: unknown, at: (string | number)[] = []): (string | number)[][] {
    if (Array.isArray(o)) return [at, ...o.flatMap((v, i) => paths(v, [...at, i]))];
    if (typeof o === "object" && o !== null)
      return [at, ...Object.entries(o).flatMap(([k, v]) => paths(v, [...at, k]))];
    return [at];
  }
  const spots = paths(base.spec).filter((p) => p.length > 0);

  it("never throws; what it salvages is a valid profile with the same name", { timeout: 60_000 }, () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(spots.length - 1), fc.jsonValue({ maxDepth: 2 }), fc.boolean()), {
          minLength: 1,
          maxLength: 4,
        }),
        (edits) => {
          const raw = structuredClone(base);
          for (const [i, value, rename] of edits) {
            const p = spots[i] ?? [];
            let parent: unknown = raw.spec;
            for (const s of p.slice(0, -1))
              parent = (parent as Record<string | number, unknown> | undefined)?.[s];
            if (typeof parent !== "object" || parent === null) continue;
            const key = p.at(-1) as string | number;
            const obj = parent as Record<string | number, unknown>;
            if (rename && typeof key === "string" && !Array.isArray(parent)) {
              obj[`${key}x`] = obj[key];
              delete obj[key];
            } else obj[key] = value;
          }
          const r = validateProfile(raw);
          if (r.ok) return;
          const s = salvageProfile(raw, r.problems);
          if (s.salvaged) {
            expect(validateProfile(s.salvaged.profile).ok).toBe(true);
            expect(s.salvaged.profile.metadata).toMatchObject({ name: "cart", namespace: "shop" });
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("validate: every problem of a file in one run", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "meshward-salvage-"));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    const f = path.join(tmp, name);
    fs.writeFileSync(f, text);
    return f;
  };
  function validate(...args: string[]) {
    const err: string[] = [];
    const code = run(["validate", ...args, "--now", "2026-11-20T00:00:00Z"], {
      out: () => undefined,
      err: (s) => err.push(s),
    });
    return { code, err: err.join("\n") };
  }
  const policy = write(
    "policy.yaml",
    `apiVersion: meshward.io/v1alpha1\nkind: MeshwardPolicy\nmetadata: {name: default}\nspec:\n  guardrails:\n    secrets:\n      mode: Enforce\n      stores: [{kind: ClusterSecretStore, name: vault, keys: ["{namespace}/*"]}]\n`,
  );

  it("an invalid profile still gets the policies' findings, at the entry as written", () => {
    // secrets[0] is invalid (refreshInterval); secrets[1] names another team's key.
    const f = write(
      "cart.yaml",
      `${HEAD}spec:
  selector: {app: cart}
  secrets:
    - name: cache
      storeRef: {kind: ClusterSecretStore, name: vault}
      refreshInterval: soon
      data: [{secretKey: k, remoteRef: {key: shop/cache}}]
    - name: db
      storeRef: {kind: ClusterSecretStore, name: vault}
      data: [{secretKey: password, remoteRef: {key: payments/db}}]
`,
    );
    const r = validate(f, "--policy", policy);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      `${f}:9:7: shop/cart: spec.secrets[0].refreshInterval: error: refreshInterval must be a duration`,
    );
    expect(r.err).toContain(
      `${f}:13:48: shop/cart: spec.secrets[1].data[0].remoteRef.key: error: MeshwardPolicy default does not allow remote key "payments/db"`,
    );
    expect(r.err).toContain("[SecretNotAllowed, Enforce, MeshwardPolicy default]");
    expect(r.err.split("\n").at(-1)).toBe("meshward validate: 2 errors");
  });

  it("a misspelt key's content and the fleet checks of the rest, in the same run", () => {
    const f = write(
      "api.yaml",
      `${HEAD}spec:\n  selector: {app: cart}\n  ingres:\n    - from: [{service: web}]\n      ports: ["8080"]\n  egress:\n    to: [{service: payments/api, ports: [443]}]\n`,
    );
    const r = validate(f);
    expect(r.err).toContain(
      `${f}:6:3: shop/cart: spec: error: unknown field "ingres" (did you mean "ingress"?)`,
    );
    expect(r.err).toContain(
      `${f}:8:15: shop/cart: spec.ingres[0].ports[0]: error: expected a number, got the string "8080"`,
    );
    expect(r.err).toContain(
      `${f}:10:11: shop/cart: spec.egress.to[0].service: warning: ServiceSecurityProfile payments/api is not among the files given`,
    );
  });

  it("a reference to an invalid profile among the inputs is not a missing profile", () => {
    const target = write(
      "target.yaml",
      `${HEAD}spec:\n  selector: {app: cart}\n  ingress: [{from: [{service: web}], ports: [70000]}]\n`,
    );
    const web = write(
      "web.yaml",
      "apiVersion: meshward.io/v1alpha1\nkind: ServiceSecurityProfile\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {app: web}\n  egress: {to: [{service: cart, ports: [8080]}]}\n",
    );
    const r = validate(target, web);
    expect(r.err).not.toContain("shop/cart is not among the files given");
    expect(r.err).toContain(
      `${target}:6:46: shop/cart: spec.ingress[0].ports[0]: error: must be at most 65535`,
    );
  });
});
