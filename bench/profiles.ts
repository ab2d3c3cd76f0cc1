// Reading V8's own profiles of the operator, for `npm run bench:memory`: a heap snapshot
// (`--heapsnapshot-signal`) summed by what the objects are, and a CPU profile (`--cpu-prof`) summed
// by function, or by the operator's areas, over a time window. Pure: the parsed JSON in, tables out.

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

export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

/** The parts of a .cpuprofile read here (Chrome DevTools' Profile). */
export interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame; children?: number[] }[];
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

/** An area of the operator's work: a sample is in it when a frame of its stack matches. */
export interface Area {
  name: string;
  test: (f: CallFrame) => boolean;
}

const inFile = (re: RegExp) => (f: CallFrame) => re.test(f.url);
const fn = (name: RegExp, file: RegExp) => (f: CallFrame) => name.test(f.functionName) && file.test(f.url);

/**
 * The operator's areas, most specific first: a sample goes to the first area that any frame of its
 * stack matches (so a validation run by a reconcile is validation, a request a reconcile starts is
 * the reconcile's). Node's own HTTP and TLS work on socket events comes last.
 */
export const OPERATOR_AREAS: Area[] = [
  { name: "reconciles: the platform's policies", test: inFile(/\/operator\/policy\//) },
  {
    name: "reconciles: validation",
    test: (f) =>
      inFile(/\/operator\/api\/validate/)(f) || fn(/^(validIn|validate)$/, /\/reconcile\/reconciler/)(f),
  },
  { name: "reconciles: the desired-hash stamp", test: fn(/^stamp$/, /\/reconcile\/shared/) },
  { name: "reconciles: the builders", test: inFile(/\/operator\/builders\//) },
  {
    name: "reconciles: status",
    test: (f) => inFile(/\/reconcile\/status/)(f) || f.functionName === "writeStatus",
  },
  { name: "Events", test: inFile(/\/reconcile\/events/) },
  {
    name: "reconciles: the rest (gather, plan, compare, start the writes)",
    test: inFile(/\/reconcile\/(reconciler|plan|compare|shared|api-writes|platform)\./),
  },
  {
    name: "watch streams: lines parsed, events handed to the caches",
    test: fn(/^stream$/, /\/runtime\/client\./),
  },
  {
    name: "caches: transform, intern, index, event mapping",
    test: inFile(/\/runtime\/(informer|intern|multi)\.|\/reconcile\/(cache|mapping|controller)\./),
  },
  { name: "requests: the client's code (bodies, responses)", test: inFile(/\/runtime\/client\./) },
  { name: "metrics and probes", test: inFile(/\/operator\/observability\//) },
  { name: "the work queue", test: inFile(/\/runtime\/queue\./) },
  {
    name: "requests: node's HTTP and TLS (socket events)",
    test: (f) =>
      /node:(_http_|net|tls|https|internal\/tls|internal\/stream)/.test(f.url) ||
      /^(writeUtf8String|writev|writeBuffer)$/.test(f.functionName),
  },
];

/**
 * Time by area over [fromUs, toUs] (as summarizeCpu): `(garbage collector)` and `(program)` samples
 * are their own rows, `(idle)` is left out, a sample no area matches is `other`. Largest first.
 */
export function cpuByArea(prof: CpuProfile, fromUs: number, toUs: number, areas = OPERATOR_AREAS): CpuRow[] {
  const length = prof.endTime - prof.startTime;
  const from = fromUs < 0 ? length + fromUs : fromUs;
  const to = toUs < 0 ? length + toUs : toUs;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  /** The area of a node's stack, worked out once per node. */
  const areaOf = new Map<number, string>();
  const area = (id: number): string => {
    const known = areaOf.get(id);
    if (known !== undefined) return known;
    const leaf = byId.get(id)?.callFrame.functionName ?? "";
    let name: string | undefined;
    if (leaf === "(garbage collector)" || leaf === "(program)" || leaf === "(idle)") name = leaf;
    else {
      const stack: CallFrame[] = [];
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const frame = byId.get(cur)?.callFrame;
        if (frame) stack.push(frame);
      }
      name = areas.find((a) => stack.some(a.test))?.name ?? "other";
    }
    areaOf.set(id, name);
    return name;
  };
  const by = new Map<string, number>();
  let t = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    t += prof.timeDeltas[i] ?? 0;
    if (t < from || t > to) continue;
    const what = area(prof.samples[i] as number);
    if (what === "(idle)") continue;
    by.set(what, (by.get(what) ?? 0) + (prof.timeDeltas[i + 1] ?? 0));
  }
  return [...by.entries()].map(([what, us]) => ({ what, ms: us / 1000 })).sort((a, b) => b.ms - a.ms);
}
