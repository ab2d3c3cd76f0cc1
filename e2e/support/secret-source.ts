// A secret "vault" for e2e tests with the real External Secrets Operator: a Secret in a source
// namespace that one ServiceAccount may read, a ClusterSecretStore of ESO's `kubernetes` provider
// that reads it with that account's token (TokenRequest), and ESO itself, watching the namespace of
// the profiles under test. meshward never reads a Secret; tests do, to prove what ESO wrote.
//
//   const vault = await startSecretSource(client, { watch: appNamespace });
//   await applyProfile(client, appNamespace, "api", { ..., secrets: [vault.secretSpec("api-db", "db-creds")] });
//   ...
//   await vault.stop();
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { KubeConfig } from "@kubernetes/client-node";
import type { KubeClient, KubeObjectLike, Resource } from "../../operator/runtime/client.ts";
import { resourcePath } from "../../operator/runtime/client.ts";
import { type EsoProcess, startEso } from "../controlplane/eso.ts";
import { createNamespace, deleteNamespace, getOrUndefined, kubeconfigPath, waitFor } from "./kube.ts";

const core = (plural: string, kind: string): Resource => ({
  group: "",
  version: "v1",
  plural,
  kind,
  namespaced: true,
});
export const SECRETS = core("secrets", "Secret");
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
export const CLUSTER_SECRET_STORES: Resource = {
  group: "external-secrets.io",
  version: "v1",
  plural: "clustersecretstores",
  kind: "ClusterSecretStore",
  namespaced: false,
};
export const EXTERNAL_SECRETS: Resource = {
  group: "external-secrets.io",
  version: "v1",
  plural: "externalsecrets",
  kind: "ExternalSecret",
  namespaced: true,
};
/** The field manager of everything the tests write around meshward. */
export const MANAGER = "e2e-secrets";

export type Conditioned = KubeObjectLike & {
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
};

type Named = KubeObjectLike & { metadata: { name: string; namespace?: string } };

/** Server-side apply as the tests' field manager (force: these objects are the test's own). */
export function applyAsTest(client: KubeClient, resource: Resource, obj: Named): Promise<KubeObjectLike> {
  return client.apply(resourcePath(resource, obj.metadata.namespace, obj.metadata.name), obj, MANAGER, true);
}

export interface SecretSource {
  /** The namespace holding the source Secrets. */
  source: string;
  /** The ClusterSecretStore's name. */
  store: string;
  eso: EsoProcess;
  /** Writes (or rotates) a source Secret; ESO reads it as the remote key `name`. */
  writeSecret(name: string, data: Record<string, string>): Promise<void>;
  /** A profile's secrets entry: ESO syncs property `password` of remote key `key` into Secret `name`. */
  secretSpec(
    name: string,
    key: string,
    refreshInterval?: string,
  ): {
    name: string;
    storeRef: { kind: string; name: string };
    refreshInterval: string;
    data: { secretKey: string; remoteRef: { key: string; property: string } }[];
  };
  /** Waits until ESO has validated the store (Ready=True) and returns it. */
  storeReady(timeoutMs?: number): Promise<Conditioned>;
  /** Stops ESO, deletes the store and the source namespace. */
  stop(): Promise<void>;
}

function clusterAccess(): { server: string; caBundle: string } {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("the test bed's kubeconfig has no cluster");
  const caBundle =
    cluster.caData ?? (cluster.caFile ? fs.readFileSync(cluster.caFile).toString("base64") : undefined);
  if (!caBundle) throw new Error("the test bed's kubeconfig has no CA");
  return { server: cluster.server, caBundle };
}

/**
 * Creates the source namespace with Secret `db-creds` (`password: initialPassword`), its reader
 * and a ClusterSecretStore, and starts ESO watching `watch` (ESO's --namespace: a test's ESO
 * leaves other tests' ExternalSecrets alone). The first run builds ESO (minutes).
 */
export async function startSecretSource(
  client: KubeClient,
  opts: { watch: string; initialPassword?: string },
): Promise<SecretSource> {
  const source = await createNamespace(client, "secret-source");
  const store = `e2e-source-${randomBytes(3).toString("hex")}`;
  const writeSecret = async (name: string, data: Record<string, string>) => {
    await applyAsTest(client, SECRETS, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name, namespace: source },
      stringData: data,
    } as Named);
  };
  let eso: EsoProcess | undefined;
  const stop = async () => {
    await eso?.stop();
    await client.delete(resourcePath(CLUSTER_SECRET_STORES, undefined, store)).catch(() => undefined);
    await deleteNamespace(client, source);
  };
  try {
    await writeSecret("db-creds", { password: opts.initialPassword ?? "s3cret-1" });
    await applyAsTest(client, SERVICE_ACCOUNTS, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "eso-reader", namespace: source },
    });
    await applyAsTest(client, ROLES, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "eso-reader", namespace: source },
      rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "watch"] }],
    } as Named);
    await applyAsTest(client, ROLE_BINDINGS, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "eso-reader", namespace: source },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "eso-reader" },
      subjects: [{ kind: "ServiceAccount", name: "eso-reader", namespace: source }],
    } as Named);
    const { server, caBundle } = clusterAccess();
    // ESO asks the TokenRequest API for a token of eso-reader and reads with it.
    await applyAsTest(client, CLUSTER_SECRET_STORES, {
      apiVersion: "external-secrets.io/v1",
      kind: "ClusterSecretStore",
      metadata: { name: store },
      spec: {
        provider: {
          kubernetes: {
            remoteNamespace: source,
            server: { url: server, caBundle },
            auth: { serviceAccount: { name: "eso-reader", namespace: source } },
          },
        },
      },
    } as Named);
    eso = await startEso({ kubeconfig: kubeconfigPath(), namespace: opts.watch });
  } catch (e) {
    await stop();
    throw e;
  }
  const started = eso;
  return {
    source,
    store,
    eso: started,
    writeSecret,
    secretSpec: (name, key, refreshInterval = "5s") => ({
      name,
      storeRef: { kind: "ClusterSecretStore", name: store },
      refreshInterval,
      data: [{ secretKey: "password", remoteRef: { key, property: "password" } }],
    }),
    storeReady: (timeoutMs = 60_000) =>
      waitFor(
        `ClusterSecretStore ${store} Ready=True`,
        async () => {
          const o = await getOrUndefined<Conditioned>(
            client,
            resourcePath(CLUSTER_SECRET_STORES, undefined, store),
          );
          return o?.status?.conditions?.find((c) => c.type === "Ready" && c.status === "True") && o;
        },
        timeoutMs,
        250,
      ),
    stop,
  };
}
