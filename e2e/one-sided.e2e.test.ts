// One-sided declarations in the cluster: a profile that admits a caller which declares no egress to
// it, or that calls a callee which does not admit it, or that admits a whole namespace none of whose
// profiles declares egress to it, gets OneSided=True naming the peer; the condition clears when the
// peer declares the other side. Ready is not affected. The message is the one `meshward validate`
// gives for the same profiles.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeClient } from "../operator/runtime/client.ts";
import { kube, testNamespaces } from "./support/kube.ts";
import { type OperatorProcess, startOperator } from "./support/operator.ts";
import { applyProfile, condition, waitCondition } from "./support/profiles.ts";
import { run } from "../operator/cli/main.ts";

/** The OneSided messages `meshward validate` gives offline for these profiles (read from standard input). */
function offlineOneSided(profiles: { namespace: string; name: string; spec: object }[]): string[] {
  const out: string[] = [];
  const yaml = profiles
    .map(({ namespace, name, spec }) =>
      JSON.stringify({
        apiVersion: "meshward.io/v1alpha1",
        kind: "ServiceSecurityProfile",
        metadata: { namespace, name },
        spec,
      }),
    )
    .join("\n---\n");
  run(["validate", "-o", "json", "-"], {
    out: (s) => out.push(s),
    err: () => undefined,
    readStdin: () => yaml,
  });
  const report = JSON.parse(out.join("")) as { problems: { path: string; message: string }[] };
  // Offline, a peer's file is named after it: " (<stdin>)"; the cluster has no files.
  return report.problems
    .filter((p) => / so the call is denied| that a profile selects can call it/.test(p.message))
    .map((p) => `${p.path}: ${p.message.replaceAll(" (<stdin>)", "")}`);
}

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

  it("names a whole namespace admitted where no profile calls, as validate does, and clears when one does", async () => {
    const [a, b] = [await ns("one-sided-ns"), await ns("one-sided-ns-callers")];
    const ledger = { selector: { app: "ledger" }, ingress: [{ from: [{ namespace: b }], ports: [8080] }] };
    const web = { selector: { app: "web" }, egress: { to: [{ service: `${a}/other` }] } };
    await applyProfile(client, a, "other", { selector: { app: "other" } });
    await applyProfile(client, b, "web", web);
    await applyProfile(client, a, "ledger", ledger);
    const open = await waitCondition(client, a, "ledger", {
      type: "OneSided",
      status: "True",
      reason: "UndeclaredPeer",
    });
    const message = condition(open, "OneSided")?.message ?? "";
    expect(message).toContain(`namespace ${b} must declare the other side`);
    expect(message).toContain(
      `spec.ingress[0].from[0].namespace: admits namespace ${b}, but no profile there (${b}/web) declares egress to ${a}/ledger`,
    );
    // The same words offline, for the same profiles.
    const offline = offlineOneSided([
      { namespace: a, name: "ledger", spec: ledger },
      { namespace: a, name: "other", spec: { selector: { app: "other" } } },
      { namespace: b, name: "web", spec: web },
    ]).filter((m) => m.includes(`admits namespace ${b}`));
    expect(offline).toHaveLength(1);
    expect(message).toContain(offline[0]);
    expect(condition(open, "Ready")?.status).toBe("True");
    // A new profile in the admitted namespace that calls it: the admitting profile is reconciled
    // again (it references the namespace) and clears.
    await applyProfile(client, b, "cart", {
      selector: { app: "cart" },
      egress: { to: [{ service: `${a}/ledger`, ports: [8080] }] },
    });
    const closed = await waitCondition(client, a, "ledger", {
      type: "OneSided",
      status: "False",
      reason: "PeersDeclared",
    });
    expect(condition(closed, "Ready")?.status).toBe("True");
  });
});
