// Command-line options of the bench commands (bench, soak, bench:peer): declared once with their
// defaults and help, parsed with node:util's parseArgs, numbers checked; --help prints the usage.
import { parseArgs } from "node:util";

type NumberOption = { type: "number"; default: number; min?: number; help: string };
type StringOption = { type: "string"; default: string; help: string };
type FlagOption = { type: "boolean"; help: string };
export type OptionSpec = NumberOption | StringOption | FlagOption;
export type Values<S extends Record<string, OptionSpec>> = {
  [K in keyof S]: S[K] extends NumberOption ? number : S[K] extends StringOption ? string : boolean;
};

/** The options every fleet-making command has: how many profiles, how many per namespace. */
export const fleetOptions = (profiles: number, help: string) =>
  ({
    profiles: { type: "number", default: profiles, min: 1, help },
    "per-namespace": { type: "number", default: 10, min: 1, help: "profiles per namespace" },
  }) as const;

export const KEEP_TESTBED = {
  type: "boolean",
  help: "leave a test bed this run started running (it is stopped by default)",
} as const;

/** Bad input (exit code 2), or --help (exit code 0); the message ends with the usage. */
export class UsageError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super(message);
    this.exitCode = exitCode;
  }
}

export function usage(command: string, about: string, spec: Record<string, OptionSpec>): string {
  const rows = Object.entries(spec).map(([name, o]) => [
    `--${name}${o.type === "boolean" ? "" : o.type === "number" ? " N" : " VALUE"}`,
    `${o.help}${o.type === "boolean" ? "" : ` (default ${o.default})`}`,
  ]);
  rows.push(["--help", "this text"]);
  const width = Math.max(...rows.map(([flag]) => (flag ?? "").length));
  return [
    `usage: ${command} -- [options]`,
    about,
    ...rows.map(([flag, help]) => `  ${(flag ?? "").padEnd(width)}  ${help}`),
  ].join("\n");
}

export function parseOptions<S extends Record<string, OptionSpec>>(
  command: string,
  about: string,
  spec: S,
  argv: string[],
): Values<S> {
  const text = usage(command, about, spec);
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        ...Object.fromEntries(
          Object.entries(spec).map(([name, o]) => [
            name,
            { type: o.type === "boolean" ? "boolean" : "string" },
          ]),
        ),
        help: { type: "boolean", short: "h" },
      } as const,
    }));
  } catch (e) {
    throw new UsageError(`${command}: ${e instanceof Error ? e.message : String(e)}\n${text}`, 2);
  }
  if (values.help) throw new UsageError(text, 0);
  const out: Record<string, string | number | boolean> = {};
  for (const [name, o] of Object.entries(spec)) {
    const given = values[name];
    if (o.type === "boolean") out[name] = given === true;
    else if (o.type === "string") out[name] = typeof given === "string" ? given : o.default;
    else if (typeof given !== "string") out[name] = o.default;
    else {
      const n = given.trim() === "" ? NaN : Number(given);
      const min = o.min ?? 0;
      if (!Number.isFinite(n) || n < min)
        throw new UsageError(`${command}: --${name} takes a number ≥ ${min}, not "${given}"\n${text}`, 2);
      out[name] = n;
    }
  }
  return out as Values<S>;
}

/** parseOptions on this process's arguments; prints the usage and exits on --help or bad input. */
export function commandOptions<S extends Record<string, OptionSpec>>(
  command: string,
  about: string,
  spec: S,
): Values<S> {
  try {
    return parseOptions(command, about, spec, process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    (e.exitCode === 0 ? process.stdout : process.stderr).write(`${e.message}\n`);
    process.exit(e.exitCode);
  }
}
