// Kyverno's admission controller and background controller, built from the kyverno/ wrapper module
// (github.com/kyverno/kyverno at the version its go.mod requires, with the one `replace` upstream's
// go.mod has). Used by the side-by-side benchmark (bench/peer/), not by the tests.
//
//   node e2e/controlplane/kyverno.ts build   # builds (or finds) the binaries, prints their paths
import * as fs from "node:fs";
import * as path from "node:path";
import { type Component, CONTROLPLANE_DIR, ensureGoTool, goModDownload, requireVersion } from "./build.ts";

export const KYVERNO_MODULE = "github.com/kyverno/kyverno";

export function kyvernoComponent(): Component {
  const dir = path.join(CONTROLPLANE_DIR, "kyverno");
  const version = requireVersion(fs.readFileSync(path.join(dir, "go.mod"), "utf8"), KYVERNO_MODULE);
  return {
    name: "kyverno",
    moduleDir: dir,
    packages: [`${KYVERNO_MODULE}/cmd/kyverno`, `${KYVERNO_MODULE}/cmd/background-controller`],
    outputs: ["kyverno", "background-controller"],
    // As upstream's Makefile: LD_FLAGS := "-s -w -X $(PACKAGE)/pkg/version.BuildVersion=$(VERSION)"
    ldflags: `-s -w -X ${KYVERNO_MODULE}/pkg/version.BuildVersion=${version}`,
    version,
  };
}

export type KyvernoBinaries = {
  kyverno: string;
  backgroundController: string;
  version: string;
  /** config/crds of the module zip (read from the Go module cache, never committed) */
  crdDir: string;
};

/** Builds (or finds in the cache) both binaries and downloads the module for its CRDs. */
export async function ensureKyverno(): Promise<KyvernoBinaries> {
  const c = kyvernoComponent();
  const dir = await ensureGoTool(c);
  const mod = goModDownload(KYVERNO_MODULE, c.version);
  return {
    kyverno: path.join(dir, "kyverno"),
    backgroundController: path.join(dir, "background-controller"),
    version: c.version,
    crdDir: path.join(mod.Dir as string, "config", "crds"),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv[2] !== "build") {
    process.stderr.write("usage: node e2e/controlplane/kyverno.ts build\n");
    process.exit(2);
  }
  ensureKyverno().then(
    (b) => process.stdout.write(`${JSON.stringify(b, null, 2)}\n`),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
