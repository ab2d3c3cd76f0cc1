// A finite, exact abstraction for set difference of access rules (pure).
//
// Every dimension of a flow (a label key of the peer's namespace, a label key of the peer pod, the
// port, the address) is cut into "atoms": classes of values that every rule involved treats alike.
// For a label key the atoms are: absent, each value some selector names, and "any other value"
// (every unnamed value behaves the same under In, NotIn, Exists, DoesNotExist and matchLabels). For
// ports and addresses they are the intervals between the boundaries the rules mention. A rule's
// peer × port is then a product of atom sets, a "cube", and a difference of unions of cubes is
// decided exactly by splitting cubes: no label selector, port range or CIDR is approximated.
import type { LabelRequirement, LabelSelector } from "./types.ts";

/** A set of atoms of one dimension: bit i is atom i. */
export type AtomSet = bigint;
/** One atom set per dimension: the product of them. Empty when any dimension is empty. */
export type Cube = readonly AtomSet[];

export function allAtoms(size: number): AtomSet {
  return (1n << BigInt(size)) - 1n;
}

export function atom(i: number): AtomSet {
  return 1n << BigInt(i);
}

export function has(set: AtomSet, i: number): boolean {
  return (set & atom(i)) !== 0n;
}

/** The atoms of a set, lowest first. */
export function atomsOf(set: AtomSet): number[] {
  const out: number[] = [];
  for (let i = 0, s = set; s !== 0n; i++, s >>= 1n) if ((s & 1n) === 1n) out.push(i);
  return out;
}

export function lowestAtom(set: AtomSet): number | undefined {
  if (set === 0n) return undefined;
  let i = 0;
  for (let s = set; (s & 1n) === 0n; s >>= 1n) i++;
  return i;
}

export function isEmpty(c: Cube): boolean {
  return c.some((s) => s === 0n);
}

function disjoint(a: Cube, b: Cube): boolean {
  return a.some((s, i) => (s & (b[i] ?? 0n)) === 0n);
}

/**
 * The part of `a` outside `b`, as disjoint cubes: for each dimension i in turn, the points of `a`
 * that agree with `b` on dimensions before i and differ on i.
 */
export function subtract(a: Cube, b: Cube): Cube[] {
  if (disjoint(a, b)) return [a];
  const inside = [...a];
  const pieces: Cube[] = [];
  for (let i = 0; i < inside.length; i++) {
    const cur = inside[i] ?? 0n;
    const bi = b[i] ?? 0n;
    const outside = cur & ~bi;
    if (outside === 0n) continue;
    const piece = [...inside];
    piece[i] = outside;
    pieces.push(piece);
    inside[i] = cur & bi;
  }
  return pieces;
}

/** How many cube splits a search may still make (shared by every search of one decision). */
export interface Budget {
  steps: number;
}

export const EXHAUSTED = "exhausted";

/**
 * A cube inside `c` and outside every cube of `minus` that `refine` accepts (refine narrows a cube
 * to its points that can exist, or says none can), found depth first; undefined when there is none;
 * EXHAUSTED when the budget ran out first (then nothing is known).
 */
export function firstOutside(
  c: Cube,
  minus: readonly Cube[],
  refine: (c: Cube) => Cube | undefined,
  budget: Budget,
  from = 0,
): Cube | undefined | typeof EXHAUSTED {
  if (isEmpty(c)) return undefined;
  for (let i = from; i < minus.length; i++) {
    const m = minus[i];
    if (m === undefined || disjoint(c, m)) continue;
    if (--budget.steps < 0) return EXHAUSTED;
    for (const piece of subtract(c, m)) {
      const r = firstOutside(piece, minus, refine, budget, i + 1);
      if (r !== undefined) return r;
    }
    return undefined;
  }
  return refine(c);
}

// ---- Label keys -------------------------------------------------------------------------------

/**
 * The atoms of one label key: 0 is "absent", 1..n the values some selector names (sorted), n+1
 * "any other value".
 */
