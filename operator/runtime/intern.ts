// String interning for cached objects. JSON.parse makes a new string for every value it reads, so
// a cache holds the same apiVersion, kind, namespace, label value, owner name and condition message
// once per object: at 1,000 profiles, 5.4 of 12.6 MB of the operator's live strings were such
// copies (heap snapshot, docs/benchmarks.md). An Interner hands out one copy of each value instead.
// Its table is bounded: when it is full it starts over, so values that come and go (timestamps,
// deleted objects' names) cost at most `max` entries, and strings already cached stay valid.

export interface InternOptions {
  /** Entries before the table starts over (default 100,000). */
  max?: number;
  /** Longer strings are left alone: they are seldom repeated (default 256). */
  maxLength?: number;
  /** Keys whose values are unique per object (a uid, a resourceVersion): never interned. */
  skip?: ReadonlySet<string>;
}

export class Interner {
  private table = new Map<string, string>();
  private readonly max: number;
  private readonly maxLength: number;
  private readonly skip: ReadonlySet<string>;
  /** How many times the table started over (for tests). */
  restarts = 0;

  constructor(o: InternOptions = {}) {
    this.max = o.max ?? 100_000;
    this.maxLength = o.maxLength ?? 256;
    this.skip = o.skip ?? new Set();
  }

  /** The table's copy of `s` (`s` itself the first time it is seen). */
  string(s: string): string {
    if (s.length > this.maxLength) return s;
    const held = this.table.get(s);
    if (held !== undefined) return held;
    if (this.table.size >= this.max) {
      this.table = new Map();
      this.restarts++;
    }
    this.table.set(s, s);
    return s;
  }

  /**
   * Replaces, in place, every string value in a JSON tree (objects and arrays; not keys) by its
   * interned copy, except the values of the `skip` keys. Returns the same tree. Equal strings are
   * indistinguishable, so no reader of the tree can tell.
   */
  tree<T>(value: T): T {
    this.walk(value, 0);
    return value;
  }

  get size(): number {
    return this.table.size;
  }

  private walk(v: unknown, depth: number): void {
    // Kubernetes objects are shallow; a deeper tree is not walked further (no stack risk).
    if (depth > 32 || typeof v !== "object" || v === null) return;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const item: unknown = v[i];
        if (typeof item === "string") v[i] = this.string(item);
        else this.walk(item, depth + 1);
      }
      return;
    }
    const o = v as Record<string, unknown>;
    for (const k in o) {
      const item = o[k];
      if (typeof item === "string") {
        if (!this.skip.has(k)) o[k] = this.string(item);
      } else this.walk(item, depth + 1);
    }
  }
}
