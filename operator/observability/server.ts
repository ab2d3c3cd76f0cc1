// /healthz (liveness: the event loop turns and the watches hear from the API server), /readyz
// (caches synced and, with leader election, leadership known) and /metrics. Either one server for
// all three, or /metrics on the metrics port and the probes on a health port of their own.
import * as http from "node:http";
import type { Check } from "./health.ts";
import type { Metrics } from "./metrics.ts";

export interface Probes {
  live(): Check;
  ready(): Check;
}

type Serves = { metrics?: Metrics; probes?: Probes };

function handler({ metrics, probes }: Serves): http.RequestListener {
  return (req, res) => {
    const url = (req.url ?? "/").split("?")[0];
    const text = { "Content-Type": "text/plain" };
    if (probes && url === "/healthz") {
      const r = probes.live();
      res.writeHead(r.ok ? 200 : 500, text).end(`${r.detail}\n`);
    } else if (probes && url === "/readyz") {
      const r = probes.ready();
      res.writeHead(r.ok ? 200 : 503, text).end(`${r.detail}\n`);
    } else if (metrics && url === "/metrics") {
      metrics.registry
        .metrics()
        .then((body) => res.writeHead(200, { "Content-Type": metrics.registry.contentType }).end(body))
        .catch((e: unknown) =>
          res.writeHead(500, text).end(`${e instanceof Error ? e.message : String(e)}\n`),
        );
    } else {
      res.writeHead(404).end();
    }
  };
}

function listen(port: number, host: string, serves: Serves): Promise<http.Server> {
  const server = http.createServer(handler(serves));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}

/**
 * Starts the servers: with healthPort 0 or equal to metricsPort, one server answers everything on
 * metricsPort; else /metrics on metricsPort and /healthz, /readyz on healthPort. Port 0 serves
 * nothing there.
 */
export async function startServers(
  ports: { metricsPort: number; healthPort: number; host: string },
  metrics: Metrics,
  probes: Probes,
): Promise<http.Server[]> {
  const { metricsPort, healthPort, host } = ports;
  if (healthPort === 0 || healthPort === metricsPort)
    return metricsPort > 0 ? [await listen(metricsPort, host, { metrics, probes })] : [];
  const servers: http.Server[] = [];
  try {
    if (metricsPort > 0) servers.push(await listen(metricsPort, host, { metrics }));
    servers.push(await listen(healthPort, host, { probes }));
  } catch (e) {
    for (const s of servers) s.close();
    throw e;
  }
  return servers;
}
