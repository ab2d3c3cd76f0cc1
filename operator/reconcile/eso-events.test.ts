// ESO's UpdateFailed Events: what the cache keeps, which ExternalSecret each is about, the newest
// message, and which changes wake the owning profile.
import { describe, expect, it } from "vitest";
import type { KubeObjectLike } from "../runtime/client.ts";
import { esoEventSecret, externalSecretOf, leanEsoEvent, newestMessage } from "./eso-events.ts";

function event(o: {
  name?: string;
  kind?: string;
  reason?: string;
  message?: string;
  at?: string;
  rv?: string;
}): KubeObjectLike {
  return {
    apiVersion: "v1",
    kind: "Event",
    metadata: {
      name: "api-db.1",
      namespace: "shop",
      uid: "u1",
      resourceVersion: o.rv ?? "1",
      managedFields: [{ manager: "external-secrets" }],
    },
    involvedObject: {
      kind: o.kind ?? "ExternalSecret",
      name: o.name ?? "api-db",
      namespace: "shop",
      uid: "es",
    },
    reason: o.reason ?? "UpdateFailed",
    message: o.message ?? "permission denied",
    lastTimestamp: o.at ?? "2026-12-08T00:00:00Z",
    count: 3,
    source: { component: "external-secrets" },
  } as KubeObjectLike;
}

describe("ESO's Events", () => {
  it("the cache keeps the ExternalSecret's name, the time and the message, clipped", () => {
    const lean = leanEsoEvent(event({ message: "x".repeat(5000) })) as KubeObjectLike &
      Record<string, unknown>;
    expect(Object.keys(lean).sort()).toEqual(
      ["apiVersion", "involvedObject", "kind", "lastTimestamp", "message", "metadata", "reason"].sort(),
    );
    expect(lean.metadata).toEqual({ name: "api-db.1", namespace: "shop", uid: "u1", resourceVersion: "1" });
    expect((lean.message as string).length).toBe(2048);
    expect(lean.involvedObject).toEqual({ kind: "ExternalSecret", name: "api-db" });
  });

  it.each([
    { name: "an ExternalSecret's UpdateFailed", e: event({}), want: "shop/api-db" },
    { name: "another reason", e: event({ reason: "Updated" }), want: undefined },
    { name: "another kind", e: event({ kind: "SecretStore" }), want: undefined },
    { name: "no name", e: event({ name: "" }), want: undefined },
  ])("which ExternalSecret: $name", ({ e, want }) => {
    expect(externalSecretOf(leanEsoEvent(e))).toBe(want);
  });

  it("the newest message wins, whatever the order", () => {
    const old = leanEsoEvent(event({ message: "old", at: "2026-12-08T00:00:00Z" }));
    const now = leanEsoEvent(event({ message: "new", at: "2026-12-08T00:01:00Z" }));
    expect(newestMessage([old, now])).toBe("new");
    expect(newestMessage([now, old])).toBe("new");
    expect(newestMessage([])).toBeUndefined();
  });

  it.each([
    { name: "a new Event", type: "add" as const, old: undefined, want: true },
    {
      name: "ESO's retry: a later time",
      type: "update" as const,
      old: { at: "2026-12-07T23:59:00Z" },
      want: true,
    },
    { name: "a new message", type: "update" as const, old: { message: "timeout" }, want: true },
    { name: "same time and message (a resync)", type: "update" as const, old: {}, want: false },
    { name: "deleted", type: "delete" as const, old: undefined, want: false },
  ])("wakes the profile: $name", ({ type, old, want }) => {
    const now = leanEsoEvent(event({}));
    const before = old ? leanEsoEvent(event({ ...old, rv: "0" })) : undefined;
    expect(esoEventSecret(type, now, before)).toEqual(
      want ? { namespace: "shop", name: "api-db" } : undefined,
    );
  });

  it("another kind's Event wakes nothing", () => {
    expect(esoEventSecret("add", leanEsoEvent(event({ kind: "Pod" })), undefined)).toBeUndefined();
  });
});
