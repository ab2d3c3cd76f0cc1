// One-sided declarations in the cluster: a profile that admits a caller which declares no egress to
// it, or that calls a callee which does not admit it, gets OneSided=True naming the peer; the
// condition clears when the peer declares the other side. Ready is not affected.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeClient } from "../operator/runtime/client.ts";
import { kube, testNamespaces } from "./support/kube.ts";
import { type OperatorProcess, startOperator } from "./support/operator.ts";
import { applyProfile, condition, waitCondition } from "./support/profiles.ts";

let client: KubeClient;
let op: OperatorProcess;
const ns = testNamespaces();

beforeAll(async () => {
  client = kube();
  op = await startOperator({ name: "operator-one-sided" });
});
afterAll(async () => {
  await op?.stop();
});

describe("OneSided condition", () => {
  it("names a caller that declares no egress, and clears when it does", async () => {
    const n = await ns("one-sided-in");
    await applyProfile(client, n, "web", { selector: { app: "web" } });
    await applyProfile(client, n, "api", {
      selector: { app: "api" },
      ingress: [{ from: [{ service: "web" }], ports: [8080] }],
    });
    const open = await waitCondition(client, n, "api", {
      type: "OneSided",
      status: "True",
      reason: "UndeclaredPeer",
    });
    expect(condition(open, "OneSided")?.message).toContain(`${n}/web declares no egress to ${n}/api`);
    expect(condition(open, "OneSided")?.message).toContain("spec.ingress[0].from[0].service");
    // Informational only: the generated objects are right, so the profile stays Ready.
    expect(condition(open, "Ready")?.status).toBe("True");
    // The caller declares egress: the callee is reconciled again (it references the caller) and clears.
    await applyProfile(client, n, "web", {
      selector: { app: "web" },
      egress: { to: [{ service: "api", ports: [8080] }] },
    });
    const closed = await waitCondition(client, n, "api", {
      type: "OneSided",
      status: "False",
      reason: "PeersDeclared",
    });
    expect(condition(closed, "Ready")?.status).toBe("True");
    const web = await waitCondition(client, n, "web", {
      type: "OneSided",
      status: "False",
      reason: "PeersDeclared",
    });
    expect(condition(web, "Ready")?.status).toBe("True");
  });

  it("names a callee that does not admit the caller, and clears when it does", async () => {
    const n = await ns("one-sided-out");
    await applyProfile(client, n, "db", { selector: { app: "db" } });
    await applyProfile(client, n, "api", {
      selector: { app: "api" },
      egress: { to: [{ service: "db", ports: [5432] }] },
    });
    const open = await waitCondition(client, n, "api", {
      type: "OneSided",
      status: "True",
      reason: "UndeclaredPeer",
    });
    expect(condition(open, "OneSided")?.message).toContain(`${n}/db does not admit ${n}/api`);
    expect(condition(open, "OneSided")?.message).toContain("spec.egress.to[0].service");
    await applyProfile(client, n, "db", {
      selector: { app: "db" },
      ingress: [{ from: [{ service: "api" }], ports: [5432] }],
    });
    await waitCondition(client, n, "api", { type: "OneSided", status: "False", reason: "PeersDeclared" });
  });
});
