// The profile planner on hand-built snapshots: no cluster, fake or real. Each test states what
// the caches hold and what the executor reported, and checks the writes, deletes, Events, status
// and next step that the planner decides.
import { describe, expect, it } from "vitest";
import type { Profile } from "../../api/schema.ts";
import { validateProfile } from "../../api/validate.ts";
import { DEFAULT_PLATFORM, makeContext } from "../../builders/index.ts";
import { ApiError, type KubeObjectLike } from "../../runtime/client.ts";
import { type ChildKind, childKind } from "../kinds.ts";
import type { ProfileSnapshot } from "./gather.ts";
import { advance, finish, prune, REFUSED_RETRY_MS, start } from "./plan.ts";
import type { WriteResult } from "./types.ts";
import { noForeignObjects } from "../../perimeter/types.ts";

const NOW = new Date("2026-11-20T00:00:00Z");
const UID = "profile-uid";

function raw(spec: Record<string, unknown> = { selector: { app: "api" } }): KubeObjectLike {
  return {
    apiVersion: "meshward.io/v1alpha1",
    kind: "ServiceSecurityProfile",
    metadata: { name: "api", namespace: "ns", uid: UID, generation: 1, resourceVersion: "7" },
    spec,
  } as KubeObjectLike;
}

function kind(apiVersion: string, k: string): ChildKind {
  const c = childKind(apiVersion, k);
  if (!c) throw new Error(`no kind ${k}`);
  return c;
}

const NP = kind("networking.k8s.io/v1", "NetworkPolicy");
const PA = kind("security.istio.io/v1", "PeerAuthentication");

function snapshot(o: Partial<ProfileSnapshot> = {}): ProfileSnapshot {
  const r = o.raw === undefined && "raw" in o ? undefined : (o.raw ?? raw());
  const v = r ? validateProfile(r) : { ok: false as const, problems: [] };
  const validation = { profile: v.ok ? (v.profile as Profile) : undefined, problems: v.problems };
  return {
    key: "ns/api",
    namespace: "ns",
    name: "api",
    raw: r,
    terminating: false,
    previous: undefined,
    validation,
    namespaceLabels: { "kubernetes.io/metadata.name": "ns" },
    namespaceProfiles: validation.profile ? [validation.profile] : [],
    policies: [],
    foreign: { objects: noForeignObjects(), skipped: 0 },
    ctx: makeContext({ defaults: DEFAULT_PLATFORM, now: NOW, profiles: new Map() }),
    meshMode: "sidecar",
    live: () => undefined,
    available: () => true,
    validIn: () => [],
    waypoint: undefined,
    service: () => null,
    esoError: () => undefined,
    owned: new Map(),
    ...o,
  };
}

function build(s: ProfileSnapshot) {
  const first = start(s);
  if (first.type !== "build") throw new Error(`expected a build, got ${first.type}`);
  return first;
}

/** Every write done as asked: creates and applies answered with the object. */
function allWritten(writes: ReturnType<typeof build>["writes"]): WriteResult[] {
  return writes.map((w) => ({ index: w.index, type: "written", current: w.desired as KubeObjectLike }));
}

