import { describe, expect, it } from "vitest";
import { cpuByArea, type CpuProfile, type HeapSnapshot, summarizeCpu, summarizeHeap } from "./profiles.ts";

describe("summarizeHeap", () => {
  // Fields as V8 writes them; types: 0 hidden, 1 array, 2 string, 3 object, 5 closure.
  const snap: HeapSnapshot = {
    snapshot: {
      meta: {
        node_fields: ["type", "name", "id", "self_size", "edge_count", "trace_node_id", "detachedness"],
        node_types: [["hidden", "array", "string", "object", "code", "closure"], "string"],
      },
    },
    strings: ["", "Map", "hello", "Object", "reconcile"],
    nodes: [
      [3, 1, 1, 100, 0, 0, 0],
      [3, 1, 3, 60, 0, 0, 0],
      [3, 3, 5, 40, 0, 0, 0],
      [2, 2, 7, 500, 0, 0, 0],
      [2, 2, 9, 20, 0, 0, 0],
      [5, 4, 11, 30, 0, 0, 0],
      [1, 0, 13, 7, 0, 0, 0],
    ].flat(),
  };

  it("sums self sizes by type, and objects and closures by name, largest first", () => {
    const { totalBytes, rows } = summarizeHeap(snap);
    expect(totalBytes).toBe(757);
    expect(rows).toEqual([
      { what: "string", count: 2, bytes: 520 },
      { what: "object: Map", count: 2, bytes: 160 },
      { what: "object: Object", count: 1, bytes: 40 },
      { what: "closure: reconcile", count: 1, bytes: 30 },
      { what: "array", count: 1, bytes: 7 },
    ]);
    expect(summarizeHeap(snap, 2).rows).toHaveLength(2);
  });

  it("refuses a file that is not a heap snapshot", () => {
    const bad = { ...snap, snapshot: { meta: { node_fields: ["id"], node_types: [[]] } } };
    expect(() => summarizeHeap(bad)).toThrow(/not a V8 heap snapshot/);
  });
});

describe("summarizeCpu", () => {
  const prof: CpuProfile = {
    nodes: [
      { id: 1, callFrame: { functionName: "(idle)", url: "", lineNumber: -1 } },
      { id: 2, callFrame: { functionName: "beat", url: "file:///app/operator/x.js", lineNumber: 9 } },
      { id: 3, callFrame: { functionName: "(garbage collector)", url: "", lineNumber: -1 } },
    ],
    startTime: 0,
    endTime: 10_000,
    // Samples at 1000, 2000, …, 9000 µs; each lasts until the next.
    samples: [1, 2, 2, 3, 1, 1, 2, 1, 1],
    timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
  };

  it("sums self time by function inside the window, without (idle)", () => {
    const all = summarizeCpu(prof, 0, 10_000);
    expect(all.windowMs).toBe(10);
    expect(all.rows).toEqual([
      { what: "beat operator/x.js:10", ms: 3 },
      { what: "(garbage collector)", ms: 1 },
    ]);
    expect(all.busyMs).toBe(4);
  });

  it("counts back from the end for negative bounds", () => {
    // The last 4 ms: samples at 6000 … 9000 µs.
    const tail = summarizeCpu(prof, -4000, -0.0001);
    expect(tail.rows).toEqual([{ what: "beat operator/x.js:10", ms: 1 }]);
    expect(tail.busyMs).toBe(1);
  });
});

describe("cpuByArea", () => {
  const frame = (functionName: string, file: string) => ({
    functionName,
    url: file ? `file:///app/dist/operator/${file}` : "",
    lineNumber: 0,
  });
  // (root) → reconcileProfile → validIn → validateProfile; reconcileProfile → send (a request it
  // starts); (root) → stream → put (a watch event into a cache); (root) → socketOnData; GC; idle.
  const prof: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame("(root)", ""), children: [2, 5, 7, 8, 9, 10] },
      { id: 2, callFrame: frame("reconcileProfile", "reconcile/reconciler.js"), children: [3, 6] },
      { id: 3, callFrame: frame("validIn", "reconcile/reconciler.js"), children: [4] },
      { id: 4, callFrame: frame("validateProfile", "api/validate.js") },
      { id: 5, callFrame: frame("stream", "runtime/client.js"), children: [11] },
      { id: 6, callFrame: frame("send", "runtime/client.js") },
      { id: 7, callFrame: { functionName: "socketOnData", url: "node:_http_client", lineNumber: 0 } },
      { id: 8, callFrame: frame("(garbage collector)", "") },
      { id: 9, callFrame: frame("(idle)", "") },
      { id: 10, callFrame: frame("beat", "somewhere.js") },
      { id: 11, callFrame: frame("put", "runtime/informer.js") },
    ],
    startTime: 0,
    endTime: 10_000,
    // Each sample lasts until the next (1 ms); the last one has no length.
    samples: [4, 4, 6, 11, 7, 8, 9, 10, 3, 1],
    timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
  };

  it("puts each sample in the most specific area on its stack", () => {
    expect(cpuByArea(prof, 0, 10_000)).toEqual([
      { what: "reconciles: validation", ms: 3 },
      { what: "reconciles: the rest (gather, plan, compare, start the writes)", ms: 1 },
      { what: "watch streams: lines parsed, events handed to the caches", ms: 1 },
      { what: "requests: node's HTTP and TLS (socket events)", ms: 1 },
      { what: "(garbage collector)", ms: 1 },
      { what: "other", ms: 1 },
    ]);
  });

  it("keeps to the window", () => {
    // Samples at 5000 … 7000 µs: socketOnData, GC, idle.
    expect(cpuByArea(prof, 4500, 7500)).toEqual([
      { what: "requests: node's HTTP and TLS (socket events)", ms: 1 },
      { what: "(garbage collector)", ms: 1 },
    ]);
  });
});
