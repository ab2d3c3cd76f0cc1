// What the builders return for a profile (buildProfile in index.ts, buildAmbientProfile in
// ambient.ts): its own file, so that neither of those imports the other's module for the type.
import type { ExceptionStatus } from "../api/schema.ts";
import type { Problem } from "../api/validate.ts";
import type { KubeObject } from "./meta.ts";

/** Istio's binding of a Service (or namespace) to a waypoint. meshward never writes it. */
export const USE_WAYPOINT_LABEL = "istio.io/use-waypoint";

/** The binding meshward needs and does not write (it never modifies objects it did not create). */
export interface WaypointBinding {
  namespace: string;
  service: string;
  label: typeof USE_WAYPOINT_LABEL;
  value: string;
}

export interface BuildResult {
  /** Every object this profile needs, in a stable order. */
  objects: KubeObject[];
  /** What could not be built as asked (e.g. a reference to a missing profile), with field paths. */
  problems: Problem[];
  exceptions: ExceptionStatus[];
  /** When the result changes by itself (an exception expires): reconcile again then. */
  nextChange?: Date;
  /**
   * Objects the profile needs but does not own, kept by its namespace (ambient: the namespace's
   * shared waypoint). Not in `objects`.
   */
  shared?: KubeObject[];
  /** Ambient, with a waypoint: the Service label the waypoint needs (reported, never written). */
  binding?: WaypointBinding;
}
