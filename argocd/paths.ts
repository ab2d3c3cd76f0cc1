// Where the Argo CD health check lives: in the layout of Argo CD's own repository,
// resource_customizations/<group>/<Kind>/{health.lua, health_test.yaml, testdata/*.yaml}, so the
// folder meshward.io/ can be copied into argoproj/argo-cd as it is (docs/argocd.md, "Upstream").
import * as path from "node:path";

export const CUSTOMIZATIONS = path.join(import.meta.dirname, "resource_customizations");
export const CHECK_DIR = path.join(CUSTOMIZATIONS, "meshward.io", "ServiceSecurityProfile");
export const HEALTH_LUA = path.join(CHECK_DIR, "health.lua");
export const HEALTH_TEST = path.join(CHECK_DIR, "health_test.yaml");
export const TESTDATA = path.join(CHECK_DIR, "testdata");

/** A path relative to the repository root, for messages and generated headers. */
export function repoPath(file: string): string {
  return path.relative(path.resolve(import.meta.dirname, ".."), file);
}
