#!/usr/bin/env node
// Entry point of `meshward` / `npx meshward`. Runs the compiled CLI when the package is built
// (container image), else the TypeScript source on Node 24's built-in type stripping.
import { existsSync } from "node:fs";

const major = Number(process.versions.node.split(".")[0]);
const compiled = new URL("../dist/operator/cli/main.js", import.meta.url);
if (!existsSync(compiled) && major < 24) {
  console.error(
    `meshward needs Node.js 24 or newer (this is ${process.version}); run it with npx meshward or npm scripts, which use the project's Node 24`,
  );
  process.exit(2);
}
const cli = await import(
  existsSync(compiled) ? compiled.href : new URL("../operator/cli/main.ts", import.meta.url).href
);
cli.main();
