// Profile helpers for e2e tests: apply like `kubectl apply --server-side`, read status, wait for conditions.
import type { ProfileStatus } from "../../operator/api/schema.ts";
import { API_VERSION, KIND } from "../../operator/api/schema.ts";
import type { KubeClient, KubeObjectLike } from "../../operator/runtime/client.ts";
import { resourcePath } from "../../operator/runtime/client.ts";
import { CHILD_KINDS, EVENTS, PROFILES } from "../../operator/reconcile/kinds.ts";
import { getOrUndefined, waitFor } from "./kube.ts";

export type ProfileObject = KubeObjectLike & { spec: Record<string, unknown>; status?: ProfileStatus };

export async function applyProfile(
  client: KubeClient,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
  manager = "e2e-user",
) {
  return client.apply<ProfileObject>(
    resourcePath(PROFILES, namespace, name),
    { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace }, spec },
    manager,
    true,
    { fieldValidation: "Strict" },
  );
}

export function getProfile(client: KubeClient, namespace: string, name: string) {
  return getOrUndefined<ProfileObject>(client, resourcePath(PROFILES, namespace, name));
}

export function condition(p: ProfileObject | undefined, type: string) {
  return p?.status?.conditions?.find((c) => c.type === type);
}

/** Waits until the profile's status is current and `type` has `status` (Ready=True by default). */
export async function waitCondition(
  client: KubeClient,
  namespace: string,
  name: string,
  want: { type?: string; status?: string; reason?: string } = {},
  timeoutMs = 30_000,
): Promise<ProfileObject> {
  const type = want.type ?? "Ready";
  const status = want.status ?? "True";
  return waitFor(
    `${namespace}/${name} ${type}=${status}${want.reason ? ` (${want.reason})` : ""}`,
    async () => {
      const p = await getProfile(client, namespace, name);
      const c = condition(p, type);
      const current = p?.status?.observedGeneration === p?.metadata?.generation;
      if (!current || c?.status !== status || (want.reason && c.reason !== want.reason)) return undefined;
      return p;
    },
    timeoutMs,
  );
}

export function kindOf(kind: string) {
  const k = CHILD_KINDS.find((c) => c.resource.kind === kind);
  if (!k) throw new Error(`unknown kind ${kind}`);
  return k.resource;
}

export function getChild(client: KubeClient, kind: string, namespace: string, name: string) {
  return getOrUndefined<KubeObjectLike & { spec?: Record<string, unknown> }>(
    client,
    resourcePath(kindOf(kind), namespace, name),
  );
}

/** Someone else's PeerAuthentication (PERMISSIVE, field manager platform-team), made before meshward's. */
export function createForeignPeerAuthentication(client: KubeClient, namespace: string, name: string) {
  return client.request<KubeObjectLike>("POST", resourcePath(kindOf("PeerAuthentication"), namespace), {
    body: {
      apiVersion: "security.istio.io/v1",
      kind: "PeerAuthentication",
      metadata: { name, namespace },
      spec: { mtls: { mode: "PERMISSIVE" } },
    },
    query: { fieldManager: "platform-team" },
  });
}

export interface EventObject {
  reason: string;
  note: string;
  type: string;
  regarding: { name: string; kind: string };
  related?: { name: string; kind: string };
}

export async function events(client: KubeClient, namespace: string): Promise<EventObject[]> {
  const list = await client.get<{ items: EventObject[] }>(resourcePath(EVENTS, namespace));
  return list.items;
}

export async function waitEvent(
  client: KubeClient,
  namespace: string,
  reason: string,
  noteIncludes: string,
  timeoutMs = 15_000,
) {
  return waitFor(
    `event ${reason} "${noteIncludes}" in ${namespace}`,
    async () =>
      (await events(client, namespace)).find((e) => e.reason === reason && e.note.includes(noteIncludes)),
    timeoutMs,
  );
}
