// A vitest reporter that keeps a CI log from going silent. Vitest's default reporter prints a test
// file's results when the file ends, so a log can stay silent for minutes inside an e2e file; this
// prints `[vitest] still running: <file> > <test> (N s; M tests done)` when `everyMs` have passed
// since a file last ended (the default reporter's output) or since its own last line, and nothing
// while no file runs. `.ci/run` measures the log's longest silence.
import type { Reporter, TestCase, TestModule } from "vitest/node";

export interface HeartbeatOptions {
  everyMs?: number;
  write?: (line: string) => void;
  now?: () => number;
}

export default class HeartbeatReporter implements Reporter {
  readonly #everyMs: number;
  readonly #write: (line: string) => void;
  readonly #now: () => number;
  /** The files and the tests running now, by id, with when they started. */
  readonly #modules = new Map<string, { label: string; since: number }>();
  readonly #tests = new Map<string, { label: string; since: number }>();
  #done = 0;
  /** When the log last got a line that this reporter knows of. */
  #spoke = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(o: HeartbeatOptions = {}) {
    this.#everyMs = o.everyMs ?? 20_000;
    this.#write = o.write ?? ((line) => process.stdout.write(line));
    this.#now = o.now ?? Date.now;
  }

  onTestRunStart(): void {
    this.#spoke = this.#now();
    // Checked every second, so a silence ends `everyMs` after it began, give or take a second.
    this.#timer = setInterval(() => this.#beat(), Math.min(1_000, this.#everyMs));
    this.#timer.unref();
  }

  onTestModuleStart(module: TestModule): void {
    this.#modules.set(module.id, { label: module.relativeModuleId, since: this.#now() });
  }

  onTestModuleEnd(module: TestModule): void {
    this.#modules.delete(module.id);
    this.#spoke = this.#now(); // the default reporter prints the file now
  }

  onTestCaseReady(test: TestCase): void {
    this.#tests.set(test.id, {
      label: `${test.module.relativeModuleId} > ${test.fullName}`,
      since: this.#now(),
    });
  }

  onTestCaseResult(test: TestCase): void {
    this.#tests.delete(test.id);
    this.#done++;
  }

  onTestRunEnd(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#modules.clear();
    this.#tests.clear();
  }

  #beat(): void {
    const now = this.#now();
    if (now - this.#spoke < this.#everyMs) return;
    // The test running longest, or else the file (its hooks run outside any test).
    const oldest = (m: Map<string, { label: string; since: number }>) =>
      [...m.values()].sort((a, b) => a.since - b.since)[0];
    const what = oldest(this.#tests) ?? oldest(this.#modules);
    if (!what) return;
    this.#spoke = now;
    this.#write(
      `[vitest] still running: ${what.label} (${Math.round((now - what.since) / 1000)} s; ${this.#done} tests done)\n`,
    );
  }
}
