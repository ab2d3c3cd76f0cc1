// The queue's abort signal reaches the reconciler's requests: a request in flight when the queue
// shuts down (its deadline passed) is cancelled, on the wire.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { KubeClient } from "../runtime/client.ts";
import { WorkQueue } from "../runtime/queue.ts";
import { SignalScope } from "../runtime/signal-scope.ts";
import { kubeConfigFor } from "../../test-support/fake-api.ts";
import { apiWrites } from "./api-writes.ts";
import { childKind } from "./kinds.ts";

const servers: http.Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

/** A server that never answers: it tells when a request arrived and when its client went away. */
async function silentServer() {
  let arrived = () => {};
  let closed = () => {};
  const seen = {
    arrived: new Promise<void>((r) => (arrived = r)),
    closed: new Promise<void>((r) => (closed = r)),
    paths: [] as string[],
  };
  const server = http.createServer((req, res) => {
    seen.paths.push(`${req.method} ${req.url}`);
    res.on("close", () => closed());
    arrived();
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe("apiWrites and the work queue's signal", () => {
  it("a create in flight is cancelled when the queue shuts down", async () => {
    const { url, seen } = await silentServer();
    const scope = new SignalScope();
    const writes = apiWrites(new KubeClient(kubeConfigFor(url), { timeoutMs: 600_000 }), () =>
      scope.current(),
    );
    const kind = childKind("security.istio.io/v1", "PeerAuthentication");
    if (!kind) throw new Error("PeerAuthentication kind missing");
    let outcome: unknown;
    const queue = new WorkQueue(
      (_key, signal) =>
        scope.run(signal, () =>
          writes
            .create(kind, {
              apiVersion: "security.istio.io/v1",
              kind: "PeerAuthentication",
              metadata: { name: "api", namespace: "ns", labels: {} },
            })
            .then(
              () => (outcome = "answered"),
              (e: unknown) => (outcome = e),
            )
            .then(() => undefined),
        ),
      { concurrency: 1 },
    );
    queue.start();
    queue.add("ns/api");
    await seen.arrived;
    await queue.shutdown(0);
    await seen.closed;
    expect(seen.paths).toEqual([
      "POST /apis/security.istio.io/v1/namespaces/ns/peerauthentications?fieldManager=meshward",
    ]);
    await new Promise<void>((r) => setImmediate(r));
    expect(outcome).toBeInstanceOf(Error);
    expect(String(outcome)).toMatch(/work queue shut down/);
  });
});
