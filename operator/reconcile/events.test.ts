// The Event recorder's limits, and that it forgets what no longer limits anything.
import { describe, expect, it } from "vitest";
import type { KubeClient } from "../runtime/client.ts";
import { createLogger } from "../runtime/log.ts";
import { CEILINGS, EventRecorder, type Regarding } from "./events.ts";

const about = (name: string): Regarding => ({ apiVersion: "v1", kind: "X", name, namespace: "ns" });

function recorder() {
  let now = 1_000_000;
  const r = new EventRecorder({
    client: {} as KubeClient,
    log: createLogger("silent"),
    instance: "test",
    now: () => now,
  });
  return { r, tick: (ms: number) => (now += ms) };
}

describe("EventRecorder", () => {
  it("deduplicates the same note for a minute and limits each object to 10 a minute", () => {
    const { r, tick } = recorder();
    expect(r.admit(about("a"), "Created", "n")).toBe(true);
    expect(r.admit(about("a"), "Created", "n")).toBe(false);
    for (let i = 0; i < 9; i++) expect(r.admit(about("a"), "Created", `n${i}`)).toBe(true);
    expect(r.admit(about("a"), "Created", "n10")).toBe(false);
    tick(61_000);
    expect(r.admit(about("a"), "Created", "n")).toBe(true);
  });

  it("keeps a ceiling per type: a flood of Normal Events leaves the Warnings' budget whole", () => {
    const { r, tick } = recorder();
    // A new fleet: one Created Event per profile. The burst goes out, then one a second.
    const created = Array.from({ length: 200 }, (_, i) => r.admit(about(`p${i}`), "Created", "n"));
    expect(created.filter(Boolean)).toHaveLength(CEILINGS.Normal.burst);
    tick(CEILINGS.Normal.everyMs);
    expect(r.admit(about("q0"), "Created", "n")).toBe(true);
    expect(r.admit(about("q1"), "Created", "n")).toBe(false);
    // The Warnings of the same moment all go out, up to their own burst.
    const refused = Array.from({ length: 60 }, (_, i) => r.admit(about(`p${i}`), "Conflict", "c", "Warning"));
    expect(refused.filter(Boolean)).toHaveLength(CEILINGS.Warning.burst);
    tick(CEILINGS.Warning.everyMs);
    expect(r.admit(about("w"), "Conflict", "c", "Warning")).toBe(true);
    expect(r.admit(about("q2"), "Created", "n")).toBe(false);
  });

  it("evicts the buckets of objects not heard of for a minute", () => {
    const { r, tick } = recorder();
    for (let i = 0; i < 40; i++) {
      r.admit(about(`p${i}`), "Created", "n");
      tick(1_000);
    }
    expect(r.buckets).toBe(40);
    tick(61_000);
    r.admit(about("new"), "Created", "n");
    expect(r.buckets).toBe(1);
  });

  it("record() answers whether the Event went out (or the same one did within the minute)", () => {
    const sent: string[] = [];
    let now = 1_000_000;
    const r = new EventRecorder({
      client: {
        request: (_m: string, _p: string, o: { body: { note: string } }) => {
          sent.push(o.body.note);
          return Promise.resolve({});
        },
      } as unknown as KubeClient,
      log: createLogger("silent"),
      instance: "test",
      now: () => now,
    });
    expect(r.record(about("a"), "Normal", "Created", "n")).toBe(true);
    expect(r.record(about("a"), "Normal", "Created", "n")).toBe(true); // a duplicate: already out
    for (let i = 0; i < 9; i++) r.record(about("a"), "Normal", "Created", `n${i}`);
    expect(r.record(about("a"), "Warning", "AdoptionAudit", "cut off")).toBe(false); // throttled
    expect(sent).toHaveLength(10);
    expect(sent).not.toContain("cut off");
    now += 61_000;
    expect(r.record(about("a"), "Warning", "AdoptionAudit", "cut off")).toBe(true);
    expect(sent.at(-1)).toBe("cut off");
  });
});
