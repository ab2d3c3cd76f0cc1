// Remote-key patterns of the secrets guardrail: literal characters, '*' (any run of characters,
// '/' included) and the placeholders {namespace} and {profile}. Pure.
//
// Matching runs on the operator's only event loop with tenant-written patterns and keys, so it
// must not backtrack. The RegExp this replaced ('*' as '.*') spent 22 s on a 4-star pattern
// against a 512-character key that it did not match, about 140 times its 3-star time; at 16 stars
// it would not finish. globMatches works in time linear in the lengths of the pattern and the key
// (see its comment; `npm run bench:patterns` prints its figures).

export interface KeyScope {
  namespace: string;
  profile: string;
}

/** Counts the character comparisons of one match (tests use it to check the work is bounded). */
export interface MatchCounter {
  steps: number;
}

/** The pattern with its placeholders filled in (namespace and profile names are DNS labels). */
export function expandPattern(pattern: string, scope: KeyScope): string {
  return pattern.replaceAll("{namespace}", scope.namespace).replaceAll("{profile}", scope.profile);
}

/**
 * A key that walks out of a prefix ("payments/../orders/db") or hides one ("payments//x") never
 * matches: some stores normalise paths, so such a key could read what the pattern's prefix excludes.
 */
export function isPlainKey(key: string): boolean {
  return !key
    .split("/")
    .some((seg, i, all) => seg === ".." || seg === "." || (seg === "" && i > 0 && i < all.length - 1));
}

/** Whether `text` holds `literal` at `at`, comparing at most literal.length characters. */
function literalAt(text: string, at: number, literal: string, counter?: MatchCounter): boolean {
  for (let i = 0; i < literal.length; i++) {
    if (counter) counter.steps++;
    if (text.charCodeAt(at + i) !== literal.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * The first index in text[from, to) where `literal` starts and ends before `to`, or -1
 * (Knuth–Morris–Pratt: at most 2·literal.length comparisons for the table and 2·(scanned
 * characters) for the scan, whatever the input). `literal` is not empty.
 */
function findLiteral(
  text: string,
  literal: string,
  from: number,
  to: number,
  counter?: MatchCounter,
): number {
  const m = literal.length;
  // border[i]: length of the longest proper prefix of literal[0..i] that is also its suffix.
  const border = new Int32Array(m);
  for (let i = 1, k = 0; i < m; i++) {
    for (;;) {
      if (counter) counter.steps++;
      if (literal.charCodeAt(i) === literal.charCodeAt(k)) {
        k++;
        break;
      }
      if (k === 0) break;
      k = border[k - 1] ?? 0;
    }
    border[i] = k;
  }
  for (let j = from, k = 0; j < to; j++) {
    for (;;) {
      if (counter) counter.steps++;
      if (text.charCodeAt(j) === literal.charCodeAt(k)) {
        k++;
        break;
      }
      if (k === 0) break;
      k = border[k - 1] ?? 0;
    }
    if (k === m) return j - m + 1;
  }
  return -1;
}

/**
 * Whether `key` as a whole matches `pattern` (placeholders already filled in): '*' matches any
 * run of characters, '/' included, and the empty run; every other character matches itself.
 *
 * The pattern is first*mid1*…*midN*last. The key must start with `first` and end with `last`
 * (without the two overlapping); in between, each mid must occur in order, and taking the leftmost
 * occurrence of each is always right: it leaves the most room for the ones after it. Each search
 * starts where the previous match ended, so the scans cover the key once: at most
 * 2·(pattern.length + key.length) comparisons.
 */
export function globMatches(pattern: string, key: string, counter?: MatchCounter): boolean {
  const parts = pattern.split("*");
  const first = parts[0] ?? "";
  if (parts.length === 1) return first.length === key.length && literalAt(key, 0, first, counter);
  const last = parts[parts.length - 1] ?? "";
  const end = key.length - last.length;
  if (first.length > end) return false;
  if (!literalAt(key, 0, first, counter) || !literalAt(key, end, last, counter)) return false;
  let at = first.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const mid = parts[i] ?? "";
    if (mid === "") continue;
    const found = findLiteral(key, mid, at, end, counter);
    if (found < 0) return false;
    at = found + mid.length;
  }
  return true;
}

export function keyMatches(pattern: string, key: string, scope: KeyScope, counter?: MatchCounter): boolean {
  return isPlainKey(key) && globMatches(expandPattern(pattern, scope), key, counter);
}
