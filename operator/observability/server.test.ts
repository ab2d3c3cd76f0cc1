// The probe and metrics servers on loopback: one port for all, or metrics and health apart.
import type * as http from "node:http";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Metrics } from "./metrics.ts";
import { type Probes, startServers } from "./server.ts";

let servers: http.Server[] = [];
afterEach(() => {
  for (const s of servers) s.close();
  servers = [];
});

const port = (s: http.Server | undefined) => (s?.address() as AddressInfo).port;
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
