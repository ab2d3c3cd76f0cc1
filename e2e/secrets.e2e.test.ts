// Secrets end to end, with the real External Secrets Operator running against the test bed (built
// from the Go module proxy, see e2e/controlplane/README.md): ESO's `kubernetes` provider reads a
// Secret from a source namespace through a ClusterSecretStore, writes the Secret that a profile
// asks for, and meshward folds the ExternalSecret's status into the profile. meshward itself never
// reads a Secret; this test does, to prove what ESO wrote. The operator's secret gauges
// (meshward_secrets, meshward_profile_secrets_failing) are scraped from its /metrics.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeClient } from "../operator/runtime/client.ts";
import { resourcePath } from "../operator/runtime/client.ts";
import { PROFILES } from "../operator/reconcile/kinds.ts";
import { createNamespace, deleteNamespace, getOrUndefined, kube, waitFor } from "./support/kube.ts";
import { type OperatorProcess, startOperator } from "./support/operator.ts";
import { applyProfile, condition, getProfile, waitCondition, waitEvent } from "./support/profiles.ts";
import {
  EXTERNAL_SECRETS,
  MANAGER,
  SECRETS,
  type SecretSource,
  startSecretSource,
} from "./support/secret-source.ts";

let client: KubeClient;
let vault: SecretSource | undefined;
let op: OperatorProcess | undefined;
let app = "";

async function syncedValue(namespace: string, name: string, key: string): Promise<string | undefined> {
  const s = await getOrUndefined<{ data?: Record<string, string> }>(
    client,
    resourcePath(SECRETS, namespace, name),
  );
  const v = s?.data?.[key];
  return v === undefined ? undefined : Buffer.from(v, "base64").toString("utf8");
}

/** The operator's metric, once `ok` holds for it (the gauges follow reconciles, so they are polled). */
async function metricWhen(
  what: string,
  name: string,
  labels: Record<string, string>,
  ok: (v: number) => boolean,
): Promise<number> {
  return waitFor(
    what,
    async () => {
      const v = await op?.metric(name, labels);
      return v !== undefined && ok(v) ? { v } : undefined;
    },
    60_000,
    250,
  ).then((r) => r.v);
}

beforeAll(async () => {
  client = kube();
  app = await createNamespace(client, "secret-app");
  // The source "vault" (Secret db-creds) and ESO watching the app namespace, while meshward starts.
  [vault, op] = await Promise.all([
    startSecretSource(client, { watch: app, initialPassword: "s3cret-1" }),
    startOperator({ name: "operator-secrets" }),
  ]);
}, 30 * 60_000); // the first run builds ESO (minutes; see e2e/controlplane/README.md)

afterAll(async () => {
  await op?.stop();
  await vault?.stop();
  if (client && app) await deleteNamespace(client, app);
});

function source(): SecretSource {
  if (!vault) throw new Error("the secret source did not start");
  return vault;
}

