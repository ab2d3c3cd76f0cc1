// A vitest reporter that says which test is still running when one runs long. Vitest's default
// reporter prints a test file's results when the file ends, so a CI log can stay silent for minutes
// inside an e2e file; this prints `[vitest] still running: <file> > <test> (N s)` every `everyMs`
// while a test runs, and nothing else. `.ci/run` measures the log's longest silence.
import type { Reporter, TestCase } from "vitest/node";

export interface HeartbeatOptions {
  everyMs?: number;
  write?: (line: string) => void;
  now?: () => number;
}

export default class HeartbeatReporter implements Reporter {
  readonly #everyMs: number;
  readonly #write: (line: string) => void;
  readonly #now: () => number;
  /** The tests running now (files run one at a time in e2e; unit files may overlap), by id. */
  readonly #running = new Map<string, { label: string; since: number; said: number }>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(o: HeartbeatOptions = {}) {
    this.#everyMs = o.everyMs ?? 20_000;
    this.#write = o.write ?? ((line) => process.stdout.write(line));
    this.#now = o.now ?? Date.now;
  }

  onTestRunStart(): void {
    // Checked every second, so each test is named `everyMs` after it started, then every `everyMs`.
    this.#timer = setInterval(() => this.#beat(), Math.min(1_000, this.#everyMs));
    this.#timer.unref();
  }

  onTestCaseReady(test: TestCase): void {
    const now = this.#now();
    this.#running.set(test.id, {
      label: `${test.module.relativeModuleId} > ${test.fullName}`,
      since: now,
      said: now,
    });
  }

  onTestCaseResult(test: TestCase): void {
    this.#running.delete(test.id);
  }

  onTestRunEnd(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#running.clear();
  }

  #beat(): void {
    const now = this.#now();
    for (const t of this.#running.values())
      if (now - t.said >= this.#everyMs) {
        t.said = now;
        this.#write(`[vitest] still running: ${t.label} (${Math.round((now - t.since) / 1000)} s)\n`);
      }
  }
}
