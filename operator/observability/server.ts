// /healthz (the process is alive), /readyz (caches synced and, with leader election, leadership
// known) and /metrics, on one small HTTP server.
import * as http from "node:http";
import type { Metrics } from "./metrics.ts";

export interface Probes {
  live(): boolean;
  ready(): { ok: boolean; detail: string };
}

export function startServer(
  port: number,
  host: string,
  metrics: Metrics,
  probes: Probes,
): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? "/").split("?")[0];
    if (url === "/healthz") {
      const ok = probes.live();
      res.writeHead(ok ? 200 : 500, { "Content-Type": "text/plain" }).end(ok ? "ok\n" : "not ok\n");
    } else if (url === "/readyz") {
      const r = probes.ready();
      res.writeHead(r.ok ? 200 : 503, { "Content-Type": "text/plain" }).end(`${r.detail}\n`);
    } else if (url === "/metrics") {
      metrics.registry
        .metrics()
        .then((body) => res.writeHead(200, { "Content-Type": metrics.registry.contentType }).end(body))
        .catch(() => res.writeHead(500).end());
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}
