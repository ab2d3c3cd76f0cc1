// The `meshward` command line: validate, render, graph, crds. Bad input gets one line per problem
// and a documented exit code (docs/cli.md), never a stack trace. All I/O of the CLI is here and in
// load.ts; the checks, reports and drawings are pure.
import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { buildCrd } from "../api/crd.ts";
import { DEFAULT_PLATFORM, type MeshMode } from "../builders/index.ts";
import { buildGraph } from "../graph/fleet.ts";
import { GRAPH_FORMATS, type GraphFormat, renderGraph } from "../graph/render.ts";
import { version } from "../version.ts";
import { check, EXIT } from "./check.ts";
import { loadProfiles } from "./load.ts";
import { render } from "./render.ts";
import { jsonReport, junitReport, REPORT_FORMATS, textReport } from "./report.ts";

const USAGE = `Usage: meshward <command> [options] <file|dir|->...

Commands:
  validate <file|dir|->...  check profiles; every problem with file, profile and field
  render <file|dir|->...    print every object the profiles produce (YAML); references resolve among the inputs
  graph <file|dir|->...     draw who may call whom (Mermaid, Graphviz DOT or SVG)
  crds                      print the ServiceSecurityProfile CustomResourceDefinition

Inputs: files, directories (read recursively, *.yaml and *.yml) and - for standard input. Documents
that are not meshward kinds (Deployments, Services, kustomization.yaml, ...) are skipped and counted;
Helm templates ({{ ... }}) are skipped with a note.

Options:
  -o, --output <format>     validate: text (default), json, junit; render: yaml (default), json;
                            graph: mermaid (default), dot, svg
  --fleet                   the inputs are the whole fleet: a service: reference to a profile that is
                            not among them is an error (otherwise a warning)
  --strict                  warnings, unknown kinds and an input without profiles fail (exit 1)
  --skip-unknown            skip documents that are not meshward kinds (default; --no-skip-unknown
                            makes each an error)
  --trust-domain <td>       SPIFFE trust domain (default cluster.local)
  --mesh-mode <mode>        sidecar (default) or ambient
  --now <time>              evaluate exceptions at this RFC 3339 time instead of now
  -h, --help                show this help
  -v, --version             print the version

Exit codes: 0 valid; 1 invalid (an error, or with --strict a warning); 2 usage or I/O error (bad flag,
missing or unreadable file); 3 internal error (a bug: please report it).
`;

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  /** Reads all of standard input (for the argument "-"). */
  readStdin?: () => string;
}

const OUTPUTS: Record<string, readonly string[]> = {
  validate: REPORT_FORMATS,
  render: ["yaml", "json"],
  graph: GRAPH_FORMATS,
};

function usageError(io: Io, message: string): number {
  io.err(`meshward: ${message}\nRun meshward --help for usage.`);
  return EXIT.usage;
}

export function run(argv: string[], io: Io): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      allowNegative: true,
      options: {
        output: { type: "string", short: "o" },
        fleet: { type: "boolean", default: false },
        strict: { type: "boolean", default: false },
        "skip-unknown": { type: "boolean", default: true },
        "trust-domain": { type: "string" },
        "mesh-mode": { type: "string" },
        now: { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
      },
    });
  } catch (e) {
    return usageError(io, (e as Error).message);
  }
  const v = parsed.values;
  const [command, ...paths] = parsed.positionals;
  if (v.version || command === "version") {
    io.out(`meshward ${version()}`);
    return EXIT.valid;
  }
  if (v.help || command === undefined || command === "help") {
    if (command === undefined && !v.help) {
      io.err(USAGE);
      return EXIT.usage;
    }
    io.out(USAGE);
    return EXIT.valid;
  }
  const meshMode = v["mesh-mode"] ?? "sidecar";
  if (meshMode !== "sidecar" && meshMode !== "ambient") {
    return usageError(io, `--mesh-mode must be sidecar or ambient, not "${meshMode}"`);
  }
  const now = v.now ? new Date(v.now) : new Date();
  if (Number.isNaN(now.getTime())) {
    return usageError(io, `--now must be an RFC 3339 time such as 2026-12-31T00:00:00Z, not "${v.now}"`);
  }
  if (command === "crds") {
    io.out(stringify(buildCrd(), { lineWidth: 0 }));
    return EXIT.valid;
  }
  const formats = OUTPUTS[command];
  if (!formats)
    return usageError(io, `unknown command "${command}"; the commands are validate, render, graph, crds`);
  const output = v.output ?? formats[0] ?? "";
  if (!formats.includes(output)) {
    return usageError(io, `meshward ${command} -o must be one of ${formats.join(", ")}, not "${output}"`);
  }
  if (paths.length === 0) {
    return usageError(
      io,
      `meshward ${command}: name at least one file or directory (or - for standard input)`,
    );
  }

  const loaded = loadProfiles(paths, { readStdin: io.readStdin });
  const built = render(loaded.profiles, {
    trustDomain: v["trust-domain"] ?? "cluster.local",
    meshMode: meshMode as MeshMode,
    defaults: DEFAULT_PLATFORM,
    now,
  });
  const result = check(loaded, built.problems, {
    fleet: v.fleet,
    strict: v.strict,
    skipUnknown: v["skip-unknown"],
  });

  if (command === "validate") {
    if (output === "json") io.out(jsonReport(loaded, result));
    else if (output === "junit") io.out(junitReport(loaded, result));
    else for (const line of textReport(command, loaded, result)) io.err(line);
    return result.exitCode;
  }
  // render and graph: problems on stderr, the result on stdout only when there is no error.
  const lines = textReport(command, loaded, result);
  for (const line of lines.slice(0, -1)) io.err(line);
  if (result.exitCode !== EXIT.valid) {
    io.err(`${lines.at(-1) ?? ""}; nothing ${command === "render" ? "rendered" : "drawn"}`);
    return result.exitCode;
  }
  if (command === "render")
    io.out(output === "json" ? `${JSON.stringify(built.objects, null, 2)}\n` : built.yaml);
  else io.out(renderGraph(buildGraph(loaded.profiles), output as GraphFormat));
  return EXIT.valid;
}

export function main(): void {
  let code: number;
  try {
    code = run(process.argv.slice(2), {
      out: (s) => process.stdout.write(s.endsWith("\n") ? s : `${s}\n`),
      err: (s) => process.stderr.write(s.endsWith("\n") ? s : `${s}\n`),
      readStdin: () => fs.readFileSync(0, "utf8"),
    });
  } catch (e) {
    process.stderr.write(
      `meshward: internal error: ${e instanceof Error ? e.message : String(e)} (please report this)\n`,
    );
    if (process.env.MESHWARD_DEBUG) process.stderr.write(`${(e as Error).stack ?? ""}\n`);
    code = EXIT.internal;
  }
  process.exitCode = code;
}
