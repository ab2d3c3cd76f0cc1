// Test support (not shipped): runs the Argo CD health check in argocd-lua, our runner on gopher-lua,
// the Lua VM Argo CD embeds, with the libraries Argo CD opens (e2e/controlplane/argocd-lua/).
import { spawnSync } from "node:child_process";
import { ensureArgocdLua } from "../e2e/controlplane/argocd-lua.ts";
import { HEALTH_LUA } from "./paths.ts";

/** Argo CD's health codes; a script returning another one is shown as Unknown. */
export const HEALTH_CODES = [
  "Healthy",
  "Progressing",
  "Degraded",
  "Suspended",
  "Missing",
  "Unknown",
] as const;
export type HealthCode = (typeof HEALTH_CODES)[number];

/** What Argo CD shows (gitops-engine's HealthStatus): empty when the script returned nil. */
export interface Health {
  status?: HealthCode;
  message?: string;
}

/**
 * How Argo CD opens the VM: `open` with every standard library (built-in scripts of
 * resource_customizations and Argo CD's own tests), `argocd-cm` without them (a customization in
 * argocd-cm, unless `resource.customizations.useOpenLibs.<group_Kind>` is set). Both have base,
 * table, package and a safe os (time, date).
 */
export type Libs = "open" | "argocd-cm";
export const LIBS: readonly Libs[] = ["open", "argocd-cm"];

/** One case of a health_test.yaml in one library mode, as `argocd-lua test` reports it. */
export interface CaseResult {
  dir: string;
  inputPath: string;
  libs: Libs;
  expected: Health;
  actual?: Health;
  error?: string;
  pass: boolean;
}

export interface TestRun {
  /** 0 all passed, 1 a case failed, 2 a file could not be read */
  exitCode: number;
  results: CaseResult[];
  stderr: string;
}

export class ArgocdLua {
  readonly bin: string;
  constructor(bin: string) {
    this.bin = bin;
  }

  /** Runs a health script (default: meshward's) on an object and returns what Argo CD would show. */
  health(obj: unknown, opts: { libs?: Libs; script?: string } = {}): Health {
    const args = ["health", `--libs=${opts.libs ?? "argocd-cm"}`, opts.script ?? HEALTH_LUA];
    const r = spawnSync(this.bin, args, { input: JSON.stringify(obj), encoding: "utf8" });
    if (r.error) throw new Error(`${this.bin}: ${r.error.message}`);
    if (r.status !== 0) throw new Error(`argocd-lua health exited with ${r.status}: ${r.stderr.trim()}`);
    return JSON.parse(r.stdout) as Health;
  }

  /** Runs every health_test.yaml under `dirs` exactly as Argo CD's TestLuaHealthScript does. */
  test(dirs: string[], libs: Libs | "both" = "both"): TestRun {
    const r = spawnSync(this.bin, ["test", `--libs=${libs}`, ...dirs], { encoding: "utf8" });
    if (r.error) throw new Error(`${this.bin}: ${r.error.message}`);
    const exitCode = r.status ?? -1;
    const results = exitCode === 0 || exitCode === 1 ? (JSON.parse(r.stdout) as CaseResult[]) : [];
    return { exitCode, results, stderr: r.stderr };
  }
}

/** The runner, built from the Go module proxy on first use (see e2e/controlplane/README.md). */
export async function argocdLua(): Promise<ArgocdLua> {
  return new ArgocdLua(await ensureArgocdLua());
}
