import { describe, expect, it } from "vitest";
import { KEY_PATTERN } from "../api/policy.ts";
import { keyMatches } from "./patterns.ts";

const scope = { namespace: "pay", profile: "api" };

describe("remote-key patterns", () => {
  it.each([
    ["{namespace}/*", "pay/db", true],
    ["{namespace}/*", "pay/a/b", true],
    ["{namespace}/*", "payx/db", false],
    ["{namespace}/*", "shop/db", false],
    ["{namespace}/{profile}", "pay/api", true],
    ["{namespace}/{profile}", "pay/web", false],
    ["shared/*.json", "shared/x.json", true],
    ["shared/*.json", "shared/xjson", false],
    ["a+b=c", "a+b=c", true],
    ["a+b=c", "aab=c", false],
    ["{namespace}/*", "pay/../shop/db", false],
    ["*", "anything/at/all", true],
  ])("%s matches %s: %s", (pattern, key, want) => expect(keyMatches(pattern, key, scope)).toBe(want));

  it.each([
    ["{namespace}/*", true],
    ["{team}/*", false],
    ["a b", false],
    ["{namespace", false],
    ["arn:aws:secretsmanager:eu-west-1:1:secret:{profile}-*", true],
    ["x\\y", false],
  ])("pattern %s is valid: %s", (pattern, valid) => expect(KEY_PATTERN.test(pattern)).toBe(valid));
});
