import { describe, expect, it } from "vitest";
import type { MeshwardPolicy } from "../api/policy.ts";
import { perimeterStatus } from "./exemptions.ts";

const now = new Date("2026-12-07T12:00:00Z");

function policy(perimeter: MeshwardPolicy["spec"]["perimeter"]): MeshwardPolicy {
  return {
    apiVersion: "meshward.io/v1alpha1",
    kind: "MeshwardPolicy",
    metadata: { name: "p" },
    spec: { perimeter },
  };
}

const exemption = (name: string, expires: string, namespace = "shop") => ({
  namespace,
  kind: "NetworkPolicy" as const,
  name,
  expires,
  ticket: "SEC-1",
});

describe("perimeterStatus", () => {
  it("has nothing to say for a policy without a perimeter", () => {
    expect(perimeterStatus(policy(undefined), now, () => true)).toEqual({
      status: undefined,
      nextChangeMs: undefined,
    });
  });

  it("lists the exemptions in force, sorted, and when the first one ends", () => {
    const r = perimeterStatus(
      policy({
        mode: "Deny",
        exemptions: [
          exemption("b", "2026-12-07T13:00:00Z"),
          exemption("a", "2026-12-07T12:30:00Z"),
          exemption("old", "2026-12-07T11:59:59Z"),
          exemption("elsewhere", "2026-12-08T00:00:00Z", "other"),
        ],
      }),
      now,
      (ns) => ns === "shop",
    );
    expect(r.status?.active).toEqual(["NetworkPolicy/shop/a", "NetworkPolicy/shop/b"]);
    expect(r.nextChangeMs).toBe(30 * 60_000);
    expect(r.status?.exemptions?.map((e) => [e.key, e.state])).toEqual([
      ["NetworkPolicy/shop/b", "Active"],
      ["NetworkPolicy/shop/a", "Active"],
      ["NetworkPolicy/shop/old", "Expired"],
      ["NetworkPolicy/other/elsewhere", "NotGoverned"],
    ]);
    expect(r.status?.exemptions?.[2]?.message).toContain("remove the exemption");
    expect(r.status?.exemptions?.[3]?.message).toContain("not governed by this policy");
  });

  it("an exemption that ends exactly now is no longer in force", () => {
    const r = perimeterStatus(
      policy({ mode: "Deny", exemptions: [exemption("a", now.toISOString())] }),
      now,
      () => true,
    );
    expect(r.status?.active).toEqual([]);
    expect(r.nextChangeMs).toBeUndefined();
  });
  it("an exemption for an object that does not exist stays in force and says so", () => {
    const p = policy({ mode: "Deny", exemptions: [exemption("typo", "2026-12-08T00:00:00Z")] });
    const missing = perimeterStatus(
      p,
      now,
      () => true,
      () => false,
    );
    expect(missing.status?.active).toEqual(["NetworkPolicy/shop/typo"]);
    expect(missing.status?.exemptions?.[0]?.message).toContain(
      "no NetworkPolicy typo exists in shop yet (check the name if one should)",
    );
    for (const exists of [true, undefined])
      expect(
        perimeterStatus(
          p,
          now,
          () => true,
          () => exists,
        ).status?.exemptions?.[0]?.message,
      ).not.toContain("exists");
  });
});
