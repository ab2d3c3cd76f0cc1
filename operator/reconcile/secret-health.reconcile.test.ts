// Secret health through the reconciler, on the in-memory fake cluster: what ESO writes on the
// ExternalSecret reaches the profile's status and Events, once per change.
import { describe, expect, it } from "vitest";
import type { ProfileStatus } from "../api/schema.ts";
import { DEFAULT_PLATFORM } from "../builders/index.ts";
import type { EventSink } from "./events.ts";
import { Reconciler } from "./reconciler.ts";
import { FakeCluster } from "../../test-support/fake-cluster.ts";

const quiet = { info() {}, warn() {}, debug() {} };

function setup() {
  const cluster = new FakeCluster();
  const recorded: { type: string; reason: string; note: string; related?: string }[] = [];
  const events: EventSink = {
    record: (_r, type, reason, note, related) =>
      recorded.push({ type, reason, note, ...(related && { related: `${related.kind}/${related.name}` }) }) >
      0,
  };
  const summaries: string[] = [];
  const r = new Reconciler(
    cluster,
    {
      trustDomain: "cluster.local",
      meshMode: "sidecar",
      defaults: DEFAULT_PLATFORM,
      now: () => new Date("2026-12-01T19:00:00Z"),
    },
    events,
    quiet,
    { secrets: (key, s) => summaries.push(`${key} ${s.ready}/${s.failing}/${s.pending}`) },
  );
  cluster.putProfile("ns", "api", {
    selector: { app: "api" },
    secrets: [
      {
        name: "api-db",
        storeRef: { name: "vault" },
        data: [{ secretKey: "password", remoteRef: { key: "db", property: "password" } }],
      },
    ],
  });
  const status = () => cluster.profilesMap.get("ns/api")?.status as ProfileStatus | undefined;
  const cond = (type: string) => status()?.conditions?.find((c) => c.type === type);
  const esoWrites = (s: Record<string, unknown>) => {
    const es = cluster.objects.get("ExternalSecret/ns/api-db");
    if (!es) throw new Error("no ExternalSecret");
    (es as { status?: unknown }).status = s;
  };
  return { cluster, r, recorded, summaries, cond, status, esoWrites };
}

const failed = {
  conditions: [
    {
      type: "Ready",
      status: "False",
      reason: "SecretSyncedError",
      message: "could not get secret data from provider",
    },
  ],
};
const synced = (refreshTime: string) => ({
  conditions: [{ type: "Ready", status: "True", reason: "SecretSynced", message: "secret synced" }],
  refreshTime,
  syncedResourceVersion: "1-abc",
});

