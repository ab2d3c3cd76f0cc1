// The /metrics access decisions with a fake reviewer and a fake clock, the cache's bounds, and the
// two reviews as the API client sends them (to a stand-in API server).
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { kubeConfigFor } from "../../test-support/fake-api.ts";
import { ApiError, KubeClient } from "../runtime/client.ts";
import { createLogger } from "../runtime/log.ts";
import {
  bearerToken,
  kubeReviewer,
  MetricsAuth,
  type Reviewer,
  TtlLru,
  type UserInfo,
} from "./metrics-auth.ts";

/** Tokens "good-*" belong to user alice (allowed), "other-*" to bob (not allowed); "fail" throws. */
function fakeReviewer() {
  const calls: string[] = [];
  const reviewer: Reviewer = {
    async authenticate(token) {
      calls.push(`authn ${token}`);
      if (token === "fail") throw new Error("connection refused");
      if (token.startsWith("good-")) return { username: "alice", groups: ["system:authenticated"] };
      if (token.startsWith("other-")) return { username: "bob" };
      return undefined;
    },
    async authorize(user, path, verb) {
      calls.push(`authz ${user.username} ${verb} ${path}`);
      return user.username === "alice";
    },
  };
  return { reviewer, calls };
}

function clock() {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe("bearerToken", () => {
  it("reads the token as the API server does", () => {
    expect(bearerToken("Bearer abc")).toBe("abc");
    expect(bearerToken("bearer abc")).toBe("abc");
    expect(bearerToken("Bearer abc extra")).toBe("abc");
    expect(bearerToken("Bearer  abc")).toBeUndefined(); // an empty token between the spaces
    expect(bearerToken("Bearer")).toBeUndefined();
    expect(bearerToken("Basic dXNlcjpwdw==")).toBeUndefined();
    expect(bearerToken("")).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});

describe("TtlLru", () => {
  it("keeps at most max entries, dropping the least recently used", () => {
    const c = new TtlLru<number>(3);
    for (const k of ["a", "b", "c"]) c.set(k, 1, 60_000);
    expect(c.get("a")).toBe(1); // a is now the most recent
    c.set("d", 4, 60_000);
    expect(c.size).toBe(3);
    expect(c.get("b")).toBeUndefined();
    expect(c.get("a")).toBe(1);
    expect(c.get("c")).toBe(1);
    expect(c.get("d")).toBe(4);
    expect(() => new TtlLru(0)).toThrow();
  });

  it("forgets an entry at its expiry", () => {
    const t = clock();
    const c = new TtlLru<string>(10, t.now);
    c.set("short", "x", 1_000);
    c.set("long", "y", 5_000);
    t.advance(999);
    expect(c.get("short")).toBe("x");
    t.advance(1);
    expect(c.get("short")).toBeUndefined();
    expect(c.size).toBe(1);
    expect(c.get("long")).toBe("y");
  });
});

describe("MetricsAuth", () => {
  it("401 without a bearer token, without asking the API server", async () => {
    const { reviewer, calls } = fakeReviewer();
    const auth = new MetricsAuth(reviewer);
    for (const h of [undefined, "", "Basic dXNlcjpwdw==", "Bearer", "Bearer "])
      expect((await auth.check(h, "/metrics", "get")).status, String(h)).toBe(401);
    expect(calls).toEqual([]);
  });

  it("401 for a token the API server rejects, 403 when its user may not, 200 when it may", async () => {
    const { reviewer, calls } = fakeReviewer();
    const auth = new MetricsAuth(reviewer);
    expect(await auth.check("Bearer forged", "/metrics", "get")).toEqual({
      status: 401,
      message: "Unauthorized: the token was not accepted",
    });
    expect(await auth.check("Bearer other-1", "/metrics", "get")).toEqual({
      status: 403,
      message: 'Forbidden: user "bob" cannot get path "/metrics"',
      user: "bob",
    });
    expect(await auth.check("Bearer good-1", "/metrics", "get")).toEqual({ status: 200, user: "alice" });
    expect(calls).toEqual([
      "authn forged",
      "authn other-1",
      "authz bob get /metrics",
      "authn good-1",
      "authz alice get /metrics",
    ]);
  });

  it("caches allowed decisions for allowTtlMs and refused ones for denyTtlMs", async () => {
    const { reviewer, calls } = fakeReviewer();
    const t = clock();
    const auth = new MetricsAuth(reviewer, { allowTtlMs: 60_000, denyTtlMs: 30_000, now: t.now });
    const all = () =>
      Promise.all(
        ["Bearer good-1", "Bearer other-1", "Bearer forged"].map((h) => auth.check(h, "/metrics", "get")),
      );
    const first = await all();
    const reviews = calls.length;
    expect(await all()).toEqual(first);
    expect(calls.length).toBe(reviews);
    t.advance(30_000); // the refusals expire, the allowed one stays
    expect(await all()).toEqual(first);
    expect(calls.slice(reviews).sort()).toEqual(["authn forged", "authn other-1", "authz bob get /metrics"]);
    const afterDeny = calls.length;
    t.advance(30_000);
    await auth.check("Bearer good-1", "/metrics", "get");
    expect(calls.slice(afterDeny)).toEqual(["authn good-1", "authz alice get /metrics"]);
    // Another path or verb is another question.
    await auth.check("Bearer good-1", "/metrics", "post");
    expect(calls.at(-1)).toBe("authz alice post /metrics");
  });

  it("does not cache a failed review: 500, and the next request asks again", async () => {
    const { reviewer, calls } = fakeReviewer();
    const auth = new MetricsAuth(reviewer);
    expect((await auth.check("Bearer fail", "/metrics", "get")).status).toBe(500);
    expect((await auth.check("Bearer fail", "/metrics", "get")).status).toBe(500);
    expect(calls).toEqual(["authn fail", "authn fail"]);
    expect(auth.cached).toBe(0);
    const broken: Reviewer = { ...reviewer, authorize: () => Promise.reject(new Error("forbidden")) };
    expect((await new MetricsAuth(broken).check("Bearer good-1", "/metrics", "get")).status).toBe(500);
  });

  it("holds at most maxEntries decisions", async () => {
    const { reviewer } = fakeReviewer();
    const auth = new MetricsAuth(reviewer, { maxEntries: 1000 });
    for (let i = 0; i < 1005; i++) await auth.check(`Bearer good-${i}`, "/metrics", "get");
    expect(auth.cached).toBe(1000);
  });

  it("shares one review among concurrent requests with one token, and bounds reviews in flight", async () => {
    const pending: ((u: UserInfo | undefined) => void)[] = [];
    let authn = 0;
    const slow: Reviewer = {
      authenticate: () => {
        authn++;
        return new Promise((resolve) => pending.push(resolve));
      },
      authorize: async () => true,
    };
    const auth = new MetricsAuth(slow, { maxInFlight: 2 });
    const a1 = auth.check("Bearer a", "/metrics", "get");
    const a2 = auth.check("Bearer a", "/metrics", "get");
    const b = auth.check("Bearer b", "/metrics", "get");
    expect(authn).toBe(2);
    expect((await auth.check("Bearer c", "/metrics", "get")).status).toBe(503);
    for (const r of pending) r({ username: "carol" });
    expect(await Promise.all([a1, a2, b])).toEqual([
      { status: 200, user: "carol" },
      { status: 200, user: "carol" },
      { status: 200, user: "carol" },
    ]);
    // Room again once they are done.
    const c = auth.check("Bearer c", "/metrics", "get");
    expect(pending).toHaveLength(3);
    pending[2]?.({ username: "carol" });
    expect((await c).status).toBe(200);
  });

  it("never logs a token", async () => {
    let out = "";
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        out += chunk.toString();
        done();
      },
    });
    const { reviewer } = fakeReviewer();
    const auth = new MetricsAuth(reviewer, { log: createLogger("trace", sink) });
    const secrets = ["good-s3cr3t", "other-s3cr3t", "forged-s3cr3t", "fail"];
    for (const s of secrets) await auth.check(`Bearer ${s}`, "/metrics", "get");
    expect(out).toContain('"user":"bob"');
    expect(out).toContain("TokenReview failed");
    for (const s of secrets.slice(0, 3)) expect(out).not.toContain(s);
    expect(out).not.toContain('"fail"');
  });
});

