import { describe, expect, it } from "vitest";
import { Echoes } from "./echoes.ts";
import type { KubeObjectLike, Resource } from "./client.ts";

const NP: Resource = {
  group: "networking.k8s.io",
  version: "v1",
  plural: "networkpolicies",
  kind: "NetworkPolicy",
  namespaced: true,
};
const obj = (name: string, rv: string): KubeObjectLike => ({
  metadata: { namespace: "team", name, resourceVersion: rv },
});

/** A write whose response the test releases. */
function pending(): { promise: Promise<KubeObjectLike>; answer(o: KubeObjectLike): void; fail(): void } {
  let answer!: (o: KubeObjectLike) => void;
  let fail!: () => void;
  const promise = new Promise<KubeObjectLike>((res, rej) => {
    answer = res;
    fail = () => rej(new Error("refused"));
  });
  return { promise, answer, fail };
}

describe("Echoes", () => {
  it("drops the event of the version our write returned, once", async () => {
    const e = new Echoes();
    await e.write(NP, "team", "a", () => Promise.resolve(obj("a", "5")));
    const seen: string[] = [];
    e.event(NP, "add", obj("a", "5"), () => seen.push("echo"));
    expect(seen).toEqual([]);
    expect(e.size).toBe(0);
    // The next change is someone else's: delivered.
    e.event(NP, "update", obj("a", "6"), () => seen.push("drift"));
    expect(seen).toEqual(["drift"]);
  });

  it("delivers a version we did not write, and a delete, and forgets the write", async () => {
    const e = new Echoes();
    await e.write(NP, "team", "a", () => Promise.resolve(obj("a", "5")));
    const seen: string[] = [];
    e.event(NP, "update", obj("a", "7"), () => seen.push("other"));
    // The wait ended with that event: our version arriving later is not dropped either.
    e.event(NP, "update", obj("a", "5"), () => seen.push("late"));
    await e.write(NP, "team", "b", () => Promise.resolve(obj("b", "9")));
    e.event(NP, "delete", obj("b", "9"), () => seen.push("deleted"));
    expect(seen).toEqual(["other", "late", "deleted"]);
    expect(e.size).toBe(0);
  });

  it("holds an event that beats the write's response, then drops it if it is the echo", async () => {
    const e = new Echoes();
    const w = pending();
    const done = e.write(NP, "team", "a", () => w.promise);
    const seen: string[] = [];
    e.event(NP, "add", obj("a", "5"), () => seen.push("add"));
    expect(seen).toEqual([]);
    w.answer(obj("a", "5"));
    await done;
    expect(seen).toEqual([]);
    expect(e.size).toBe(0);
  });

  it("delivers held events that are not the echo once the write returns, and waits for the echo", async () => {
    const e = new Echoes();
    const w = pending();
    const done = e.write(NP, "team", "a", () => w.promise);
    const seen: string[] = [];
    e.event(NP, "update", obj("a", "4"), () => seen.push("before"));
    w.answer(obj("a", "5"));
    await done;
    expect(seen).toEqual(["before"]);
    e.event(NP, "update", obj("a", "5"), () => seen.push("echo"));
    expect(seen).toEqual(["before"]);
  });

  it("delivers held events when the write fails", async () => {
    const e = new Echoes();
    const w = pending();
    const done = e.write(NP, "team", "a", () => w.promise);
    const seen: string[] = [];
    e.event(NP, "update", obj("a", "4"), () => seen.push("held"));
    w.fail();
    await expect(done).rejects.toThrow("refused");
    expect(seen).toEqual(["held"]);
    expect(e.size).toBe(0);
  });

  it("never holds a delete, and keeps objects of other names and kinds apart", async () => {
    const e = new Echoes();
    const w = pending();
    const done = e.write(NP, "team", "a", () => w.promise);
    const seen: string[] = [];
    e.event(NP, "delete", obj("a", "4"), () => seen.push("delete"));
    e.event(NP, "add", obj("other", "5"), () => seen.push("other name"));
    const SA: Resource = {
      group: "",
      version: "v1",
      plural: "serviceaccounts",
      kind: "ServiceAccount",
      namespaced: true,
    };
    e.event(SA, "add", obj("a", "5"), () => seen.push("other kind"));
    expect(seen).toEqual(["delete", "other name", "other kind"]);
    w.answer(obj("a", "5"));
    await done;
  });

  it("lets the newer of two writes of one object decide", async () => {
    const e = new Echoes();
    const first = pending();
    const second = pending();
    const d1 = e.write(NP, "team", "a", () => first.promise);
    const seen: string[] = [];
    e.event(NP, "update", obj("a", "5"), () => seen.push("held by the first"));
    const d2 = e.write(NP, "team", "a", () => second.promise);
    first.answer(obj("a", "5"));
    await d1;
    // The first write was overtaken: what it held is delivered, not judged.
    expect(seen).toEqual(["held by the first"]);
    second.answer(obj("a", "6"));
    await d2;
    e.event(NP, "update", obj("a", "6"), () => seen.push("echo of the second"));
    expect(seen).toEqual(["held by the first"]);
  });
});