describe("secret health in the reconciler", () => {
  it("before ESO reports: SecretsReady=Unknown Pending, Ready stays True", async () => {
    const { r, cond, summaries, recorded } = setup();
    await r.reconcile("ns/api"); // the fake cluster's cache has the ExternalSecret at once
    expect(cond("SecretsReady")).toMatchObject({ status: "Unknown", reason: "Pending" });
    expect(cond("Ready")).toMatchObject({ status: "True" });
    expect(summaries.at(-1)).toBe("ns/api 0/0/1");
    expect(recorded.filter((e) => e.reason.startsWith("Secret"))).toEqual([]);
  });

  it("an ExternalSecret just created, not yet in the cache: Pending from the create's answer, and nothing to write once the cache has it", async () => {
    const { cluster, r, cond } = setup();
    cluster.holdLive = true;
    await r.reconcile("ns/api");
    expect(cond("SecretsReady")).toMatchObject({ status: "Unknown", reason: "Pending" });
    cluster.deliverLive();
    cluster.calls = [];
    await r.reconcile("ns/api");
    expect(cluster.writes()).toEqual([]);
  });

  it("ESO fails: Ready=False SecretSyncFailed, one Warning event; the same failure again writes nothing", async () => {
    const { cluster, r, cond, recorded, esoWrites, summaries } = setup();
    await r.reconcile("ns/api");
    esoWrites(failed);
    await r.reconcile("ns/api");
    expect(cond("Ready")).toMatchObject({ status: "False", reason: "SecretSyncFailed" });
    expect(cond("Degraded")).toMatchObject({ status: "True", reason: "SecretSyncFailed" });
    expect(cond("SecretsReady")?.message).toContain(
      "api-db (remote key db (property password) from ClusterSecretStore vault): SecretSyncedError",
    );
    expect(recorded.filter((e) => e.reason === "SecretSyncFailed")).toEqual([
      {
        type: "Warning",
        reason: "SecretSyncFailed",
        note: "ExternalSecret api-db (remote key db (property password) from ClusterSecretStore vault): SecretSyncedError: could not get secret data from provider",
        related: "ExternalSecret/api-db",
      },
    ]);
    expect(summaries.at(-1)).toBe("ns/api 0/1/0");
    cluster.calls = [];
    await r.reconcile("ns/api");
    expect(cluster.writes()).toEqual([]);
    expect(recorded.filter((e) => e.reason === "SecretSyncFailed")).toHaveLength(1);
  });

  it("ESO syncs, then refreshes: SecretSynced once; each refresh only moves refreshTime", async () => {
    const { r, cond, status, recorded, esoWrites } = setup();
    await r.reconcile("ns/api");
    esoWrites(failed);
    await r.reconcile("ns/api");
    esoWrites(synced("2026-12-01T19:00:00Z"));
    await r.reconcile("ns/api");
    expect(cond("Ready")).toMatchObject({ status: "True", reason: "Reconciled" });
    expect(cond("SecretsReady")).toMatchObject({ status: "True", reason: "SecretSynced" });
    expect(status()?.secrets).toEqual([
      {
        name: "api-db",
        ready: "True",
        reason: "SecretSynced",
        message: "secret synced",
        refreshTime: "2026-12-01T19:00:00Z",
        syncedResourceVersion: "1-abc",
      },
    ]);
    esoWrites(synced("2026-12-01T19:00:05Z"));
    await r.reconcile("ns/api");
    expect(status()?.secrets?.[0]?.refreshTime).toBe("2026-12-01T19:00:05Z");
    expect(recorded.filter((e) => e.reason === "SecretSynced").map((e) => e.note)).toEqual([
      "ExternalSecret api-db synced (remote key db (property password) from ClusterSecretStore vault)",
    ]);
  });

  it("ESO's CRDs missing: SecretsReady=Unknown ExternalSecretsNotInstalled", async () => {
    const { cluster, r, cond } = setup();
    cluster.absent.add("ExternalSecret");
    await r.reconcile("ns/api");
    expect(cond("SecretsReady")).toMatchObject({ status: "Unknown", reason: "ExternalSecretsNotInstalled" });
    expect(cond("Degraded")).toMatchObject({ status: "True", reason: "ExternalSecretsNotInstalled" });
  });

  it("ESO's Event holds the provider's words: added to the failing secret, no timer to look again", async () => {
    const { cluster, r, cond, esoWrites } = setup();
    const eso: { event?: string } = {};
    Object.assign(cluster, { esoError: () => eso.event });
    expect(await r.reconcile("ns/api")).toBeUndefined();
    esoWrites(failed);
    // No Event yet: ESO's short message, and no requeue (the Event's watch wakes the profile).
    expect(await r.reconcile("ns/api")).toBeUndefined();
    expect(cond("SecretsReady")).toMatchObject({ status: "False", reason: "SecretSyncedError" });
    expect(cond("SecretsReady")?.message).not.toContain("permission denied");
    eso.event = "Error making API request.\n\nCode: 403. Errors:\n\n* permission denied\n";
    expect(await r.reconcile("ns/api")).toBeUndefined();
    expect(cond("SecretsReady")?.message).toContain(
      "SecretSyncedError: could not get secret data from provider: Error making API request. Code: 403. Errors: * permission denied",
    );
  });
});
