// Runs a command that prints nothing while it works (tsc, eslint, npm ci) and writes a progress
// line every 20 s to stderr meanwhile ("typecheck: still running, 40 s so far"), so a CI log is
// never silent for long (e2e/controlplane/progress.ts; .ci/run measures the longest silence).
//
//   node scripts/with-progress.ts <step> -- <command> [args...]
//
// The command's output and exit code pass through unchanged.
import { spawn } from "node:child_process";
import { startProgress } from "../e2e/controlplane/progress.ts";

/** "<step> -- <command> [args...]" → its parts, or a usage message. */
function parseArgs(argv: readonly string[]): { step: string; command: string; args: string[] } | string {
  const sep = argv.indexOf("--");
  const step = argv.slice(0, sep).join(" ");
  const [command, ...args] = sep >= 0 ? argv.slice(sep + 1) : [];
  if (sep < 1 || !step || !command)
    return "usage: node scripts/with-progress.ts <step> -- <command> [args...]";
  return { step, command, args };
}

const parsed = parseArgs(process.argv.slice(2));
if (typeof parsed === "string") {
  process.stderr.write(`${parsed}\n`);
  process.exit(2);
}
const stop = startProgress(parsed.step, (line) => process.stderr.write(`${line}\n`));
const child = spawn(parsed.command, parsed.args, { stdio: "inherit" });
child.on("error", (e) => {
  stop();
  process.stderr.write(`${parsed.step}: cannot run ${parsed.command}: ${e.message}\n`);
  process.exit(127);
});
child.on("exit", (code, signal) => {
  stop();
  process.exit(code ?? (signal ? 1 : 0));
});
