// Who may read /metrics, decided by the API server as controller-runtime's secure metrics serving
// does (pkg/metrics/filters): the request's bearer token is authenticated with a TokenReview and
// the user it names is authorized with a SubjectAccessReview for the non-resource URL and verb.
// Decisions are cached briefly by the token's SHA-256 (never the token), in a bounded LRU, so that
// scrapes do not cost the API server two reviews each (ADR 13).
import * as crypto from "node:crypto";
import type { KubeClient } from "../runtime/client.ts";
import type { Logger } from "../runtime/log.ts";

export interface UserInfo {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** The two questions for the API server. Both throw when it cannot answer. */
export interface Reviewer {
  /** The token's user, or undefined when the token is not valid. */
  authenticate(token: string): Promise<UserInfo | undefined>;
  /** Whether `user` may use `verb` on the non-resource URL `path`. */
  authorize(user: UserInfo, path: string, verb: string): Promise<boolean>;
}

export type Decision =
  { status: 200; user: string } | { status: 401 | 403 | 500 | 503; message: string; user?: string };

/** A map of at most `max` entries, each until its own expiry; the least recently used goes first. */
export class TtlLru<V> {
  readonly #max: number;
  readonly #now: () => number;
  // A Map iterates in insertion order: re-inserting on use keeps the least recent first.
  readonly #entries = new Map<string, { value: V; expires: number }>();

  constructor(max: number, now: () => number = Date.now) {
    if (!(max >= 1)) throw new Error("an LRU needs room for one entry");
    this.#max = max;
    this.#now = now;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): V | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    this.#entries.delete(key);
    if (e.expires <= this.#now()) return undefined;
    this.#entries.set(key, e);
    return e.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expires: this.#now() + ttlMs });
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }
}

/** The token of an `Authorization: Bearer <token>` header, as the API server reads it; else undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const parts = header.trim().split(" ");
  if (parts.length < 2 || parts[0]?.toLowerCase() !== "bearer") return undefined;
  return parts[1] || undefined;
}

export interface AuthOptions {
  /** Cached decisions at most (default 1,000). */
  maxEntries?: number;
  /** How long an allowed request's decision is kept (default 60 s). */
  allowTtlMs?: number;
  /** How long a refused one (401, 403) is kept (default 30 s). */
  denyTtlMs?: number;
  /** Reviews running at once at most; beyond, 503 (default 32). */
  maxInFlight?: number;
  now?: () => number;
  log?: Logger;
}

export class MetricsAuth {
  readonly #reviewer: Reviewer;
  readonly #cache: TtlLru<Decision>;
  readonly #inFlight = new Map<string, Promise<Decision>>();
  readonly #allowTtlMs: number;
  readonly #denyTtlMs: number;
  readonly #maxInFlight: number;
  readonly #log: Logger | undefined;

  constructor(reviewer: Reviewer, o: AuthOptions = {}) {
    this.#reviewer = reviewer;
    this.#cache = new TtlLru(o.maxEntries ?? 1000, o.now);
    this.#allowTtlMs = o.allowTtlMs ?? 60_000;
    this.#denyTtlMs = o.denyTtlMs ?? 30_000;
    this.#maxInFlight = o.maxInFlight ?? 32;
    this.#log = o.log;
  }

  /** Cached decisions (for tests and the curious). */
  get cached(): number {
    return this.#cache.size;
  }

  /** The decision for a request with this Authorization header to `verb` `path`. */
  async check(authorization: string | undefined, path: string, verb: string): Promise<Decision> {
    const token = bearerToken(authorization);
    if (!token) return { status: 401, message: "Unauthorized: a bearer token is required" };
    const key = `${crypto.createHash("sha256").update(token).digest("hex")} ${verb} ${path}`;
    const hit = this.#cache.get(key);
    if (hit) return hit;
    const running = this.#inFlight.get(key);
    if (running) return running;
    if (this.#inFlight.size >= this.#maxInFlight)
      return { status: 503, message: "Service Unavailable: too many reviews in flight; retry" };
    const p = this.#review(token, path, verb, key.slice(0, 12)).finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, p);
    const d = await p;
    if (d.status === 200) this.#cache.set(key, d, this.#allowTtlMs);
    else if (d.status === 401 || d.status === 403) this.#cache.set(key, d, this.#denyTtlMs);
    return d;
  }

  async #review(token: string, path: string, verb: string, tokenHash: string): Promise<Decision> {
    let user: UserInfo | undefined;
    try {
      user = await this.#reviewer.authenticate(token);
    } catch (e) {
      this.#log?.warn({ error: errorText(e), tokenHash }, "metrics: TokenReview failed");
      return { status: 500, message: "Internal Server Error: the token could not be reviewed" };
    }
    if (!user) {
      this.#log?.debug({ tokenHash, path }, "metrics: token not authenticated");
      return { status: 401, message: "Unauthorized: the token was not accepted" };
    }
    let allowed: boolean;
    try {
      allowed = await this.#reviewer.authorize(user, path, verb);
    } catch (e) {
      this.#log?.warn({ error: errorText(e), user: user.username }, "metrics: SubjectAccessReview failed");
      return { status: 500, message: "Internal Server Error: the request could not be authorized" };
    }
    if (!allowed) {
      this.#log?.debug({ user: user.username, path, verb }, "metrics: not allowed");
      return {
        status: 403,
        message: `Forbidden: user "${user.username}" cannot ${verb} path "${path}"`,
        user: user.username,
      };
    }
    return { status: 200, user: user.username };
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

interface TokenReviewStatus {
  status?: { authenticated?: boolean; user?: Partial<UserInfo> };
}
interface SubjectAccessReviewStatus {
  status?: { allowed?: boolean; denied?: boolean };
}

/** The Reviewer over the operator's API client: two POSTs, nothing stored by the API server. */
export function kubeReviewer(client: KubeClient): Reviewer {
  return {
    async authenticate(token) {
      const r = await client.request<TokenReviewStatus>(
        "POST",
        "/apis/authentication.k8s.io/v1/tokenreviews",
        {
          body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token } },
          verb: "create",
        },
      );
      const u = r.status?.user;
      if (r.status?.authenticated !== true || !u?.username) return undefined;
      return {
        username: u.username,
        ...(u.uid && { uid: u.uid }),
        ...(u.groups && { groups: u.groups }),
        ...(u.extra && { extra: u.extra }),
      };
    },
    async authorize(user, path, verb) {
      const r = await client.request<SubjectAccessReviewStatus>(
        "POST",
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        {
          body: {
            apiVersion: "authorization.k8s.io/v1",
            kind: "SubjectAccessReview",
            spec: {
              user: user.username,
              ...(user.uid && { uid: user.uid }),
              ...(user.groups && { groups: user.groups }),
              ...(user.extra && { extra: user.extra }),
              nonResourceAttributes: { path, verb },
            },
          },
          verb: "create",
        },
      );
      return r.status?.allowed === true && r.status.denied !== true;
    },
  };
}
