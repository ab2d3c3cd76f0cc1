import { describe, expect, it } from "vitest";
import { classify } from "./classify.ts";
import { ApiError } from "./client.ts";

describe("classify", () => {
  it.each([
    [new ApiError(0, "NetworkError", "socket hang up"), "retry"],
    [new ApiError(401, "Unauthorized", "token expired"), "retry"],
    [new ApiError(409, "Conflict", "the object has been modified"), "retry"],
    [new ApiError(409, "AlreadyExists", "exists"), "retry"],
    [new ApiError(429, "TooManyRequests", "slow down"), "retry"],
    [new ApiError(500, "InternalError", "etcd"), "retry"],
    [new ApiError(503, "ServiceUnavailable", "restarting"), "retry"],
    [new ApiError(403, "Forbidden", "RBAC"), "refused"],
    [new ApiError(404, "NotFound", "namespace gone"), "refused"],
    [new ApiError(422, "Invalid", "denied by an admission policy"), "refused"],
    [
      new ApiError(422, "Invalid", "field is immutable", undefined, {
        causes: [{ field: "metadata.uid", reason: "FieldValueInvalid" }],
      }),
      "retry",
    ],
    [new ApiError(400, "BadRequest", "malformed"), "terminal"],
    [new ApiError(415, "UnsupportedMediaType", "no"), "terminal"],
    [new Error("a bug"), "retry"],
    ["a string", "retry"],
  ] as const)("%s → %s", (e, want) => {
    expect(classify(e)).toBe(want);
  });
});
