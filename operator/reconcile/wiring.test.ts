import { describe, expect, it } from "vitest";
import type { Caches } from "./caches.ts";
import { allKeys } from "./wiring.ts";

const profile = (ns: string, name: string) => ({ metadata: { namespace: ns, name } });

describe("allKeys", () => {
  it("puts every namespace before the profiles, so its shared waypoint exists when they report on it", () => {
    const caches = {
      profiles: { list: () => [profile("a", "web"), profile("b", "api"), profile("a", "db")] },
      children: new Map(),
      policies: { list: () => [] },
      reportKeys: () => [],
    } as unknown as Caches;
    const keys = allKeys(caches);
    expect(keys.slice(0, 5)).toEqual(["a", "b", "a/web", "b/api", "a/db"]);
  });
});
