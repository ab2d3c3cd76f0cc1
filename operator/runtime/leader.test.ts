import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type Lease, type LeaseApi, LeaderElector, type LeaderElectorOptions, microTime } from "./leader.ts";

const NS = "meshward-system";
const NAME = "meshward-leader";
const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

class StatusError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

/** The API server's copy of the Lease, with resourceVersion checks like the real one. */
class Store {
  lease: Lease | undefined;
  #rv = 0;
  readonly holders: (string | null | undefined)[] = [];

  write(lease: Lease): Lease {
    this.lease = structuredClone({
      ...lease,
      metadata: { ...lease.metadata, resourceVersion: String(++this.#rv) },
    });
    if (this.holders.at(-1) !== lease.spec.holderIdentity) this.holders.push(lease.spec.holderIdentity);
    return structuredClone(this.lease);
  }
}

type Mode = "ok" | "fail" | "hang";

/** One replica's client: shares the store, can be made to fail or hang. */
class FakeLeaseApi implements LeaseApi {
  mode: Mode = "ok";
  /** Delay of every call, so that calls of several replicas interleave. */
  latencyMs = 0;
  readonly store: Store;
  constructor(store: Store) {
    this.store = store;
  }

  /** The signals of the calls that hung, to see that giving up aborts them. */
  hung: AbortSignal[] = [];

  async #gate(signal?: AbortSignal): Promise<void> {
    if (this.mode === "hang" && signal) this.hung.push(signal);
    await (this.latencyMs > 0
      ? new Promise((resolve) => setTimeout(resolve, this.latencyMs))
      : Promise.resolve());
    if (this.mode === "fail") throw new Error("connect ECONNREFUSED");
    if (this.mode === "hang") await new Promise(() => {});
  }

  async get(namespace: string, name: string, signal?: AbortSignal): Promise<Lease | undefined> {
    await this.#gate(signal);
    const l = this.store.lease;
    if (!l || l.metadata.namespace !== namespace || l.metadata.name !== name) return undefined;
    return structuredClone(l);
  }

  async create(lease: Lease, signal?: AbortSignal): Promise<Lease> {
    await this.#gate(signal);
    if (this.store.lease) throw new StatusError(409, "leases.coordination.k8s.io already exists");
    return this.store.write(lease);
  }

  async replace(lease: Lease, signal?: AbortSignal): Promise<Lease> {
    await this.#gate(signal);
    const cur = this.store.lease;
    if (!cur) throw new StatusError(404, "not found");
    if (lease.metadata.resourceVersion !== cur.metadata.resourceVersion) {
      throw new StatusError(409, "the object has been modified");
    }
    return this.store.write(lease);
  }
}

interface Replica {
  id: string;
  api: FakeLeaseApi;
  elector: LeaderElector;
  events: { at: number; event: "started" | "stopped" | `new:${string}` }[];
  abort: AbortController;
  done: Promise<void>;
  /** Leading according to the callbacks. */
  leading: boolean;
}

function replica(store: Store, id: string, opts: Partial<LeaderElectorOptions> = {}): Replica {
  const api = new FakeLeaseApi(store);
  const abort = new AbortController();
  const r: Replica = {
    id,
    api,
    events: [],
    abort,
    leading: false,
    elector: undefined as unknown as LeaderElector,
    done: Promise.resolve(),
  };
  r.elector = new LeaderElector({
    api,
    namespace: NS,
    name: NAME,
    identity: id,
    now: () => Date.now(),
    onStartedLeading: () => {
      r.leading = true;
      r.events.push({ at: Date.now(), event: "started" });
    },
    onStoppedLeading: () => {
      r.leading = false;
      r.events.push({ at: Date.now(), event: "stopped" });
    },
    onNewLeader: (who) => r.events.push({ at: Date.now(), event: `new:${who}` }),
    ...opts,
  });
  return r;
}

function start(r: Replica): void {
  r.done = r.elector.run(r.abort.signal);
}

function times(r: Replica, event: "started" | "stopped"): number[] {
  return r.events.filter((e) => e.event === event).map((e) => e.at);
}

/**
 * Advances fake time in small steps, checking after each that at most one replica leads
 * (by isLeader and by the callbacks). Stops early when `until()` holds.
 */
async function run(replicas: Replica[], ms: number, until?: () => boolean): Promise<void> {
  const step = 50;
  for (let t = 0; t < ms; t += step) {
    await vi.advanceTimersByTimeAsync(step);
    expect(replicas.filter((r) => r.elector.isLeader).length).toBeLessThanOrEqual(1);
    expect(replicas.filter((r) => r.leading).length).toBeLessThanOrEqual(1);
    if (until?.()) return;
  }
}

async function stopAll(replicas: Replica[]): Promise<void> {
  for (const r of replicas) {
    r.api.mode = "ok";
    r.abort.abort();
  }
  await vi.advanceTimersByTimeAsync(0);
  await Promise.all(replicas.map((r) => r.done));
}

describe("LeaderElector", () => {
  let store: Store;
  const T0 = new Date("2026-11-23T13:00:00Z").getTime();

  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
    store = new Store();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it("formats MicroTime with six fractional digits", () => {
    expect(microTime(T0)).toBe("2026-11-23T13:00:00.000000Z");
    expect(microTime(T0 + 1234.5678)).toBe("2026-11-23T13:00:01.234567Z");
  });

  it("rejects inconsistent durations", () => {
    const base = { api: new FakeLeaseApi(store), namespace: NS, name: NAME, identity: "a" };
    const cbs = { onStartedLeading: () => {}, onStoppedLeading: () => {} };
    expect(
      () => new LeaderElector({ ...base, ...cbs, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }),
    ).toThrow();
    expect(
      () => new LeaderElector({ ...base, ...cbs, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }),
    ).toThrow();
    expect(() => new LeaderElector({ ...base, ...cbs, identity: "" })).toThrow();
    expect(() => new LeaderElector({ ...base, ...cbs })).not.toThrow();
  });

  it("creates the Lease when there is none and renews it every retryPeriod", async () => {
    const a = replica(store, "a");
    expect(a.elector.leaderKnown).toBe(false);
    start(a);
    await run([a], 100);
    expect(a.elector.isLeader).toBe(true);
    expect(a.elector.leaderKnown).toBe(true);
    expect(a.elector.leader).toBe("a");
    expect(a.events.map((e) => e.event)).toEqual(["new:a", "started"]);
    const created = structuredClone(store.lease);
    expect(created?.spec).toEqual({
      holderIdentity: "a",
      leaseDurationSeconds: 15,
      acquireTime: "2026-11-23T13:00:00.000000Z",
      renewTime: "2026-11-23T13:00:00.000000Z",
      leaseTransitions: 0,
    });

    await run([a], 2_000);
    expect(store.lease?.spec.renewTime).toBe("2026-11-23T13:00:02.000000Z");
    expect(store.lease?.spec.acquireTime).toBe(created?.spec.acquireTime);
    expect(store.lease?.spec.leaseTransitions).toBe(0);
    await run([a], 30_000);
    expect(times(a, "started")).toHaveLength(1);
    expect(times(a, "stopped")).toHaveLength(0);
    await stopAll([a]);
    expect(times(a, "stopped")).toEqual([Date.now()]);
  });

  it("two electors starting together: exactly one leads", async () => {
    const a = replica(store, "a");
    const b = replica(store, "b");
    start(a);
    start(b);
    await run([a, b], 60_000);
    const leaders = [a, b].filter((r) => r.elector.isLeader);
    expect(leaders).toHaveLength(1);
    const leader = leaders[0] as Replica;
    const follower = leader === a ? b : a;
    expect(store.lease?.spec.holderIdentity).toBe(leader.id);
    expect(times(leader, "started")).toHaveLength(1);
    expect(times(follower, "started")).toHaveLength(0);
    expect(follower.elector.leaderKnown).toBe(true);
    expect(follower.elector.leader).toBe(leader.id);
    expect(follower.events.map((e) => e.event)).toEqual([`new:${leader.id}`]);
    await stopAll([a, b]);
  });

  it("two electors racing for an abandoned Lease: the resourceVersion lets only one win", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0); // both poll at the same instants
    store.write({
      metadata: { name: NAME, namespace: NS },
      spec: { holderIdentity: "dead", leaseDurationSeconds: 15, leaseTransitions: 4 },
    });
    const a = replica(store, "a");
    const b = replica(store, "b");
    a.api.latencyMs = b.api.latencyMs = 10;
    const conflicts: string[] = [];
    for (const r of [a, b]) {
      r.api.replace = async (lease) => {
        try {
          return await FakeLeaseApi.prototype.replace.call(r.api, lease);
        } catch (err) {
          conflicts.push(r.id);
          throw err;
        }
      };
    }
    start(a);
    start(b);
    await run([a, b], 14_000);
    expect(a.leading || b.leading).toBe(false);
    await run([a, b], 4_000, () => a.leading || b.leading);
    expect([a, b].filter((r) => r.leading)).toHaveLength(1);
    // Taken over only after 15 s without change, by our clock.
    const started = [...times(a, "started"), ...times(b, "started")];
    expect(started).toHaveLength(1);
    expect((started[0] ?? 0) - T0).toBeGreaterThanOrEqual(15_000);
    expect(store.lease?.spec.leaseTransitions).toBe(5);
    expect(store.holders).toEqual(["dead", a.leading ? "a" : "b"]);
    expect(conflicts).toEqual([a.leading ? "b" : "a"]); // both tried; the second write was refused
    await stopAll([a, b]);
  });

