// Which paths a directory walk leaves out (pure): --exclude patterns, written as in .gitignore, and
// the defaults every repository wants: node_modules/ and dot-directories (.git/, .github/, .vscode/).
//
// A pattern without a slash (other than a trailing one) matches a name at any depth (`*.tmpl.yaml`,
// `legacy/`); one with a slash matches from the start of the path (`deploy/legacy/**`, `/charts`).
// `*` matches within one name, `**` across names, `?` one character; a trailing `/` matches
// directories only. A path is tried as walked from the working directory (deploy/legacy/a.yaml) and
// as below the input it was found in (legacy/a.yaml for the input deploy/).

export interface Exclude {
  /** The pattern as given, for messages. */
  pattern: string;
  regex: RegExp;
  /** Without a slash: tried against every name in the path. */
  anyDepth: boolean;
  directoryOnly: boolean;
}

function globToRegex(glob: string): string {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob.charAt(i);
    if (c === "*") {
      if (glob.charAt(i + 1) === "*") {
        // "**/" matches zero or more directories; a trailing "**" everything below.
        if (glob.charAt(i + 2) === "/") {
          out += "(?:.*/)?";
          i += 2;
        } else {
          out += ".*";
          i += 1;
        }
      } else out += "[^/]*";
    } else if (c === "?") out += "[^/]";
    else out += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return out;
}

/** A pattern as an Exclude, or a usage error message. */
export function parseExclude(pattern: string): Exclude | string {
  let p = pattern.trim();
  if (p === "" || p === "/" || p.startsWith("!"))
    return `--exclude takes a path pattern such as node_modules/, deploy/legacy/** or *.tmpl.yaml, not "${pattern}"`;
  const directoryOnly = p.endsWith("/");
  if (directoryOnly) p = p.slice(0, -1);
  const anchored = p.startsWith("/");
  if (anchored) p = p.slice(1);
  if (p.startsWith("./")) p = p.slice(2);
  const anyDepth = !anchored && !p.includes("/");
  return { pattern, regex: new RegExp(`^${globToRegex(p)}$`), anyDepth, directoryOnly };
}

/** The defaults: node_modules/ and every directory whose name starts with a dot. */
export function isDefaultExcluded(name: string, isDirectory: boolean): boolean {
  return isDirectory && (name === "node_modules" || (name.startsWith(".") && name !== "." && name !== ".."));
}

function normalize(p: string): string {
  return p
    .split(/[\\/]+/)
    .filter((s) => s !== "" && s !== ".")
    .join("/");
}

/**
 * Whether a path found by walking is excluded. `walked`: the path as the walk built it (the input
 * joined with the names below it); `below`: the part below the input.
 */
export function isExcluded(
  excludes: readonly Exclude[],
  walked: string,
  below: string,
  isDirectory: boolean,
): Exclude | undefined {
  const candidates = [normalize(walked), normalize(below)];
  for (const e of excludes) {
    if (e.directoryOnly && !isDirectory) continue;
    for (const c of candidates) {
      if (c === "") continue;
      const name = c.slice(c.lastIndexOf("/") + 1);
      if (e.anyDepth ? e.regex.test(name) : e.regex.test(c)) return e;
    }
  }
  return undefined;
}
