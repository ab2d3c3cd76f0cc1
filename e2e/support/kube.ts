// Small helpers for e2e tests against the real API server.
import * as fs from "node:fs";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, inject } from "vitest";
import { ApiError, KubeClient, type KubeObjectLike, type Resource } from "../../operator/runtime/client.ts";

import { createNamespace, deleteNamespace } from "../../test-support/harness/namespaces.ts";

// Namespaces and polling are the harness's (shared with bench and demo); e2e tests take them from here.
export {
  applyNamespace,
  createNamespace,
  deleteNamespace,
  NAMESPACES,
} from "../../test-support/harness/namespaces.ts";
export { waitFor } from "../../test-support/harness/wait.ts";

export const CONFIGMAPS: Resource = {
  group: "",
  version: "v1",
  plural: "configmaps",
  kind: "ConfigMap",
  namespaced: true,
};

export function kubeconfigPath(): string {
  return inject("kubeconfig");
}

export function kube(): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  return new KubeClient(kc);
}

/**
 * Fresh namespaces for the tests of one file: `ns(prefix)` creates one; all of them are deleted
 * after the file's tests (after the file's own afterAll hooks, e.g. once its operator has stopped).
 */
export function testNamespaces(): (prefix: string) => Promise<string> {
  const names: string[] = [];
  let client: KubeClient | undefined;
  afterAll(async () => {
    for (const n of names) await deleteNamespace((client ??= kube()), n);
  });
  return async (prefix) => {
    const n = await createNamespace((client ??= kube()), prefix);
    names.push(n);
    return n;
  };
}

export async function getOrUndefined<T = KubeObjectLike>(
  client: KubeClient,
  path: string,
): Promise<T | undefined> {
  try {
    return await client.get<T>(path);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return undefined;
    throw e;
  }
}

/** A token of ServiceAccount `sa` from the TokenRequest API, valid for an hour. */
export async function serviceAccountToken(
  client: KubeClient,
  namespace: string,
  sa: string,
): Promise<string> {
  const tr = await client.request<{ status: { token: string } }>(
    "POST",
    `/api/v1/namespaces/${namespace}/serviceaccounts/${sa}/token`,
    {
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: { expirationSeconds: 3600 },
      },
    },
  );
  return tr.status.token;
}

/**
 * A kubeconfig (written to `file`) for a ServiceAccount, with a token from the TokenRequest API.
 * Unlike the admin identity (system:masters), such a client is subject to the API server's
 * request limits and to RBAC.
 */
export async function serviceAccountKubeconfig(
  client: KubeClient,
  namespace: string,
  sa: string,
  file: string,
): Promise<string> {
  const token = await serviceAccountToken(client, namespace, sa);
  const admin = new KubeConfig();
  admin.loadFromFile(kubeconfigPath());
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error("admin kubeconfig has no cluster");
  const caData =
    cluster.caData ?? (cluster.caFile ? fs.readFileSync(cluster.caFile).toString("base64") : undefined);
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "testbed",
        cluster: { server: cluster.server, ...(caData && { "certificate-authority-data": caData }) },
      },
    ],
    users: [{ name: sa, user: { token } }],
    contexts: [{ name: sa, context: { cluster: "testbed", user: sa } }],
    "current-context": sa,
  };
  fs.writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
  return file;
}
