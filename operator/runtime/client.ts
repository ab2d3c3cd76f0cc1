// A thin Kubernetes API client: JSON requests and watch streams over the kubeconfig's transport
// (authentication and TLS from kubeconfig.ts). Generic: it knows resources, not kinds.
import * as http from "node:http";
import * as https from "node:https";
import { type ClusterData, fromClientNode, type KubeConfigSource, type UserData } from "./kubeconfig.ts";

/** A client-node KubeConfig, read through its getters (client-node itself is not imported). */
type ClientNodeConfig = { getCurrentCluster(): ClusterData | null; getCurrentUser(): UserData | null };

/** Where a kind lives in the API. */
export interface Resource {
  group: string; // "" for the core group
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export function apiVersionOf(r: Resource): string {
  return r.group === "" ? r.version : `${r.group}/${r.version}`;
}

/** An object's identity metadata only (name, namespace, uid, resourceVersion): a cache transform's base. */
export function identityMetadata(o: KubeObjectLike): NonNullable<KubeObjectLike["metadata"]> {
  const m = o.metadata ?? {};
  const metadata: NonNullable<KubeObjectLike["metadata"]> = {};
  if (m.name !== undefined) metadata.name = m.name;
  if (m.namespace !== undefined) metadata.namespace = m.namespace;
  if (m.uid !== undefined) metadata.uid = m.uid;
  if (m.resourceVersion !== undefined) metadata.resourceVersion = m.resourceVersion;
  return metadata;
}

export function resourceId(r: Resource): string {
  return `${r.plural}${r.group === "" ? "" : `.${r.group}`}`;
}

export function resourcePath(r: Resource, namespace?: string, name?: string, subresource?: string): string {
  const base = r.group === "" ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  const ns = r.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  const n = name ? `/${encodeURIComponent(name)}` : "";
  const sub = subresource ? `/${subresource}` : "";
  return `${base}${ns}/${r.plural}${n}${sub}`;
}

/** An error answer from the API server (or the network: status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly retryAfterMs: number | undefined;
  readonly details: unknown;
  constructor(status: number, reason: string, message: string, retryAfterMs?: number, details?: unknown) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.reason = reason;
    this.retryAfterMs = retryAfterMs;
    this.details = details;
  }
}

export interface KubeObjectLike {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
    managedFields?: { manager?: string; operation?: string; time?: string; subresource?: string }[];
    deletionTimestamp?: string;
    creationTimestamp?: string;
  };
  [k: string]: unknown;
}

export interface ListResult<T> {
  items: T[];
  metadata: { resourceVersion: string; continue?: string };
}

export interface WatchEvent<T> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

const WATCH_EVENT_TYPES: ReadonlySet<unknown> = new Set([
  "ADDED",
  "MODIFIED",
  "DELETED",
  "BOOKMARK",
  "ERROR",
]);

/** A watch line that is an event of a type we know, about an object. */
function isWatchEvent(v: unknown): v is WatchEvent<unknown> {
  if (typeof v !== "object" || v === null) return false;
  const { type, object } = v as { type?: unknown; object?: unknown };
  return (
    WATCH_EVENT_TYPES.has(type) && typeof object === "object" && object !== null && !Array.isArray(object)
  );
}

/** Called once per request with the verb and the status code (0 for network errors). */
export type RequestObserver = (verb: string, resource: string, code: number) => void;

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** The Accept header; JSON unless given (e.g. a server-side Table, as kubectl get asks for). */
  accept?: string;
  signal?: AbortSignal;
  /** Name for metrics (list, watch, get, apply, patch, create, update, delete). */
  verb?: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_THROTTLED_ATTEMPTS = 5;

export class KubeClient {
  readonly source: KubeConfigSource;
  private readonly server: string;
  private readonly observers: RequestObserver[] = [];

  private readonly userAgent: string;
  private readonly timeoutMs: number;

