// The secret-health fold, table by table: what ESO wrote on an ExternalSecret -> the profile's
// entry, SecretsReady condition, Events and summary.
import { describe, expect, it } from "vitest";
import type { ObjectStatus, SecretSpec, SecretStatus } from "../api/schema.ts";
import { desiredConditions, type Outcome } from "./status.ts";
import {
  durationMs,
  foldSecretHealth,
  LEASE_ENDING,
  LEASE_EXPIRED,
  leaseOf,
  readEsoStatus,
  type SecretInput,
  secretEntry,
  secretInputs,
} from "./secret-health.ts";

const spec = (name: string, key = `payments/${name}`, property?: string): SecretSpec => ({
  name,
  storeRef: { kind: "ClusterSecretStore", name: "vault" },
  data: [{ secretKey: "password", remoteRef: { key, ...(property && { property }) } }],
});
const inSync = (name: string): ObjectStatus => ({
  apiVersion: "external-secrets.io/v1",
  kind: "ExternalSecret",
  name,
  state: "InSync",
});
const es = (
  ready: { status: string; reason?: string; message?: string } | undefined,
  extra: { generation?: number; refreshTime?: string; syncedResourceVersion?: string } = {},
) => ({
  metadata: { name: "x", generation: extra.generation ?? 1 },
  status: {
    ...(ready && { conditions: [{ type: "Ready", ...ready }] }),
    ...(extra.refreshTime && { refreshTime: extra.refreshTime }),
    ...(extra.syncedResourceVersion && { syncedResourceVersion: extra.syncedResourceVersion }),
  },
});
const SYNCED = { status: "True", reason: "SecretSynced", message: "secret synced" };
const FAILED = {
  status: "False",
  reason: "SecretSyncedError",
  message: "could not get secret data from provider",
};
const T1 = "2026-12-01T19:00:00Z";
const T2 = "2026-12-01T19:00:05Z";

describe("secretEntry", () => {
  const cases: { name: string; input: SecretInput; want: Partial<SecretStatus> }[] = [
    {
      name: "synced: ESO's reason and message, refresh time and synced version",
      input: {
        spec: spec("db"),
        object: inSync("db"),
        live: es(SYNCED, { refreshTime: T1, syncedResourceVersion: "1-abc" }),
      },
      want: {
        ready: "True",
        reason: "SecretSynced",
        message: "secret synced",
        refreshTime: T1,
        syncedResourceVersion: "1-abc",
      },
    },
    {
      name: "failing: ESO's reason and message",
      input: { spec: spec("db"), object: inSync("db"), live: es(FAILED) },
      want: {
        ready: "False",
        reason: "SecretSyncedError",
        message: "could not get secret data from provider",
      },
    },
    {
      name: "failing after an earlier success keeps the last good refresh time",
      input: {
        spec: spec("db"),
        object: inSync("db"),
        live: es(FAILED, { refreshTime: T1, syncedResourceVersion: "1-abc" }),
      },
      want: { ready: "False", reason: "SecretSyncedError", refreshTime: T1 },
    },
    {
      name: "no Ready condition yet: pending, names the store",
      input: { spec: spec("db"), object: inSync("db"), live: es(undefined) },
      want: { ready: "Unknown", reason: "Pending" },
    },
    {
      name: "synced an older spec: pending until ESO syncs the current generation",
      input: {
        spec: spec("db"),
        object: inSync("db"),
        live: es(SYNCED, { generation: 2, refreshTime: T1, syncedResourceVersion: "1-abc" }),
      },
      want: { ready: "Unknown", reason: "Pending", refreshTime: T1 },
    },
    {
      name: "ESO's Unknown is passed on",
      input: {
        spec: spec("db"),
        object: inSync("db"),
        live: es({ status: "Unknown", reason: "Refreshing", message: "m" }),
      },
      want: { ready: "Unknown", reason: "Refreshing", message: "m" },
    },
    {
      name: "not in the cache yet",
      input: { spec: spec("db"), object: inSync("db"), live: undefined },
      want: { ready: "Unknown", reason: "NotCreated" },
    },
    {
      name: "ESO's CRDs missing",
      input: {
        spec: spec("db"),
        object: {
          ...inSync("db"),
          state: "Missing",
          message: "the externalsecrets.external-secrets.io CRD is not installed",
        },
        live: undefined,
      },
      want: { ready: "Unknown", reason: "ExternalSecretsNotInstalled" },
    },
    {
      name: "failing with ESO's detailed error: the provider's words on one line",
      input: {
        spec: spec("db"),
        object: inSync("db"),
        live: es(FAILED),
        detail:
          "Error making API request.\n\nURL: GET http://127.0.0.1:8200/v1/secret/data/shop/orders/db\nCode: 403. Errors:\n\n* permission denied\n",
      },
      want: {
        ready: "False",
        reason: "SecretSyncedError",
        message:
          "could not get secret data from provider: Error making API request. URL: GET http://127.0.0.1:8200/v1/secret/data/shop/orders/db Code: 403. Errors: * permission denied",
      },
    },
    {
      name: "a stale detail is ignored once ESO reports success",
      input: { spec: spec("db"), object: inSync("db"), live: es(SYNCED), detail: "permission denied" },
      want: { ready: "True", message: "secret synced" },
    },
    {
      name: "someone else's ExternalSecret: its status is not read",
      input: { spec: spec("db"), object: { ...inSync("db"), state: "Conflict" }, live: es(SYNCED) },
      want: { ready: "Unknown", reason: "NotManaged" },
    },
    {
      name: "garbage status reads as pending, without throwing",
      input: {
        spec: spec("db"),
        object: inSync("db"),
        live: { status: { conditions: "x", refreshTime: "yesterday" } },
      },
      want: { ready: "Unknown", reason: "Pending" },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = secretEntry(c.input);
      expect(got).toMatchObject({ name: "db", ...c.want });
      if (!("refreshTime" in c.want)) expect(got.refreshTime).toBeUndefined();
    });
  }
});

