// planChild as a table, in the manner of cert-manager's policy chains: one row per situation, the
// decision it must give (state, action, Event, summary).
import { describe, expect, it } from "vitest";
import type { ObjectStatus } from "../api/schema.ts";
import type { KubeObject } from "../builders/index.ts";
import type { KubeObjectLike } from "../runtime/client.ts";
import { DESIRED_HASH_ANNOTATION } from "./compare.ts";
import { type ChildInput, type ChildPlan, planChild } from "./plan.ts";

const OWNER = "profile-uid";
const desired: KubeObject = {
  apiVersion: "security.istio.io/v1",
  kind: "PeerAuthentication",
  metadata: {
    name: "api",
    namespace: "ns",
    labels: { "app.kubernetes.io/managed-by": "meshward" },
    annotations: { [DESIRED_HASH_ANNOTATION]: "h1" },
  },
  spec: { selector: { matchLabels: { app: "api" } }, mtls: { mode: "STRICT" } },
};

function live(
  opts: { owner?: string; mode?: string; hash?: string | null; managers?: string[] } = {},
): KubeObjectLike {
  const hash = opts.hash === undefined ? "h1" : opts.hash;
  return {
    ...structuredClone(desired),
    metadata: {
      ...structuredClone(desired.metadata),
      uid: "live-uid",
      annotations: hash === null ? {} : { [DESIRED_HASH_ANNOTATION]: hash },
      ...(opts.owner !== undefined && {
        ownerReferences: [
          {
            apiVersion: "meshward.io/v1alpha1",
            kind: "ServiceSecurityProfile",
            name: "api",
            uid: opts.owner,
            controller: true,
          },
        ],
      }),
      managedFields: (opts.managers ?? ["meshward"]).map((manager) => ({ manager })),
    },
    spec: { selector: { matchLabels: { app: "api" } }, mtls: { mode: opts.mode ?? "STRICT" } },
  };
}

const was = (state: ObjectStatus["state"], message?: string): ObjectStatus => ({
  apiVersion: desired.apiVersion,
  kind: desired.kind,
  name: "api",
  state,
  ...(message && { message }),
});

type Row = {
  name: string;
  input: Partial<ChildInput>;
  want: Partial<Omit<ChildPlan, "event">> & { event?: string };
};

