// The test cases of the Argo CD health check: objects the real operator reconciled, written by
// e2e/argocd.e2e.test.ts (UPDATE_FIXTURES=1) to testdata/<name>.yaml, and health_test.yaml, which
// lists each with the exact health Argo CD must show (Argo CD's own test format). Used by that e2e
// test and by argocd/health.test.ts, so both check the same thing.
import * as fs from "node:fs";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import type { Health, HealthCode } from "./harness.ts";
import { HEALTH_TEST, TESTDATA } from "./paths.ts";

export interface FixtureCase {
  /** testdata/<name>.yaml */
  name: string;
  what: string;
  status: HealthCode;
  /** Parts of the message that show the case is the right one. */
  messageIncludes: string | string[];
  /**
   * The condition whose message the health carries word for word: Ready for Healthy and Degraded
   * unless said otherwise; none for Progressing unless said (meshward's own waiting messages).
   */
  from?: "Ready" | "SecretsReady";
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
    name: "secret-failing",
    what: "a secret whose remote key does not exist, with External Secrets Operator running",
    status: "Degraded",
    messageIncludes: [
      "1 of 1 secret cannot be synced by External Secrets Operator: api-db (remote key no-such-secret (property password) from ClusterSecretStore ",
      "): SecretSyncedError: could not get secret data from provider",
    ],
  },
  {
    name: "secret-pending",
    what: "a secret External Secrets Operator has not reported on (it does not watch the namespace)",
    status: "Progressing",
    messageIncludes:
      "1 of 1 secret not synced yet: api-db (remote key db-creds (property password) from ClusterSecretStore ",
    from: "SecretsReady",
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
  metadata?: { generation?: number; managedFields?: unknown };
  status?: { conditions?: { type: string; status: string; message: string }[] };
}

/**
 * Checks a health against its case: the status, the part of the message that identifies the case,
 * and for Healthy or Degraded the Ready condition's message word for word. Throws naming the case.
 */
export function checkHealth(obj: unknown, c: FixtureCase, health: Health): void {
  const where = `${c.name} (${c.what})`;
  if (health.status !== c.status) throw new Error(`${where}: status ${health.status}, want ${c.status}`);
  for (const part of typeof c.messageIncludes === "string" ? [c.messageIncludes] : c.messageIncludes)
    if (!health.message?.includes(part))
      throw new Error(`${where}: message ${JSON.stringify(health.message)} lacks ${JSON.stringify(part)}`);
  const from = c.from ?? (c.status === "Progressing" ? undefined : "Ready");
  if (!from) return;
  const cond = (obj as ObjectWithStatus).status?.conditions?.find((x) => x.type === from);
  if (!cond) throw new Error(`${where}: the object has no ${from} condition`);
  if (health.message !== cond.message)
    throw new Error(
      `${where}: message ${JSON.stringify(health.message)} is not ${from}'s ${JSON.stringify(cond.message)}`,
    );
}

export function fixturePath(name: string): string {
  return path.join(TESTDATA, `${name}.yaml`);
}

/** health_test.yaml's inputPath of a fixture. */
export function inputPath(name: string): string {
  return `testdata/${name}.yaml`;
}

export function readFixture(name: string): unknown {
  return parse(fs.readFileSync(fixturePath(name), "utf8")) as unknown;
}

/** The object as stored: as read from the API server, without managedFields (noise to a reader). */
export function fixtureObject(obj: unknown): unknown {
  const copy = structuredClone(obj) as ObjectWithStatus;
  delete copy.metadata?.managedFields;
  return copy;
}

export function writeFixture(name: string, obj: unknown): void {
  fs.mkdirSync(TESTDATA, { recursive: true });
  fs.writeFileSync(fixturePath(name), stringify(fixtureObject(obj), { lineWidth: 0 }));
}

export interface HealthTest {
  tests: { healthStatus: Health; inputPath: string }[];
}

/** health_test.yaml in Argo CD's format, one test per fixture in FIXTURES' order. */
export function healthTestYaml(healths: ReadonlyMap<string, Health>): string {
  const tests = FIXTURES.map((c) => {
    const healthStatus = healths.get(c.name);
    if (!healthStatus) throw new Error(`no health recorded for fixture ${c.name}`);
    return { healthStatus, inputPath: inputPath(c.name) };
  });
  return stringify({ tests } satisfies HealthTest, { lineWidth: 0 });
}

export function writeHealthTest(healths: ReadonlyMap<string, Health>): void {
  fs.writeFileSync(HEALTH_TEST, healthTestYaml(healths));
}

export function readHealthTest(): HealthTest {
  return parse(fs.readFileSync(HEALTH_TEST, "utf8")) as HealthTest;
}
