// The reconciler's writes (and its one kind of read) through the API server. Creation is a plain
// create, never an apply: it cannot touch an object someone else made. Server-side apply (with
// force) is used only on an object we own, with its uid as a precondition (ADR 7).
import type { PolicyStatus } from "../api/policy.ts";
import type { ProfileStatus } from "../api/schema.ts";
import type { KubeObject } from "../builders/index.ts";
import { type KubeClient, type KubeObjectLike, type Resource, resourcePath } from "../runtime/client.ts";
import { isNotFound } from "../runtime/errors.ts";
import { PODS, POLICIES, PROFILES } from "./kinds.ts";
import type { Cluster } from "./cluster.ts";

export const FIELD_MANAGER = "meshward";
export const STATUS_FIELD_MANAGER = "meshward-status";

export type ApiWrites = Pick<
  Cluster,
  "read" | "create" | "apply" | "remove" | "applyStatus" | "applyPolicyStatus" | "pods"
>;

const POD_PAGE = 500;

/**
 * `signal` is asked at every request: when it aborts (leadership lost, shutdown), requests in
 * flight are cancelled and new ones fail at once, so a replica that is no longer leader stops
 * writing now, not after the shutdown timeout.
 */
export function apiWrites(
  client: KubeClient,
  signal: () => AbortSignal | undefined = () => undefined,
): ApiWrites {
  /** Server-side apply of an object's status; an object that is gone has nothing to report on. */
  const applyStatusOf = async (
    r: Resource,
    name: string,
    namespace: string | undefined,
    status: unknown,
  ): Promise<void> => {
    const body = {
      apiVersion: `${r.group}/${r.version}`,
      kind: r.kind,
      metadata: { name, ...(namespace !== undefined && { namespace }) },
      status,
    };
    try {
      await client.apply(
        resourcePath(r, namespace, name, "status"),
        body,
        STATUS_FIELD_MANAGER,
        true,
        undefined,
        signal(),
      );
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
  };
  const opts = () => {
    const s = signal();
    return s ? { signal: s } : {};
  };
  return {
    read: async (kind, ns, name) => {
      try {
        return await client.get<KubeObjectLike>(resourcePath(kind.resource, ns, name), signal());
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
    },
    create: (kind, obj: KubeObject) =>
      client.request<KubeObjectLike>("POST", resourcePath(kind.resource, obj.metadata.namespace), {
        body: obj,
        query: { fieldManager: FIELD_MANAGER },
        verb: "create",
        ...opts(),
      }),
    apply: (kind, obj: KubeObject, uid) =>
      client.apply<KubeObjectLike>(
        resourcePath(kind.resource, obj.metadata.namespace, obj.metadata.name),
        // The uid is a precondition: the API server refuses to change an object with another uid.
        { ...obj, metadata: { ...obj.metadata, ...(uid && { uid }) } },
        FIELD_MANAGER,
        true,
        undefined,
        signal(),
      ),
    remove: async (kind, ns, name, uid) => {
      await client.delete(resourcePath(kind.resource, ns, name), { uid }, signal());
    },
    applyStatus: (ns, name, status: ProfileStatus) => applyStatusOf(PROFILES, name, ns, status),
    applyPolicyStatus: (name, status: PolicyStatus) => applyStatusOf(POLICIES, name, undefined, status),
    pods: async (ns) => {
      type PodList = {
        metadata?: { continue?: string };
        items?: { metadata?: { name?: string; labels?: Record<string, string> } }[];
      };
      const out: { name: string; labels: Record<string, string> }[] = [];
      let next: string | undefined;
      do {
        const page: PodList = await client.request<PodList>("GET", resourcePath(PODS, ns), {
          query: { limit: POD_PAGE, continue: next },
          verb: "list",
          ...opts(),
        });
        for (const p of page.items ?? [])
          out.push({ name: p.metadata?.name ?? "", labels: p.metadata?.labels ?? {} });
        next = page.metadata?.continue || undefined;
      } while (next);
      return out;
    },
  };
}