  it("does not trust the holder's timestamps: an old renewTime is not expiry", async () => {
    store.write({
      metadata: { name: NAME, namespace: NS },
      spec: {
        holderIdentity: "other",
        leaseDurationSeconds: 15,
        renewTime: "2000-01-01T00:00:00.000000Z",
        leaseTransitions: 0,
      },
    });
    const a = replica(store, "a");
    start(a);
    await run([a], 14_000);
    expect(a.leading).toBe(false);
    await run([a], 4_000);
    expect(a.leading).toBe(true);
    await stopAll([a]);
  });

  it("when the leader stops renewing, it steps down first and the other takes over after ~leaseDuration", async () => {
    const a = replica(store, "a");
    start(a);
    await run([a], 100);
    const b = replica(store, "b");
    start(b);
    await run([a, b], 10_000);
    expect(a.leading).toBe(true);

    const lastRenew = Date.parse(store.lease?.spec.renewTime ?? "");
    a.api.mode = "fail";
    const failedAt = Date.now();
    await run([a, b], 30_000, () => b.leading);
    expect(b.leading).toBe(true);

    const aStopped = times(a, "stopped");
    const bStarted = times(b, "started");
    expect(aStopped).toHaveLength(1);
    expect(bStarted).toHaveLength(1);
    // a stepped down at its renew deadline (10 s after its last successful renewal)...
    expect(Math.abs((aStopped[0] ?? 0) - (lastRenew + 10_000))).toBeLessThanOrEqual(50);
    // ...before b took over, ~15 s after the last change b saw.
    expect(aStopped[0]).toBeLessThan(bStarted[0] ?? 0);
    const takeover = (bStarted[0] ?? 0) - lastRenew;
    expect(takeover).toBeGreaterThanOrEqual(15_000);
    expect(takeover).toBeLessThanOrEqual(15_000 + 2 * 2_400 + 100);
    expect((bStarted[0] ?? 0) - failedAt).toBeGreaterThan(12_000);
    expect(store.lease?.spec.holderIdentity).toBe("b");
    expect(store.lease?.spec.leaseTransitions).toBe(1);
    expect(a.elector.leader).toBe("a"); // a cannot read the Lease any more

    // a comes back: it sees b and stays a follower.
    a.api.mode = "ok";
    await run([a, b], 20_000);
    expect(b.leading).toBe(true);
    expect(a.elector.leader).toBe("b");
    expect(times(a, "started")).toHaveLength(1);
    await stopAll([a, b]);
  });