describe("a dynamic credential's lease (leaseTTL)", () => {
  it.each([
    ["40s", 40_000],
    ["1h30m", 5_400_000],
    ["500ms", 500],
    ["2m5s", 125_000],
    ["", undefined],
    ["5d", undefined],
    ["s", undefined],
  ])("durationMs(%j) = %j", (d, want) => {
    expect(durationMs(d)).toBe(want);
  });

  const dyn: SecretSpec = { ...spec("db", "creds/api"), leaseTTL: "40s" };
  it.each([
    {
      name: "issued at ESO's last fetch, expires leaseTTL later",
      spec: dyn,
      refresh: T1,
      want: { issuedAt: T1, expiresAt: "2026-12-01T19:00:40Z" },
    },
    { name: "no leaseTTL: nothing", spec: spec("db"), refresh: T1, want: undefined },
    { name: "no fetch yet: nothing", spec: dyn, refresh: undefined, want: undefined },
  ])("$name", ({ spec: sp, refresh, want }) => {
    expect(leaseOf(sp, refresh)).toEqual(want);
  });

  it.each([
    {
      name: "before three quarters of the lease: ESO's verdict",
      now: "2026-12-01T19:00:34Z",
      want: { ready: "True", reason: "SecretSynced" },
    },
    {
      name: "from three quarters to expiresAt: LeaseEnding, still ready",
      now: "2026-12-01T19:00:35Z",
      want: {
        ready: "True",
        reason: LEASE_ENDING,
        message: expect.stringContaining(
          "the credential issued at 2026-12-01T19:00:05Z expires at 2026-12-01T19:00:45Z (leaseTTL 40s) and no newer one has been fetched",
        ) as unknown,
      },
    },
    {
      name: "one second before expiresAt: still LeaseEnding",
      now: "2026-12-01T19:00:44Z",
      want: { ready: "True", reason: LEASE_ENDING },
    },
    {
      name: "at expiresAt with no newer fetch (ESO stopped or not refreshing): LeaseExpired, failing",
      now: "2026-12-01T19:00:45Z",
      want: {
        ready: "False",
        reason: LEASE_EXPIRED,
        message: expect.stringContaining(
          "the credential issued at 2026-12-01T19:00:05Z expired at 2026-12-01T19:00:45Z (leaseTTL 40s)",
        ) as unknown,
      },
    },
  ])("the lease's end: $name", ({ now, want }) => {
    const e = secretEntry({
      spec: dyn,
      object: inSync("db"),
      live: es(SYNCED, { refreshTime: T2 }),
      now: new Date(now),
    });
    expect(e).toMatchObject(want);
  });

  it("a failing refresh keeps ESO's reason and words after the lease's end; no leaseTTL: no end", () => {
    const late = new Date("2026-12-01T21:00:00Z");
    expect(
      secretEntry({ spec: dyn, object: inSync("db"), live: es(FAILED, { refreshTime: T2 }), now: late }),
    ).toMatchObject({ ready: "False", reason: "SecretSyncedError" });
    expect(
      secretEntry({
        spec: spec("db"),
        object: inSync("db"),
        live: es(SYNCED, { refreshTime: T2 }),
        now: late,
      }),
    ).toMatchObject({ ready: "True" });
  });

  it("the entry carries both, synced or failing (a failing refresh keeps the last fetch's times)", () => {
    const synced = secretEntry({ spec: dyn, object: inSync("db"), live: es(SYNCED, { refreshTime: T2 }) });
    expect(synced).toMatchObject({ ready: "True", issuedAt: T2, expiresAt: "2026-12-01T19:00:45Z" });
    const failing = secretEntry({ spec: dyn, object: inSync("db"), live: es(FAILED, { refreshTime: T2 }) });
    expect(failing).toMatchObject({ ready: "False", issuedAt: T2, expiresAt: "2026-12-01T19:00:45Z" });
    const plain = secretEntry({
      spec: spec("db"),
      object: inSync("db"),
      live: es(SYNCED, { refreshTime: T2 }),
    });
    expect(plain.issuedAt).toBeUndefined();
    expect(plain.expiresAt).toBeUndefined();
  });
});