describe("secrets with External Secrets Operator running", () => {
  it("the ClusterSecretStore is validated by ESO (Ready=True)", async () => {
    const s = await source().storeReady();
    expect(s.status?.conditions?.find((c) => c.type === "Ready")?.reason).toBe("Valid");
  });

  it("a secret that syncs: the Secret holds the value, the profile says SecretsReady=True with a refresh time", async () => {
    await applyProfile(client, app, "api", {
      selector: { app: "api" },
      secrets: [source().secretSpec("api-db", "db-creds")],
    });
    const p = await waitCondition(client, app, "api", { type: "SecretsReady", status: "True" }, 60_000);
    expect(condition(p, "SecretsReady")).toMatchObject({ reason: "SecretSynced" });
    expect(condition(p, "Ready")).toMatchObject({ status: "True", reason: "Reconciled" });
    const entry = p.status?.secrets?.find((s) => s.name === "api-db");
    expect(entry).toMatchObject({ ready: "True", reason: "SecretSynced" });
    expect(Date.parse(entry?.refreshTime ?? "")).toBeGreaterThan(0);
    expect(await syncedValue(app, "api-db", "password")).toBe("s3cret-1");
    await waitEvent(
      client,
      app,
      "SecretSynced",
      "ExternalSecret api-db synced (remote key db-creds (property password)",
    );
  });

  it("a remote key that does not exist: the profile names the secret, the key and ESO's reason; Ready=False", async () => {
    await applyProfile(client, app, "broken", {
      selector: { app: "broken" },
      secrets: [source().secretSpec("broken-db", "no-such-secret")],
    });
    const p = await waitCondition(client, app, "broken", { type: "SecretsReady", status: "False" }, 60_000);
    const secretsReady = condition(p, "SecretsReady");
    expect(secretsReady?.reason).toBe("SecretSyncedError");
    expect(secretsReady?.message).toContain(
      `broken-db (remote key no-such-secret (property password) from ClusterSecretStore ${source().store}): SecretSyncedError: could not get secret data from provider`,
    );
    expect(condition(p, "Ready")).toMatchObject({ status: "False", reason: "SecretSyncFailed" });
    expect(condition(p, "Degraded")).toMatchObject({ status: "True", reason: "SecretSyncFailed" });
    expect(p.status?.secrets?.find((s) => s.name === "broken-db")).toMatchObject({
      ready: "False",
      reason: "SecretSyncedError",
    });
    expect(await syncedValue(app, "broken-db", "password")).toBeUndefined();
    await waitEvent(client, app, "SecretSyncFailed", "ExternalSecret broken-db (remote key no-such-secret");
  });

  it("metrics: the failing secret is counted, in total and for its profile", async () => {
    const failing = await metricWhen(
      "meshward_secrets{state=failing} >= 1",
      "meshward_secrets",
      { state: "failing" },
      (v) => v >= 1,
    );
    expect(failing).toBeGreaterThanOrEqual(1);
    expect(
      await metricWhen(
        "meshward_profile_secrets_failing of the broken profile = 1",
        "meshward_profile_secrets_failing",
        { namespace: app, name: "broken" },
        (v) => v === 1,
      ),
    ).toBe(1);
    // The profile whose secret syncs counts as ready, and has no failing secret.
    expect(await op?.metric("meshward_secrets", { state: "ready" })).toBeGreaterThanOrEqual(1);
    expect(await op?.metric("meshward_profile_secrets_failing", { namespace: app, name: "api" })).toBe(0);
  });

  it("a rotated source value reaches the Secret within its refresh interval and the refresh time moves", async () => {
    const before = (await getProfile(client, app, "api"))?.status?.secrets?.find((s) => s.name === "api-db");
    expect(before?.refreshTime).toBeDefined();
    await source().writeSecret("db-creds", { password: "s3cret-2" });
    // refreshInterval is 5s: the deadline leaves room for a loaded machine, it is not the measure.
    await waitFor(
      "the rotated value in Secret api-db",
      async () => (await syncedValue(app, "api-db", "password")) === "s3cret-2",
      60_000,
      250,
    );
    const after = await waitFor(
      "a later refreshTime in the profile's status",
      async () => {
        const e = (await getProfile(client, app, "api"))?.status?.secrets?.find((s) => s.name === "api-db");
        return e?.refreshTime && Date.parse(e.refreshTime) > Date.parse(before?.refreshTime ?? "") && e;
      },
      60_000,
      250,
    );
    expect(after).toMatchObject({ ready: "True", reason: "SecretSynced" });
    expect(condition(await getProfile(client, app, "api"), "SecretsReady")?.status).toBe("True");
  });

  it("the missing key is fixed at the source: the profile recovers (SecretSynced, Ready=True)", async () => {
    await source().writeSecret("no-such-secret", { password: "late" });
    // ESO retries a failing ExternalSecret with an exponential backoff (up to 7 minutes); a changed
    // annotation makes it try at once (ESO's documented "force-sync"). An annotation meshward did
    // not set is not drift, so meshward leaves it.
    await client.apply(
      resourcePath(EXTERNAL_SECRETS, app, "broken-db"),
      {
        apiVersion: "external-secrets.io/v1",
        kind: "ExternalSecret",
        metadata: { name: "broken-db", namespace: app, annotations: { "force-sync": String(Date.now()) } },
      },
      MANAGER,
      true,
    );
    const p = await waitCondition(client, app, "broken", { type: "Ready", status: "True" }, 60_000);
    expect(condition(p, "SecretsReady")).toMatchObject({ status: "True", reason: "SecretSynced" });
    expect(await syncedValue(app, "broken-db", "password")).toBe("late");
    await waitEvent(client, app, "SecretSynced", "ExternalSecret broken-db synced");
    // The gauges follow: nothing failing any more, for the profile and in total.
    await metricWhen(
      "meshward_profile_secrets_failing of the broken profile = 0",
      "meshward_profile_secrets_failing",
      { namespace: app, name: "broken" },
      (v) => v === 0,
    );
    await metricWhen(
      "meshward_secrets{state=failing} = 0",
      "meshward_secrets",
      { state: "failing" },
      (v) => v === 0,
    );
  });

  it("metrics: a deleted profile's secrets leave the gauges", async () => {
    const ready = await op?.metric("meshward_secrets", { state: "ready" });
    expect(ready).toBeGreaterThanOrEqual(2);
    await client.delete(resourcePath(PROFILES, app, "broken"));
    await metricWhen(
      "meshward_secrets{state=ready} one lower",
      "meshward_secrets",
      { state: "ready" },
      (v) => v === (ready ?? 0) - 1,
    );
    const all = await op?.metrics();
    expect([...(all?.keys() ?? [])].filter((k) => k.includes(`name="broken"`))).toEqual([]);
  });
});
