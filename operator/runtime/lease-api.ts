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
    async get(namespace, name) {
      try {
        return await client.get<Lease>(resourcePath(LEASES, namespace, name));
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) return undefined;
        throw e;
      }
    },
    create: (lease) =>
      client.request<Lease>("POST", resourcePath(LEASES, lease.metadata.namespace), {
        body: { apiVersion: "coordination.k8s.io/v1", kind: "Lease", ...lease },
        verb: "create",
      }),
    replace: (lease) =>
      client.request<Lease>("PUT", resourcePath(LEASES, lease.metadata.namespace, lease.metadata.name), {
        body: { apiVersion: "coordination.k8s.io/v1", kind: "Lease", ...lease },
        verb: "update",
      }),
  };
}