describe("a lease near its end in the fold", () => {
  const dyn: SecretSpec = { ...spec("db", "creds/api"), leaseTTL: "40s" };
  const input = (now: string): SecretInput => ({
    spec: dyn,
    object: inSync("db"),
    live: es(SYNCED, { refreshTime: T2 }),
    now: new Date(now),
  });
  it("warns once (a Warning Event), keeps SecretsReady True with reason LeaseEnding", () => {
    const fresh = foldSecretHealth([input("2026-12-01T19:00:20Z")], undefined);
    const ending = foldSecretHealth([input("2026-12-01T19:00:36Z")], fresh.entries);
    expect(ending.condition).toMatchObject({
      status: "True",
      reason: LEASE_ENDING,
      message: expect.stringContaining(
        "1 of 1 secret holds a credential near the end of its lease: db",
      ) as unknown,
    });
    expect(ending.events).toEqual([
      expect.objectContaining({ type: "Warning", reason: "SecretLeaseEnding", name: "db" }),
    ]);
    expect(ending.summary).toEqual({ ready: 1, failing: 0, pending: 0 });
    // The same state again: no second Event.
    expect(foldSecretHealth([input("2026-12-01T19:00:40Z")], ending.entries).events).toEqual([]);
  });
});

describe("readEsoStatus", () => {
  it("ignores a refresh time that is not a date-time and a non-object", () => {
    expect(readEsoStatus({ status: { refreshTime: "soon" } })).toEqual({});
    expect(readEsoStatus(null)).toEqual({});
    expect(readEsoStatus([1])).toEqual({});
  });
});