  it("calls onStoppedLeading once, at the renew deadline, when renewals hang; re-acquires when the API returns", async () => {
    const a = replica(store, "a");
    start(a);
    await run([a], 5_000);
    const lastRenew = Date.parse(store.lease?.spec.renewTime ?? "");
    a.api.mode = "hang";
    await run([a], lastRenew + 9_950 - Date.now());
    expect(a.leading).toBe(true);
    await run([a], 2_000, () => !a.leading);
    expect(a.elector.isLeader).toBe(false);
    expect(times(a, "stopped")).toEqual([lastRenew + 10_000]);
    // Every attempt given up was cancelled: its request cannot land later. (The last one is the
    // acquire attempt that started after stepping down, still within its time.)
    expect(a.api.hung.length).toBeGreaterThan(1);
    expect(a.api.hung.slice(0, -1).every((sig) => sig.aborted)).toBe(true);
    expect(a.api.hung.at(-1)?.aborted).toBe(false);
    await run([a], 60_000);
    expect(times(a, "stopped")).toHaveLength(1);

    // The Lease still names a: once the API answers again, a renews it and leads again.
    a.api.mode = "ok";
    await run([a], 15_000, () => a.leading);
    expect(a.leading).toBe(true);
    expect(times(a, "started")).toHaveLength(2);
    expect(store.lease?.spec.leaseTransitions).toBe(0);
    await stopAll([a]);
  });

