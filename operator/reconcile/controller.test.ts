// The controller's event → key mapping on garbage: it never throws, odd objects map to no key, and
// through real informers (on a fake API server streaming garbage) only well-formed events of the
// kinds we watch reach the work queue.
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../config.ts";
import { Metrics } from "../observability/metrics.ts";
import type { KubeObjectLike } from "../runtime/client.ts";
import { fromClientNode } from "../runtime/kubeconfig.ts";
import { createLogger } from "../runtime/log.ts";
import { type FakeApi, startFakeApi } from "../../test-support/fake-api.ts";
import { Controller } from "./controller.ts";
import { ownerKey, ReferenceIndex } from "./mapping.ts";

const KEY = /^[^/]+(\/[^/]+)?$/;
const anyObject = fc.anything({ withNullPrototype: true, withObjectString: true, maxDepth: 4 });

describe("ownerKey", () => {
  const owned = (name: unknown, extra: Record<string, unknown> = {}) => ({
    metadata: {
      namespace: "ns",
      ownerReferences: [
        {
          apiVersion: "meshward.io/v1alpha1",
          kind: "ServiceSecurityProfile",
          name,
          uid: "u",
          controller: true,
        },
      ],
      ...extra,
    },
  });

  it("maps our objects to their profile or namespace", () => {
    expect(ownerKey(owned("api") as KubeObjectLike)).toBe("ns/api");
    expect(ownerKey({ metadata: { namespace: "ns", labels: { "meshward.io/profile": "web" } } })).toBe(
      "ns/web",
    );
    expect(ownerKey({ metadata: { namespace: "ns", labels: { "meshward.io/scope": "namespace" } } })).toBe(
      "ns",
    );
  });

  it("maps odd metadata to no key, without throwing", () => {
    for (const o of [
      {},
      { metadata: null },
      { metadata: "x" },
      { metadata: [] },
      { metadata: { namespace: 5 } },
      { metadata: { namespace: "" } },
      { metadata: { namespace: "a/b", labels: { "meshward.io/profile": "x" } } },
      { metadata: { namespace: "ns", labels: "x" } },
      { metadata: { namespace: "ns", labels: { "meshward.io/profile": 5 } } },
      { metadata: { namespace: "ns", labels: { "meshward.io/profile": "a/b" } } },
      { metadata: { namespace: "ns", ownerReferences: {} } },
      { metadata: { namespace: "ns", ownerReferences: [null, 5, "x"] } },
      owned(5),
      owned(""),
      owned("a/b"),
      owned(null),
    ])
      expect(ownerKey(o as KubeObjectLike)).toBeUndefined();
    // A bad owner reference falls back to the label.
    expect(ownerKey(owned(7, { labels: { "meshward.io/profile": "api" } }) as KubeObjectLike)).toBe("ns/api");
  });

  it("never throws and only gives namespace or namespace/name keys, whatever it is given", () => {
    fc.assert(
      fc.property(anyObject, anyObject, anyObject, anyObject, (meta, labels, refs, ns) => {
        for (const o of [
          { metadata: meta },
          { metadata: { namespace: ns, labels, ownerReferences: refs } },
          { metadata: { namespace: "ns", labels, ownerReferences: refs } },
          {
            metadata: {
              namespace: "ns",
              ownerReferences: [{ kind: "ServiceSecurityProfile", controller: true, name: ns }],
            },
          },
        ]) {
          const key = ownerKey(o as KubeObjectLike);
          if (key !== undefined) expect(key).toMatch(KEY);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("ReferenceIndex.refs", () => {
  it("never throws on a raw profile, whatever its spec and metadata hold", () => {
    fc.assert(
      fc.property(anyObject, anyObject, anyObject, (meta, spec, inner) => {
        for (const raw of [
          { metadata: meta, spec },
          {
            metadata: { namespace: "ns" },
            spec: { ingress: [inner, { from: [inner, { service: inner }] }], egress: { to: [inner] } },
          },
          { metadata: { namespace: inner }, spec: { ingress: inner, egress: inner } },
        ]) {
          const refs = ReferenceIndex.refs(raw as KubeObjectLike);
          for (const r of refs) expect(typeof r).toBe("string");
        }
      }),
      { numRuns: 2000 },
    );
    expect(ReferenceIndex.refs(null as unknown as KubeObjectLike)).toEqual(new Set());
  });
});

describe("Controller wiring on a garbage-streaming API server", () => {
  let api: FakeApi | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  it("queues keys only for well-formed events of the kinds it watches", async () => {
    const line = (type: string, object: unknown) => `${JSON.stringify({ type, object })}\n`;
    const garbage = [
      "garbage\n",
      "42\n",
      "null\n",
      line("ADDED", null),
      line("SURPRISE", { metadata: { name: "x" } }),
    ];
    const profile = (name: string) => ({
      apiVersion: "meshward.io/v1alpha1",
      kind: "ServiceSecurityProfile",
      metadata: { name, namespace: "pay", resourceVersion: "2", generation: 1 },
      spec: { selector: { app: name }, ingress: [{ from: [{ service: "shop/web" }] }] },
    });
    api = await startFakeApi({
      watch: (plural, _url, n) => {
        if (n > 1) return [];
        if (plural === "servicesecurityprofiles")
          return [
            ...garbage,
            line("ADDED", { ...profile("odd"), kind: "Pod" }), // not our kind
            line("ADDED", { ...profile("odd"), metadata: { name: 5, namespace: "pay" } }),
            line("ADDED", { ...profile("bad-spec"), spec: "garbage" }), // a profile, if an invalid one
            line("ADDED", profile("api")),
          ];
        if (plural === "networkpolicies")
          return [
            ...garbage,
            line("ADDED", { metadata: { name: "np1", namespace: "shop", ownerReferences: "x", labels: [] } }),
            line("ADDED", {
              metadata: {
                name: "np2",
                namespace: "shop",
                ownerReferences: [null],
                labels: { "meshward.io/profile": "web" },
              },
            }),
            line("ADDED", {
              metadata: {
                name: "meshward-default-deny",
                namespace: "mon",
                labels: { "meshward.io/scope": "namespace" },
              },
            }),
          ];
        return garbage;
      },
    });
    const sink: { level: string; msg: string }[] = [];
    const log = createLogger("debug", { write: (s: string) => void sink.push(JSON.parse(s)) });
    const controller = new Controller(loadConfig([], {}), fromClientNode(api.kubeConfig), log, new Metrics());
    const keys = new Set<string>();
    vi.spyOn(controller.queue, "add").mockImplementation((k: string) => void keys.add(k));
    const ctl = new AbortController();
    await controller.caches.start(ctl.signal);
    const expected = ["pay/bad-spec", "pay/api", "pay", "shop/web", "mon"];
    const deadline = Date.now() + 5_000;
    while (!expected.every((k) => keys.has(k)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    ctl.abort();
    expect([...keys].sort()).toEqual([...expected].sort());
    expect(controller.refs.referrers("shop/web")).toEqual(new Set(["pay/api"]));
    expect(sink.filter((l) => l.level === "error" || l.level === "warn")).toEqual([]);
  });
});
