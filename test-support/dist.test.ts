// `npm run build` emits the image's dist/: it must hold runtime code only. Every package a compiled
// file imports must be a Node built-in or a runtime dependency (never a devDependency such as
// fast-check or vitest, which the image does not install).
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { builtinModules } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "..");
const out = fs.mkdtempSync(path.join(os.tmpdir(), "meshward-dist-"));
afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p) : e.name.endsWith(".js") ? [p] : [];
  });
}

/** The package a bare specifier names ("@scope/pkg/sub" → "@scope/pkg"), or undefined for relative ones. */
function packageOf(spec: string): string | undefined {
  if (spec.startsWith(".") || spec.startsWith("/")) return undefined;
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

describe("npm run build", () => {
  it("emits no file that imports a devDependency", () => {
    const tsc = path.join(ROOT, "node_modules/typescript/bin/tsc");
    execFileSync(process.execPath, [tsc, "-p", path.join(ROOT, "tsconfig.build.json"), "--outDir", out], {
      cwd: ROOT,
      stdio: "pipe",
    });
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    const allowed = new Set([...Object.keys(pkg.dependencies), ...builtinModules]);
    const emitted = files(out);
    expect(emitted.length).toBeGreaterThan(20);
    const bad: string[] = [];
    for (const f of emitted) {
      const text = fs.readFileSync(f, "utf8");
      const statements = [
        ...text.matchAll(/^\s*(?:import|export)\b[^;"']*?\bfrom\s*["']([^"']+)["']/gm),
        ...text.matchAll(/^\s*import\s*["']([^"']+)["']/gm),
        ...text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g),
      ];
      for (const m of statements) {
        const spec = m[1] ?? "";
        const name = packageOf(spec.replace(/^node:/, ""));
        if (name !== undefined && !allowed.has(name) && !spec.startsWith("node:"))
          bad.push(`${path.relative(out, f)} imports ${spec}`);
      }
    }
    expect(bad).toEqual([]);
    // Test tooling stays out of the image.
    expect(emitted.filter((f) => /[/\\](fuzz|testing|test-support)[/\\]/.test(f))).toEqual([]);
  }, 300_000);
});
