// Golden files: `meshward render` output for every example, at a fixed time, in both mesh modes.
// Refresh with UPDATE_GOLDEN=1 npx vitest run --project unit golden, then review the diff.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { loadProfiles } from "../cli/load.ts";
import { render } from "../cli/render.ts";
import { DEFAULT_PLATFORM } from "./context.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const FLEET = path.join(ROOT, "examples/fleet");
const GOLDEN = path.join(import.meta.dirname, "testdata");
const NOW = new Date("2026-11-20T00:00:00Z");

function check(name: string, actual: string) {
  const file = path.join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN) fs.writeFileSync(file, actual);
  expect(fs.existsSync(file), `${name} missing: run with UPDATE_GOLDEN=1`).toBe(true);
  expect(actual).toBe(fs.readFileSync(file, "utf8"));
}

describe("render golden files", () => {
  const all = loadProfiles([FLEET]);

  it("loads the fleet without problems", () => {
    expect(all.problems).toEqual([]);
    expect(all.profiles.length).toBeGreaterThanOrEqual(5);
  });

  for (const file of fs.readdirSync(FLEET).filter((f) => f.endsWith(".yaml"))) {
    it(`renders ${file}`, () => {
      const own = all.profiles.filter((p) => path.basename(p.file) === file);
      expect(own.length).toBe(1);
      // References resolve against the whole fleet, as `meshward render examples/fleet` does.
      const others = all.profiles.filter((p) => !own.includes(p));
      const out = render([...own, ...others], {
        trustDomain: "cluster.local",
        meshMode: "sidecar",
        defaults: DEFAULT_PLATFORM,
        now: NOW,
      });
      expect(out.problems).toEqual([]);
      const key = `${own[0]?.profile.metadata.namespace}/${own[0]?.profile.metadata.name}`;
      const docs = out.yaml.split("---\n").filter((d) => d.includes(`ServiceSecurityProfile ${key}\n`));
      check(file.replace(/\.yaml$/, ".golden.yaml"), docs.join("---\n"));
    });
  }

  it("renders the whole fleet in ambient mode", () => {
    const out = render(all.profiles, {
      trustDomain: "prod.example.com",
      meshMode: "ambient",
      defaults: DEFAULT_PLATFORM,
      now: NOW,
    });
    check("fleet-ambient.golden.yaml", out.yaml);
  });
});
