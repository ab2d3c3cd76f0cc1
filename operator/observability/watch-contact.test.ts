// The watch liveness check on real informers against a stand-in API server: a list and a bookmark
// are contact, garbage on the stream is not; past the threshold the check fails, naming the kind.
import { afterEach, describe, expect, it, vi } from "vitest";
import { KubeClient, type KubeObjectLike, type Resource } from "../runtime/client.ts";
import { Informer } from "../runtime/informer.ts";
import { createLogger } from "../runtime/log.ts";
import { type FakeApi, startFakeApi } from "../../test-support/fake-api.ts";
import { WatchHealth } from "./health.ts";

const THINGS: Resource = {
  group: "example.io",
  version: "v1",
  plural: "things",
  kind: "Thing",
  namespaced: true,
};
const line = (type: string, object: unknown) => `${JSON.stringify({ type, object })}\n`;

let api: FakeApi | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await api?.close();
  api = undefined;
});

/** Runs an informer until `until`, with Date.now() under the test's control. */
async function contactAfter(
  watchLines: string[],
): Promise<{ inf: Informer<KubeObjectLike>; clock: { now: number } }> {
  const clock = { now: 1_000 };
  vi.spyOn(Date, "now").mockImplementation(() => clock.now);
  let watched = false;
  api = await startFakeApi({
    list: () => {
      clock.now = 2_000;
      return { items: [], metadata: { resourceVersion: "1" } };
    },
    watch: () => {
      clock.now = 3_000;
      watched = true;
      return watchLines;
    },
  });
  const inf = new Informer<KubeObjectLike>({
    client: new KubeClient(api.kubeConfig),
    resource: THINGS,
    log: createLogger("fatal"),
  });
  const ctl = new AbortController();
  const running = inf.start(ctl.signal);
  const deadline = performance.now() + 5_000;
  // Let the watch lines arrive (each chunk is flushed on its own, 1 ms apart).
  while (!(watched && inf.synced) && performance.now() < deadline)
    await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 100));
  ctl.abort();
  await running;
  return { inf, clock };
}

describe("WatchHealth on informers", () => {
  it("counts a bookmark as contact", async () => {
    const { inf, clock } = await contactAfter([
      line("BOOKMARK", { kind: "Thing", metadata: { resourceVersion: "9" } }),
    ]);
    expect(inf.lastContact).toBe(3_000);
    const h = new WatchHealth({ sources: () => [inf], maxSilenceMs: 600_000, now: () => clock.now });
    clock.now = 3_000 + 600_000;
    expect(h.check().ok).toBe(true);
    clock.now += 1;
    expect(h.check()).toEqual({
      ok: false,
      detail: "watches: no answer from the API server for Thing.example.io (600 s)",
    });
  });

  it("counts the list, not garbage on the stream", async () => {
    const { inf } = await contactAfter(["garbage\n", "42\n"]);
    expect(inf.lastContact).toBe(2_000);
  });
});
