import { describe, expect, it } from "vitest";
import { countRequests, parseAuditLines } from "./audit.ts";
import { kyvernoPolicy } from "./policy.ts";
import { canonical } from "./work.ts";
import { markers } from "../section.ts";
import { peerSectionId } from "./report.ts";
import { peerTable, ratio, type SideResult } from "./table.ts";

const side = (name: string, over: Partial<SideResult> = {}): SideResult => ({
  name,
  createSeconds: 10,
  present: 410,
  expected: 410,
  requests: 1000,
  writes: 400,
  leaseWrites: 20,
  eventWrites: 10,
  cpuSeconds: 5,
  rssMb: 100,
  peakRssMb: 120,
  idleCpuPercent: 1,
  restore: { tried: 100, restored: 100, p50Ms: 30, p99Ms: 60 },
  edit: { tried: 10, restored: 10, p50Ms: 40, p99Ms: 50 },
  quietMinutes: 10,
  quietRequests: 300,
  quietWrites: 150,
  quietLeaseWrites: 150,
  ...over,
});

const rowOf = (table: string, start: string) => {
  const line = table.split("\n").find((l) => l.startsWith(`| ${start}`));
  if (!line) throw new Error(`no row ${start}`);
  return line.split(" | ").map((c) => c.replace(/^\| /, "").replace(/ \|$/, ""));
};

describe("ratio", () => {
  it.each([
    [10, 20, "0.50"],
    [3, 1, "3.00"],
    [0, 0, "1 (both 0)"],
    [5, 0, "n/a (Kyverno 0)"],
    [null, 4, "n/a"],
    [4, null, "n/a"],
    [Number.NaN, 4, "n/a"],
  ])("%s ÷ %s = %s", (m, k, want) => {
    expect(ratio(m, k)).toBe(want);
  });
});

describe("peerTable", () => {
  it("puts meshward first and the ratio meshward ÷ Kyverno last", () => {
    const t = peerTable(
      side("meshward", { createSeconds: 12.5 }),
      side("Kyverno", { createSeconds: 50 }),
      100,
    );
    expect(t.split("\n")[0]).toBe("| Measure | meshward | Kyverno | meshward ÷ Kyverno |");
    expect(rowOf(t, "Applying 100 profiles")).toEqual([
      "Applying 100 profiles → all 410 objects present (s)",
      "12.5",
      "50.0",
      "0.25",
    ]);
    expect(rowOf(t, "… of which writes")).toEqual([
      "… of which writes (lease renewals, events)",
      "400 (20, 10)",
      "400 (20, 10)",
      "1.00",
    ]);
  });

  it("says when Kyverno did not finish, or restored nothing, instead of a ratio", () => {
    const t = peerTable(
      side("meshward"),
      side("Kyverno", {
        createSeconds: null,
        present: 300,
        restore: { tried: 3, restored: 0, p50Ms: null, p99Ms: null, stopped: "3 in a row" },
        edit: { tried: 2, restored: 0, p50Ms: null, p99Ms: null },
      }),
      100,
    );
    expect(rowOf(t, "Applying")[2]).toBe("did not finish (300/410 objects)");
    expect(rowOf(t, "Applying")[3]).toBe("n/a");
    expect(rowOf(t, "Deleted")).toEqual([
      "Deleted generated object back, p50 / p99 (ms)",
      "30 / 60 (100/100 restored)",
      "none restored (3 tried)",
      "n/a / n/a",
    ]);
    expect(rowOf(t, "Edited")[2]).toBe("none restored (2 tried)");
  });

  it("separates lease renewals from the other quiet writes", () => {
    const t = peerTable(
      side("meshward", { quietWrites: 0, quietLeaseWrites: 0 }),
      side("Kyverno", { quietWrites: 700, quietLeaseWrites: 600 }),
      100,
    );
    expect(rowOf(t, "Writes during 10 quiet minutes, without")).toEqual([
      "Writes during 10 quiet minutes, without lease renewals",
      "0",
      "100",
      "0.00",
    ]);
  });
});

describe("audit counting", () => {
  const line = (
    id: string,
    user: string,
    verb: string,
    resource: string,
    t: string,
    stage = "ResponseComplete",
  ) =>
    JSON.stringify({
      auditID: id,
      stage,
      verb,
      user: { username: user },
      objectRef: { resource },
      requestReceivedTimestamp: t,
    });

  it("counts each request once, by user and window, with lease and event writes apart", () => {
    const seen = new Set<string>();
    const recs = parseAuditLines(
      [
        line("1", "a", "watch", "pods", "2026-01-01T00:00:01Z", "ResponseStarted"),
        line("1", "a", "watch", "pods", "2026-01-01T00:00:01Z"),
        line("2", "a", "update", "leases", "2026-01-01T00:00:02Z"),
        line("3", "a", "create", "events", "2026-01-01T00:00:03Z"),
        line("4", "a", "patch", "networkpolicies", "2026-01-01T00:00:04Z"),
        line("5", "b", "create", "networkpolicies", "2026-01-01T00:00:04Z"),
        line("6", "a", "get", "networkpolicies", "2026-01-01T00:00:09Z"),
        "{not json",
      ],
      seen,
    );
    expect(recs).toHaveLength(6);
    expect(parseAuditLines([line("2", "a", "update", "leases", "2026-01-01T00:00:02Z")], seen)).toHaveLength(
      0,
    );
    const from = Date.parse("2026-01-01T00:00:00Z");
    expect(countRequests(recs, ["a"], from, Date.parse("2026-01-01T00:00:05Z"))).toEqual({
      requests: 4,
      writes: 3,
      leaseWrites: 1,
      eventWrites: 1,
    });
  });
});

describe("report section", () => {
  it("is one per N, in the markers bench:peer used so far", () => {
    expect(peerSectionId(100)).toBe("peer N=100");
    expect(markers(peerSectionId(100)).begin).toBe("<!-- bench:peer N=100 begin -->");
  });
});

describe("kyvernoPolicy", () => {
  it("has synchronized data rules for the four kinds and the namespace default deny, with Kyverno variables", () => {
    const spec = kyvernoPolicy().spec as { rules: { name: string; generate: Record<string, unknown> }[] };
    expect(spec.rules.map((r) => r.generate.kind)).toEqual([
      "ServiceAccount",
      "PeerAuthentication",
      "AuthorizationPolicy",
      "NetworkPolicy",
      "NetworkPolicy",
    ]);
    for (const r of spec.rules) expect(r.generate.synchronize).toBe(true);
    const text = JSON.stringify(spec);
    expect(text).not.toContain("zzkyverno");
    expect(text).toContain("{{request.object.spec.selector.app}}");
  });
});

describe("canonical", () => {
  it("ignores key order, not array order", () => {
    expect(canonical({ b: 1, a: { d: [2, 1], c: null } })).toBe(
      canonical({ a: { c: null, d: [2, 1] }, b: 1 }),
    );
    expect(canonical([1, 2])).not.toBe(canonical([2, 1]));
  });
});