const rows: Row[] = [
  {
    name: "missing, never seen: create, summarised as created",
    input: { live: undefined },
    want: { state: "InSync", action: { type: "create" }, change: "created", event: undefined },
  },
  {
    name: "ours and in sync: nothing",
    input: { live: live({ owner: OWNER }), before: was("InSync") },
    want: { state: "InSync", action: { type: "none" }, event: undefined, change: undefined },
  },
  {
    name: "someone else's (no owner reference): Conflict, no write, a Warning once",
    input: { live: live({ managers: ["kubectl"] }) },
    want: {
      state: "Conflict",
      action: { type: "none" },
      conflict: "PeerAuthentication api (managed by kubectl)",
      event: "Warning/Conflict",
    },
  },
  {
    name: "another profile's: Conflict",
    input: { live: live({ owner: "other-profile", managers: ["meshward"] }) },
    want: { state: "Conflict", action: { type: "none" }, event: "Warning/Conflict" },
  },
  {
    name: "a conflict already in the status: no new Event",
    input: {
      live: live({ managers: ["kubectl"] }),
      before: was("Conflict", "exists and is managed by kubectl, not by this profile"),
    },
    want: { state: "Conflict", action: { type: "none" }, event: undefined },
  },
  {
    name: "someone else's last time, not looked at yet: read before any write",
    input: {
      live: undefined,
      before: was("Conflict", "exists and is managed by kubectl, not by this profile"),
    },
    want: { action: { type: "read" }, event: undefined },
  },
  {
    name: "someone else's last time, now gone: create",
    input: { live: undefined, looked: true, before: was("Conflict", "x") },
    want: { state: "InSync", action: { type: "create" }, change: "created" },
  },
  {
    name: "deleted, Correct: recreate, DriftCorrected",
    input: { live: undefined, before: was("InSync") },
    want: {
      state: "InSync",
      action: { type: "create" },
      change: undefined,
      driftSeen: "corrected",
      event: "Normal/DriftCorrected",
    },
  },
  {
    name: "deleted, Report: left deleted, Missing, DriftDetected",
    input: { live: undefined, before: was("InSync"), policy: "Report" },
    want: {
      state: "Missing",
      message: "deleted outside the profile",
      action: { type: "none" },
      drift: "PeerAuthentication api: deleted",
      driftSeen: "reported",
      event: "Warning/DriftDetected",
    },
  },
  {
    name: "deleted, Report, already reported: still drift, no Event",
    input: { live: undefined, before: was("Missing", "deleted outside the profile"), policy: "Report" },
    want: {
      state: "Missing",
      drift: "PeerAuthentication api: deleted",
      driftSeen: undefined,
      event: undefined,
    },
  },
  {
    name: "deleted and reported, now Correct: recreate",
    input: { live: undefined, before: was("Missing", "deleted outside the profile") },
    want: { action: { type: "create" }, event: "Normal/DriftCorrected" },
  },
  {
    name: "a CRD was missing last time: a plain create",
    input: { live: undefined, before: was("Missing", "the x CRD is not installed") },
    want: { action: { type: "create" }, change: "created", event: undefined },
  },
  {
    name: "edited, Correct: forced apply with the live uid, DriftCorrected naming the field",
    input: { live: live({ owner: OWNER, mode: "DISABLE" }) },
    want: {
      state: "InSync",
      action: { type: "apply", uid: "live-uid" },
      driftSeen: "corrected",
      event: "Normal/DriftCorrected",
    },
  },
  {
    name: "edited and our stamp removed: still drift",
    input: { live: live({ owner: OWNER, mode: "DISABLE", hash: null }) },
    want: { action: { type: "apply", uid: "live-uid" }, event: "Normal/DriftCorrected" },
  },
  {
    name: "edited, Report: Drifted, naming the field, no write",
    input: { live: live({ owner: OWNER, mode: "DISABLE" }), policy: "Report" },
    want: {
      state: "Drifted",
      message: "changed outside the profile: spec.mtls.mode",
      action: { type: "none" },
      drift: "PeerAuthentication api: spec.mtls.mode",
      event: "Warning/DriftDetected",
    },
  },
  {
    name: "edited, Report, already reported: no new Event",
    input: {
      live: live({ owner: OWNER, mode: "DISABLE" }),
      policy: "Report",
      before: was("Drifted", "changed outside the profile: spec.mtls.mode"),
    },
    want: { state: "Drifted", event: undefined, driftSeen: undefined },
  },
  {
    name: "the profile asks for something new (another hash): apply, summarised as updated",
    input: { live: live({ owner: OWNER, mode: "PERMISSIVE", hash: "h0" }), policy: "Report" },
    want: {
      state: "InSync",
      action: { type: "apply", uid: "live-uid" },
      change: "updated",
      event: undefined,
    },
  },
];

describe("planChild", () => {
  it.each(rows)("$name", ({ input, want }) => {
    const plan = planChild({
      desired,
      live: undefined,
      before: undefined,
      policy: "Correct",
      owner: OWNER,
      ...input,
    });
    const { event, ...rest } = want;
    expect(plan).toMatchObject(Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)));
    for (const [k, v] of Object.entries(rest)) if (v === undefined) expect(plan).not.toHaveProperty(k);
    if ("event" in want) {
      expect(plan.event ? `${plan.event.type}/${plan.event.reason}` : undefined).toBe(event);
    }
  });

  it("never plans a write to an object that is not this profile's", () => {
    for (const owner of [undefined, "other"]) {
      for (const policy of ["Correct", "Report"] as const) {
        for (const before of [undefined, was("InSync"), was("Conflict", "x"), was("Drifted", "y")]) {
          const plan = planChild({
            desired,
            live: live({ ...(owner && { owner }), mode: "DISABLE" }),
            before,
            policy,
            owner: OWNER,
          });
          expect(plan.action).toEqual({ type: "none" });
          expect(plan.state).toBe("Conflict");
        }
      }
    }
  });
});
