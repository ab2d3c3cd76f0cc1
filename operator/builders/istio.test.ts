// Istio's own opinion, offline: `istioctl validate` on the Istio objects of every golden file, and
// `istioctl analyze` on the rendered example fleet (both mesh modes) with the namespaces, pods and
// Services the analyzers need for context. Zero errors; every other finding is listed below with
// its exact code and why it is fine. istioctl is built from the Go module proxy on first use
// (e2e/controlplane/istioctl/, minutes; cached afterwards); without Go these tests are skipped.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { findGo, GO_MISSING_MESSAGE } from "../../e2e/controlplane/build.ts";
import { ensureIstioctl } from "../../e2e/controlplane/istioctl.ts";
import {
  analyze,
  FLEET_EXPECTED,
  istioObjects,
  meshContext,
  unexplained,
  validate,
  writeYaml,
} from "../../e2e/support/istio.ts";
import { loadProfiles } from "../cli/load.ts";
import { render } from "../cli/render.ts";
import { DEFAULT_PLATFORM } from "./context.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const GOLDEN = path.join(import.meta.dirname, "testdata");
const FLEET = path.join(ROOT, "examples/fleet");
const NOW = new Date("2026-11-20T00:00:00Z");

let goMissing = false;
try {
  findGo();
} catch {
  goMissing = true;
}

describe.skipIf(goMissing)(`istioctl (skipped only without Go: ${GO_MISSING_MESSAGE})`, () => {
  let istioctl = "";
  let tmp = "";
  beforeAll(async () => {
    istioctl = (await ensureIstioctl()).istioctl;
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "meshward-istioctl-"));
  }, 3_600_000);
  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const goldens = fs.readdirSync(GOLDEN).filter((f) => f.endsWith(".golden.yaml"));
  it("has golden files with Istio objects", () => {
    expect(goldens.length).toBeGreaterThanOrEqual(6);
  });

  for (const golden of goldens) {
    it(`validates the Istio objects of ${golden}`, () => {
      const docs = parseAllDocuments(fs.readFileSync(path.join(GOLDEN, golden), "utf8")).map(
        (d) => d.toJSON() as { apiVersion: string; kind: string },
      );
      const objects = istioObjects(docs);
      expect(objects.length).toBeGreaterThan(0);
      const file = writeYaml(path.join(tmp, golden), objects);
      const r = validate(istioctl, file);
      const said = r.stdout + r.stderr; // istioctl validate reports on stderr
      expect(r.status, said).toBe(0);
      // Not "has warnings": Istio's validation has nothing to say.
      expect(said).toContain(`"${file}" is valid`);
      expect(said).not.toMatch(/warning|error/i);
    });
  }

  // validate passes kinds it does not know: prove that it knows each kind we generate, by
  // breaking one of each (an unknown spec field) and seeing it refused.
  it("refuses a broken object of every Istio kind meshward generates", () => {
    const byKind = new Map<string, Record<string, unknown>>();
    for (const golden of goldens)
      for (const d of parseAllDocuments(fs.readFileSync(path.join(GOLDEN, golden), "utf8"))) {
        const o = d.toJSON() as { apiVersion: string; kind: string; spec: Record<string, unknown> };
        if (istioObjects([o]).length > 0 && !byKind.has(o.kind)) byKind.set(o.kind, o);
      }
    expect([...byKind.keys()].sort()).toEqual([
      "AuthorizationPolicy",
      "PeerAuthentication",
      "RequestAuthentication",
      "ServiceEntry",
      "Sidecar",
      "Telemetry",
    ]);
    for (const [kind, o] of byKind) {
      const broken = { ...o, spec: { ...(o.spec as object), notAField: true } };
      const r = validate(istioctl, writeYaml(path.join(tmp, `broken-${kind}.yaml`), [broken]));
      expect(r.status, `${kind}: ${r.stdout}${r.stderr}`).not.toBe(0);
      expect(r.stderr + r.stdout).toContain("notAField");
    }
    // One istioctl run per kind, each about a second on a busy machine.
  }, 120_000);

  for (const meshMode of ["sidecar", "ambient"] as const) {
    it(`analyzes the rendered example fleet (${meshMode}) without an unexplained finding`, () => {
      const loaded = loadProfiles([FLEET]);
      expect(loaded.problems).toEqual([]);
      const out = render(loaded.profiles, {
        trustDomain: "cluster.local",
        meshMode,
        defaults: DEFAULT_PLATFORM,
        now: NOW,
      });
      const files = [
        writeYaml(path.join(tmp, `fleet-${meshMode}.yaml`), out.objects),
        writeYaml(
          path.join(tmp, `context-${meshMode}.yaml`),
          meshContext(
            loaded.profiles.map((l) => l.profile),
            meshMode,
          ),
        ),
      ];
      const { result, messages } = analyze(istioctl, files);
      expect(messages.filter((m) => m.level === "Error")).toEqual([]);
      expect(unexplained(messages, FLEET_EXPECTED)).toEqual([]);
      expect(result.status, result.stderr).toBe(0);
    });
  }
});
