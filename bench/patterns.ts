// `npm run bench:patterns`: the secrets guardrail's key-pattern matcher (operator/policy/patterns.ts)
// on inputs that make the RegExp it replaced backtrack: 16-star patterns against a 512-character
// key of a's, failing on the last character, failing on a middle part (the search scans the whole
// key), and matching. Prints the comparisons of one match and the mean time of one match over
// many; the figures go in docs/benchmarks.md.
//
//   npm run bench:patterns -- [--iterations 20000]
import { commandOptions } from "./args.ts";
import { globMatches, type MatchCounter } from "../operator/policy/patterns.ts";

const args = commandOptions(
  "npm run bench:patterns",
  "The key-pattern matcher on a 16-star pattern and a 512-character key.",
  { iterations: { type: "number", default: 20_000, min: 1, help: "matches timed per case" } },
);

const cases = [
  { name: "last character differs", pattern: `${"a*".repeat(16)}b`, key: "a".repeat(512), want: false },
  { name: "middle part missing", pattern: `${"a*".repeat(15)}b*a`, key: "a".repeat(512), want: false },
  { name: "match", pattern: `${"a*".repeat(16)}b`, key: `${"a".repeat(511)}b`, want: true },
];

for (const c of cases) {
  const pattern = c.pattern;
  const counter: MatchCounter = { steps: 0 };
  const got = globMatches(pattern, c.key, counter);
  if (got !== c.want) throw new Error(`${c.name}: expected ${c.want}, got ${got}`);
  const bound = (pattern.length + 1) * (c.key.length + 1);
  let hits = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < args.iterations; i++) if (globMatches(pattern, c.key)) hits++;
  const ns = Number(process.hrtime.bigint() - start) / args.iterations;
  if (hits !== (c.want ? args.iterations : 0)) throw new Error(`${c.name}: inconsistent results`);
  console.log(
    `${c.name}: pattern ${JSON.stringify(pattern)}, key ${c.key.length} characters, ${counter.steps} comparisons (bound (p+1)(k+1) = ${bound}), ` +
      `${(ns / 1000).toFixed(2)} µs per match (mean of ${args.iterations})`,
  );
}
