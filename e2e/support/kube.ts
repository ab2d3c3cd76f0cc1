// Small helpers for e2e tests against the real API server.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { KubeConfig } from "@kubernetes/client-node";
import { inject } from "vitest";
import {
  ApiError,
  KubeClient,
  type KubeObjectLike,
  type Resource,
  resourcePath,
} from "../../operator/runtime/client.ts";

export const NAMESPACES: Resource = {
  group: "",
  version: "v1",
  plural: "namespaces",
  kind: "Namespace",
  namespaced: false,
};
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

/** A fresh namespace for one test; returns its name. */
export async function createNamespace(client: KubeClient, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString("hex")}`.slice(0, 63);
  await client.request("POST", resourcePath(NAMESPACES), {
    body: { apiVersion: "v1", kind: "Namespace", metadata: { name } },
  });
  return name;
}

export async function deleteNamespace(client: KubeClient, name: string): Promise<void> {
  try {
    await client.delete(resourcePath(NAMESPACES, undefined, name));
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) throw e;
  }
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

/** Polls until `fn` returns a value that is not undefined/false, or fails with the last value seen. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`,
      );
    await new Promise((r) => setTimeout(r, everyMs));
  }
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
    users: [{ name: sa, user: { token: tr.status.token } }],
    contexts: [{ name: sa, context: { cluster: "testbed", user: sa } }],
    "current-context": sa,
  };
  fs.writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
  return file;
}
