import { describe, expect, it } from "vitest";
import { VaultIdentityStore } from "../api/policy.ts";
import type { ProfileSpecInput } from "../api/schema.ts";
import { validateProfile } from "../api/validate.ts";
import type { Problem } from "../api/validate.ts";
import { makeContext } from "./context.ts";
import { buildExternalSecrets, identityRole } from "./secrets.ts";

function profile(name: string, spec: ProfileSpecInput) {
  const r = validateProfile({
    apiVersion: "meshward.io/v1alpha1",
    kind: "ServiceSecurityProfile",
    metadata: { name, namespace: "shop" },
    spec,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.profile;
}

const vault = VaultIdentityStore.parse({ server: "https://vault.vault.svc:8200" });
const secret = (name: string, kind: string, store: string, key = "shop/api/db") => ({
  name,
  storeRef: { kind: kind as "IdentityStore", name: store },
  data: [{ secretKey: "password", remoteRef: { key, property: "password" } }],
});

describe("identity store secrets", () => {
  it("reads through one SecretStore per identity store, logging in as the profile's ServiceAccount", () => {
    const p = profile("api", {
      selector: { app: "api" },
      serviceAccount: { name: "api-sa" },
      secrets: [
        secret("db", "IdentityStore", "vault"),
        secret("cache", "IdentityStore", "vault", "shop/api/cache"),
        secret("legacy", "ClusterSecretStore", "shared"),
      ],
    });
    const problems: Problem[] = [];
    const objects = buildExternalSecrets(p, makeContext({ identityStores: { vault: { vault } } }), problems);
    expect(problems).toEqual([]);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      "SecretStore/api-vault",
      "ExternalSecret/db",
      "ExternalSecret/cache",
      "ExternalSecret/legacy",
    ]);
    expect(objects[0]?.spec).toEqual({
      provider: {
        vault: {
          server: "https://vault.vault.svc:8200",
          path: "secret",
          version: "v2",
          auth: {
            kubernetes: {
              mountPath: "kubernetes",
              role: "shop-api-sa",
              serviceAccountRef: { name: "api-sa" },
            },
          },
        },
      },
    });
    const refs = objects.slice(1).map((o) => (o.spec as { secretStoreRef: unknown }).secretStoreRef);
    expect(refs).toEqual([
      { kind: "SecretStore", name: "api-vault" },
      { kind: "SecretStore", name: "api-vault" },
      { kind: "ClusterSecretStore", name: "shared" },
    ]);
  });

  it("builds nothing for an identity store no policy defines, and says which field to change", () => {
    const p = profile("api", { selector: { app: "api" }, secrets: [secret("db", "IdentityStore", "vault")] });
    const problems: Problem[] = [];
    expect(buildExternalSecrets(p, makeContext(), problems)).toEqual([]);
    expect(problems).toEqual([
      {
        path: "spec.secrets[0].storeRef.name",
        message: expect.stringContaining('defines identity store "vault"'),
      },
    ]);
  });

  it.each([
    ["{namespace}-{serviceAccount}", "shop-api"],
    ["{namespace}.{profile}", "shop.api"],
    ["fixed", "fixed"],
    ["{serviceAccount}@{namespace}-{serviceAccount}", "api@shop-api"],
  ])("role template %s -> %s", (template, role) => {
    expect(identityRole(template, profile("api", { selector: { app: "api" } }))).toBe(role);
  });

  it("passes the CA bundle and the store's mounts through", () => {
    const custom = VaultIdentityStore.parse({
      server: "https://10.0.0.1:8200",
      caBundle: "QUJD",
      path: "kv",
      version: "v1",
      authMountPath: "k8s/prod",
      role: "svc-{profile}",
    });
    const p = profile("api", { selector: { app: "api" }, secrets: [secret("db", "IdentityStore", "v")] });
    const [store] = buildExternalSecrets(p, makeContext({ identityStores: { v: { vault: custom } } }));
    expect(store?.spec).toEqual({
      provider: {
        vault: {
          server: "https://10.0.0.1:8200",
          path: "kv",
          version: "v1",
          caBundle: "QUJD",
          auth: {
            kubernetes: { mountPath: "k8s/prod", role: "svc-api", serviceAccountRef: { name: "api" } },
          },
        },
      },
    });
  });
});
