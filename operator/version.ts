// The version of meshward: package.json's, found next to the running code (a checkout runs
// operator/*.ts, the package and the image run dist/operator/*.js; both sit below package.json).
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

export function version(): string {
  if (cached !== undefined) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === "meshward" && typeof pkg.version === "string") return (cached = pkg.version);
    } catch {
      // no package.json here (or not ours): look one level up
    }
    const parent = path.dirname(dir);
    if (parent === dir) return (cached = "unknown");
    dir = parent;
  }
}
