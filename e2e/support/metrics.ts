// Scraping the operator's secure /metrics in e2e tests: HTTPS requests with or without a bearer
// token, and the rule of the chart's metrics-reader ClusterRole.
import * as https from "node:https";
import type { PeerCertificate, TLSSocket } from "node:tls";

/**
 * The rules of the chart's `<release>-metrics-reader` ClusterRole
 * (charts/meshward/templates/metrics-reader.yaml); chart.e2e.test.ts checks that the chart renders
 * exactly these, metrics-auth.e2e.test.ts creates the role with them.
 */
export const METRICS_READER_RULES = [{ nonResourceURLs: ["/metrics"], verbs: ["get"] }];

export interface TlsAnswer {
  status: number;
  body: string;
  /** The certificate the server presented. */
  cert: PeerCertificate;
  /** Whether it verified against `ca` (false without one). */
  authorized: boolean;
}

/**
 * GET https://127.0.0.1:<port><path>. With `ca`, the server's certificate must verify against it
 * (for `servername`, else for the IP address 127.0.0.1); without, any certificate is taken, as
 * Prometheus's insecureSkipVerify does.
 */
export function httpsGet(
  port: number,
  path: string,
  o: { token?: string; ca?: string; servername?: string } = {},
): Promise<TlsAnswer> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      {
        host: "127.0.0.1",
        port,
        path,
        agent: false,
        headers: o.token ? { Authorization: `Bearer ${o.token}` } : {},
        ...(o.ca
          ? { ca: o.ca, ...(o.servername && { servername: o.servername }) }
          : { rejectUnauthorized: false }),
      },
      (res) => {
        const socket = res.socket as TLSSocket;
        const cert = socket.getPeerCertificate();
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body, cert, authorized: socket.authorized }),
        );
      },
    );
    req.on("error", reject);
  });
}
