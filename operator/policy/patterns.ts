// Remote-key patterns of the secrets guardrail: literal characters, '*' (any run of characters,
// '/' included) and the placeholders {namespace} and {profile}. Pure.

export interface KeyScope {
  namespace: string;
  profile: string;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
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

export function keyMatches(pattern: string, key: string, scope: KeyScope): boolean {
  if (!isPlainKey(key)) return false;
  const re = new RegExp(`^${expandPattern(pattern, scope).split("*").map(escapeRegex).join(".*")}$`, "s");
  return re.test(key);
}
