// What a failed request means, asked by name instead of by HTTP code at each call site, and the
// error a reconciler throws when it needs the queue to try again (not a fake API answer).
import { ApiError } from "./client.ts";

/** The object (or its namespace, or its resource) does not exist: 404. */
export function isNotFound(e: unknown): e is ApiError {
  return e instanceof ApiError && e.status === 404;
}

/** A create found the name taken: 409 AlreadyExists. */
export function isAlreadyExists(e: unknown): e is ApiError {
  return e instanceof ApiError && e.status === 409 && e.reason === "AlreadyExists";
}

/**
 * A write lost to a concurrent change: 409 Conflict (a resourceVersion or uid precondition that
 * no longer holds, a field-manager conflict). Not a create's AlreadyExists.
 */
export function isConflict(e: unknown): e is ApiError {
  return e instanceof ApiError && e.status === 409 && e.reason !== "AlreadyExists";
}

/**
 * The reconciler saw the cluster change under it (an object deleted between a create and its
 * read): nothing was refused, and the next try, with backoff, sees the new state.
 */
export class RetryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RetryError";
  }
}