describe("kubeReviewer", () => {
  let server: http.Server | undefined;
  afterEach(() => server?.close());

  /** A stand-in API server answering each POST with `answer(path, body)`. */
  async function api(answer: (path: string, body: Record<string, unknown>) => [number, unknown]) {
    const seen: { path: string; body: Record<string, unknown> }[] = [];
    server = http.createServer((req, res) => {
      let text = "";
      req.on("data", (c: Buffer) => (text += c.toString()));
      req.on("end", () => {
        const body = JSON.parse(text) as Record<string, unknown>;
        seen.push({ path: req.url ?? "", body });
        const [status, out] = answer(req.url ?? "", body);
        res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(out));
      });
    });
    await new Promise<void>((r) => server?.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { reviewer: kubeReviewer(new KubeClient(kubeConfigFor(url))), seen };
  }

  it("sends a TokenReview and a SubjectAccessReview for the non-resource URL, and reads the answers", async () => {
    const { reviewer, seen } = await api((path, body) => {
      const spec = body.spec as Record<string, unknown>;
      if (path.endsWith("/tokenreviews"))
        return [
          201,
          spec.token === "t0k3n"
            ? {
                status: {
                  authenticated: true,
                  user: {
                    username: "system:serviceaccount:mon:prom",
                    uid: "u-1",
                    groups: ["g1"],
                    extra: { k: ["v"] },
                  },
                },
              }
            : { status: { authenticated: false, error: "invalid bearer token" } },
        ];
      return [201, { status: { allowed: spec.user === "system:serviceaccount:mon:prom" } }];
    });
    const user = await reviewer.authenticate("t0k3n");
    expect(user).toEqual({
      username: "system:serviceaccount:mon:prom",
      uid: "u-1",
      groups: ["g1"],
      extra: { k: ["v"] },
    });
    expect(await reviewer.authenticate("nope")).toBeUndefined();
    expect(await reviewer.authorize(user as UserInfo, "/metrics", "get")).toBe(true);
    expect(await reviewer.authorize({ username: "eve" }, "/metrics", "get")).toBe(false);
    expect(seen[0]).toEqual({
      path: "/apis/authentication.k8s.io/v1/tokenreviews",
      body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token: "t0k3n" } },
    });
    expect(seen[2]).toEqual({
      path: "/apis/authorization.k8s.io/v1/subjectaccessreviews",
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: {
          user: "system:serviceaccount:mon:prom",
          uid: "u-1",
          groups: ["g1"],
          extra: { k: ["v"] },
          nonResourceAttributes: { path: "/metrics", verb: "get" },
        },
      },
    });
  });

  it("counts a denial as not allowed, and throws when the API server refuses the review", async () => {
    const { reviewer } = await api((path) =>
      path.endsWith("/tokenreviews")
        ? [403, { kind: "Status", reason: "Forbidden", message: "cannot create tokenreviews" }]
        : [201, { status: { allowed: true, denied: true } }],
    );
    expect(await reviewer.authorize({ username: "x" }, "/metrics", "get")).toBe(false);
    await expect(reviewer.authenticate("t")).rejects.toBeInstanceOf(ApiError);
  });
});