describe("foldSecretHealth", () => {
  const ok = (name: string, refreshTime = T1): SecretInput => ({
    spec: spec(name),
    object: inSync(name),
    live: es(SYNCED, { refreshTime, syncedResourceVersion: "1-abc" }),
  });
  const bad = (name: string, key = `payments/${name}`): SecretInput => ({
    spec: spec(name, key, "password"),
    object: inSync(name),
    live: es(FAILED),
  });
  const pend = (name: string): SecretInput => ({
    spec: spec(name),
    object: inSync(name),
    live: es(undefined),
  });

  it("no secrets: SecretsReady=True NoSecrets, no failure", () => {
    const h = foldSecretHealth([], undefined);
    expect(h.condition).toMatchObject({ status: "True", reason: "NoSecrets" });
    expect(h.failure).toBeUndefined();
    expect(h.entries).toEqual([]);
  });

  it("all synced: True with ESO's reason, one SecretSynced event each the first time", () => {
    const h = foldSecretHealth([ok("a"), ok("b")], undefined);
    expect(h.condition).toEqual({
      type: "SecretsReady",
      status: "True",
      reason: "SecretSynced",
      message: "all 2 secrets are synced by External Secrets Operator: a, b",
    });
    expect(h.events.map((e) => `${e.type} ${e.reason} ${e.name}`)).toEqual([
      "Normal SecretSynced a",
      "Normal SecretSynced b",
    ]);
    expect(h.summary).toEqual({ ready: 2, failing: 0, pending: 0 });
  });

  it("a refresh only moves refreshTime: the entry changes, no event", () => {
    const first = foldSecretHealth([ok("a", T1)], undefined);
    const second = foldSecretHealth([ok("a", T2)], first.entries);
    expect(second.entries[0]?.refreshTime).toBe(T2);
    expect(second.events).toEqual([]);
    expect(second.condition).toEqual(first.condition);
  });

  it("one failing: False with ESO's reason; the message names the secret, the remote key, the store and ESO's message", () => {
    const h = foldSecretHealth([ok("a"), bad("b", "payments/nope")], undefined);
    expect(h.condition.status).toBe("False");
    expect(h.condition.reason).toBe("SecretSyncedError");
    expect(h.condition.message).toBe(
      "1 of 2 secrets cannot be synced by External Secrets Operator: b (remote key payments/nope (property password) from ClusterSecretStore vault): SecretSyncedError: could not get secret data from provider. ESO's detailed error: kubectl describe externalsecret b",
    );
    expect(h.failure).toEqual({ reason: "SecretSyncFailed", message: h.condition.message });
    expect(h.events).toContainEqual({
      type: "Warning",
      reason: "SecretSyncFailed",
      name: "b",
      note: "ExternalSecret b (remote key payments/nope (property password) from ClusterSecretStore vault): SecretSyncedError: could not get secret data from provider",
    });
    expect(h.summary).toEqual({ ready: 1, failing: 1, pending: 0 });
  });

  it("the same failure again: no second event; a different message: one more", () => {
    const first = foldSecretHealth([bad("b")], undefined);
    expect(foldSecretHealth([bad("b")], first.entries).events).toEqual([]);
    const other: SecretInput = { ...bad("b"), live: es({ ...FAILED, message: "other" }) };
    expect(foldSecretHealth([other], first.entries).events.map((e) => e.reason)).toEqual([
      "SecretSyncFailed",
    ]);
  });

  it("failing, then fixed: SecretSynced", () => {
    const first = foldSecretHealth([bad("b")], undefined);
    const h = foldSecretHealth([ok("b")], first.entries);
    expect(h.events.map((e) => `${e.type} ${e.reason}`)).toEqual(["Normal SecretSynced"]);
    expect(h.condition.status).toBe("True");
    expect(h.failure).toBeUndefined();
  });

  it("failing wins over pending; pending alone is Unknown (never a failure)", () => {
    expect(foldSecretHealth([pend("a"), bad("b")], undefined).condition.status).toBe("False");
    const h = foldSecretHealth([ok("a"), pend("b")], undefined);
    expect(h.condition).toMatchObject({ status: "Unknown", reason: "Pending" });
    expect(h.condition.message).toMatch(
      /^1 of 2 secrets not synced yet: b \(remote key payments\/b from ClusterSecretStore vault\): Pending: /,
    );
    expect(h.failure).toBeUndefined();
    expect(h.events.map((e) => e.name)).toEqual(["a"]);
  });

  it("secretInputs pairs each spec entry with its object entry and does not look up a conflict", () => {
    const looked: string[] = [];
    const profile = {
      apiVersion: "meshward.io/v1alpha1" as const,
      kind: "ServiceSecurityProfile" as const,
      metadata: { name: "p", namespace: "ns" },
      spec: { secrets: [spec("a"), spec("b")] } as never,
    };
    const inputs = secretInputs(profile, [inSync("a"), { ...inSync("b"), state: "Conflict" }], (n) => {
      looked.push(n);
      return es(SYNCED);
    });
    expect(looked).toEqual(["a"]);
    expect(inputs.map((i) => [i.spec.name, i.object?.state, i.live !== undefined])).toEqual([
      ["a", "InSync", true],
      ["b", "Conflict", false],
    ]);
  });
});

describe("secret health in the profile's conditions", () => {
  const outcome = (secrets: Outcome["secrets"]): Outcome => ({
    generation: 1,
    objects: [],
    conflicts: [],
    drift: [],
    missing: [],
    warnings: [],
    failures: [],
    exceptions: [],
    ...(secrets && { secrets }),
  });
  const failing = foldSecretHealth([{ spec: spec("db"), object: inSync("db"), live: es(FAILED) }], undefined);

  it("a secret that cannot be synced makes Ready=False and Degraded=True with reason SecretSyncFailed", () => {
    const c = desiredConditions(outcome(failing));
    expect(c.find((x) => x.type === "Ready")).toMatchObject({ status: "False", reason: "SecretSyncFailed" });
    expect(c.find((x) => x.type === "Degraded")).toMatchObject({
      status: "True",
      reason: "SecretSyncFailed",
    });
    expect(c.find((x) => x.type === "Ready")?.message).toContain("could not get secret data from provider");
    expect(c.find((x) => x.type === "SecretsReady")).toMatchObject({
      status: "False",
      reason: "SecretSyncedError",
    });
  });

  it("a pending secret leaves Ready=True; without the fold there is no SecretsReady", () => {
    const pending = foldSecretHealth(
      [{ spec: spec("db"), object: inSync("db"), live: undefined }],
      undefined,
    );
    const c = desiredConditions(outcome(pending));
    expect(c.find((x) => x.type === "Ready")).toMatchObject({ status: "True" });
    expect(c.find((x) => x.type === "SecretsReady")).toMatchObject({ status: "Unknown" });
    expect(desiredConditions(outcome(undefined)).map((x) => x.type)).toEqual([
      "Ready",
      "Drifted",
      "Degraded",
      "Conflict",
    ]);
  });
});
