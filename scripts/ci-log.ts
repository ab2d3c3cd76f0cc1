// The CI log, measured: .ci/timestamp prefixes every line with the seconds since the job started
// ("[  12.3s] line"), and this prints, at the end, the longest silence in that log (the longest
// wait between two lines), so "a line at least every 30 s" is a number in every CI log, not a hope.
//
//   node scripts/ci-log.ts <timestamped log>      prints: longest silence in this log: N s (between line A and line B)
//
// Pure parts (parseLine, longestSilence, silenceLine) are unit-tested in ci-log.test.ts.
import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import { escapeControls } from "../operator/api/escape.ts";

/** A line of the log: its number (1-based, in the timestamped file), seconds since start, text. */
export interface LogLine {
  number: number;
  seconds: number;
  text: string;
}

const STAMP = /^\[\s*(\d+(?:\.\d+)?)s\] ?(.*)$/;

/** "[  12.3s] text" → seconds and text; undefined for a line without a stamp. */
export function parseLine(line: string): { seconds: number; text: string } | undefined {
  const m = STAMP.exec(line);
  if (!m) return undefined;
  return { seconds: Number(m[1]), text: m[2] ?? "" };
}

/** Every stamped line of a log's text, numbered as in the file; lines without a stamp are left out. */
export function parseLog(text: string): LogLine[] {
  const out: LogLine[] = [];
  text.split("\n").forEach((line, i) => {
    const p = parseLine(line);
    if (p) out.push({ number: i + 1, ...p });
  });
  return out;
}

export interface Silence {
  seconds: number;
  /** The last line before the silence and the first after it. */
  before: LogLine;
  after: LogLine;
}

/**
 * The longest wait between two consecutive lines (the first of equals when several are as long);
 * undefined with fewer than two lines. The wait before the first line counts too, from a line 0
 * at 0 s (the job's start): a job that says nothing for its first ten minutes is silent too.
 */
export function longestSilence(lines: readonly LogLine[]): Silence | undefined {
  if (lines.length === 0) return undefined;
  let prev: LogLine = { number: 0, seconds: 0, text: "(start)" };
  let best: Silence | undefined;
  for (const line of lines) {
    const gap = line.seconds - prev.seconds;
    if (!best || gap > best.seconds) best = { seconds: gap, before: prev, after: line };
    prev = line;
  }
  return best;
}

function quote(text: string, max = 100): string {
  // Control characters (a test runner's colours) are shown escaped, not sent to the terminal.
  const clean = escapeControls(text);
  return JSON.stringify(clean.length > max ? `${clean.slice(0, max - 1)}…` : clean);
}

/** The closing line of a CI log. */
export function silenceLine(lines: readonly LogLine[]): string {
  const s = longestSilence(lines);
  const total = lines.at(-1)?.seconds ?? 0;
  if (!s) return "longest silence in this log: no timestamped line";
  const at = s.before.number === 0 ? "the start" : `line ${s.before.number} ${quote(s.before.text)}`;
  return `longest silence in this log: ${Math.round(s.seconds)} s (between ${at} and line ${s.after.number} ${quote(s.after.text)}); ${lines.length} line${lines.length === 1 ? "" : "s"} in ${Math.round(total)} s`;
}

function isMain(): boolean {
  return !!process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
}

if (isMain()) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write("usage: node scripts/ci-log.ts <timestamped log written by .ci/timestamp>\n");
    process.exit(2);
  }
  process.stdout.write(`${silenceLine(parseLog(fs.readFileSync(file, "utf8")))}\n`);
}
