// A controller's own writes come back to it as watch events. When the object an event carries is
// exactly the one a write of ours returned (same resourceVersion), the reconcile that made the write
// already planned with it: that event is an echo, and reconciling its owner again would find
// nothing to do. Every other event (someone else's change, a delete, a version we did not write)
// goes through.
//
// The watch can deliver the echo before the write's response: an event for an object with a write
// in flight is held until the response says which version the write made. If it is the event's,
// the event is dropped; otherwise (or if the write fails) it is delivered then.
//
// An entry lives from the write to the next event for that object: at most one per object
// written and not yet seen again.
import { type KubeObjectLike, type Resource, resourceId } from "./client.ts";
import { type InformerEventType, objectKey } from "./informer.ts";

type Entry =
  /** A write in flight; the events that arrived meanwhile (their versions and deliveries). */
  | { inFlight: true; held: { rv: string | undefined; deliver: () => void }[] }
  /** The version our last write made, until its event arrives. */
  | { inFlight: false; rv: string };

export class Echoes {
  readonly #entries = new Map<string, Entry>();

  /** Objects written whose event has not arrived yet, and writes in flight. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Runs `write` (a create or apply of `name` in `namespace`), remembering the version it returns.
   * Events for that object that arrive meanwhile are held until it ends.
   */
  async write(
    resource: Resource,
    namespace: string | undefined,
    name: string,
    write: () => Promise<KubeObjectLike>,
  ): Promise<KubeObjectLike> {
    const key = `${resourceId(resource)} ${namespace ? `${namespace}/${name}` : name}`;
    const entry: Entry = { inFlight: true, held: [] };
    this.#entries.set(key, entry);
    let rv: string | undefined;
    try {
      const obj = await write();
      rv = obj?.metadata?.resourceVersion;
      return obj;
    } finally {
      // A newer write of the same object has taken over: it decides about the events.
      if (this.#entries.get(key) === entry) {
        this.#entries.delete(key);
        const echoed = entry.held.some((h) => rv !== undefined && h.rv === rv);
        for (const h of entry.held) if (h.rv !== rv) h.deliver();
        if (rv !== undefined && !echoed) this.#entries.set(key, { inFlight: false, rv });
      } else for (const h of entry.held) h.deliver();
    }
  }

  /**
   * An event for `obj`: `deliver` runs now, later (after a write in flight) or never (the echo of
   * our last write of it). Every event ends the wait for that object's echo.
   */
  event(resource: Resource, type: InformerEventType, obj: KubeObjectLike, deliver: () => void): void {
    const key = `${resourceId(resource)} ${objectKey(obj)}`;
    const entry = this.#entries.get(key);
    const rv = obj.metadata?.resourceVersion;
    if (entry?.inFlight && type !== "delete") {
      entry.held.push({ rv, deliver });
      return;
    }
    if (entry && !entry.inFlight) {
      this.#entries.delete(key);
      if (type !== "delete" && rv === entry.rv) return;
    }
    deliver();
  }
}
