// Whether the ServiceAccounts that the policies name as platform identities exist (the decision is
// operator/perimeter/identities.ts). One informer per named ServiceAccount, filtered to it by
// namespace and field selector and stripped to its name: memory stays one small object per name,
// at most MAX_WATCHED_ACCOUNTS of them (never every ServiceAccount of the cluster), and a
// ServiceAccount created or deleted later is seen at once through its watch, with no polling.
// The operator's ClusterRole already lets it list and watch ServiceAccounts.
import type { MeshwardPolicy } from "../api/policy.ts";
import {
  type AccountLookup,
  accountKey,
  MAX_WATCHED_ACCOUNTS,
  namedAccounts,
} from "../perimeter/identities.ts";
import type { KubeClient, KubeObjectLike } from "../runtime/client.ts";
import { SERVICE_ACCOUNTS } from "./kinds.ts";
import { Informer } from "../runtime/informer.ts";
import type { Logger } from "../runtime/log.ts";

/** Name, namespace and version: all that "does it exist" needs. */
function leanAccount(o: KubeObjectLike): KubeObjectLike {
  const m = o.metadata ?? {};
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion },
  };
}

export interface AccountWatchOptions {
  client: KubeClient;
  log: Logger;
  /** A watched ServiceAccount appeared, went away, or its lookup state changed. */
  onChange: () => void;
  onRestart?: (reason: string) => void;
}

export class AccountWatches {
  private readonly o: AccountWatchOptions;
  private readonly watches = new Map<string, { informer: Informer<KubeObjectLike>; stop: AbortController }>();
  private unwatched = new Set<string>();
  private signal: AbortSignal | undefined;
  private wanted: MeshwardPolicy[] = [];

  constructor(o: AccountWatchOptions) {
    this.o = o;
  }

  /** Starts the watches the last sync asked for, and every later one. */
  start(signal: AbortSignal): void {
    this.signal = signal;
    this.sync(this.wanted);
  }

  /** Watches the ServiceAccounts the valid policies name now, and stops watching the others. */
  sync(policies: MeshwardPolicy[]): void {
    this.wanted = policies;
    const { watched, unwatched } = namedAccounts(policies);
    this.unwatched = new Set(unwatched);
    const keep = new Set(watched);
    for (const [key, w] of this.watches)
      if (!keep.has(key)) {
        w.stop.abort();
        this.watches.delete(key);
      }
    if (!this.signal) return;
    for (const key of watched) if (!this.watches.has(key)) this.watch(key, this.signal);
  }

  private watch(key: string, parent: AbortSignal): void {
    const [namespace = "", name = ""] = key.split("/");
    const stop = new AbortController();
    const informer = new Informer<KubeObjectLike>({
      client: this.o.client,
      resource: SERVICE_ACCOUNTS,
      namespace,
      fieldSelector: `metadata.name=${name}`,
      transform: leanAccount,
      log: this.o.log,
      onRestart: this.o.onRestart,
      onStateChange: () => this.o.onChange(),
    });
    informer.on((type) => {
      if (type !== "update") this.o.onChange();
    });
    this.watches.set(key, { informer, stop });
    void informer.start(AbortSignal.any([parent, stop.signal]));
  }

  /** What is known of one ServiceAccount, for the policy's status. */
  lookup(namespace: string, name: string): AccountLookup {
    const key = accountKey({ namespace, name });
    const w = this.watches.get(key);
    if (!w) {
      if (this.unwatched.has(key))
        return {
          state: "unknown",
          why: `watches at most the first ${MAX_WATCHED_ACCOUNTS} ServiceAccounts named by all policies (sorted by namespace/name), and this one is beyond them`,
        };
      return { state: "unknown", why: "has not looked it up yet" };
    }
    if (w.informer.state === "synced") return w.informer.get(key) ? { state: "found" } : { state: "missing" };
    if (w.informer.state === "error")
      return {
        state: "unknown",
        why: `cannot list ServiceAccounts in namespace ${namespace} (its RBAC, or the API server; see its log)`,
      };
    return { state: "unknown", why: "has not looked it up yet" };
  }

  /** How many ServiceAccounts are watched. */
  get size(): number {
    return this.watches.size;
  }
}