  constructor(
    kc: KubeConfigSource | ClientNodeConfig,
    /** timeoutMs: the deadline of each request but watches (default 30 s). */
    opts: { userAgent?: string; timeoutMs?: number } = {},
  ) {
    this.source = "getCurrentCluster" in kc ? fromClientNode(kc) : kc;
    this.server = this.source.server;
    this.userAgent = opts.userAgent ?? "meshward";
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  onRequest(o: RequestObserver): void {
    this.observers.push(o);
  }

  private observe(verb: string, path: string, code: number): void {
    const resource = path.split("?")[0]?.replace(/\/namespaces\/[^/]+/, "") ?? path;
    for (const o of this.observers) o(verb, resource, code);
  }

  private async send(
    method: string,
    path: string,
    opts: RequestOptions,
    timeoutMs: number | undefined,
  ): Promise<{ res: http.IncomingMessage; release: () => void; signal: AbortSignal }> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    // One connection pool for the client keeps connections alive and reused; headers (tokens,
    // which may rotate) come fresh from the kubeconfig each time.
    const headers: Record<string, string | number> = {
      ...(await this.source.headers()),
      Accept: opts.accept ?? "application/json",
      "User-Agent": this.userAgent,
    };
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers["Content-Type"] = opts.contentType ?? "application/json";
      headers["Content-Length"] = Buffer.byteLength(body);
    }
    const verb = opts.verb ?? method.toLowerCase();
    // One controller per request, aborted by the caller's signal or the deadline, both undone by
    // release() once the answer is read: no timer outlives its request (AbortSignal.timeout's do,
    // and each one firing later builds an exception: idle CPU and memory after every burst).
    const ctl = new AbortController();
    const outer = opts.signal;
    const onAbort = () => ctl.abort(outer?.reason);
    if (outer?.aborted) onAbort();
    else outer?.addEventListener("abort", onAbort, { once: true });
    const timer = timeoutMs
      ? setTimeout(
          () => ctl.abort(new DOMException(`no answer within ${timeoutMs} ms`, "TimeoutError")),
          timeoutMs,
        )
      : undefined;
    timer?.unref();
    const release = () => {
      clearTimeout(timer);
      outer?.removeEventListener("abort", onAbort);
    };
    try {
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        const req = (url.protocol === "http:" ? http : https).request(url, {
          method,
          headers,
          agent: this.source.agent(),
          signal: ctl.signal,
        });
        // Stays attached after the answer: a later error (abort, reset) then ends the body's
        // stream, where the reader sees it, instead of crashing the process as unhandled.
        req.on("error", reject);
        req.once("response", resolve);
        req.end(body);
      });
      this.observe(verb, path, res.statusCode ?? 0);
      return { res, release, signal: ctl.signal };
    } catch (e) {
      release();
      this.observe(verb, path, 0);
      throw new ApiError(0, "NetworkError", `${method} ${path}: ${failure(e, ctl.signal)}`);
    }
  }

  /** One JSON request. Throws ApiError for non-2xx answers, with the server's reason and message. */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    // Like client-go: a 429 (throttled) is tried again after the server's Retry-After, a few times,
    // before the caller sees it; the work queue's backoff handles what is left.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.requestOnce<T>(method, path, opts);
      } catch (e) {
        if (
          !(e instanceof ApiError && e.status === 429) ||
          attempt >= MAX_THROTTLED_ATTEMPTS ||
          opts.signal?.aborted
        )
          throw e;
        const wait = Math.min(e.retryAfterMs ?? 1000, 5000) * (0.5 + Math.random() * 0.5);
        await new Promise((r) => setTimeout(r, wait).unref());
      }
    }
  }

  private async requestOnce<T>(method: string, path: string, opts: RequestOptions): Promise<T> {
    const { res, release, signal } = await this.send(method, path, opts, this.timeoutMs);
    let text: string;
    try {
      text = await readText(res);
    } catch (e) {
      throw new ApiError(0, "NetworkError", `${method} ${path}: ${failure(e, signal)}`);
    } finally {
      release();
    }
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return (text ? JSON.parse(text) : {}) as T;
    let reason = "Unknown";
    let message = text.slice(0, 500);
    let details: unknown;
    try {
      const st = JSON.parse(text) as { reason?: string; message?: string; details?: unknown };
      reason = st.reason ?? reason;
      message = st.message ?? message;
      details = st.details;
    } catch {
      // not a Status object: keep the text
    }
    const ra = Number(res.headers["retry-after"]);
    throw new ApiError(
      status,
      reason,
      message,
      Number.isFinite(ra) && ra > 0 ? ra * 1000 : undefined,
      details,
    );
  }

  get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.request<T>("GET", path, { verb: "get", ...(signal && { signal }) });
  }

  /** Server-side apply (PATCH application/apply-patch+yaml; JSON is YAML). */
  apply<T>(
    path: string,
    obj: unknown,
    fieldManager: string,
    force: boolean,
    extra?: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<T> {
    return this.request<T>("PATCH", path, {
      query: { fieldManager, force, ...extra },
      body: obj,
      contentType: "application/apply-patch+yaml",
      verb: "apply",
      ...(signal && { signal }),
    });
  }

  delete(
    path: string,
    preconditions?: { uid?: string; resourceVersion?: string },
    signal?: AbortSignal,
  ): Promise<unknown> {
    return this.request("DELETE", path, {
      body: {
        apiVersion: "v1",
        kind: "DeleteOptions",
        propagationPolicy: "Background",
        ...(preconditions && { preconditions }),
      },
      verb: "delete",
      ...(signal && { signal }),
    });
  }

  /**
   * Streams a watch. Calls onEvent for every event line (lines that are not an event of a known
   * type about an object are skipped); resolves when the server closes the stream, rejects on HTTP
   * or network errors, and stops when `signal` aborts.
   */
  async watch<T>(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (e: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const { res, release } = await this.send(
      "GET",
      path,
      { query: { ...query, watch: true }, signal, verb: "watch" },
      undefined,
    );
    try {
      await this.stream(path, res, signal, onEvent);
    } finally {
      release();
    }
  }

  private async stream<T>(
    path: string,
    res: http.IncomingMessage,
    signal: AbortSignal,
    onEvent: (e: WatchEvent<T>) => void,
  ): Promise<void> {
    if (res.statusCode !== 200) {
      const text = await readText(res).catch(() => "");
      let reason = "Unknown";
      let message = text.slice(0, 300);
      try {
        const st = JSON.parse(text) as { reason?: string; message?: string };
        reason = st.reason ?? reason;
        message = st.message ?? message;
      } catch {
        // keep the text
      }
      throw new ApiError(res.statusCode ?? 0, reason, message);
    }
    // setEncoding decodes UTF-8 across chunks: a character cut between two is joined.
    res.setEncoding("utf8");
    let buffered = "";
    try {
      for await (const chunk of res) {
        buffered += chunk as string;
        // Lines are cut at a moving start; what is left after the last newline is kept once.
        let start = 0;
        let nl = buffered.indexOf("\n");
        while (nl >= 0) {
          const line = buffered.slice(start, nl).trim();
          start = nl + 1;
          if (line) {
            let parsed: unknown;
            try {
              parsed = JSON.parse(line);
            } catch {
              parsed = undefined; // a torn or garbled line: the informer resyncs on its own
            }
            // JSON that is not an event (42, null, an unknown type, no object) is skipped too:
            // handing it on would break the stream for everyone watching.
            if (isWatchEvent(parsed)) onEvent(parsed as WatchEvent<T>);
          }
          nl = buffered.indexOf("\n", start);
        }
        if (start > 0) buffered = buffered.slice(start);
      }
    } catch (e) {
      if (signal.aborted) return;
      throw new ApiError(0, "NetworkError", `watch ${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

/** The whole body of an answer, as text. */
async function readText(res: http.IncomingMessage): Promise<string> {
  res.setEncoding("utf8");
  let text = "";
  for await (const chunk of res) text += chunk as string;
  return text;
}

/** What went wrong, for a message: the abort's reason (a deadline, a lost lease) when aborted. */
function failure(e: unknown, signal: AbortSignal | undefined): string {
  const reason: unknown = signal?.aborted ? signal.reason : e;
  return reason instanceof Error ? reason.message : String(reason ?? e);
}
