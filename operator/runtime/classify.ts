// One answer, for every call site, to "what now?" after a request failed (pure):
// - retry: transient (network, 5xx, throttling, a conflict with a concurrent writer, expired
//   credentials): the work queue retries with backoff;
// - refused: the API server refused this write (RBAC, an admission policy, validation): retrying
//   at once cannot help, but the cluster can change without our input; tried again in a minute;
// - terminal: the request itself is malformed (our bug or an input no server accepts): not retried
//   until the input changes.
import { ApiError } from "./client.ts";

export type ErrorClass = "retry" | "refused" | "terminal";

const TERMINAL = new Set([400, 405, 406, 413, 414, 415]);

export function classify(e: unknown): ErrorClass {
  // Not an answer from the API server (a bug, a dropped connection, an abort): try again.
  if (!(e instanceof ApiError)) return "retry";
  const s = e.status;
  if (s === 0 || s === 401 || s === 408 || s === 409 || s === 429 || s >= 500) return "retry";
  // A uid precondition that no longer holds (the object was replaced behind our cache) is refused
  // as an invalid change of metadata.uid: the cache is stale, and the next try sees the new object.
  if (s === 422 && mentionsField(e.details, "metadata.uid")) return "retry";
  if (TERMINAL.has(s)) return "terminal";
  return "refused";
}

function mentionsField(details: unknown, field: string): boolean {
  const causes = (details as { causes?: unknown } | undefined)?.causes;
  return (
    Array.isArray(causes) &&
    causes.some((c) => typeof c === "object" && c !== null && (c as { field?: unknown }).field === field)
  );
}
