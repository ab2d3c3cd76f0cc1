#!/usr/bin/env node
// Entry point of `meshward` / `npx meshward`. In a checkout it runs the TypeScript source on
// Node 24's built-in type stripping (so a stale dist/ is never used). The npm package and the
// container image hold no TypeScript (package.json "files"; .dockerignore): there it runs the
// compiled CLI in dist/, on any Node that package.json's "engines" names.
import { existsSync } from "node:fs";

const major = Number(process.versions.node.split(".")[0]);
const source = new URL("../operator/cli/main.ts", import.meta.url);
const compiled = new URL("../dist/operator/cli/main.js", import.meta.url);
const useSource = existsSync(source) && major >= 24;
if (!useSource && !existsSync(compiled)) {
  console.error(
    `meshward needs Node.js 24 or newer to run from a checkout (this is ${process.version}); run it with npx meshward or npm scripts, which use the project's Node 24, or npm run build first`,
  );
  process.exit(2);
}
const cli = await import(useSource ? source.href : compiled.href);
cli.main();
