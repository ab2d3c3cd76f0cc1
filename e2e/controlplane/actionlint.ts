// actionlint, the linter of GitHub Actions workflows (github.com/rhysd/actionlint), built from the
// Go module proxy (actionlint/: a `tool` line in go.mod) and cached like the control plane.
import * as fs from "node:fs";
import * as path from "node:path";
import { type Component, CONTROLPLANE_DIR, ensureGoTool, requireVersion } from "./build.ts";

export function actionlintComponent(): Component {
  const dir = path.join(CONTROLPLANE_DIR, "actionlint");
  const version = requireVersion(
    fs.readFileSync(path.join(dir, "go.mod"), "utf8"),
    "github.com/rhysd/actionlint",
  );
  return {
    name: "actionlint",
    moduleDir: dir,
    packages: ["github.com/rhysd/actionlint/cmd/actionlint"],
    outputs: ["actionlint"],
    // As upstream's release build (.goreleaser.yaml) sets it, so `actionlint -version` tells the truth.
    ldflags: `-s -w -X github.com/rhysd/actionlint.version=${version}`,
    version,
  };
}

/** The actionlint binary, built first (about a minute, see README) if not cached. */
export async function ensureActionlint(): Promise<string> {
  const dir = await ensureGoTool(actionlintComponent());
  return path.join(dir, "actionlint");
}
