// argocd-lua: our runner of Argo CD health checks in gopher-lua, the Lua VM Argo CD embeds
// (argocd-lua/: main.go of our own on github.com/yuin/gopher-lua at the version Argo CD's go.mod
// pins). Built from the Go module proxy and cached like the control plane (ensureGoTool).
import * as fs from "node:fs";
import * as path from "node:path";
import { type Component, CONTROLPLANE_DIR, ensureGoTool, requireVersion } from "./build.ts";

export const GOPHER_LUA_MODULE = "github.com/yuin/gopher-lua";

export function argocdLuaComponent(): Component {
  const dir = path.join(CONTROLPLANE_DIR, "argocd-lua");
  const gomod = fs.readFileSync(path.join(dir, "go.mod"), "utf8");
  return {
    name: "argocd-lua",
    moduleDir: dir,
    packages: ["."],
    outputs: ["argocd-lua"],
    ldflags: "-s -w",
    // The cache key names the VM's version: that is what the runner is about.
    version: `gopher-lua-${requireVersion(gomod, GOPHER_LUA_MODULE)}`,
  };
}

/** The argocd-lua binary, built first (about 20 s with warm Go caches, see README) if not cached. */
export async function ensureArgocdLua(): Promise<string> {
  const dir = await ensureGoTool(argocdLuaComponent());
  return path.join(dir, "argocd-lua");
}
