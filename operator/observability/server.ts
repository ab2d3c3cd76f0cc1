// /healthz (liveness: the event loop turns and the watches hear from the API server), /readyz
// (caches synced and, with leader election, leadership known) and /metrics. /metrics is served
// over HTTPS to callers the API server authenticates and authorizes (ADR 13), on its own port;
// the probes stay plain HTTP on the health port, for the kubelet. With plain-HTTP metrics the
// probes may share the metrics port.
import * as http from "node:http";
import * as https from "node:https";
import type * as net from "node:net";
import type { Check } from "./health.ts";
import type { Decision } from "./metrics-auth.ts";
import type { KeyAndCertificate } from "./metrics-tls.ts";
import type { Metrics } from "./metrics.ts";

export interface Probes {
  live(): Check;
  ready(): Check;
}

/** Decides who may read /metrics (MetricsAuth). */
export interface Authorizer {
  check(authorization: string | undefined, path: string, verb: string): Promise<Decision>;
}

export interface SecureMetrics {
  tls: KeyAndCertificate;
  auth: Authorizer;
  /** Called once the server runs, with a function that replaces its certificate (a reload). */
  onServing?: (setTls: (kc: KeyAndCertificate) => void) => void;
}

type Serves = { metrics?: Metrics; probes?: Probes; auth?: Authorizer };

const TEXT = { "Content-Type": "text/plain" };

function serveMetrics(metrics: Metrics, res: http.ServerResponse): void {
  metrics.registry
    .metrics()
    .then((body) => res.writeHead(200, { "Content-Type": metrics.registry.contentType }).end(body))
    .catch((e: unknown) => res.writeHead(500, TEXT).end(`${e instanceof Error ? e.message : String(e)}\n`));
}

function handler({ metrics, probes, auth }: Serves): http.RequestListener {
  return (req, res) => {
    const url = (req.url ?? "/").split("?")[0] ?? "/";
    if (probes && url === "/healthz") {
      const r = probes.live();
      res.writeHead(r.ok ? 200 : 500, TEXT).end(`${r.detail}\n`);
    } else if (probes && url === "/readyz") {
      const r = probes.ready();
      res.writeHead(r.ok ? 200 : 503, TEXT).end(`${r.detail}\n`);
    } else if (metrics && url === "/metrics") {
      if (!auth) return serveMetrics(metrics, res);
      // The verb of a non-resource request, as the API server names it: the method in lower case.
      auth
        .check(req.headers.authorization, url, (req.method ?? "GET").toLowerCase())
        .then((d) => {
          if (d.status === 200) return serveMetrics(metrics, res);
          const headers: http.OutgoingHttpHeaders = { ...TEXT };
          if (d.status === 401) headers["WWW-Authenticate"] = 'Bearer realm="meshward metrics"';
          if (d.status === 503) headers["Retry-After"] = "1";
          res.writeHead(d.status, headers).end(`${d.message}\n`);
        })
        .catch((e: unknown) =>
          res.writeHead(500, TEXT).end(`${e instanceof Error ? e.message : String(e)}\n`),
        );
    } else {
      res.writeHead(404).end();
    }
  };
}

function listen(port: number, host: string, serves: Serves, tls?: KeyAndCertificate): Promise<net.Server> {
  const server = tls
    ? https.createServer({ key: tls.key, cert: tls.cert, minVersion: "TLSv1.2" }, handler(serves))
    : http.createServer(handler(serves));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}

/**
 * Starts the servers: /metrics on metricsPort (HTTPS with `secure`), /healthz and /readyz on
 * healthPort. Without `secure`, a healthPort of 0 or equal to metricsPort puts all three on one
 * server; with it, that is refused (config.ts says so first). Port 0 serves nothing there.
 */
export async function startServers(
  ports: { metricsPort: number; healthPort: number; host: string },
  metrics: Metrics,
  probes: Probes,
  secure?: SecureMetrics,
): Promise<net.Server[]> {
  const { metricsPort, healthPort, host } = ports;
  const shared = healthPort === 0 || healthPort === metricsPort;
  if (secure && metricsPort > 0 && shared)
    throw new Error("secure metrics need a health port of their own (--health-port)");
  if (!secure && shared) return metricsPort > 0 ? [await listen(metricsPort, host, { metrics, probes })] : [];
  const servers: net.Server[] = [];
  try {
    if (metricsPort > 0) {
      const s = await listen(
        metricsPort,
        host,
        { metrics, ...(secure && { auth: secure.auth }) },
        secure?.tls,
      );
      servers.push(s);
      if (secure)
        secure.onServing?.((kc) => (s as https.Server).setSecureContext({ key: kc.key, cert: kc.cert }));
    }
    if (healthPort > 0) servers.push(await listen(healthPort, host, { probes }));
  } catch (e) {
    for (const s of servers) s.close();
    throw e;
  }
  return servers;
}
