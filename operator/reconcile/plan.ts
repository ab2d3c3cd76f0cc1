// What to do about one generated object (pure): from the desired object, the live one, the state
// the previous status recorded, the drift policy and the owner, to the object's state, the action
// and the Event. The reconciler carries the plan out; nothing here reads or writes the cluster.
import { KIND, type ObjectStatus } from "../api/schema.ts";
import type { KubeObject } from "../builders/index.ts";
import type { KubeObjectLike } from "../runtime/client.ts";
import { DESIRED_HASH_ANNOTATION, driftPaths } from "./compare.ts";
import type { EventReason } from "./events.ts";

export type ObjectState = ObjectStatus["state"];
export type DriftPolicy = "Correct" | "Report";

export interface ChildInput {
  /** The desired object, stamped with its desired hash. */
  desired: KubeObject;
  /** The live object: from the cache, or read after the name was found taken. */
  live: KubeObjectLike | undefined;
  /** True when `live` is what the API server said just now (no need to look again). */
  looked?: boolean;
  /** The object's entry in the previous status. */
  before: ObjectStatus | undefined;
  policy: DriftPolicy;
  /** The uid of the profile that should own the object. */
  owner: string | undefined;
}

export type ChildAction =
  /** Nothing to write. */
  | { type: "none" }
  /** A plain create (POST): a name someone else holds is answered 409, never taken over. */
  | { type: "create" }
  /** The name was someone else's last time: read it, then plan again (no write while it is theirs). */
  | { type: "read" }
  /** Server-side apply with force on our own object, with its uid as a precondition. */
  | { type: "apply"; uid: string };

export interface PlannedEvent {
  type: "Normal" | "Warning";
  reason: EventReason;
  note: string;
}

export interface ChildPlan {
  state: ObjectState;
  message?: string;
  action: ChildAction;
  /** Recorded once the action succeeded (at once when there is none). */
  event?: PlannedEvent;
  /** A routine change, summarised in one Event per reconcile. */
  change?: "created" | "updated";
  /** For the Conflict condition: "Kind name (managed by X)". */
  conflict?: string;
  /** For the Drifted condition, drift left in place: "Kind name: paths". */
  drift?: string;
  /** Drift seen, for the metric: corrected or only reported. */
  driftSeen?: "corrected" | "reported";
}

/** The uid of the profile holding the object's controller reference, if any. */
export function ownerUid(o: KubeObjectLike): string | undefined {
  return o.metadata?.ownerReferences?.find(
    (r) => r.controller && r.kind === KIND && r.apiVersion.startsWith("meshward.io/"),
  )?.uid;
}

/** The field managers of an object, for messages. */
export function managers(o: KubeObjectLike): string {
  const names = [
    ...new Set((o.metadata?.managedFields ?? []).map((m) => m.manager).filter((m): m is string => !!m)),
  ];
  return names.length > 0 ? names.join(", ") : "unknown";
}

export function describe(o: { kind: string; metadata: { name: string } }): string {
  return `${o.kind} ${o.metadata.name}`;
}

export const DELETED = "deleted outside the profile";

export function planChild(i: ChildInput): ChildPlan {
  const what = describe(i.desired);
  const before = i.before;
  // Warnings are Events about changes: one already in the status was already told.
  const known = (state: ObjectState, message: string) =>
    before?.state === state && before.message === message;
  const live = i.live;

  if (live && ownerUid(live) !== i.owner) {
    const message = `exists and is managed by ${managers(live)}, not by this profile`;
    return {
      state: "Conflict",
      message,
      action: { type: "none" },
      conflict: `${what} (managed by ${managers(live)})`,
      ...(!known("Conflict", message) && {
        event: {
          type: "Warning",
          reason: "Conflict",
          note: `${what} exists and is not managed by this profile (managed by ${managers(live)}); left unchanged`,
        },
      }),
    };
  }

  if (!live) {
    const wasThere = before !== undefined && before.state !== "Missing" && before.state !== "Conflict";
    const reportedDeleted = before?.state === "Missing" && before.message === DELETED;
    if ((wasThere || reportedDeleted) && i.policy === "Report") {
      return {
        state: "Missing",
        message: DELETED,
        action: { type: "none" },
        drift: `${what}: deleted`,
        ...(!reportedDeleted && {
          driftSeen: "reported",
          event: {
            type: "Warning",
            reason: "DriftDetected",
            note: `${what} was deleted; left deleted (driftPolicy: Report)`,
          },
        }),
      };
    }
    // Someone else's last time: look before writing, so a name that stays theirs costs no write.
    if (before?.state === "Conflict" && !i.looked) return { state: "InSync", action: { type: "read" } };
    if (wasThere || reportedDeleted) {
      return {
        state: "InSync",
        action: { type: "create" },
        driftSeen: "corrected",
        event: { type: "Normal", reason: "DriftCorrected", note: `${what} was deleted; recreated` },
      };
    }
    return { state: "InSync", action: { type: "create" }, change: "created" };
  }

  const paths = driftPaths(i.desired, live);
  if (paths.length === 0) return { state: "InSync", action: { type: "none" } };
  const uid = live.metadata?.uid ?? "";
  const liveHash = live.metadata?.annotations?.[DESIRED_HASH_ANNOTATION];
  const desiredHash = i.desired.metadata.annotations?.[DESIRED_HASH_ANNOTATION];
  if (liveHash !== undefined && liveHash !== desiredHash) {
    // The profile (or the platform) asks for something new.
    return { state: "InSync", action: { type: "apply", uid }, change: "updated" };
  }
  // We applied this very object before (or someone removed our stamp): it was edited.
  const fields = paths.join(", ");
  if (i.policy === "Report") {
    const message = `changed outside the profile: ${fields}`;
    return {
      state: "Drifted",
      message,
      action: { type: "none" },
      drift: `${what}: ${fields}`,
      ...(!known("Drifted", message) && {
        driftSeen: "reported",
        event: {
          type: "Warning",
          reason: "DriftDetected",
          note: `${what} changed outside the profile: ${fields}; left as is (driftPolicy: Report)`,
        },
      }),
    };
  }
  return {
    state: "InSync",
    action: { type: "apply", uid },
    driftSeen: "corrected",
    event: {
      type: "Normal",
      reason: "DriftCorrected",
      note: `${what} changed outside the profile (${fields}); restored`,
    },
  };
}
