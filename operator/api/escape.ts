// Strings from profiles, policies and file names reach people's terminals in the CLI's text output
// (and CI pages through JUnit XML). None of them may carry a character that the terminal acts on
// instead of showing: an escape sequence (ESC [ ... recolours, moves the cursor, retitles the
// window), a carriage return (overwrites what came before on the line), a newline or tab (forges
// another finding's line) or a bidi override (shows text in another order than it is read, as in
// "Trojan Source"). Pure.

const SHORT: Record<number, string> = { 0x09: "\\t", 0x0a: "\\n", 0x0d: "\\r" };

/** The escape that stands for code unit `c`, or undefined when `c` is shown as itself. */
function escapeOf(c: number): string | undefined {
  // C0 controls, DEL and C1 controls: \t, \n, \r, else \xHH.
  if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return SHORT[c] ?? `\\x${c.toString(16).padStart(2, "0")}`;
  // Bidi embeddings and overrides (LRE, RLE, PDF, LRO, RLO) and isolates (LRI, RLI, FSI, PDI).
  if ((c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)) return `\\u${c.toString(16)}`;
  return undefined;
}

/**
 * `s` with every C0 control (tab and newline included), DEL, C1 control and bidi override or
 * isolate written as a visible escape (\x1b, \r, \n, \u202e); everything else, backslashes
 * included, as is. For one line of text: its result holds no line break.
 */
export function escapeControls(s: string): string {
  let out = "";
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const e = escapeOf(s.charCodeAt(i));
    if (e === undefined) continue;
    out += s.slice(from, i) + e;
    from = i + 1;
  }
  return from === 0 ? s : out + s.slice(from);
}
