// The `meshward` command line: render, validate, crds. Bad input gets one line per problem and a
// non-zero exit, never a stack trace.
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { buildCrd } from "../api/crd.ts";
import { isError } from "../api/validate.ts";
import { DEFAULT_PLATFORM, type MeshMode } from "../builders/index.ts";
import { type FileProblem, loadProfiles } from "./load.ts";
import { render } from "./render.ts";

const USAGE = `Usage: meshward <command> [options] <file|dir>...

Commands:
  render <file|dir>...    print every object the profiles produce (YAML); references resolve among the given files
  validate <file|dir>...  check profiles; prints every problem with file, profile and field; exit 1 on any error
  crds                    print the ServiceSecurityProfile CustomResourceDefinition

Options (render, validate):
  --trust-domain <td>     SPIFFE trust domain (default cluster.local)
  --mesh-mode <mode>      sidecar (default) or ambient
  --now <time>            evaluate exceptions at this RFC 3339 time instead of now
  -h, --help              show this help
`;

export class UsageError extends Error {}

function formatProblem(p: FileProblem): string {
  const parts = [p.file, p.profile, p.path].filter((x) => x !== undefined && x !== "");
  const level = isError(p) ? "error" : "warning";
  return `${parts.join(": ")}: ${level}: ${p.message}`;
}

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

export function run(argv: string[], io: Io): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        "trust-domain": { type: "string" },
        "mesh-mode": { type: "string" },
        now: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    io.err(`meshward: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const [command, ...paths] = parsed.positionals;
  if (parsed.values.help || command === undefined || command === "help") {
    io.out(USAGE);
    return command === undefined && !parsed.values.help ? 2 : 0;
  }
  const meshMode = parsed.values["mesh-mode"] ?? "sidecar";
  if (meshMode !== "sidecar" && meshMode !== "ambient") {
    io.err(`meshward: --mesh-mode must be sidecar or ambient, not "${meshMode}"`);
    return 2;
  }
  const now = parsed.values.now ? new Date(parsed.values.now) : new Date();
  if (Number.isNaN(now.getTime())) {
    io.err(
      `meshward: --now must be an RFC 3339 time such as 2026-12-31T00:00:00Z, not "${parsed.values.now}"`,
    );
    return 2;
  }
  const trustDomain = parsed.values["trust-domain"] ?? "cluster.local";
  switch (command) {
    case "crds":
      io.out(stringify(buildCrd(), { lineWidth: 0 }));
      return 0;
    case "render":
    case "validate": {
      if (paths.length === 0) {
        io.err(`meshward ${command}: name at least one file or directory`);
        return 2;
      }
      const loaded = loadProfiles(paths);
      const result = render(loaded.profiles, {
        trustDomain,
        meshMode: meshMode as MeshMode,
        defaults: DEFAULT_PLATFORM,
        now,
      });
      const problems = [...loaded.problems, ...result.problems];
      for (const p of problems) io.err(formatProblem(p));
      const errors = problems.filter(isError).length;
      if (command === "render") {
        if (errors > 0) {
          io.err(`meshward render: ${errors} error${errors === 1 ? "" : "s"}; nothing rendered`);
          return 1;
        }
        io.out(result.yaml);
        return 0;
      }
      if (loaded.profiles.length === 0 && errors === 0) {
        io.err("meshward validate: no ServiceSecurityProfile found");
        return 1;
      }
      io.err(
        errors > 0
          ? `meshward validate: ${errors} error${errors === 1 ? "" : "s"}`
          : `meshward validate: ${loaded.profiles.length} profile${loaded.profiles.length === 1 ? "" : "s"} valid`,
      );
      return errors > 0 ? 1 : 0;
    }
    default:
      io.err(`meshward: unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}

export function main(): void {
  let code: number;
  try {
    code = run(process.argv.slice(2), {
      out: (s) => process.stdout.write(s.endsWith("\n") ? s : `${s}\n`),
      err: (s) => process.stderr.write(s.endsWith("\n") ? s : `${s}\n`),
    });
  } catch (e) {
    process.stderr.write(
      `meshward: internal error: ${e instanceof Error ? e.message : String(e)} (please report this)\n`,
    );
    if (process.env.MESHWARD_DEBUG) process.stderr.write(`${(e as Error).stack ?? ""}\n`);
    code = 3;
  }
  process.exitCode = code;
}
