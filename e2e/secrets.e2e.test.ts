// Secrets end to end, with the real External Secrets Operator running against the test bed (built
// from the Go module proxy, see e2e/controlplane/README.md): ESO's `kubernetes` provider reads a
// Secret from a source namespace through a ClusterSecretStore, writes the Secret that a profile
// asks for, and meshward folds the ExternalSecret's status into the profile. meshward itself never
// reads a Secret; this test does, to prove what ESO wrote.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EsoProcess, startEso } from "./controlplane/eso.ts";
import type { KubeClient, KubeObjectLike, Resource } from "../operator/runtime/client.ts";
import { resourcePath } from "../operator/runtime/client.ts";
import {
  createNamespace,
  deleteNamespace,
  getOrUndefined,
  kube,
  kubeconfigPath,
  waitFor,
} from "./support/kube.ts";
import { type OperatorProcess, startOperator } from "./support/operator.ts";
import { applyProfile, condition, getProfile, waitCondition, waitEvent } from "./support/profiles.ts";

const core = (plural: string, kind: string): Resource => ({
  group: "",
  version: "v1",
  plural,
  kind,
  namespaced: true,
});
const SECRETS = core("secrets", "Secret");
const SERVICE_ACCOUNTS = core("serviceaccounts", "ServiceAccount");
const rbac = (plural: string, kind: string): Resource => ({
  group: "rbac.authorization.k8s.io",
  version: "v1",
  plural,
  kind,
  namespaced: true,
});
const ROLES = rbac("roles", "Role");
const ROLE_BINDINGS = rbac("rolebindings", "RoleBinding");
const CLUSTER_SECRET_STORES: Resource = {
  group: "external-secrets.io",
  version: "v1",
  plural: "clustersecretstores",
  kind: "ClusterSecretStore",
  namespaced: false,
};
const EXTERNAL_SECRETS: Resource = {
  group: "external-secrets.io",
  version: "v1",
  plural: "externalsecrets",
  kind: "ExternalSecret",
  namespaced: true,
};
const MANAGER = "e2e-secrets";

type Conditioned = KubeObjectLike & {
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
};

let client: KubeClient;
let eso: EsoProcess | undefined;
let op: OperatorProcess | undefined;
let source = "";
let app = "";
const store = `e2e-source-${randomBytes(3).toString("hex")}`;

function apply(resource: Resource, obj: KubeObjectLike & { metadata: { name: string; namespace?: string } }) {
  return client.apply(resourcePath(resource, obj.metadata.namespace, obj.metadata.name), obj, MANAGER, true);
}

async function writeSourceSecret(password: string): Promise<void> {
  await apply(SECRETS, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "db-creds", namespace: source },
    stringData: { password },
  } as KubeObjectLike & { metadata: { name: string; namespace: string } });
}

async function syncedValue(namespace: string, name: string, key: string): Promise<string | undefined> {
  const s = await getOrUndefined<{ data?: Record<string, string> }>(
    client,
    resourcePath(SECRETS, namespace, name),
  );
  const v = s?.data?.[key];
  return v === undefined ? undefined : Buffer.from(v, "base64").toString("utf8");
}

beforeAll(async () => {
  client = kube();
  source = await createNamespace(client, "secret-source");
  app = await createNamespace(client, "secret-app");
  // The source "vault": a Secret in its own namespace, readable by one ServiceAccount only.
  await writeSourceSecret("s3cret-1");
  await apply(SERVICE_ACCOUNTS, {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: "eso-reader", namespace: source },
  });
  await apply(ROLES, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: "eso-reader", namespace: source },
    rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "watch"] }],
  } as KubeObjectLike & { metadata: { name: string; namespace: string } });
  await apply(ROLE_BINDINGS, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "eso-reader", namespace: source },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "eso-reader" },
    subjects: [{ kind: "ServiceAccount", name: "eso-reader", namespace: source }],
  } as KubeObjectLike & { metadata: { name: string; namespace: string } });
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("the test bed's kubeconfig has no cluster");
  const caBundle =
    cluster.caData ?? (cluster.caFile ? fs.readFileSync(cluster.caFile).toString("base64") : undefined);
  if (!caBundle) throw new Error("the test bed's kubeconfig has no CA");
  // ESO asks the TokenRequest API for a token of eso-reader and reads with it.
  await apply(CLUSTER_SECRET_STORES, {
    apiVersion: "external-secrets.io/v1",
    kind: "ClusterSecretStore",
    metadata: { name: store },
    spec: {
      provider: {
        kubernetes: {
          remoteNamespace: source,
          server: { url: cluster.server, caBundle },
          auth: { serviceAccount: { name: "eso-reader", namespace: source } },
        },
      },
    },
  } as KubeObjectLike & { metadata: { name: string } });
  [eso, op] = await Promise.all([
    startEso({ kubeconfig: kubeconfigPath(), namespace: app }),
    startOperator({ name: "operator-secrets" }),
  ]);
}, 30 * 60_000); // the first run builds ESO (minutes; see e2e/controlplane/README.md)

afterAll(async () => {
  await op?.stop();
  await eso?.stop();
  if (!client) return;
  await client.delete(resourcePath(CLUSTER_SECRET_STORES, undefined, store)).catch(() => undefined);
  for (const ns of [app, source]) if (ns) await deleteNamespace(client, ns);
});

const secretSpec = (name: string, key: string, refreshInterval = "5s") => ({
  name,
  storeRef: { kind: "ClusterSecretStore", name: store },
  refreshInterval,
  data: [{ secretKey: "password", remoteRef: { key, property: "password" } }],
});

describe("secrets with External Secrets Operator running", () => {
  it("the ClusterSecretStore is validated by ESO (Ready=True)", async () => {
    const s = await waitFor(
      `ClusterSecretStore ${store} Ready=True`,
      async () => {
        const o = await getOrUndefined<Conditioned>(
          client,
          resourcePath(CLUSTER_SECRET_STORES, undefined, store),
        );
        return o?.status?.conditions?.find((c) => c.type === "Ready" && c.status === "True") && o;
      },
      60_000,
      250,
    );
    expect(s.status?.conditions?.find((c) => c.type === "Ready")?.reason).toBe("Valid");
  });

  it("a secret that syncs: the Secret holds the value, the profile says SecretsReady=True with a refresh time", async () => {
    await applyProfile(client, app, "api", {
      selector: { app: "api" },
      secrets: [secretSpec("api-db", "db-creds")],
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
      secrets: [secretSpec("broken-db", "no-such-secret")],
    });
    const p = await waitCondition(client, app, "broken", { type: "SecretsReady", status: "False" }, 60_000);
    const secretsReady = condition(p, "SecretsReady");
    expect(secretsReady?.reason).toBe("SecretSyncedError");
    expect(secretsReady?.message).toContain(
      `broken-db (remote key no-such-secret (property password) from ClusterSecretStore ${store}): SecretSyncedError: could not get secret data from provider`,
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

  it("a rotated source value reaches the Secret within its refresh interval and the refresh time moves", async () => {
    const before = (await getProfile(client, app, "api"))?.status?.secrets?.find((s) => s.name === "api-db");
    expect(before?.refreshTime).toBeDefined();
    await writeSourceSecret("s3cret-2");
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
    await apply(SECRETS, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "no-such-secret", namespace: source },
      stringData: { password: "late" },
    } as KubeObjectLike & { metadata: { name: string; namespace: string } });
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
  });
});
