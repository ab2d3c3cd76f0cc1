// Table test of the per-profile series derived from a cached profile.
import { describe, expect, it } from "vitest";
import type { KubeObjectLike } from "../runtime/client.ts";
import { profileSeries } from "./profiles.ts";

const cond = (type: string, status: string) => ({
  type,
  status,
  reason: "R",
  message: "m",
  lastTransitionTime: "2026-11-01T00:00:00Z",
});
const exc = (expires: string, state: string) => ({ type: "AuditOnly", ticket: "SEC-1", expires, state });
const p = (status: unknown, meta: Record<string, unknown> = { namespace: "ns", name: "a" }) =>
  ({ metadata: meta, status }) as KubeObjectLike;

describe("profileSeries", () => {
  it.each([
    ["no status yet", undefined, { ready: 0, drifted: 0, conflict: 0 }],
    ["garbage status", "nonsense", { ready: 0, drifted: 0, conflict: 0 }],
    [
      "ready",
      { conditions: [cond("Ready", "True"), cond("Drifted", "False"), cond("Conflict", "False")] },
      { ready: 1, drifted: 0, conflict: 0 },
    ],
    [
      "drifted (Report)",
      { conditions: [cond("Ready", "False"), cond("Drifted", "True")] },
      { ready: 0, drifted: 1, conflict: 0 },
    ],
    [
      "unknown is not true",
      { conditions: [cond("Ready", "Unknown"), cond("Conflict", "Unknown")] },
      { ready: 0, drifted: 0, conflict: 0 },
    ],
    [
      "a malformed condition is dropped",
      { conditions: [{ type: "Ready", status: "Yes" }] },
      { ready: 0, drifted: 0, conflict: 0 },
    ],
    [
      "next expiry: the earliest active exception",
      {
        exceptions: [
          exc("2026-12-01T00:00:00Z", "Expired"),
          exc("2027-01-01T00:00:00Z", "Active"),
          exc("2026-12-15T00:00:00Z", "Active"),
          exc("2026-12-10T00:00:00Z", "Rejected"),
        ],
      },
      { ready: 0, drifted: 0, conflict: 0, nextExceptionExpiry: Date.parse("2026-12-15T00:00:00Z") / 1000 },
    ],
    [
      "policy findings: refused (Enforce) and reported (Audit) counted apart",
      {
        policy: {
          findings: [
            {
              reason: "SecretNotAllowed",
              rule: "guardrails.secrets",
              mode: "Enforce",
              path: "spec.secrets[0]",
              message: "m",
              policies: ["p"],
            },
            {
              reason: "EgressCidrNotAllowed",
              rule: "guardrails.egressCidrs",
              mode: "Audit",
              path: "spec.egress.to[0]",
              message: "m",
              policies: ["p"],
            },
            {
              reason: "PendingApproval",
              rule: "guardrails.exceptions",
              mode: "Audit",
              path: "spec.exceptions[0]",
              message: "m",
              policies: ["p"],
            },
          ],
        },
      },
      { ready: 0, drifted: 0, conflict: 0, policyRefused: 1, policyAudit: 2 },
    ],
    [
      "an unparsable expiry is ignored",
      { exceptions: [exc("soon", "Active")] },
      { ready: 0, drifted: 0, conflict: 0 },
    ],
  ])("%s", (_name, status, want) => {
    expect(profileSeries(p(status))).toEqual({
      namespace: "ns",
      name: "a",
      policyRefused: 0,
      policyAudit: 0,
      ...want,
    });
  });

  it("counts the secrets ESO cannot sync; no value for a profile without secrets", () => {
    const secret = (name: string, ready: string) => ({ name, ready, reason: "R", message: "m" });
    expect(
      profileSeries(
        p({ secrets: [secret("db", "False"), secret("api", "True"), secret("cache", "Unknown")] }),
      )?.secretsFailing,
    ).toBe(1);
    expect(profileSeries(p({ secrets: [secret("db", "True")] }))?.secretsFailing).toBe(0);
    expect(profileSeries(p({ secrets: [] }))).not.toHaveProperty("secretsFailing");
    expect(profileSeries(p({ secrets: [{ name: "db", ready: "Broken" }] }))).not.toHaveProperty(
      "secretsFailing",
    );
  });

  it("skips objects without namespace or name", () => {
    expect(profileSeries(p(undefined, { name: "a" }))).toBeUndefined();
    expect(profileSeries(p(undefined, { namespace: "ns" }))).toBeUndefined();
    expect(profileSeries({} as KubeObjectLike)).toBeUndefined();
  });
});