export class LabelDimension {
  readonly values: readonly string[];
  readonly size: number;
  constructor(values: Iterable<string>) {
    this.values = [...new Set(values)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    this.size = this.values.length + 2;
  }

  get other(): number {
    return this.size - 1;
  }

  atomOf(value: string | undefined): number {
    if (value === undefined) return 0;
    const i = this.values.indexOf(value);
    return i < 0 ? this.other : i + 1;
  }

  /** A concrete value of atom i (undefined: absent). "Any other value" becomes one no rule names. */
  valueOf(i: number): string | undefined {
    if (i === 0) return undefined;
    if (i <= this.values.length) return this.values[i - 1];
    let n = 0;
    for (;;) {
      const v = n === 0 ? "other" : `other-${n}`;
      if (!this.values.includes(v)) return v;
      n++;
    }
  }

  equals(value: string): AtomSet {
    return atom(this.atomOf(value));
  }

  requirement(r: LabelRequirement): AtomSet {
    const named = r.values.reduce((s, v) => s | atom(this.atomOf(v)), 0n);
    switch (r.operator) {
      case "In":
        return named;
      case "NotIn":
        return allAtoms(this.size) & ~named;
      case "Exists":
        return allAtoms(this.size) & ~atom(0);
      case "DoesNotExist":
        return atom(0);
    }
  }
}

/** Label keys mapped to the dimensions of a cube, starting at `offset`. */
export class LabelSpace {
  readonly offset: number;
  readonly keys: readonly string[];
  readonly dims: readonly LabelDimension[];
  /** `first`, when given, takes the first dimension (cubes are split in dimension order). */
  constructor(offset: number, values: ReadonlyMap<string, Iterable<string>>, first?: string) {
    this.offset = offset;
    const sorted = [...values.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    this.keys =
      first !== undefined && values.has(first) ? [first, ...sorted.filter((k) => k !== first)] : sorted;
    this.dims = this.keys.map((k) => new LabelDimension(values.get(k) ?? []));
  }

  dimOf(key: string): number {
    const i = this.keys.indexOf(key);
    if (i < 0) throw new Error(`label key ${key} is not in the space`);
    return this.offset + i;
  }

  dimension(key: string): LabelDimension {
    const d = this.dims[this.keys.indexOf(key)];
    if (!d) throw new Error(`label key ${key} is not in the space`);
    return d;
  }

  /** Narrows `cube` (in place) to the label sets `selector` selects. */
  constrain(cube: AtomSet[], selector: LabelSelector): void {
    for (const [k, v] of Object.entries(selector.matchLabels)) {
      const d = this.dimOf(k);
      cube[d] = (cube[d] ?? 0n) & this.dimension(k).equals(v);
    }
    for (const r of selector.matchExpressions) {
      const d = this.dimOf(r.key);
      cube[d] = (cube[d] ?? 0n) & this.dimension(r.key).requirement(r);
    }
  }

  /** The label set of one point of `cube`: the lowest atom of each dimension. */
  pick(cube: Cube): Record<string, string> {
    const out: Record<string, string> = {};
    this.keys.forEach((k, i) => {
      const a = lowestAtom(cube[this.offset + i] ?? 0n) ?? 0;
      const v = this.dims[i]?.valueOf(a);
      if (v !== undefined) out[k] = v;
    });
    return out;
  }
}

// ---- Intervals (ports, addresses) -------------------------------------------------------------

/** [min, max] cut at every boundary of the given ranges (inclusive bounds). */
export class IntervalDimension {
  readonly atoms: readonly (readonly [bigint, bigint])[];
  constructor(min: bigint, max: bigint, ranges: Iterable<readonly [bigint, bigint]>) {
    const starts = new Set<bigint>([min]);
    for (const [lo, hi] of ranges) {
      if (lo > min && lo <= max) starts.add(lo);
      if (hi >= min && hi < max) starts.add(hi + 1n);
    }
    const sorted = [...starts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    this.atoms = sorted.map((s, i) => [s, (sorted[i + 1] ?? max + 1n) - 1n] as const);
  }

  get size(): number {
    return this.atoms.length;
  }

  /** The atoms inside [lo, hi]; exact for ranges given to the constructor. */
  range(lo: bigint, hi: bigint): AtomSet {
    // The first atom starting at or after lo (binary search), then every atom ending by hi.
    let first = 0;
    let end = this.atoms.length;
    while (first < end) {
      const mid = (first + end) >> 1;
      if ((this.atoms[mid]?.[0] ?? 0n) < lo) first = mid + 1;
      else end = mid;
    }
    let last = first;
    while (last < this.atoms.length && (this.atoms[last]?.[1] ?? 0n) <= hi) last++;
    return last === first ? 0n : allAtoms(last) & ~allAtoms(first);
  }
}
