// One resource watched in several namespaces (or in all of them) behind one cache interface.
import type { KubeObjectLike } from "./client.ts";
import { Informer, type InformerHandler, type InformerOptions, type InformerState } from "./informer.ts";

export class NamespacedInformers<T extends KubeObjectLike> {
  private readonly all: Informer<T> | undefined;
  private readonly byNamespace = new Map<string, Informer<T>>();

  /** namespaces empty: one informer for all namespaces. */
  constructor(opts: Omit<InformerOptions, "namespace">, namespaces: string[]) {
    if (namespaces.length === 0) this.all = new Informer<T>(opts);
    else for (const ns of namespaces) this.byNamespace.set(ns, new Informer<T>({ ...opts, namespace: ns }));
  }

  get informers(): Informer<T>[] {
    return this.all ? [this.all] : [...this.byNamespace.values()];
  }

  on(h: InformerHandler<T>): void {
    for (const i of this.informers) i.on(h);
  }

  start(signal: AbortSignal): void {
    for (const i of this.informers) void i.start(signal);
  }

  async waitForSync(signal?: AbortSignal): Promise<void> {
    await Promise.all(this.informers.map((i) => i.waitForSync(signal)));
  }

  get synced(): boolean {
    return this.informers.every((i) => i.synced);
  }

  /** "absent" when the API server does not serve the resource (its CRD is not installed). */
  get state(): InformerState {
    const states = this.informers.map((i) => i.state);
    if (states.includes("absent")) return "absent";
    if (states.every((s) => s === "synced")) return "synced";
    return states.includes("error") ? "error" : "starting";
  }

  wake(): void {
    for (const i of this.informers) i.wake();
  }

  get(namespace: string, name: string): T | undefined {
    const inf = this.all ?? this.byNamespace.get(namespace);
    return inf?.get(`${namespace}/${name}`);
  }

  /** Cached objects of one namespace whose index `name` has `value` (values are namespaced by the caller). */
  byIndex(namespace: string, name: string, value: string): T[] {
    if (this.all) return this.all.byIndex(name, value);
    return this.byNamespace.get(namespace)?.byIndex(name, value) ?? [];
  }

  /** Cached objects of every watched namespace whose index `name` has `value`. */
  byIndexAll(name: string, value: string): T[] {
    return this.informers.flatMap((i) => i.byIndex(name, value));
  }

  countByIndex(namespace: string, name: string, value: string): number {
    if (this.all) return this.all.countByIndex(name, value);
    return this.byNamespace.get(namespace)?.countByIndex(name, value) ?? 0;
  }

  list(): T[] {
    return this.informers.flatMap((i) => i.list());
  }

  get size(): number {
    return this.informers.reduce((n, i) => n + i.size, 0);
  }

  watches(namespace: string): boolean {
    return this.all !== undefined || this.byNamespace.has(namespace);
  }
}
