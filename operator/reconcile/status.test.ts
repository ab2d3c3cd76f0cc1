// statusEqual decides whether a status write is needed: it compares meshward's own conditions only.
import { describe, expect, it } from "vitest";
import type { ProfileStatus } from "../api/schema.ts";
import { statusEqual } from "./status.ts";

const cond = (type: string, status = "True") => ({
  type,
  status,
  reason: "R",
  message: "m",
  lastTransitionTime: "2026-12-01T00:00:00Z",
  observedGeneration: 1,
});
const status = (...types: string[]): ProfileStatus =>
  ({ observedGeneration: 1, conditions: types.map((t) => cond(t)), objects: [] }) as ProfileStatus;

describe("statusEqual", () => {
  it("ignores another controller's condition: no write for it", () => {
    expect(statusEqual(status("Ready", "AuditPassed"), status("Ready"))).toBe(true);
  });
  it("sees a condition of ours that is no longer written (a OneSided that should go)", () => {
    expect(statusEqual(status("Ready", "OneSided"), status("Ready"))).toBe(false);
    expect(statusEqual(status("Ready", "SecretsReady"), status("Ready"))).toBe(false);
  });
  it("sees a changed condition of ours", () => {
    const next: ProfileStatus = { ...status(), conditions: [cond("Ready", "False")] } as ProfileStatus;
    expect(statusEqual(status("Ready"), next)).toBe(false);
  });
});
