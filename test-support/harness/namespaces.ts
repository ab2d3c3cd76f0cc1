// Namespaces for e2e, bench and demo: create one with a random suffix, apply named ones, delete
// them (a namespace already gone is fine) and, for the bench, wait until they are gone.
import { randomBytes } from "node:crypto";
import { NAMESPACES } from "../../operator/reconcile/kinds.ts";
import {
  ApiError,
  type KubeClient,
  type KubeObjectLike,
  resourcePath,
} from "../../operator/runtime/client.ts";
import { sleep } from "./wait.ts";

export { NAMESPACES };

/** A fresh namespace `<prefix>-<6 hex>`; returns its name. */
export async function createNamespace(client: KubeClient, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString("hex")}`.slice(0, 63);
  await client.request("POST", resourcePath(NAMESPACES), {
    body: { apiVersion: "v1", kind: "Namespace", metadata: { name } },
  });
  return name;
}

/** Server-side applies namespace `name` (created if missing), with `labels` if given. */
export async function applyNamespace(
  client: KubeClient,
  name: string,
  fieldManager: string,
  labels?: Record<string, string>,
): Promise<void> {
  await client.apply(
    resourcePath(NAMESPACES, undefined, name),
    { apiVersion: "v1", kind: "Namespace", metadata: { name, ...(labels && { labels }) } },
    fieldManager,
    true,
  );
}

/** Deletes the object at `path`; one already gone is fine. */
export async function deleteIfPresent(client: KubeClient, path: string): Promise<void> {
  try {
    await client.delete(path);
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) throw e;
  }
}

export async function deleteNamespace(client: KubeClient, name: string): Promise<void> {
  await deleteIfPresent(client, resourcePath(NAMESPACES, undefined, name));
}

/**
 * Deletes `names`, a few at a time, then waits until none is left (their contents are deleted
 * first, by the namespace controller); fails naming those left after `timeoutMs`.
 */
export async function deleteNamespaces(
  client: KubeClient,
  names: string[],
  timeoutMs = 600_000,
): Promise<void> {
  const queue = [...names];
  await Promise.all(
    Array.from({ length: Math.min(8, queue.length) }, async () => {
      for (let ns = queue.shift(); ns !== undefined; ns = queue.shift()) await deleteNamespace(client, ns);
    }),
  );
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const list = await client.get<{ items: KubeObjectLike[] }>(resourcePath(NAMESPACES));
    const left = list.items.map((n) => n.metadata?.name ?? "").filter((n) => names.includes(n));
    if (left.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(
        `${left.length} namespaces still there after ${timeoutMs / 1000} s: ${left.slice(0, 5).join(", ")}`,
      );
    await sleep(500);
  }
}
