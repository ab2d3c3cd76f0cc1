// What the profile reconcile's stages hand each other: the planner's writes, deletes and Events,
// and what the executor reports back. Types only: the executor imports these and the Cluster port.
import type { ProfileStatus } from "../../api/schema.ts";
import type { KubeObject } from "../../builders/index.ts";
import type { KubeObjectLike } from "../../runtime/client.ts";
import type { EventSink, Regarding } from "../events.ts";
import type { ChildKind } from "../kinds.ts";
import type { ChildAction, PlannedEvent } from "../plan.ts";

export type { ChildKind, EventSink, KubeObject, KubeObjectLike, ProfileStatus };

/** One write for one child: `action` is the planner's (never "none"). */
export interface ChildWrite {
  /** The child's place in the profile's desired objects. */
  index: number;
  kind: ChildKind;
  desired: KubeObject;
  action: Exclude<ChildAction, { type: "none" }>;
}

/** What came of a write. */
export type WriteResult =
  /** Created or applied: the object as the API server returned it. */
  | { index: number; type: "written"; current: KubeObjectLike }
  /**
   * Something new was seen instead of written: the read's answer, or what holds the name a create
   * found taken (`taken`); undefined when nothing was there.
   */
  | { index: number; type: "observed"; live: KubeObjectLike | undefined; taken: boolean }
  | { index: number; type: "failed"; error: unknown };

/** An owned object to delete (`uid` is sent as a precondition). */
export interface OwnedDelete {
  kind: ChildKind;
  namespace: string;
  name: string;
  uid: string;
}

/** What came of a delete: done (or already gone), or an error. */
export type DeleteResult = { delete: OwnedDelete; error?: unknown };

/** An Event to record, about the profile and, where there is one, a related object. */
export interface EventToRecord extends PlannedEvent {
  regarding: Regarding;
  related?: Regarding;
}

/** The profile's status to write. */
export interface StatusWrite {
  namespace: string;
  name: string;
  status: ProfileStatus;
}
