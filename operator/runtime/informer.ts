// An informer that heals itself: paginated list, then watch from the list's resourceVersion;
// relist on 410 Gone; restart on any error with capped exponential backoff; a watchdog that
// reconnects a stream that has gone silent. It keeps a cache and tells handlers what changed.
// (client-node's own informer stops on errors and can go quiet; this one does not trust the
// stream to recover by itself.)
import { Backoff, sleep } from "./backoff.ts";
import {
  ApiError,
  apiVersionOf,
  type KubeClient,
  type KubeObjectLike,
  type Resource,
  resourceId,
  resourcePath,
  type WatchEvent,
} from "./client.ts";
import type { Logger } from "./log.ts";

export type InformerEventType = "add" | "update" | "delete";
export type InformerHandler<T> = (type: InformerEventType, obj: T, old: T | undefined) => void;
export type InformerState = "starting" | "synced" | "absent" | "error";

export interface InformerOptions {
  client: KubeClient;
  resource: Resource;
  /** Watch one namespace; undefined means all namespaces. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  pageSize?: number;
  /** Server-side watch timeout (seconds); the stream is resumed from the last resourceVersion. */
  watchTimeoutSeconds?: number;
  /** Watchdog: a stream with no event or bookmark for this long is reconnected. */
  silenceMs?: number;
  backoff?: { baseMs: number; maxMs: number };
  /** How long to wait before looking again for a resource the server does not serve (404). */
  absentRetryMs?: number;
  log: Logger;
  /** Reasons the informer restarted (relist, watch-error, silence, …), for metrics. */
  onRestart?: (reason: string) => void;
  /** Called when the state changes (e.g. absent → synced once a CRD is installed). */
  onStateChange?: (state: InformerState, previous: InformerState) => void;
  /**
   * Applied to every object before it is cached and handed to handlers (like controller-runtime's
   * cache transform): drop what no reader needs, so the cache holds only that. Must not throw.
   */
  transform?: (obj: KubeObjectLike) => KubeObjectLike;
  /** Secondary indexes: name → the index values of an object (see byIndex). */
  indexes?: Record<string, (obj: KubeObjectLike) => string | undefined>;
}

export function objectKey(o: KubeObjectLike): string {
  const m = o.metadata ?? {};
  return m.namespace ? `${m.namespace}/${m.name ?? ""}` : (m.name ?? "");
}

class SilenceError extends Error {}

export class Informer<T extends KubeObjectLike> {
  readonly resource: Resource;
  private readonly o: InformerOptions;
  private readonly cache = new Map<string, T>();
  /** index name → index value → object keys. */
  private readonly index = new Map<string, Map<string, Set<string>>>();
  private readonly handlers: InformerHandler<T>[] = [];
  private _state: InformerState = "starting";
  private syncWaiters: (() => void)[] = [];
  private wakeUp: AbortController | undefined;
  private running: Promise<void> | undefined;
  /** The last resourceVersion seen (list or watch event): where a resumed watch starts. */
  private lastRv = "";
  /**
   * When (Date.now()) the API server last answered: a list, a watch event or bookmark, a watch the
   * server ended normally, or a 404 for an absent resource; the start time before that. 0 until
   * start(). For the liveness check.
   */
  lastContact = 0;
  /** Relists, watch restarts, and watchdog reconnects since start. */
  readonly counters = { lists: 0, watches: 0, relists410: 0, errors: 0, silences: 0 };

  constructor(o: InformerOptions) {
    this.o = o;
    this.resource = o.resource;
    for (const name of Object.keys(o.indexes ?? {})) this.index.set(name, new Map());
  }

  on(h: InformerHandler<T>): void {
    this.handlers.push(h);
  }

  get state(): InformerState {
    return this._state;
  }

  /** True once the first list has completed (or the resource is known to be absent). */
  get synced(): boolean {
    return this._state === "synced" || this._state === "absent";
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  /** Cached objects whose index `name` has `value` (no scan of the cache). */
  byIndex(name: string, value: string): T[] {
    const keys = this.index.get(name)?.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const k of keys) {
      const o = this.cache.get(k);
      if (o) out.push(o);
    }
    return out;
  }

  /** How many cached objects index `name` has under `value`. */
  countByIndex(name: string, value: string): number {
    return this.index.get(name)?.get(value)?.size ?? 0;
  }

  /** Puts an object in the cache and its indexes (replacing the one under the same key). */
  private put(key: string, obj: T): void {
    const old = this.cache.get(key);
    if (old) this.unindex(key, old);
    this.cache.set(key, obj);
    for (const [name, fn] of Object.entries(this.o.indexes ?? {})) {
      const value = fn(obj);
      if (value === undefined) continue;
      const values = this.index.get(name) as Map<string, Set<string>>;
      const keys = values.get(value) ?? new Set<string>();
      keys.add(key);
      values.set(value, keys);
    }
  }

