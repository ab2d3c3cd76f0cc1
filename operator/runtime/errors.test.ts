import { describe, expect, it } from "vitest";
import { classify } from "./classify.ts";
import { ApiError } from "./client.ts";
import { isAlreadyExists, isConflict, isNotFound, RetryError } from "./errors.ts";

describe("errors by name", () => {
  it.each([
    ["404 NotFound", new ApiError(404, "NotFound", "x"), { notFound: true, exists: false, conflict: false }],
    [
      "409 AlreadyExists",
      new ApiError(409, "AlreadyExists", "x"),
      { notFound: false, exists: true, conflict: false },
    ],
    ["409 Conflict", new ApiError(409, "Conflict", "x"), { notFound: false, exists: false, conflict: true }],
    ["500", new ApiError(500, "InternalError", "x"), { notFound: false, exists: false, conflict: false }],
    ["not an API answer", new Error("boom"), { notFound: false, exists: false, conflict: false }],
  ])("%s", (_name, e, want) => {
    expect({ notFound: isNotFound(e), exists: isAlreadyExists(e), conflict: isConflict(e) }).toEqual(want);
  });

  it("a RetryError is retried with backoff, not refused or terminal", () => {
    expect(classify(new RetryError("deleted while being created"))).toBe("retry");
  });
});
