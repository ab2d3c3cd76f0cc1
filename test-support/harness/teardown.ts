// One tear-down for the commands that start things (bench, soak, demo): each thing started registers
// how to undo it; the steps run once, last registered first, whether the command succeeds, fails or
// is stopped with Ctrl-C (SIGINT) or SIGTERM.

export type Step = () => Promise<void> | void;

/** What runCommand needs of `process` (a fake one in unit tests). */
export interface ProcessLike {
  on(event: "SIGINT" | "SIGTERM", listener: () => void): unknown;
  exit(code: number): void;
}

export class Teardown {
  readonly #log: (message: string) => void;
  readonly #steps: { what: string; fn: Step }[] = [];
  #running: Promise<void> | undefined;

  constructor(log: (message: string) => void) {
    this.#log = log;
  }

  /** True once the tear-down has begun. */
  get started(): boolean {
    return this.#running !== undefined;
  }

  /**
   * Registers a step; returns a function that removes it (when the command undoes the thing itself).
   * A step added once the tear-down has begun (the command went on after a signal) runs after it.
   */
  add(what: string, fn: Step): () => void {
    const step = { what, fn };
    if (this.#running) {
      this.#running = this.#running.then(() => this.#runStep(step));
      return () => undefined;
    }
    this.#steps.push(step);
    return () => {
      const i = this.#steps.indexOf(step);
      if (i >= 0) this.#steps.splice(i, 1);
    };
  }

  /** Runs every step once, last registered first; a failing step is logged and the others still run. */
  run(): Promise<void> {
    this.#running ??= (async () => {
      for (const step of this.#steps.splice(0).reverse()) await this.#runStep(step);
    })();
    return this.#running;
  }

  async #runStep(step: { what: string; fn: Step }): Promise<void> {
    try {
      await step.fn();
    } catch (e) {
      this.#log(`clean-up: ${step.what} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

/** The error's message, after its HTTP status when it has one (an ApiError). */
function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const status = (e as { status?: unknown }).status;
  return typeof status === "number" ? `${status} ${e.message}` : e.message;
}

export interface RunOptions {
  /** Exit code after SIGINT/SIGTERM (default 130; the demo, whose normal end is Ctrl-C, uses 0). */
  signalExitCode?: number;
  /** Where failures are written (default stderr). */
  error?: (message: string) => void;
}

/**
 * Runs `main`, then the tear-down, and exits: 0 when main resolves, 1 when it fails (the error is
 * written first). SIGINT or SIGTERM tears down and exits with `signalExitCode`, whatever main then
 * does; a second signal exits at once with 1.
 */
export async function runCommand(
  name: string,
  main: () => Promise<void>,
  teardown: Teardown,
  opts: RunOptions = {},
  proc: ProcessLike = process,
): Promise<void> {
  const error = opts.error ?? ((m: string) => process.stderr.write(`${m}\n`));
  let signalled = false;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    proc.on(sig, () => {
      if (signalled) return proc.exit(1);
      signalled = true;
      error(`${name}: ${sig}, cleaning up…`);
      void teardown.run().then(() => proc.exit(opts.signalExitCode ?? 130));
    });
  }
  let code = 0;
  try {
    await main();
  } catch (e) {
    code = 1;
    if (!signalled) error(`${name} failed: ${describe(e)}`);
  }
  await teardown.run();
  // After a signal, its handler exits (with its own code) once the tear-down is done.
  if (!signalled) proc.exit(code);
}
