// A real Vault for e2e tests (e2e/controlplane/vault.ts starts it) with its Kubernetes auth method
// pointed at the test bed's API server, set up as a platform team does: a token reviewer
// ServiceAccount bound to system:auth-delegator (Vault sends each login's JWT to the API server's
// TokenReview with that account's token), the API server's URL and CA. Per service, the test then
// writes a Vault policy and a role bound to that service's ServiceAccount (`serviceRole`).
//
//   const vault = await startVaultWithKubernetesAuth(client);
//   await vault.serviceRole({ namespace, serviceAccount: "api", paths: [`secret/data/${namespace}/api/*`] });
//   ...
//   await vault.stop();
import * as fs from "node:fs";
import { KubeConfig } from "@kubernetes/client-node";
import type { KubeClient, Resource } from "../../operator/runtime/client.ts";
import { SERVICE_ACCOUNTS } from "../../operator/reconcile/kinds.ts";
import { resourcePath } from "../../operator/runtime/client.ts";
import { startVault, type VaultProcess } from "../controlplane/vault.ts";
import { createNamespace, deleteNamespace, kubeconfigPath, serviceAccountToken } from "./kube.ts";
import { applyAsTest } from "./secret-source.ts";

const CLUSTER_ROLE_BINDINGS: Resource = {
  group: "rbac.authorization.k8s.io",
  version: "v1",
  plural: "clusterrolebindings",
  kind: "ClusterRoleBinding",
  namespaced: false,
};

/** The mount path of the Kubernetes auth method (Vault's default for its type). */
export const K8S_AUTH_PATH = "kubernetes";
/** Dev mode mounts KV version 2 here. */
export const KV_MOUNT = "secret";

/** The role (and policy) name a platform team templates per service: `<namespace>-<serviceaccount>`. */
export function serviceRoleName(namespace: string, serviceAccount: string): string {
  return `${namespace}-${serviceAccount}`;
}

/** The API server's URL and CA (PEM) from the test bed's admin kubeconfig. */
export function apiServerAccess(): { server: string; caPem: string } {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("the test bed's kubeconfig has no cluster");
  const caPem = cluster.caData
    ? Buffer.from(cluster.caData, "base64").toString("utf8")
    : cluster.caFile
      ? fs.readFileSync(cluster.caFile, "utf8")
      : undefined;
  if (!caPem) throw new Error("the test bed's kubeconfig has no CA");
  return { server: cluster.server, caPem };
}

export interface VaultWithKubernetesAuth extends VaultProcess {
  /** The namespace of the token reviewer ServiceAccount. */
  reviewerNamespace: string;
  /**
   * Writes policy and role `<namespace>-<serviceAccount>`: read access to `paths` (KV v2 API paths,
   * e.g. secret/data/shop/api/*), a login bound to exactly that ServiceAccount in that namespace.
   */
  serviceRole(opts: {
    namespace: string;
    serviceAccount: string;
    paths: string[];
    ttl?: string;
  }): Promise<string>;
  /** Writes (or changes) a KV v2 secret at `secret/<key>`. */
  writeKv(key: string, data: Record<string, string>): Promise<void>;
  /** Vault's Kubernetes login with `jwt` for `role`; the client token. */
  login(role: string, jwt: string): Promise<string>;
}

/**
 * Starts Vault (building it on first use) and enables its Kubernetes auth method against the test
 * bed: creates the reviewer namespace, ServiceAccount `vault-token-reviewer` and its
 * ClusterRoleBinding to `system:auth-delegator`, and hands Vault a token of that account.
 */
export async function startVaultWithKubernetesAuth(client: KubeClient): Promise<VaultWithKubernetesAuth> {
  const reviewerNamespace = await createNamespace(client, "vault-auth");
  const binding = `vault-token-reviewer-${reviewerNamespace}`;
  let vault: VaultProcess | undefined;
  const cleanUp = async () => {
    await vault?.stop();
    await client.delete(resourcePath(CLUSTER_ROLE_BINDINGS, undefined, binding)).catch(() => undefined);
    await deleteNamespace(client, reviewerNamespace);
  };
  try {
    await applyAsTest(client, SERVICE_ACCOUNTS, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "vault-token-reviewer", namespace: reviewerNamespace },
    });
    await applyAsTest(client, CLUSTER_ROLE_BINDINGS, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: binding },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:auth-delegator" },
      subjects: [{ kind: "ServiceAccount", name: "vault-token-reviewer", namespace: reviewerNamespace }],
    } as never);
    const reviewerJwt = await serviceAccountToken(client, reviewerNamespace, "vault-token-reviewer");
    vault = await startVault();
    const { server, caPem } = apiServerAccess();
    await vault.request("POST", `sys/auth/${K8S_AUTH_PATH}`, { type: "kubernetes" });
    await vault.request("POST", `auth/${K8S_AUTH_PATH}/config`, {
      kubernetes_host: server,
      kubernetes_ca_cert: caPem,
      token_reviewer_jwt: reviewerJwt,
      // Vault runs outside the cluster: no pod token to fall back to.
      disable_local_ca_jwt: true,
    });
  } catch (e) {
    await cleanUp();
    throw e;
  }
  const v = vault;
  return {
    ...v,
    reviewerNamespace,
    stop: cleanUp,
    async serviceRole({ namespace, serviceAccount, paths, ttl = "10m" }) {
      const name = serviceRoleName(namespace, serviceAccount);
      const policy = paths.map((p) => `path "${p}" {\n  capabilities = ["read"]\n}\n`).join("\n");
      await v.request("PUT", `sys/policies/acl/${name}`, { policy });
      await v.request("POST", `auth/${K8S_AUTH_PATH}/role/${name}`, {
        bound_service_account_names: [serviceAccount],
        bound_service_account_namespaces: [namespace],
        token_policies: [name],
        token_ttl: ttl,
      });
      return name;
    },
    async writeKv(key, data) {
      await v.request("POST", `${KV_MOUNT}/data/${key}`, { data });
    },
    async login(role, jwt) {
      const r = await v.request<{ auth: { client_token: string } }>(
        "POST",
        `auth/${K8S_AUTH_PATH}/login`,
        { role, jwt },
        "",
      );
      if (!r) throw new Error(`vault login as ${role}: empty answer`);
      return r.auth.client_token;
    },
  };
}