  it("isLeader is false as soon as the renew deadline has passed, even before the loop notices", async () => {
    const a = replica(store, "a", { retryPeriodMs: 2_000 });
    start(a);
    await run([a], 100);
    expect(a.elector.isLeader).toBe(true);
    a.api.mode = "hang";
    // Move only the clock, not the timers.
    const realNow = Date.now;
    vi.spyOn(Date, "now").mockImplementation(() => realNow() + 10_000);
    expect(a.elector.isLeader).toBe(false);
    vi.mocked(Date.now).mockRestore();
    await stopAll([a]);
  });

  it("steps down at once when a renewal finds another holder", async () => {
    const a = replica(store, "a");
    start(a);
    await run([a], 3_000);
    const cur = store.lease as Lease;
    store.write({ ...cur, spec: { ...cur.spec, holderIdentity: "intruder" } });
    const changed = Date.now();
    await run([a], 3_000, () => !a.leading);
    expect(a.leading).toBe(false);
    expect((times(a, "stopped")[0] ?? 0) - changed).toBeLessThanOrEqual(2_000);
    expect(a.events.map((e) => e.event)).toContain("new:intruder");
    await stopAll([a]);
  });

  it("release() hands the Lease over at once", async () => {
    const a = replica(store, "a");
    const b = replica(store, "b");
    start(a);
    await run([a], 100);
    start(b);
    await run([a, b], 7_000);
    expect(a.leading).toBe(true);

    const releasedAt = Date.now();
    const released = a.elector.release();
    await vi.advanceTimersByTimeAsync(0);
    await released;
    await a.done;
    expect(times(a, "stopped")).toEqual([releasedAt]);
    expect(store.lease?.spec).toMatchObject({
      holderIdentity: null,
      leaseDurationSeconds: 1,
      renewTime: microTime(releasedAt),
    });

    await run([a, b], 3_000, () => b.leading);
    expect(b.leading).toBe(true);
    expect((times(b, "started")[0] ?? 0) - releasedAt).toBeLessThanOrEqual(2_400 + 50);
    expect(store.lease?.spec.holderIdentity).toBe("b");
    expect(store.lease?.spec.leaseTransitions).toBe(1);
    expect(store.lease?.spec.renewTime).toMatch(MICRO_TIME);
    expect(store.holders).toEqual(["a", null, "b"]);

    // a's run() has ended and a does not take the Lease back.
    await run([a, b], 20_000);
    expect(times(a, "started")).toHaveLength(1);
    // Releasing a Lease we do not hold changes nothing.
    const before = structuredClone(store.lease);
    await a.elector.release();
    expect(store.lease).toEqual(before);
    await stopAll([a, b]);
  });

  it("aborting run() steps down and resolves; release() does not hang when the API does", async () => {
    const a = replica(store, "a");
    start(a);
    await run([a], 100);
    a.abort.abort();
    await vi.advanceTimersByTimeAsync(0);
    await a.done;
    expect(times(a, "stopped")).toHaveLength(1);
    expect(a.elector.isLeader).toBe(false);
    a.api.mode = "hang";
    let done = false;
    void a.elector.release().then(() => (done = true));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(done).toBe(true);
    expect(times(a, "stopped")).toHaveLength(1);
  });

  it("survives callbacks that throw", async () => {
    const logs: string[] = [];
    const a = replica(store, "a", {
      onStartedLeading: () => {
        throw new Error("boom");
      },
      log: (m) => logs.push(m),
    });
    start(a);
    await run([a], 5_000);
    expect(a.elector.isLeader).toBe(true);
    expect(logs).toContain("onStartedLeading threw");
    await stopAll([a]);
  });
});
