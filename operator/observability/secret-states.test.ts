// The secret-health tally behind meshward_secrets: per-profile summaries, summed; deleted profiles
// and profiles without secrets leave nothing behind.
import { describe, expect, it } from "vitest";
import { SecretStates } from "./secret-states.ts";

describe("SecretStates", () => {
  it("is all zeros with no profile", () => {
    expect(new SecretStates().totals()).toEqual({ ready: 0, failing: 0, pending: 0 });
  });

  it("sums the last summary of each profile; a later report replaces the earlier one", () => {
    const s = new SecretStates();
    s.set("a/api", { ready: 2, failing: 1, pending: 0 });
    s.set("b/web", { ready: 0, failing: 0, pending: 3 });
    expect(s.totals()).toEqual({ ready: 2, failing: 1, pending: 3 });
    s.set("a/api", { ready: 3, failing: 0, pending: 0 });
    expect(s.totals()).toEqual({ ready: 3, failing: 0, pending: 3 });
  });

  it("forgets a deleted profile, and a profile that no longer declares secrets", () => {
    const s = new SecretStates();
    s.set("a/api", { ready: 0, failing: 1, pending: 0 });
    s.set("b/web", { ready: 1, failing: 0, pending: 0 });
    s.forget("a/api");
    expect(s.totals()).toEqual({ ready: 1, failing: 0, pending: 0 });
    s.set("b/web", { ready: 0, failing: 0, pending: 0 });
    expect(s.size).toBe(0);
    expect(s.totals()).toEqual({ ready: 0, failing: 0, pending: 0 });
    s.forget("never/seen");
    expect(s.size).toBe(0);
  });

  it("keeps its own copy of a summary", () => {
    const s = new SecretStates();
    const summary = { ready: 1, failing: 0, pending: 0 };
    s.set("a/api", summary);
    summary.failing = 5;
    expect(s.totals().failing).toBe(0);
  });
});
