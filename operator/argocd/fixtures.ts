// The status fixtures written by e2e/argocd.e2e.test.ts (UPDATE_FIXTURES=1) from profiles the real
// operator reconciled, and the health Argo CD must show for each. Used by that e2e test and by
// operator/argocd/health.test.ts, so both check the same thing.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Health, HealthCode } from "./harness.ts";
import { TESTDATA } from "./harness.ts";

export interface FixtureCase {
  /** testdata/<name>.json */
  name: string;
  what: string;
  status: HealthCode;
  /** A part of the message that shows the case is the right one. */
  messageIncludes: string;
}

export const FIXTURES: FixtureCase[] = [
  {
    name: "ready",
    what: "a profile meshward reconciled: Ready=True",
    status: "Healthy",
    messageIncludes: "generated objects are in sync with the profile",
  },
  {
    name: "drifted",
    what: "driftPolicy Report and a PeerAuthentication edited by someone else",
    status: "Degraded",
    messageIncludes: "(driftPolicy: Report): PeerAuthentication api: spec.mtls.mode",
  },
  {
    name: "conflict",
    what: "a PeerAuthentication with the generated name made by another manager beforehand",
    status: "Degraded",
    messageIncludes: "PeerAuthentication api (managed by platform-team)",
  },
  {
    name: "reference-not-found",
    what: "an ingress entry naming a profile that does not exist",
    status: "Degraded",
    messageIncludes: "no ServiceSecurityProfile",
  },
  {
    name: "istio-not-installed",
    what: "a cluster without Istio's CRDs",
    status: "Degraded",
    messageIncludes: "Istio's security.istio.io CRDs are not installed",
  },
  {
    name: "no-status",
    what: "a new profile meshward has not reconciled yet",
    status: "Progressing",
    messageIncludes: "(no status yet)",
  },
  {
    name: "generation-bump",
    what: "a Ready profile right after a spec change, before meshward caught up",
    status: "Progressing",
    messageIncludes: "reconcile generation 2 (status is for generation 1)",
  },
];

interface ObjectWithStatus {
  metadata?: { generation?: number };
  status?: { conditions?: { type: string; status: string; message: string }[] };
}

/**
 * The exact health for a fixture: Healthy or Degraded carry the Ready condition's message word for
 * word; Progressing carries the script's own message, checked by `messageIncludes`.
 */
export function expectedHealth(obj: unknown, c: FixtureCase): Health | { status: HealthCode } {
  if (c.status === "Progressing") return { status: c.status };
  const ready = (obj as ObjectWithStatus).status?.conditions?.find((x) => x.type === "Ready");
  if (!ready) throw new Error(`fixture ${c.name} has no Ready condition`);
  return { status: c.status, message: ready.message };
}

export function fixturePath(name: string): string {
  return path.join(TESTDATA, `${name}.json`);
}

export function readFixture(name: string): unknown {
  return JSON.parse(fs.readFileSync(fixturePath(name), "utf8")) as unknown;
}

export function writeFixture(name: string, obj: unknown): void {
  fs.mkdirSync(TESTDATA, { recursive: true });
  fs.writeFileSync(fixturePath(name), `${JSON.stringify(obj, null, 2)}\n`);
}
