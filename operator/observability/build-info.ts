// What meshward_build_info tells: the version of this package and of Node.js.
import * as fs from "node:fs";
import * as path from "node:path";

/** The version in the nearest package.json named "meshward" above this file (source or dist/). */
export function packageVersion(from: string = import.meta.dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const file = path.join(dir, "package.json");
    if (fs.existsSync(file)) {
      try {
        const pkg = JSON.parse(fs.readFileSync(file, "utf8")) as { name?: unknown; version?: unknown };
        if (pkg.name === "meshward" && typeof pkg.version === "string") return pkg.version;
      } catch {
        // not readable JSON: keep looking upward
      }
    }
    if (path.dirname(dir) === dir) return "unknown";
  }
}

export function buildInfo(): { version: string; nodejs_version: string } {
  return { version: packageVersion(), nodejs_version: process.version };
}
