// External Secrets Operator's Warning Events about ExternalSecrets (reason UpdateFailed): they hold
// the provider's own words (Vault's "Code: 403 ... permission denied"), where the ExternalSecret's
// condition only says "could not get secret data from provider". Watched, not polled: ESO retries a
// failing secret with the same status (no ExternalSecret watch event), but each retry updates its
// Event (count, lastTimestamp), and that update wakes the owning profile (wiring.ts). The cache keeps
// one small entry per Event: the ExternalSecret's name, the time and the message, clipped.
import { identityMetadata, type KubeObjectLike, type Resource } from "../runtime/client.ts";
import type { InformerEventType } from "../runtime/informer.ts";
import type { NamespacedInformers } from "../runtime/multi.ts";

export const EVENTS: Resource = {
  group: "",
  version: "v1",
  plural: "events",
  kind: "Event",
  namespaced: true,
};

/** Only ESO's failures: the API server filters, so other Events never reach the operator. */
export const ESO_EVENT_SELECTOR = "involvedObject.kind=ExternalSecret,reason=UpdateFailed";

/** Index of the cached Events by the ExternalSecret they are about ("namespace/name"). */
export const BY_EXTERNAL_SECRET = "externalSecret";

/** A message longer than this is clipped in the cache (a status message is clipped shorter still). */
const MAX_MESSAGE = 2048;

interface RawEvent {
  involvedObject?: { kind?: string; name?: string; namespace?: string };
  reason?: string;
  message?: string;
  lastTimestamp?: string;
  eventTime?: string;
  series?: { lastObservedTime?: string };
}

/** The time an Event last happened (core/v1 fields, or events.k8s.io's series and eventTime). */
function when(e: RawEvent): string {
  return e.series?.lastObservedTime ?? e.lastTimestamp ?? e.eventTime ?? "";
}

/** The cached form of one of ESO's Events: about which ExternalSecret, when, and its message. */
export function leanEsoEvent(o: KubeObjectLike): KubeObjectLike {
  const e = o as KubeObjectLike & RawEvent;
  const metadata = identityMetadata(o);
  const message = typeof e.message === "string" ? e.message.slice(0, MAX_MESSAGE) : "";
  return {
    apiVersion: "v1",
    kind: "Event",
    metadata,
    involvedObject: { kind: e.involvedObject?.kind ?? "", name: e.involvedObject?.name ?? "" },
    reason: e.reason ?? "",
    message,
    lastTimestamp: when(e),
  } as KubeObjectLike;
}

/** The ExternalSecret an Event is about, as "namespace/name"; undefined for any other Event. */
export function externalSecretOf(o: KubeObjectLike): string | undefined {
  const e = o as KubeObjectLike & RawEvent;
  const name = e.involvedObject?.name;
  const ns = o.metadata?.namespace;
  if (e.involvedObject?.kind !== "ExternalSecret" || e.reason !== "UpdateFailed" || !name || !ns)
    return undefined;
  return `${ns}/${name}`;
}

export const esoEventIndexes = { [BY_EXTERNAL_SECRET]: externalSecretOf };

/** The newest message among an ExternalSecret's UpdateFailed Events; undefined when there is none. */
export function newestMessage(events: readonly KubeObjectLike[]): string | undefined {
  let best: RawEvent | undefined;
  for (const o of events) {
    const e = o as KubeObjectLike & RawEvent;
    if (!e.message) continue;
    if (!best || when(e) > when(best)) best = e;
  }
  return best?.message;
}

/** ESO's newest error about an ExternalSecret, from the cache. */
export function esoErrorOf(
  events: NamespacedInformers<KubeObjectLike>,
  namespace: string,
  name: string,
): string | undefined {
  return newestMessage(events.byIndex(namespace, BY_EXTERNAL_SECRET, `${namespace}/${name}`));
}

/**
 * The ExternalSecret whose owning profile an Event's change concerns: a new Event, or one whose
 * message or time changed (ESO's retry); a deleted Event changes nothing to report.
 */
export function esoEventSecret(
  type: InformerEventType,
  obj: KubeObjectLike,
  old: KubeObjectLike | undefined,
): { namespace: string; name: string } | undefined {
  if (type === "delete") return undefined;
  const key = externalSecretOf(obj);
  if (!key) return undefined;
  if (type === "update" && old) {
    const a = obj as KubeObjectLike & RawEvent;
    const b = old as KubeObjectLike & RawEvent;
    if (a.message === b.message && when(a) === when(b)) return undefined;
  }
  const [namespace = "", name = ""] = key.split("/");
  return { namespace, name };
}
