// The informer against a real HTTP server that lists and streams garbage: it syncs, caches only
// well-formed objects of its kind, tells its handlers about nothing else, and does not restart.
import { afterEach, describe, expect, it } from "vitest";
import { KubeClient, type KubeObjectLike, type Resource } from "./client.ts";
import { Informer, type InformerOptions } from "./informer.ts";
import { createLogger } from "./log.ts";
import { type FakeApi, type FakeApiOptions, startFakeApi } from "../../test-support/fake-api.ts";

const THINGS: Resource = {
  group: "example.io",
  version: "v1",
  plural: "things",
  kind: "Thing",
  namespaced: true,
};
const thing = (name: string, rv: string) => ({
  kind: "Thing",
  metadata: { name, namespace: "ns", resourceVersion: rv },
});
const line = (type: string, object: unknown) => `${JSON.stringify({ type, object })}\n`;

/** Garbage that may come in a list's items or as a watched object. */
const GARBAGE: unknown[] = [
  null,
  5,
  "x",
  [],
  {},
  { metadata: null },
  { metadata: "x" },
  { metadata: { name: 5 } },
  { metadata: { name: "" } },
  { metadata: { name: "n", namespace: 7 } },
  { kind: "Pod", metadata: { name: "not-a-thing", namespace: "ns" } },
];

let api: FakeApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

function logSink() {
  const lines: { level: string; msg: string }[] = [];
  const log = createLogger("debug", { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines };
}

async function run(
  opts: FakeApiOptions,
  until: (inf: Informer<KubeObjectLike>) => boolean,
  extra: Partial<InformerOptions> = {},
) {
  api = await startFakeApi(opts);
  const { log, lines } = logSink();
  const inf = new Informer<KubeObjectLike>({
    client: new KubeClient(api.kubeConfig),
    resource: THINGS,
    log,
    backoff: { baseMs: 5, maxMs: 20 },
    ...extra,
  });
  const seen: string[] = [];
  inf.on((type, obj) => seen.push(`${type} ${obj.metadata?.name}`));
  const ctl = new AbortController();
  const running = inf.start(ctl.signal);
  const deadline = Date.now() + 5_000;
  while (!until(inf) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  ctl.abort();
  await running;
  return { inf, seen, lines };
}

describe("Informer on garbage", () => {
  it("skips odd list items and watched objects, and keeps its watch", async () => {
    const { inf, seen, lines } = await run(
      {
        list: () => ({ items: [...GARBAGE, thing("a", "1")], metadata: { resourceVersion: "1" } }),
        watch: (_p, _u, n) =>
          n > 1
            ? []
            : [
                "garbage\n",
                ...GARBAGE.map((g) => line("ADDED", g)),
                line("SURPRISE", thing("x", "2")),
                line("ADDED", thing("b", "3")),
                line("MODIFIED", { ...thing("a", "4"), kind: "Pod" }),
                line("DELETED", thing("a", "5")),
              ],
      },
      (i) => i.get("ns/b") !== undefined && i.get("ns/a") === undefined,
    );
    expect(inf.list().map((o) => o.metadata?.name)).toEqual(["b"]);
    expect(seen).toEqual(["add a", "add b", "delete a"]);
    expect(inf.counters.errors).toBe(0);
    expect(inf.counters.watches).toBe(1);
    expect(lines.filter((l) => l.level === "error" || l.level === "warn")).toEqual([]);
  });

  it("retries a list answer without items instead of caching nonsense, then syncs", async () => {
    let lists = 0;
    const { inf } = await run(
      {
        list: () =>
          ++lists === 1
            ? { items: "nope", metadata: { resourceVersion: "1" } }
            : { items: [thing("a", "1")], metadata: { resourceVersion: "1" } },
      },
      (i) => i.synced && i.size === 1,
    );
    expect(inf.synced).toBe(true);
    expect(inf.counters.errors).toBe(1);
    expect(inf.list().map((o) => o.metadata?.name)).toEqual(["a"]);
  });
});

describe("Informer transform and indexes", () => {
  const owned = (name: string, rv: string, owner: string) => ({
    ...thing(name, rv),
    metadata: { ...thing(name, rv).metadata, labels: { owner }, managedFields: [{ manager: "m" }] },
  });

  it("caches the transformed object and keeps an index that follows moves and deletions", async () => {
    const seen: unknown[] = [];
    const { inf } = await run(
      {
        list: () => ({
          items: [owned("a", "1", "x"), owned("b", "1", "x"), owned("c", "1", "y")],
          metadata: { resourceVersion: "1" },
        }),
        watch: (_p, _u, n) =>
          n > 1 ? [] : [line("MODIFIED", owned("b", "2", "y")), line("DELETED", owned("a", "3", "x"))],
      },
      (i) => i.byIndex("owner", "x").length === 0 && i.byIndex("owner", "y").length === 2,
      {
        transform: (o) => {
          seen.push(o.metadata?.name);
          const { managedFields: _drop, ...metadata } = o.metadata ?? {};
          return { ...o, metadata };
        },
        indexes: { owner: (o) => o.metadata?.labels?.owner },
      },
    );
    expect(inf.byIndex("owner", "x")).toEqual([]);
    expect(
      inf
        .byIndex("owner", "y")
        .map((o) => o.metadata?.name)
        .sort(),
    ).toEqual(["b", "c"]);
    expect(inf.countByIndex("owner", "y")).toBe(2);
    expect(inf.list().every((o) => o.metadata?.managedFields === undefined)).toBe(true);
    expect(seen.length).toBeGreaterThanOrEqual(5);
  });
});

describe("Informer.waitForSync", () => {
  it("resolves on abort, also for a signal that aborted before the call (shutdown before sync)", async () => {
    // A list answer without items: the informer retries and never syncs.
    api = await startFakeApi({ list: () => ({}) });
    const inf = new Informer<KubeObjectLike>({
      client: new KubeClient(api.kubeConfig),
      resource: THINGS,
      log: logSink().log,
    });
    const ctl = new AbortController();
    void inf.start(ctl.signal);
    const settled: string[] = [];
    const before = inf.waitForSync(ctl.signal).then(() => settled.push("before"));
    ctl.abort();
    await before;
    const after = inf.waitForSync(ctl.signal).then(() => settled.push("after"));
    // Both settle, in order, though the informer never synced.
    await Promise.race([after, new Promise((r) => setImmediate(r))]);
    expect(settled).toEqual(["before", "after"]);
    expect(inf.synced).toBe(false);
  });
});
