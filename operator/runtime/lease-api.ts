// The LeaseApi of leader election, over the thin client.
import { ApiError, type KubeClient, type Resource, resourcePath } from "./client.ts";
import type { Lease, LeaseApi } from "./leader.ts";

const LEASES: Resource = {
  group: "coordination.k8s.io",
  version: "v1",
  plural: "leases",
  kind: "Lease",
  namespaced: true,
};

export function leaseApi(client: KubeClient): LeaseApi {
  return {
    async get(namespace, name, signal) {
      try {
        return await client.get<Lease>(resourcePath(LEASES, namespace, name), signal);
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) return undefined;
        throw e;
      }
    },
    create: (lease, signal) =>
      client.request<Lease>("POST", resourcePath(LEASES, lease.metadata.namespace), {
        body: { apiVersion: "coordination.k8s.io/v1", kind: "Lease", ...lease },
        verb: "create",
        ...(signal && { signal }),
      }),
    replace: (lease, signal) =>
      client.request<Lease>("PUT", resourcePath(LEASES, lease.metadata.namespace, lease.metadata.name), {
        body: { apiVersion: "coordination.k8s.io/v1", kind: "Lease", ...lease },
        verb: "update",
        ...(signal && { signal }),
      }),
  };
}

/**
 * The one line to log when the Lease cannot be created because its namespace does not exist (the
 * API server answers 404 to a create in a missing namespace), else undefined.
 */
export function missingLeaseNamespace(err: unknown, namespace: string): string | undefined {
  if (!(err instanceof ApiError && err.status === 404)) return undefined;
  return (
    `the leader election namespace "${namespace}" does not exist: create it ` +
    `(kubectl create namespace ${namespace}), or pass --leader-election-namespace ` +
    `(MESHWARD_LEADER_ELECTION_NAMESPACE) naming an existing namespace, or --leader-election=false ` +
    `for a single replica. Not ready, and not reconciling, until then`
  );
}
