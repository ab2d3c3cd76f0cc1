// Progress of the test bed's long steps (a first `go build` of istioctl takes about 9 minutes): a
// line every PROGRESS_EVERY_MS while the step runs, with the step, the time it has taken so far and
// how to follow its log, so a CI log or a terminal never goes quiet for longer than that.

/** Under the 30 s a reader (or a CI system's no-output timeout) should ever wait for a line. */
export const PROGRESS_EVERY_MS = 20_000;

/** 0:45 → "45 s", 528 s → "8 min 48 s", 2 h → "120 min 0 s". */
export function formatElapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** The progress line of `step` after `elapsedMs`; `logFile`, when given, is how to follow it. */
export function progressLine(step: string, elapsedMs: number, logFile?: string): string {
  return `${step}: still running, ${formatElapsed(elapsedMs)} so far${logFile ? `; follow it: tail -f ${logFile}` : ""}`;
}

/**
 * Writes a progress line for `step` every `everyMs` until the returned function is called. Uses
 * the global timers and clock, so a test can drive it with fake timers.
 */
export function startProgress(
  step: string,
  write: (line: string) => void,
  opts: { logFile?: string; everyMs?: number } = {},
): () => void {
  const started = Date.now();
  const timer = setInterval(
    () => write(progressLine(step, Date.now() - started, opts.logFile)),
    opts.everyMs ?? PROGRESS_EVERY_MS,
  );
  // The step itself (a child process, a lock being polled) keeps the process alive, not this.
  timer.unref();
  return () => clearInterval(timer);
}
