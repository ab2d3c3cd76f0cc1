// The abort signal of the work running now, for the requests it makes: the work queue gives each
// reconcile a signal (aborted at shutdown), and every request the reconcile makes, however deep,
// carries it without passing it through each call.
import { AsyncLocalStorage } from "node:async_hooks";

/**
 * The abort signal of the work running now (a reconcile, given by the work queue), for the
 * requests it makes: `run` scopes a signal to a call and everything it awaits; `current` reads it.
 */
export class SignalScope {
  readonly #store = new AsyncLocalStorage<AbortSignal>();

  run<T>(signal: AbortSignal, fn: () => T): T {
    return this.#store.run(signal, fn);
  }

  current(): AbortSignal | undefined {
    return this.#store.getStore();
  }
}
