// A tiny stand-in for the API server on 127.0.0.1 (node:http), for tests of the runtime against
// real HTTP: lists answer with configured items, watches stream configured lines (garbage
// included) and then stay open, like a quiet watch, until the server closes.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";

export interface FakeApiOptions {
  /** The list answer for a resource plural (default: no items). A function may answer anything. */
  list?: (plural: string, url: URL) => unknown;
  /** Watch lines for a resource plural, written as chunks (a chunk may end mid-line). */
  watch?: (plural: string, url: URL, watchNumber: number) => (string | Buffer)[];
  /** End the watch stream after the lines instead of keeping it open. */
  endWatch?: boolean;
}

export interface FakeApi {
  url: string;
  kubeConfig: KubeConfig;
  /** Every request as "GET <path>?<query>". */
  requests: string[];
  close(): Promise<void>;
}

/** The resource plural of a collection path (/api/v1/pods, /apis/g/v/namespaces/ns/pods). */
function pluralOf(pathname: string): string {
  return pathname.split("/").filter(Boolean).at(-1) ?? "";
}

export function kubeConfigFor(url: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "fake", server: url, skipTLSVerify: true }],
    users: [{ name: "fake" }],
    contexts: [{ name: "fake", cluster: "fake", user: "fake" }],
    currentContext: "fake",
  });
  return kc;
}

export async function startFakeApi(o: FakeApiOptions = {}): Promise<FakeApi> {
  const requests: string[] = [];
  const watches = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    const plural = pluralOf(url.pathname);
    if (url.searchParams.get("watch") === "true") {
      const n = (watches.get(plural) ?? 0) + 1;
      watches.set(plural, n);
      res.writeHead(200, { "Content-Type": "application/json" });
      const chunks = o.watch?.(plural, url, n) ?? [];
      // One write per chunk, each flushed on its own, so the client really sees torn lines.
      let i = 0;
      const next = () => {
        if (i < chunks.length) {
          res.write(chunks[i++], () => setTimeout(next, 1));
        } else if (o.endWatch) res.end();
      };
      next();
      return;
    }
    const body = o.list ? o.list(plural, url) : { items: [], metadata: { resourceVersion: "1" } };
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(typeof body === "string" ? body : JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    kubeConfig: kubeConfigFor(url),
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
