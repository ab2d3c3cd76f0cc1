// scripts/with-progress.ts as CI runs it: the command's output and exit code pass through, and a
// malformed call is a usage error. (The progress line itself: e2e/controlplane/progress.test.ts.)
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const SCRIPT = path.join(import.meta.dirname, "with-progress.ts");
const run = (...args: string[]) => spawnSync(process.execPath, [SCRIPT, ...args], { encoding: "utf8" });

// Each case starts Node once or thrice: generous time for a loaded machine, no timing asserted.
describe("with-progress", { timeout: 120_000 }, () => {
  it("passes the command's output and exit code through", () => {
    const r = run(
      "typecheck",
      "--",
      process.execPath,
      "-e",
      "console.log('out'); console.error('err'); process.exit(3)",
    );
    expect(r.status).toBe(3);
    expect(r.stdout).toBe("out\n");
    expect(r.stderr).toBe("err\n");
  });

  it("exits 0 with a command that succeeds", () => {
    expect(run("lint", "--", process.execPath, "-e", "").status).toBe(0);
  });

  it("says how to call it when the step or the command is missing", () => {
    for (const args of [["--", "true"], ["step"], ["step", "--"]]) {
      const r = run(...args);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr).toContain("usage: node scripts/with-progress.ts <step> -- <command>");
    }
  });

  it("says which command cannot be run", () => {
    const r = run("build", "--", "/nonexistent/meshward-no-such-command");
    expect(r.status).toBe(127);
    expect(r.stderr).toContain("build: cannot run /nonexistent/meshward-no-such-command");
  });
});