  private drop(key: string): void {
    const old = this.cache.get(key);
    if (!old) return;
    this.unindex(key, old);
    this.cache.delete(key);
  }

  private unindex(key: string, obj: T): void {
    for (const [name, fn] of Object.entries(this.o.indexes ?? {})) {
      const value = fn(obj);
      if (value === undefined) continue;
      const values = this.index.get(name);
      const keys = values?.get(value);
      keys?.delete(key);
      if (keys?.size === 0) values?.delete(value);
    }
  }

  /** The object as cached: transformed, with apiVersion and kind filled in. */
  private prepare(obj: T): T {
    obj.apiVersion ??= apiVersionOf(this.resource);
    obj.kind ??= this.resource.kind;
    return (this.o.transform ? this.o.transform(obj) : obj) as T;
  }

  get size(): number {
    return this.cache.size;
  }

  /**
   * Resolves once the cache is synced or `signal` aborts, also when it has aborted already (an
   * "abort" listener added then never fires: a caller awaiting several informers in turn would wait
   * forever once shutdown began).
   */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      this.syncWaiters.push(resolve);
      signal?.addEventListener("abort", () => resolve(), { once: true });
    });
  }

  /** Ends a backoff wait at once (e.g. the CRD of an absent resource has just appeared). */
  wake(): void {
    this.wakeUp?.abort();
  }

  start(signal: AbortSignal): Promise<void> {
    this.running ??= this.loop(signal);
    return this.running;
  }

  private setState(s: InformerState): void {
    const previous = this._state;
    this._state = s;
    if (previous !== s) this.o.onStateChange?.(s, previous);
    if (this.synced) {
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  private emit(type: InformerEventType, obj: T, old: T | undefined): void {
    for (const h of this.handlers) {
      try {
        h(type, obj, old);
      } catch (e) {
        this.o.log.error(
          { error: errorFields(e), resource: resourceId(this.resource) },
          "informer handler failed",
        );
      }
    }
  }

  /** An object of this informer's kind (or of no stated kind) with a name: nothing else is cached. */
  private acceptable(o: unknown): o is T {
    if (typeof o !== "object" || o === null || Array.isArray(o)) return false;
    const { kind, metadata: m } = o as { kind?: unknown; metadata?: unknown };
    if (kind !== undefined && kind !== this.resource.kind) return false;
    if (typeof m !== "object" || m === null) return false;
    const { name, namespace } = m as { name?: unknown; namespace?: unknown };
    return (
      typeof name === "string" && name !== "" && (namespace === undefined || typeof namespace === "string")
    );
  }

  private path(): string {
    return resourcePath(this.resource, this.o.namespace);
  }

  private query(): Record<string, string | undefined> {
    return { labelSelector: this.o.labelSelector, fieldSelector: this.o.fieldSelector };
  }

  /** Lists every page and replaces the cache, emitting the differences. Returns the resourceVersion. */
  private async relist(signal: AbortSignal): Promise<string> {
    this.counters.lists++;
    const fresh = new Map<string, T>();
    let cont: string | undefined;
    let rv: string;
    do {
      const page = await this.o.client.request<{
        items: T[];
        metadata: { resourceVersion: string; continue?: string };
      }>("GET", this.path(), {
        query: { ...this.query(), limit: this.o.pageSize ?? 500, continue: cont },
        signal,
        verb: "list",
      });
      if (!Array.isArray(page.items)) {
        throw new ApiError(0, "InvalidList", `list ${resourceId(this.resource)}: the answer has no items`);
      }
      for (const item of page.items) {
        // One odd item must not make every list fail (and the informer never sync): skip it.
        if (!this.acceptable(item)) continue;
        // List items come without apiVersion/kind; prepare() fills them in.
        fresh.set(objectKey(item), this.prepare(item));
      }
      cont = page.metadata.continue || undefined;
      rv = page.metadata.resourceVersion;
    } while (cont);
    // Deletions that happened while we were not watching are seen here, as differences.
    for (const [k, old] of this.cache) {
      if (!fresh.has(k)) {
        this.drop(k);
        this.emit("delete", old, old);
      }
    }
    for (const [k, obj] of fresh) {
      const old = this.cache.get(k);
      this.put(k, obj);
      if (!old) this.emit("add", obj, undefined);
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emit("update", obj, old);
    }
    return rv;
  }

  private clearAsAbsent(): void {
    for (const [k, old] of this.cache) {
      this.drop(k);
      this.emit("delete", old, old);
    }
  }

  private async loop(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff(this.o.backoff ?? { baseMs: 200, maxMs: 30_000 });
    const id = resourceId(this.resource);
    this.lastContact = Date.now();
    while (!signal.aborted) {
      // List (on start, after 410 Gone, or after the resource went away).
      try {
        this.lastRv = await this.relist(signal);
        this.lastContact = Date.now();
        this.setState("synced");
        backoff.reset();
      } catch (e) {
        if (signal.aborted) return;
        let waitMs: number;
        if (e instanceof ApiError && e.status === 404) {
          this.lastContact = Date.now();
          if (this._state !== "absent") {
            this.o.log.info({ resource: id }, "resource not served by the API server (CRD not installed?)");
          }
          this.clearAsAbsent();
          this.setState("absent");
          this.o.onRestart?.("absent");
          waitMs = this.o.absentRetryMs ?? 60_000;
        } else {
          this.counters.errors++;
          this.o.onRestart?.("error");
          if (this._state === "starting") this.setState("error");
          waitMs = backoff.next();
          this.o.log.warn(
            { resource: id, error: errorFields(e), retryInMs: waitMs },
            "list failed; retrying",
          );
        }
        await this.pause(waitMs, signal);
        continue;
      }
      // Watch from the last resourceVersion seen; a broken stream resumes from there (no relist),
      // 410 Gone means the window has expired: relist.
      while (!signal.aborted) {
        try {
          await this.watchOnce(signal);
          backoff.reset();
        } catch (e) {
          if (signal.aborted) return;
          if (e instanceof ApiError && e.status === 410) {
            this.counters.relists410++;
            this.o.onRestart?.("gone");
            this.o.log.info({ resource: id }, "watch window expired (410 Gone); relisting");
            break;
          }
          if (e instanceof ApiError && e.status === 404) break; // the resource went away: the list says so
          if (e instanceof SilenceError) {
            this.counters.silences++;
            this.o.onRestart?.("silence");
            this.o.log.warn({ resource: id }, "watch stream silent too long; reconnecting");
            continue;
          }
          this.counters.errors++;
          this.o.onRestart?.("error");
          const waitMs = backoff.next();
          this.o.log.warn(
            { resource: id, error: errorFields(e), retryInMs: waitMs },
            "watch failed; resuming",
          );
          await this.pause(waitMs, signal);
        }
      }
    }
  }

  private async pause(ms: number, signal: AbortSignal): Promise<void> {
    if (ms <= 0) return;
    this.wakeUp = new AbortController();
    await sleep(ms, AbortSignal.any([signal, this.wakeUp.signal]));
    this.wakeUp = undefined;
  }

  /**
   * One watch stream from the last resourceVersion seen. Returns when the server ends the stream
   * normally; throws ApiError(410) when the window has expired (relist), SilenceError when the
   * watchdog fires, or the error that broke the stream.
   */
  private async watchOnce(outer: AbortSignal): Promise<void> {
    this.counters.watches++;
    const ctl = new AbortController();
    const signal = AbortSignal.any([outer, ctl.signal]);
    const rv = this.lastRv;
    let lastActivity = Date.now();
    let silent = false;
    let gone: ApiError | undefined;
    const silenceMs = this.o.silenceMs ?? 150_000;
    const watchdog = setInterval(
      () => {
        if (Date.now() - lastActivity > silenceMs) {
          silent = true;
          ctl.abort();
        }
      },
      Math.min(5_000, silenceMs / 2),
    );
    watchdog.unref();
    const timeout = this.o.watchTimeoutSeconds ?? 240 + Math.floor(Math.random() * 120);
    try {
      await this.o.client.watch<T>(
        this.path(),
        { ...this.query(), resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: timeout },
        (ev: WatchEvent<T>) => {
          lastActivity = Date.now();
          this.lastContact = lastActivity;
          if (gone) return;
          if (ev.type === "ERROR") {
            const st = ev.object as unknown as { code?: number; reason?: string; message?: string };
            gone = new ApiError(st.code ?? 500, st.reason ?? "Unknown", st.message ?? "watch error");
            ctl.abort();
            return;
          }
          const newRv = ev.object?.metadata?.resourceVersion;
          if (typeof newRv === "string" && newRv) this.lastRv = newRv;
          if (ev.type === "BOOKMARK") return;
          // An object of another kind, or with garbled metadata, is not ours to cache.
          if (!this.acceptable(ev.object)) return;
          const obj = this.prepare(ev.object);
          const key = objectKey(obj);
          const old = this.cache.get(key);
          if (ev.type === "DELETED") {
            this.drop(key);
            this.emit("delete", obj, old);
          } else {
            this.put(key, obj);
            this.emit(old ? "update" : "add", obj, old);
          }
        },
        signal,
      );
    } finally {
      clearInterval(watchdog);
    }
    if (gone) throw gone;
    if (silent) throw new SilenceError("silent watch");
    // The server ended the stream (its timeout), not us.
    if (!signal.aborted) this.lastContact = Date.now();
  }
}

export function errorFields(e: unknown): Record<string, unknown> {
  if (e instanceof ApiError) return { status: e.status, reason: e.reason, message: e.message };
  if (e instanceof Error) return { message: e.message, name: e.name };
  return { message: String(e) };
}
