// ExternalSecret per secret entry: External Secrets Operator writes (and rotates) the Secret.
// meshward itself never reads or writes Secrets. A secret from an identity store (storeRef kind
// IdentityStore) reads through a namespaced SecretStore of its own profile that logs in to Vault as
// the profile's ServiceAccount (ADR 0028), so Vault's policy decides what the service may read.
import type { VaultIdentityStore } from "../api/policy.ts";
import type { Profile } from "../api/schema.ts";
import type { Problem } from "../api/validate.ts";
import type { ExternalSecret } from "../types/generated/upstream.ts";
import type { BuildContext } from "./context.ts";
import { childMeta, type KubeObject, serviceAccountName } from "./meta.ts";

/** The SecretStore meshward builds for a profile's use of identity store `store`. */
export function identityStoreName(profile: Profile, store: string): string {
  return `${profile.metadata.name}-${store}`;
}

/** The Vault role of a profile: the store's template with the profile's namespace, account and name. */
export function identityRole(template: string, profile: Profile): string {
  return template
    .replaceAll("{namespace}", profile.metadata.namespace)
    .replaceAll("{serviceAccount}", serviceAccountName(profile))
    .replaceAll("{profile}", profile.metadata.name);
}

/** ESO's SecretStore (external-secrets.io/v1), the part meshward writes. */
export type IdentitySecretStore = KubeObject & {
  spec: {
    provider: {
      vault: {
        server: string;
        path: string;
        version: "v1" | "v2";
        caBundle?: string;
        auth: {
          kubernetes: { mountPath: string; role: string; serviceAccountRef: { name: string } };
        };
      };
    };
  };
};

export function buildIdentitySecretStore(
  profile: Profile,
  store: string,
  vault: VaultIdentityStore,
): IdentitySecretStore {
  return {
    apiVersion: "external-secrets.io/v1",
    kind: "SecretStore",
    metadata: childMeta(profile, identityStoreName(profile, store)),
    spec: {
      provider: {
        vault: {
          server: vault.server,
          path: vault.path,
          version: vault.version,
          ...(vault.caBundle !== undefined && { caBundle: vault.caBundle }),
          auth: {
            kubernetes: {
              mountPath: vault.authMountPath,
              role: identityRole(vault.role, profile),
              // ESO asks the TokenRequest API for a short-lived token of this account, in the
              // SecretStore's namespace, and logs in to Vault with it.
              serviceAccountRef: { name: serviceAccountName(profile) },
            },
          },
        },
      },
    },
  };
}

/**
 * The ExternalSecrets, and one SecretStore per identity store they use. A secret whose identity
 * store the context does not know (no governing policy defines it) is not built: a problem.
 */
export function buildExternalSecrets(
  profile: Profile,
  ctx: BuildContext,
  problems: Problem[] = [],
): (KubeObject & (ExternalSecret | IdentitySecretStore))[] {
  const stores = new Map<string, IdentitySecretStore>();
  const secrets: (KubeObject & ExternalSecret)[] = [];
  (profile.spec.secrets ?? []).forEach((s, i) => {
    let storeRef: { kind: "SecretStore" | "ClusterSecretStore"; name: string };
    if (s.storeRef.kind === "IdentityStore") {
      const vault = ctx.identityStores?.[s.storeRef.name]?.vault;
      if (!vault) {
        problems.push({
          path: `spec.secrets[${i}].storeRef.name`,
          message: `no MeshwardPolicy governing this namespace defines identity store "${s.storeRef.name}": name a store of the policy's spec.secretIdentity.stores, or use kind SecretStore or ClusterSecretStore`,
        });
        return;
      }
      if (!stores.has(s.storeRef.name))
        stores.set(s.storeRef.name, buildIdentitySecretStore(profile, s.storeRef.name, vault));
      storeRef = { kind: "SecretStore", name: identityStoreName(profile, s.storeRef.name) };
    } else {
      storeRef = { kind: s.storeRef.kind, name: s.storeRef.name };
    }
    secrets.push({
      apiVersion: "external-secrets.io/v1",
      kind: "ExternalSecret",
      metadata: childMeta(profile, s.name),
      spec: {
        secretStoreRef: storeRef,
        refreshInterval: s.refreshInterval ?? ctx.defaults.secretRefreshInterval,
        target: { name: s.name, creationPolicy: "Owner" },
        data: s.data.map((d) => ({
          secretKey: d.secretKey,
          remoteRef: {
            key: d.remoteRef.key,
            ...(d.remoteRef.property !== undefined && { property: d.remoteRef.property }),
            ...(d.remoteRef.version !== undefined && { version: d.remoteRef.version }),
          },
        })),
      },
    });
  });
  return [...[...stores.values()].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1)), ...secrets];
}
