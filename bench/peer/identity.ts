// Each controller of the benchmark talks to the API server as its own ServiceAccount, so the audit
// log tells its requests apart from the benchmark client's (which is the admin user).
import * as fs from "node:fs";
import { parse, stringify } from "yaml";
import { type KubeClient, resourcePath } from "../../operator/runtime/client.ts";
import { applyNamespace } from "../../test-support/harness/namespaces.ts";
import { sleep } from "../../test-support/harness/wait.ts";

const SERVICE_ACCOUNTS = {
  group: "",
  version: "v1",
  plural: "serviceaccounts",
  kind: "ServiceAccount",
  namespaced: true,
};
const SECRETS = { group: "", version: "v1", plural: "secrets", kind: "Secret", namespaced: true };
const CLUSTER_ROLE_BINDINGS = {
  group: "rbac.authorization.k8s.io",
  version: "v1",
  plural: "clusterrolebindings",
  kind: "ClusterRoleBinding",
  namespaced: false,
};

export function serviceAccountUser(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/** Creates the namespace and ServiceAccount if needed (and, with `clusterRole`, binds it). */
export async function ensureServiceAccount(
  client: KubeClient,
  namespace: string,
  name: string,
  clusterRole?: string,
): Promise<void> {
  await applyNamespace(client, namespace, "bench-peer");
  await client.apply(
    resourcePath(SERVICE_ACCOUNTS, namespace, name),
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace } },
    "bench-peer",
    true,
  );
  if (clusterRole) {
    const binding = `bench-peer:${namespace}:${name}`;
    await client.apply(
      resourcePath(CLUSTER_ROLE_BINDINGS, undefined, binding),
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: binding },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: clusterRole },
        subjects: [{ kind: "ServiceAccount", name, namespace }],
      },
      "bench-peer",
      true,
    );
  }
}

/**
 * Writes a kubeconfig for the ServiceAccount (same server and CA as `adminKubeconfig`) with the token
 * of a service-account-token Secret that kube-controller-manager fills in. Returns its path.
 */
export async function serviceAccountKubeconfig(
  client: KubeClient,
  adminKubeconfig: string,
  namespace: string,
  name: string,
  out: string,
): Promise<string> {
  const secret = `${name}-bench-token`;
  await client.apply(
    resourcePath(SECRETS, namespace, secret),
    {
      apiVersion: "v1",
      kind: "Secret",
      type: "kubernetes.io/service-account-token",
      metadata: { name: secret, namespace, annotations: { "kubernetes.io/service-account.name": name } },
    },
    "bench-peer",
    true,
  );
  let token = "";
  for (let i = 0; i < 600 && !token; i++) {
    const s = await client.get<{ data?: { token?: string } }>(resourcePath(SECRETS, namespace, secret));
    token = s.data?.token ? Buffer.from(s.data.token, "base64").toString("utf8") : "";
    if (!token) await sleep(100);
  }
  if (!token)
    throw new Error(`no token for ${namespace}/${name} after 60 s (is the token controller running?)`);
  const kc = parse(fs.readFileSync(adminKubeconfig, "utf8")) as {
    users: { name: string; user: Record<string, unknown> }[];
    contexts: { name: string; context: { user: string } }[];
  };
  const user = `${namespace}-${name}`;
  kc.users = [{ name: user, user: { token } }];
  for (const c of kc.contexts) c.context.user = user;
  fs.writeFileSync(out, stringify(kc), { mode: 0o600 });
  return out;
}
