// What the caches keep of an object: enough for drift detection and Conflict messages, nothing more.
import { describe, expect, it } from "vitest";
import type { KubeObjectLike } from "../runtime/client.ts";
import { cacheInterner, leanNamespace, leanObject } from "./cache.ts";
import { driftPaths } from "./compare.ts";

const live: KubeObjectLike = {
  apiVersion: "external-secrets.io/v1",
  kind: "ExternalSecret",
  metadata: {
    name: "db",
    namespace: "ns",
    uid: "u",
    labels: { a: "b" },
    annotations: {
      "meshward.io/desired-hash": "h",
      "kubectl.kubernetes.io/last-applied-configuration": "{…}",
    },
    managedFields: [
      { manager: "meshward", operation: "Apply", time: "t" },
      { manager: "meshward", operation: "Apply", time: "t", subresource: "status" },
      { manager: "kubectl", operation: "Update", time: "t" },
    ],
  },
  spec: { refreshInterval: "1h", target: { name: "db" } },
  status: { conditions: [{ type: "Ready", status: "True" }] },
};

describe("leanObject", () => {
  it("keeps metadata, spec and the managers' names; drops managedFields' details and last-applied", () => {
    const lean = leanObject(structuredClone(live), false);
    expect(lean.metadata).toEqual({
      name: "db",
      namespace: "ns",
      uid: "u",
      labels: { a: "b" },
      annotations: { "meshward.io/desired-hash": "h" },
      managedFields: [{ manager: "meshward" }, { manager: "kubectl" }],
    });
    expect(lean.status).toBeUndefined();
    expect(lean.spec).toEqual(live.spec);
  });

  it("keeps the status where a reader needs it", () => {
    expect(leanObject(structuredClone(live), true).status).toEqual(live.status);
  });

  it("changes no drift decision: the desired object compares the same with the lean copy", () => {
    const desired = {
      apiVersion: live.apiVersion,
      kind: live.kind,
      metadata: {
        name: "db",
        namespace: "ns",
        labels: { a: "b" },
        annotations: { "meshward.io/desired-hash": "h" },
      },
      spec: { refreshInterval: "2h", target: { name: "db" } },
    };
    expect(driftPaths(desired, leanObject(structuredClone(live), false))).toEqual(driftPaths(desired, live));
  });

  it("interning the strings changes neither the cached object nor a drift decision", () => {
    const strings = cacheInterner();
    const plain = leanObject(structuredClone(live), true);
    const interned = leanObject(structuredClone(live), true, strings);
    expect(interned).toEqual(plain);
    // Repeated values are held once; the uid (unique to the object) is not held at all.
    leanObject(structuredClone(live), true, strings);
    expect(strings.size).toBe(
      new Set([
        "external-secrets.io/v1",
        "ExternalSecret",
        "db",
        "ns",
        "b",
        "h",
        "meshward",
        "kubectl",
        "1h",
        "Ready",
        "True",
      ]).size,
    );
    expect(leanNamespace({ metadata: { name: "ns", uid: "x", labels: { team: "a" } } }, strings)).toEqual({
      apiVersion: undefined,
      kind: undefined,
      metadata: { name: "ns", uid: "x", labels: { team: "a" } },
    });
  });
});
