// KubeClient.watch against a real HTTP stream full of garbage: only well-formed events get through,
// and nothing the server sends breaks the stream.
import { getEventListeners } from "node:events";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ApiError, KubeClient, type WatchEvent } from "./client.ts";
import { type FakeApi, kubeConfigFor, startFakeApi } from "../../test-support/fake-api.ts";

const ev = (type: string, name: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ type, object: { kind: "Thing", metadata: { name, resourceVersion: name }, ...extra } });

let api: FakeApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

async function collect(chunks: (string | Buffer)[]): Promise<WatchEvent<{ metadata: { name: string } }>[]> {
  api = await startFakeApi({ watch: () => chunks, endWatch: true });
  const client = new KubeClient(api.kubeConfig);
  const got: WatchEvent<{ metadata: { name: string } }>[] = [];
  await client.watch<{ metadata: { name: string } }>(
    "/apis/example.io/v1/things",
    {},
    (e) => got.push(e),
    new AbortController().signal,
  );
  return got;
}

describe("KubeClient.watch", () => {
  it("skips lines that are not JSON, or JSON that is not an event, and keeps streaming", async () => {
    const modified = ev("MODIFIED", "b", { note: "ü€😀" });
    const bytes = Buffer.from(`${modified}\n`, "utf8");
    const cut = bytes.indexOf(Buffer.from("😀")) + 2; // inside the emoji's four bytes
    const got = await collect([
      `${ev("ADDED", "a")}\n`,
      "not json\n",
      '{"type":"ADDED","object":{"metadata":{"name":"torn"\n',
      "\n",
      "   \n",
      "42\n",
      '"ADDED"\n',
      "null\n",
      "[]\n",
      "true\n",
      '{"type":"ADDED"}\n',
      '{"type":"ADDED","object":null}\n',
      '{"type":"ADDED","object":"x"}\n',
      '{"type":"ADDED","object":[1]}\n',
      `${JSON.stringify({ type: "SURPRISE", object: { metadata: { name: "x" } } })}\n`,
      `${JSON.stringify({ object: { metadata: { name: "x" } } })}\n`,
      "\u0000\u202e\ufeff\n",
      `${"x".repeat(1_000_000)}\n`,
      // a valid event torn across chunks, in the middle of a multi-byte character
      bytes.subarray(0, cut),
      bytes.subarray(cut),
      `${ev("DELETED", "c")}\r\n`,
      `${ev("BOOKMARK", "d")}`, // the last line has no newline: the stream ends mid-line
    ]);
    expect(got.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual([
      "ADDED a",
      "MODIFIED b",
      "DELETED c",
    ]);
    expect((got[1]?.object as { note?: string }).note).toBe("ü€😀");
  });

  it("passes ERROR events on (the informer relists on 410)", async () => {
    const status = { kind: "Status", code: 410, reason: "Expired", message: "too old" };
    const got = await collect([`${JSON.stringify({ type: "ERROR", object: status })}\n`]);
    expect(got).toEqual([{ type: "ERROR", object: status }]);
  });

  it("rejects a refused watch with the server's status, JSON or not", async () => {
    for (const [code, body, reason] of [
      [410, JSON.stringify({ kind: "Status", reason: "Gone", message: "expired" }), "Gone"],
      [500, "<html>oops</html>", "Unknown"],
    ] as const) {
      const server = http.createServer((_req, res) => {
        res.writeHead(code);
        res.end(body);
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      const client = new KubeClient(
        kubeConfigFor(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
      );
      const err = await client
        .watch("/api/v1/pods", {}, () => {}, new AbortController().signal)
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      server.closeAllConnections();
      server.close();
      expect(err).toBeInstanceOf(ApiError);
      expect(err).toMatchObject({ status: code, reason });
    }
  });

  it("ends quietly when aborted mid-stream", async () => {
    api = await startFakeApi({ watch: () => [`${ev("ADDED", "a")}\n`] }); // then stays open
    const client = new KubeClient(api.kubeConfig);
    const ctl = new AbortController();
    const got: string[] = [];
    const done = client.watch<{ metadata: { name: string } }>(
      "/apis/example.io/v1/things",
      {},
      (e) => {
        got.push(e.object.metadata.name);
        ctl.abort();
      },
      ctl.signal,
    );
    await expect(done).resolves.toBeUndefined();
    expect(got).toEqual(["a"]);
  });
});

describe("KubeClient request deadlines", () => {
  let server: http.Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r) ?? r(undefined));
    server = undefined;
  });

  /** A server that answers `/ok` at once and never answers anything else. */
  async function serve(): Promise<string> {
    server = http.createServer((req, res) => {
      if (req.url?.startsWith("/ok")) res.end('{"kind":"Status"}');
    });
    await new Promise<void>((r) => server?.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it("gives up on a request with no answer within the deadline, as a network error", async () => {
    const client = new KubeClient(kubeConfigFor(await serve()), { timeoutMs: 100 });
    const err = await client.get("/hang").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 0, reason: "NetworkError" });
  });

  it("stops a request when the caller's signal aborts", async () => {
    const client = new KubeClient(kubeConfigFor(await serve()));
    const ctl = new AbortController();
    const pending = client.get("/hang", ctl.signal).catch((e: unknown) => e);
    setTimeout(() => ctl.abort(new Error("lease lost")), 20);
    expect(await pending).toMatchObject({ status: 0, reason: "NetworkError" });
  });

  it("leaves no listener on the caller's signal once a request is answered or has failed", async () => {
    const client = new KubeClient(kubeConfigFor(await serve()), { timeoutMs: 100 });
    const ctl = new AbortController();
    await client.get("/ok", ctl.signal);
    await client.get("/hang", ctl.signal).catch(() => undefined);
    expect(getEventListeners(ctl.signal, "abort")).toHaveLength(0);
  });
});
