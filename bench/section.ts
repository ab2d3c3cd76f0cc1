// docs/benchmarks.md is written by several commands (`npm run bench`, `npm run bench:peer` once per
// N) and by hand: each command owns one section between two markers and replaces only that.
import * as fs from "node:fs";

export const markers = (id: string) => ({
  begin: `<!-- bench:${id} begin -->`,
  end: `<!-- bench:${id} end -->`,
});

function occurrences(text: string, marker: string): number[] {
  const at: number[] = [];
  for (let i = text.indexOf(marker); i >= 0; i = text.indexOf(marker, i + 1)) at.push(i);
  return at;
}

/**
 * Replaces the text between the markers of `id` with `section` (or appends the section, markers
 * included, when the file has none) and returns the new file text; everything else is kept as is.
 */
export function spliceSection(existing: string, id: string, section: string): string {
  const { begin, end } = markers(id);
  const block = `${begin}\n${section.trim()}\n${end}\n`;
  const b = occurrences(existing, begin);
  const e = occurrences(existing, end);
  if (b.length === 0 && e.length === 0) return `${existing.trimEnd()}\n\n${block}`;
  const [bi] = b;
  const [ei] = e;
  if (b.length !== 1 || e.length !== 1 || bi === undefined || ei === undefined || ei < bi)
    throw new Error(
      `expected one "${begin}" followed by one "${end}", found ${b.length} and ${e.length}${b.length === 1 && e.length === 1 ? " in the wrong order" : ""}: fix the markers by hand`,
    );
  return existing.slice(0, bi) + block + existing.slice(ei + end.length).replace(/^\n/, "");
}

/** Writes `section` as the `id` section of `file` (created with a title when missing). */
export function writeSection(file: string, id: string, section: string): void {
  const existing = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "# Benchmarks\n";
  fs.writeFileSync(file, spliceSection(existing, id, section));
}
