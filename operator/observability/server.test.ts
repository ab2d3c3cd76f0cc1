// The probe and metrics servers on loopback: one port for all, or metrics and health apart; secure
// metrics over HTTPS behind the authorizer, with the probes plain on their own port.
import { X509Certificate } from "node:crypto";
import * as https from "node:https";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import type { Decision } from "./metrics-auth.ts";
import { selfSignedForMetrics } from "./metrics-tls.ts";
import { Metrics } from "./metrics.ts";
import { type Authorizer, type Probes, startServers } from "./server.ts";

let servers: net.Server[] = [];
afterEach(() => {
  for (const s of servers) s.close();
  servers = [];
});

const port = (s: net.Server | undefined) => (s?.address() as AddressInfo).port;
const get = async (p: number, path: string) => {
  const r = await fetch(`http://127.0.0.1:${p}${path}`);
  return { status: r.status, body: await r.text() };
};

/** A port that was free a moment ago (the servers take fixed ports; 0 means "no server"). */
const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });

function probes(live: boolean, ready: boolean): Probes {
  return {
    live: () => ({ ok: live, detail: live ? "live" : "event loop: stuck" }),
    ready: () => ({ ok: ready, detail: ready ? "caches synced" : "caches syncing" }),
  };
}

describe("startServers", () => {
  it("serves metrics and probes on separate ports, each only its own paths", async () => {
    expect(
      await startServers(
        { metricsPort: 0, healthPort: 0, host: "127.0.0.1" },
        new Metrics(),
        probes(true, true),
      ),
    ).toEqual([]);
    const [mp, hp] = [await freePort(), await freePort()];
    servers = await startServers(
      { metricsPort: mp, healthPort: hp, host: "127.0.0.1" },
      new Metrics(),
      probes(false, true),
    );
    expect(servers.map(port)).toEqual([mp, hp]);
    expect((await get(mp, "/metrics")).body).toContain("controller_runtime_reconcile_total");
    expect((await get(mp, "/healthz")).status).toBe(404);
    expect((await get(hp, "/metrics")).status).toBe(404);
    expect(await get(hp, "/healthz")).toEqual({ status: 500, body: "event loop: stuck\n" });
    expect(await get(hp, "/readyz")).toEqual({ status: 200, body: "caches synced\n" });
  });

  it("serves everything on the metrics port when the health port is 0", async () => {
    servers = await startServers(
      { metricsPort: 0, healthPort: 0, host: "127.0.0.1" },
      new Metrics(),
      probes(true, false),
    );
    expect(servers).toEqual([]);
    const p = await freePort();
    servers = await startServers(
      { metricsPort: p, healthPort: 0, host: "127.0.0.1" },
      new Metrics(),
      probes(true, false),
    );
    expect(servers).toHaveLength(1);
    expect((await get(p, "/metrics")).status).toBe(200);
    expect(await get(p, "/healthz")).toEqual({ status: 200, body: "live\n" });
    expect(await get(p, "/readyz")).toEqual({ status: 503, body: "caches syncing\n" });
  });
});

/** GET over HTTPS, trusting only `ca`; the answer and the fingerprint of the certificate served. */
function getTls(p: number, path: string, ca: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: string; headers: Record<string, unknown>; fingerprint: string }>(
    (resolve, reject) => {
      const req = https.get(
        { host: "127.0.0.1", port: p, path, ca, servername: "localhost", headers, agent: false },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => (body += c));
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              body,
              headers: res.headers,
              fingerprint: (res.socket as TLSSocket).getPeerCertificate().fingerprint256,
            }),
          );
        },
      );
      req.on("error", reject);
    },
  );
}

/** Token "reader" may get /metrics, "stranger" is authenticated but may not; others are rejected. */
function fakeAuth(): Authorizer & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async check(authorization, path, verb): Promise<Decision> {
      calls.push(`${authorization ?? "-"} ${verb} ${path}`);
      if (authorization === "Bearer reader") return { status: 200, user: "reader" };
      if (authorization === "Bearer stranger")
        return { status: 403, message: "Forbidden: no", user: "stranger" };
      return { status: 401, message: "Unauthorized: no token" };
    },
  };
}

describe("startServers with secure metrics", () => {
  it("serves /metrics over HTTPS to authorized callers only, probes plain on the health port", async () => {
    const tls = selfSignedForMetrics("127.0.0.1");
    const auth = fakeAuth();
    const [mp, hp] = [await freePort(), await freePort()];
    servers = await startServers(
      { metricsPort: mp, healthPort: hp, host: "127.0.0.1" },
      new Metrics(),
      probes(true, true),
      { tls, auth },
    );
    expect(servers.map(port)).toEqual([mp, hp]);
    const anonymous = await getTls(mp, "/metrics", tls.cert);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers["www-authenticate"]).toBe('Bearer realm="meshward metrics"');
    expect(anonymous.body).toBe("Unauthorized: no token\n");
    expect(await getTls(mp, "/metrics", tls.cert, { Authorization: "Bearer stranger" })).toMatchObject({
      status: 403,
      body: "Forbidden: no\n",
    });
    const ok = await getTls(mp, "/metrics?x=1", tls.cert, { Authorization: "Bearer reader" });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain("controller_runtime_reconcile_total");
    expect(auth.calls).toEqual([
      "- get /metrics",
      "Bearer stranger get /metrics",
      "Bearer reader get /metrics",
    ]);
    // Other paths are not there (and cost no review); the probes are not on the metrics port.
    expect((await getTls(mp, "/healthz", tls.cert, { Authorization: "Bearer reader" })).status).toBe(404);
    expect(auth.calls).toHaveLength(3);
    // Plain HTTP to the TLS port gets no metrics.
    expect(await get(mp, "/metrics").catch(() => "refused")).toBe("refused");
    expect(await get(hp, "/readyz")).toEqual({ status: 200, body: "caches synced\n" });
    expect((await get(hp, "/metrics")).status).toBe(404);
  });

  it("serves a replaced certificate to new connections", async () => {
    const first = selfSignedForMetrics("127.0.0.1");
    const second = selfSignedForMetrics("127.0.0.1");
    let setTls: ((kc: typeof first) => void) | undefined;
    const [mp, hp] = [await freePort(), await freePort()];
    servers = await startServers(
      { metricsPort: mp, healthPort: hp, host: "127.0.0.1" },
      new Metrics(),
      probes(true, true),
      { tls: first, auth: fakeAuth(), onServing: (f) => (setTls = f) },
    );
    const fp = (pem: string) => new X509Certificate(pem).fingerprint256;
    expect((await getTls(mp, "/metrics", first.cert)).fingerprint).toBe(fp(first.cert));
    setTls?.(second);
    expect((await getTls(mp, "/metrics", second.cert)).fingerprint).toBe(fp(second.cert));
    await expect(getTls(mp, "/metrics", first.cert)).rejects.toThrow(/self-signed/);
  });

  it("refuses to put the probes behind TLS: health port 0 or the metrics port", async () => {
    const secure = { tls: selfSignedForMetrics("127.0.0.1"), auth: fakeAuth() };
    const p = await freePort();
    for (const healthPort of [0, p])
      await expect(
        startServers(
          { metricsPort: p, healthPort, host: "127.0.0.1" },
          new Metrics(),
          probes(true, true),
          secure,
        ),
      ).rejects.toThrow(/health port of their own/);
    // Metrics off: nothing to refuse, nothing served.
    expect(
      await startServers(
        { metricsPort: 0, healthPort: 0, host: "127.0.0.1" },
        new Metrics(),
        probes(true, true),
        secure,
      ),
    ).toEqual([]);
  });
});
