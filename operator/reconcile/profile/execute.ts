// The profile reconcile's executor: performs what the planner (plan.ts) decided, and reports what
// happened. It decides nothing: no error is classified, no object compared, no Event chosen here.
// (operator/architecture.test.ts keeps it so: this file may import only the plan's types, the
// Cluster port and the runtime's client and error names.)
import type { Cluster } from "../cluster.ts";
import { isAlreadyExists, isConflict, isNotFound } from "../../runtime/errors.ts";
import type {
  ChildWrite,
  DeleteResult,
  EventSink,
  EventToRecord,
  OwnedDelete,
  StatusWrite,
  WriteResult,
} from "./types.ts";

type Writes = Pick<Cluster, "create" | "read" | "apply">;

/** One write. A create whose name is taken reads what holds it instead (ADR 7). */
async function write(cluster: Writes, w: ChildWrite): Promise<WriteResult> {
  const { kind, desired, index } = w;
  const { namespace, name } = desired.metadata;
  try {
    switch (w.action.type) {
      case "read":
        return { index, type: "observed", live: await cluster.read(kind, namespace, name), taken: false };
      case "apply":
        return { index, type: "written", current: await cluster.apply(kind, desired, w.action.uid) };
      case "create":
        try {
          return { index, type: "written", current: await cluster.create(kind, desired) };
        } catch (e) {
          if (!isAlreadyExists(e)) throw e;
        }
        return { index, type: "observed", live: await cluster.read(kind, namespace, name), taken: true };
    }
  } catch (error) {
    return { index, type: "failed", error };
  }
}

/** The writes, all at once (children are independent); the results in the writes' order. */
export function executeWrites(cluster: Writes, writes: readonly ChildWrite[]): Promise<WriteResult[]> {
  return Promise.all(writes.map((w) => write(cluster, w)));
}

/** The deletes, one after another; one that finds its object gone (or replaced) is done. */
export async function executeDeletes(
  cluster: Pick<Cluster, "remove">,
  deletes: readonly OwnedDelete[],
): Promise<DeleteResult[]> {
  const out: DeleteResult[] = [];
  for (const d of deletes) {
    try {
      await cluster.remove(d.kind, d.namespace, d.name, d.uid);
      out.push({ delete: d });
    } catch (error) {
      out.push(isNotFound(error) || isConflict(error) ? { delete: d } : { delete: d, error });
    }
  }
  return out;
}

export function recordEvents(sink: EventSink, events: readonly EventToRecord[]): void {
  for (const e of events) sink.record(e.regarding, e.type, e.reason, e.note, e.related);
}

export function executeStatus(cluster: Pick<Cluster, "applyStatus">, s: StatusWrite): Promise<void> {
  return cluster.applyStatus(s.namespace, s.name, s.status);
}
