// Reading V8's own profiles of the operator, for `npm run bench:memory`: a heap snapshot
// (`--heapsnapshot-signal`) summed by what the objects are, and a CPU profile (`--cpu-prof`) summed
// by function over a time window. Pure: the parsed JSON in, tables out.

/** The parts of a .heapsnapshot file read here (V8's format: flat arrays described by `meta`). */
export interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: unknown[] } };
  nodes: number[];
  strings: string[];
}

export interface HeapRow {
  /** `type` for most nodes; `object: Name` for objects (by constructor), `closure: name`. */
  what: string;
  count: number;
  bytes: number;
}

/** Self sizes summed by node type and, for objects and closures, by name; largest first. */
export function summarizeHeap(snap: HeapSnapshot, top = 20): { totalBytes: number; rows: HeapRow[] } {
  const fields = snap.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const types = snap.snapshot.meta.node_types[0];
  if (typeAt < 0 || nameAt < 0 || sizeAt < 0 || !Array.isArray(types))
    throw new Error("not a V8 heap snapshot: meta.node_fields lacks type, name or self_size");
  const by = new Map<string, HeapRow>();
  let totalBytes = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = String(types[snap.nodes[i + typeAt] as number]);
    const size = snap.nodes[i + sizeAt] as number;
    totalBytes += size;
    const name = snap.strings[snap.nodes[i + nameAt] as number] ?? "";
    const what =
      type === "object" || type === "closure" || type === "native"
        ? `${type}: ${name.slice(0, 60) || "(anonymous)"}`
        : type;
    const row = by.get(what) ?? { what, count: 0, bytes: 0 };
    row.count++;
    row.bytes += size;
    by.set(what, row);
  }
  const rows = [...by.values()].sort((a, b) => b.bytes - a.bytes).slice(0, top);
  return { totalBytes, rows };
}

/** The parts of a .cpuprofile read here (Chrome DevTools' Profile). */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface CpuRow {
  what: string;
  ms: number;
}

/**
 * Self time by function over [fromUs, toUs] (microseconds after the profile's start; negative
 * values count back from its end). `busyMs` is every sample but `(idle)`.
 */
export function summarizeCpu(
  prof: CpuProfile,
  fromUs: number,
  toUs: number,
  top = 15,
): { windowMs: number; busyMs: number; rows: CpuRow[] } {
  const length = prof.endTime - prof.startTime;
  const from = fromUs < 0 ? length + fromUs : fromUs;
  const to = toUs < 0 ? length + toUs : toUs;
  const frames = new Map(prof.nodes.map((n) => [n.id, n.callFrame]));
  const by = new Map<string, number>();
  let t = 0;
  let busy = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i] ?? 0;
    t += dt;
    if (t < from || t > to) continue;
    // A sample stands for the time until the next one.
    const span = prof.timeDeltas[i + 1] ?? 0;
    const f = frames.get(prof.samples[i] as number);
    if (!f) continue;
    if (f.functionName === "(idle)") continue;
    const file = f.url.replace(/^.*\/(node_modules\/|operator\/)/, "$1");
    const what = f.url
      ? `${f.functionName || "(anonymous)"} ${file}:${f.lineNumber + 1}`
      : f.functionName || "(anonymous)";
    by.set(what, (by.get(what) ?? 0) + span);
    busy += span;
  }
  const rows = [...by.entries()]
    .map(([what, us]) => ({ what, ms: us / 1000 }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, top);
  return { windowMs: (to - from) / 1000, busyMs: busy / 1000, rows };
}