describe("the profile planner", () => {
  it("a new profile: one create per object, one Created Event, Ready=True, nothing to prune", () => {
    const s = snapshot();
    const first = build(s);
    expect(first.writes.map((w) => [w.desired.kind, w.action.type])).toEqual([
      ["ServiceAccount", "create"],
      ["PeerAuthentication", "create"],
      ["AuthorizationPolicy", "create"],
      ["NetworkPolicy", "create"],
    ]);
    const { children, writes } = advance(first.built.children, allWritten(first.writes));
    expect(writes).toEqual([]);
    const built = { ...first.built, children };
    expect(prune(s, built)).toEqual([]);
    const done = finish(s, built, []);
    expect(done.events.map((e) => e.reason)).toEqual(["Created"]);
    expect(done.status?.status.conditions?.find((c) => c.type === "Ready")).toMatchObject({
      status: "True",
      reason: "Reconciled",
    });
    expect(done.retry).toBeUndefined();
    expect(done.result).toBeUndefined();
  });

  it("a transient failure of one child: the rest is done, prune still runs, Ready=False WriteFailed, then retry", () => {
    const stale = {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: {
        name: "old",
        namespace: "ns",
        uid: "old-uid",
        ownerReferences: [
          {
            apiVersion: "meshward.io/v1alpha1",
            kind: "ServiceSecurityProfile",
            name: "api",
            uid: UID,
            controller: true,
          },
        ],
      },
    } as KubeObjectLike;
    const s = snapshot({ owned: new Map([[NP, [stale]]]) });
    const first = build(s);
    const throttled = new ApiError(429, "TooManyRequests", "slow down");
    const results: WriteResult[] = first.writes.map((w) =>
      w.desired.kind === "PeerAuthentication"
        ? { index: w.index, type: "failed", error: throttled }
        : { index: w.index, type: "written", current: w.desired as KubeObjectLike },
    );
    const { children, writes } = advance(first.built.children, results);
    expect(writes).toEqual([]);
    const built = { ...first.built, children };
    expect(prune(s, built)).toEqual([{ kind: NP, namespace: "ns", name: "old", uid: "old-uid" }]);
    const done = finish(s, built, [{ delete: { kind: NP, namespace: "ns", name: "old", uid: "old-uid" } }]);
    expect(done.retry).toBe(throttled);
    expect(done.events.map((e) => e.reason)).toEqual(["Created", "Pruned"]);
    expect(done.events[0]?.note).not.toContain("PeerAuthentication");
    const conditions = done.status?.status.conditions ?? [];
    expect(conditions.find((c) => c.type === "Ready")).toMatchObject({
      status: "False",
      reason: "WriteFailed",
    });
    expect(conditions.find((c) => c.type === "Degraded")?.message).toContain(
      "PeerAuthentication api: slow down",
    );
    expect(done.status?.status.objects?.find((o) => o.kind === "PeerAuthentication")).toMatchObject({
      state: "Missing",
    });
  });

  it("a refused write: ApplyFailed Event on the object, its state Missing, tried again in a minute, not thrown", () => {
    const s = snapshot();
    const first = build(s);
    const refused = new ApiError(403, "Forbidden", "peerauthentications is forbidden");
    const results: WriteResult[] = first.writes.map((w) =>
      w.kind === PA
        ? { index: w.index, type: "failed", error: refused }
        : { index: w.index, type: "written", current: w.desired as KubeObjectLike },
    );
    const built = { ...first.built, children: advance(first.built.children, results).children };
    const done = finish(s, built, []);
    expect(done.retry).toBeUndefined();
    expect(done.result).toEqual({ requeueAfterMs: REFUSED_RETRY_MS });
    expect(done.events.find((e) => e.reason === "ApplyFailed")).toMatchObject({
      type: "Warning",
      note: "PeerAuthentication api: peerauthentications is forbidden",
      related: { kind: "PeerAuthentication", name: "api" },
    });
    expect(done.refused).toEqual([
      { object: "PeerAuthentication api", error: "peerauthentications is forbidden" },
    ]);
  });

  it("a create that finds the name taken by someone else: Conflict, no second write", () => {
    const s = snapshot();
    const first = build(s);
    const theirs = {
      kind: "PeerAuthentication",
      metadata: { name: "api", namespace: "ns", uid: "x", managedFields: [{ manager: "kubectl" }] },
    } as KubeObjectLike;
    const results: WriteResult[] = first.writes.map((w) =>
      w.kind === PA
        ? { index: w.index, type: "observed", live: theirs, taken: true }
        : { index: w.index, type: "written", current: w.desired as KubeObjectLike },
    );
    const { children, writes } = advance(first.built.children, results);
    expect(writes).toEqual([]);
    const done = finish(s, { ...first.built, children }, []);
    expect(done.events.filter((e) => e.reason === "Conflict")).toHaveLength(1);
    expect(done.status?.status.conditions?.find((c) => c.type === "Conflict")).toMatchObject({
      status: "True",
      reason: "ObjectExists",
    });
  });

  it("a taken name that is gone again before its read: retried, not a conflict", () => {
    const s = snapshot();
    const first = build(s);
    const results: WriteResult[] = first.writes.map((w) =>
      w.kind === PA
        ? { index: w.index, type: "observed", live: undefined, taken: true }
        : { index: w.index, type: "written", current: w.desired as KubeObjectLike },
    );
    const { children } = advance(first.built.children, results);
    const done = finish(s, { ...first.built, children }, []);
    expect(String(done.retry)).toContain("PeerAuthentication api was deleted while being created");
  });

  it("a name that was someone else's last time is read first; gone now, it is created", () => {
    const previous = {
      objects: [
        {
          apiVersion: "security.istio.io/v1",
          kind: "PeerAuthentication",
          name: "api",
          state: "Conflict" as const,
        },
      ],
    };
    const s = snapshot({ previous });
    const first = build(s);
    expect(first.writes.find((w) => w.kind === PA)?.action).toEqual({ type: "read" });
    const results: WriteResult[] = first.writes.map((w) =>
      w.kind === PA
        ? { index: w.index, type: "observed", live: undefined, taken: false }
        : { index: w.index, type: "written", current: w.desired as KubeObjectLike },
    );
    const { writes } = advance(first.built.children, results);
    expect(writes.map((w) => [w.kind, w.action.type])).toEqual([[PA, "create"]]);
  });

  it("an invalid spec: only the status and one InvalidSpec Event; gone or terminating: nothing", () => {
    const bad = snapshot({ raw: raw({ selector: "not a map" }) });
    const first = start(bad);
    expect(first.type).toBe("invalid");
    if (first.type !== "invalid") return;
    expect(first.events.map((e) => e.reason)).toEqual(["InvalidSpec"]);
    expect(first.status?.status.conditions?.find((c) => c.type === "Ready")?.reason).toBe("InvalidSpec");
    expect(start(snapshot({ raw: undefined })).type).toBe("gone");
    expect(start(snapshot({ terminating: true })).type).toBe("gone");
  });

  it("the status already says it all: no status write", () => {
    const s = snapshot();
    const first = build(s);
    const built = {
      ...first.built,
      children: advance(first.built.children, allWritten(first.writes)).children,
    };
    const status = finish(s, built, []).status?.status;
    const again = snapshot({ previous: status, live: (_k, _ns, _n) => undefined });
    const second = build(again);
    // Cache empty (the watch events have not arrived): the planner creates again, as it would.
    expect(second.writes.length).toBeGreaterThan(0);
    const inSync = snapshot({
      previous: status,
      live: (k, ns, n) =>
        second.built.children.find((c) => c.kind === k && c.desired.metadata.name === n && ns === "ns")
          ?.desired as KubeObjectLike | undefined,
    });
    const third = build(inSync);
    expect(third.writes).toEqual([]);
    expect(finish(inSync, third.built, []).status).toBeUndefined();
  });

  describe("SecretsReady takes the provider's words from ESO's Event", () => {
    const ES = kind("external-secrets.io/v1", "ExternalSecret");
    const withSecret = raw({
      selector: { app: "api" },
      secrets: [
        {
          name: "api-db",
          storeRef: { name: "vault" },
          data: [{ secretKey: "password", remoteRef: { key: "db", property: "password" } }],
        },
      ],
    });
    const VAULT = "Error making API request.\n\nCode: 403. Errors:\n\n* permission denied\n";
    const ready = (status: string) => ({
      conditions: [
        status === "False"
          ? {
              type: "Ready",
              status,
              reason: "SecretSyncedError",
              message: "could not get secret data from provider",
            }
          : { type: "Ready", status, reason: "SecretSynced", message: "secret synced" },
      ],
      ...(status === "True" && { refreshTime: "2026-11-19T23:59:00Z", syncedResourceVersion: "1-a" }),
    });
    /** The planner's SecretsReady condition, with the ExternalSecret in the cache as ESO left it. */
    function secretsReady(esoStatus: unknown, event: string | undefined, asked: string[] = []) {
      let first = build(snapshot({ raw: withSecret }));
      const written = advance(first.built.children, allWritten(first.writes)).children;
      const live = (k: ChildKind, _ns: string, n: string) => {
        const c = written.find((w) => w.kind === k && w.desired.metadata.name === n);
        if (!c) return undefined;
        const obj = c.desired as KubeObjectLike;
        return k === ES && esoStatus ? ({ ...obj, status: esoStatus } as KubeObjectLike) : obj;
      };
      const s = snapshot({
        raw: withSecret,
        live,
        esoError: (ns, n) => {
          asked.push(`${ns}/${n}`);
          return event;
        },
      });
      first = build(s);
      const built = {
        ...first.built,
        children: advance(first.built.children, allWritten(first.writes)).children,
      };
      const done = finish(s, built, []);
      return {
        cond: done.status?.status.conditions?.find((c) => c.type === "SecretsReady"),
        result: done.result,
      };
    }

    it.each([
      {
        name: "failing, with ESO's Event: ESO's short message and Vault's words on one line",
        eso: ready("False"),
        event: VAULT,
        want: {
          status: "False",
          message: expect.stringContaining(
            "could not get secret data from provider: Error making API request. Code: 403. Errors: * permission denied",
          ) as unknown,
        },
      },
      {
        name: "failing, no Event yet: ESO's short message, nothing invented",
        eso: ready("False"),
        event: undefined,
        want: { status: "False", message: expect.not.stringContaining("permission denied") as unknown },
      },
      {
        name: "synced again: an old Event's words are not shown",
        eso: ready("True"),
        event: VAULT,
        want: { status: "True", message: expect.not.stringContaining("permission denied") as unknown },
      },
      {
        name: "ESO has not reported yet: Pending, whatever an Event says",
        eso: undefined,
        event: VAULT,
        want: { status: "Unknown", reason: "Pending" },
      },
    ])("$name", ({ eso, event, want }) => {
      const { cond, result } = secretsReady(eso, event);
      expect(cond).toMatchObject(want);
      // The Event's watch wakes the profile: no timer is set for it.
      expect(result).toBeUndefined();
    });

    it("a dynamic credential (leaseTTL): LeaseEnding at three quarters, LeaseExpired at expiresAt", () => {
      const dynamic = raw({
        selector: { app: "api" },
        secrets: [
          {
            name: "api-db",
            storeRef: { name: "vault-db" },
            leaseTTL: "40s",
            data: [{ secretKey: "credentials", remoteRef: { key: "creds/ns-api" } }],
          },
        ],
      });
      const fetched = "2026-11-19T23:59:50Z"; // NOW - 10 s: expires at NOW + 30 s
      const plan = (now: Date) => {
        const ctx = makeContext({ defaults: DEFAULT_PLATFORM, now, profiles: new Map() });
        let first = build(snapshot({ raw: dynamic, ctx }));
        const written = advance(first.built.children, allWritten(first.writes)).children;
        const live = (k: ChildKind, _ns: string, n: string) => {
          const c = written.find((w) => w.kind === k && w.desired.metadata.name === n);
          if (!c) return undefined;
          const obj = c.desired as KubeObjectLike;
          return k === ES
            ? ({ ...obj, status: { ...ready("True"), refreshTime: fetched } } as KubeObjectLike)
            : obj;
        };
        const s = snapshot({ raw: dynamic, ctx, live });
        first = build(s);
        const built = {
          ...first.built,
          children: advance(first.built.children, allWritten(first.writes)).children,
        };
        return finish(s, built, []);
      };
      const before = plan(NOW);
      expect(before.status?.status.secrets?.[0]).toMatchObject({
        ready: "True",
        issuedAt: fetched,
        expiresAt: "2026-11-20T00:00:30Z",
      });
      // Three quarters of the 40 s lease: issued at NOW - 10 s, so NOW + 20 s.
      expect(before.result).toEqual({ requeueAfterMs: 20_000 + 250 });
      const ending = plan(new Date("2026-11-20T00:00:20Z"));
      expect(ending.status?.status.conditions?.find((c) => c.type === "SecretsReady")).toMatchObject({
        status: "True",
        reason: "LeaseEnding",
      });
      expect(ending.events.map((e) => e.reason)).toContain("SecretLeaseEnding");
      expect(ending.result).toEqual({ requeueAfterMs: 10_000 + 250 });
      const after = plan(new Date("2026-11-20T00:00:30Z"));
      expect(after.status?.status.conditions?.find((c) => c.type === "SecretsReady")).toMatchObject({
        status: "False",
        reason: "LeaseExpired",
      });
      expect(after.result).toBeUndefined();
    });

    it("reads the Event of the profile's own ExternalSecret, by its namespace and name", () => {
      const asked: string[] = [];
      secretsReady(ready("False"), VAULT, asked);
      expect(new Set(asked)).toEqual(new Set(["ns/api-db"]));
    });
  });
});
