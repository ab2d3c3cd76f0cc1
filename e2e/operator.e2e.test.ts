// The operator, as a separate process, against the real control plane. Each test has its own namespace.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeClient } from "../operator/runtime/client.ts";
import { resourcePath } from "../operator/runtime/client.ts";
import { PROFILES } from "../operator/reconcile/kinds.ts";
import { kube, waitFor, testNamespaces } from "./support/kube.ts";
import { type OperatorProcess, startOperator } from "./support/operator.ts";
import {
  applyProfile,
  createForeignPeerAuthentication,
  condition,
  events,
  getChild,
  getProfile,
  kindOf,
  waitCondition,
  waitEvent,
} from "./support/profiles.ts";

let client: KubeClient;
let op: OperatorProcess;
const ns = testNamespaces();

beforeAll(async () => {
  client = kube();
  op = await startOperator({ name: "operator-main" });
});
afterAll(async () => {
  await op?.stop();
});

const MANAGED = { "app.kubernetes.io/managed-by": "meshward" };

describe("operator", () => {
  it("1: creates every child with the right content, Ready=True, observedGeneration current", async () => {
    const n = await ns("create");
    await applyProfile(client, n, "caller", {
      selector: { app: "caller" },
      serviceAccount: { name: "caller-sa" },
    });
    const applied = await applyProfile(client, n, "api", {
      selector: { app: "api" },
      ingress: [
        {
          from: [{ service: "caller" }, { namespace: "gateways" }],
          ports: [8080],
          http: { methods: ["GET"], paths: ["/v1/*"] },
        },
      ],
      egress: { to: [{ cidr: "10.20.0.0/16", except: ["10.20.5.0/24"], ports: [5432] }] },
      requestAuthentication: {
        jwt: [{ issuer: "https://auth.example.com", jwksUri: "https://auth.example.com/jwks" }],
      },
      secrets: [
        {
          name: "api-db",
          storeRef: { name: "vault" },
          data: [{ secretKey: "password", remoteRef: { key: "db", property: "password" } }],
        },
      ],
    });
    const p = await waitCondition(client, n, "api");
    expect(condition(p, "Ready")?.observedGeneration).toBe(applied.metadata?.generation);
    expect(p.status?.objects?.map((o) => `${o.kind}/${o.name}/${o.state}`).sort()).toEqual([
      "AuthorizationPolicy/api/InSync",
      "ExternalSecret/api-db/InSync",
      "NetworkPolicy/api/InSync",
      "PeerAuthentication/api/InSync",
      "RequestAuthentication/api/InSync",
      "ServiceAccount/api/InSync",
    ]);
    const ap = await getChild(client, "AuthorizationPolicy", n, "api");
    expect(ap?.metadata?.labels).toMatchObject({ ...MANAGED, "meshward.io/profile": "api" });
    expect(ap?.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: "ServiceSecurityProfile",
      name: "api",
      uid: p.metadata?.uid,
      controller: true,
    });
    expect(ap?.spec).toMatchObject({
      action: "ALLOW",
      rules: [
        {
          from: [
            {
              source: {
                principals: [`cluster.local/ns/${n}/sa/caller-sa`],
                requestPrincipals: ["https://auth.example.com/*"],
              },
            },
            { source: { namespaces: ["gateways"], requestPrincipals: ["https://auth.example.com/*"] } },
          ],
          to: [{ operation: { ports: ["8080"], methods: ["GET"], paths: ["/v1/*"] } }],
        },
      ],
    });
    expect((await getChild(client, "PeerAuthentication", n, "api"))?.spec).toEqual({
      selector: { matchLabels: { app: "api" } },
      mtls: { mode: "STRICT" },
    });
    const np = await getChild(client, "NetworkPolicy", n, "api");
    expect((np?.spec as { egress: unknown[] }).egress).toContainEqual({
      to: [{ ipBlock: { cidr: "10.20.0.0/16", except: ["10.20.5.0/24"] } }],
      ports: [{ protocol: "TCP", port: 5432 }],
    });
    expect((await getChild(client, "ExternalSecret", n, "api-db"))?.spec).toMatchObject({
      target: { name: "api-db", creationPolicy: "Owner" },
      refreshInterval: "1h",
    });
    expect((await getChild(client, "ServiceAccount", n, "api"))?.automountServiceAccountToken).toBe(false);
    const deny = await getChild(client, "NetworkPolicy", n, "meshward-default-deny");
    expect(deny?.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
  });

  it("2: follows a profile update: new caller, new path, removed secret pruned", async () => {
    const n = await ns("update");
    const base = {
      selector: { app: "api" },
      ingress: [{ from: [{ namespace: "a" }], ports: [8080], http: { paths: ["/v1/x"] } }],
      secrets: [
        { name: "keep", storeRef: { name: "vault" }, data: [{ secretKey: "k", remoteRef: { key: "k" } }] },
        { name: "drop", storeRef: { name: "vault" }, data: [{ secretKey: "k", remoteRef: { key: "d" } }] },
      ],
    };
    await applyProfile(client, n, "api", base);
    await waitCondition(client, n, "api");
    expect(await getChild(client, "ExternalSecret", n, "drop")).toBeDefined();
    await applyProfile(client, n, "api", {
      ...base,
      ingress: [
        {
          from: [{ namespace: "a" }, { namespace: "b" }],
          ports: [8080],
          http: { paths: ["/v1/x", "/v2/*"] },
        },
      ],
      secrets: [base.secrets[0]],
    });
    const p = await waitCondition(client, n, "api");
    expect(p.metadata?.generation).toBe(2);
    const ap = await getChild(client, "AuthorizationPolicy", n, "api");
    expect(ap?.spec).toMatchObject({
      rules: [
        {
          from: [{ source: { namespaces: ["a", "b"] } }],
          to: [{ operation: { ports: ["8080"], paths: ["/v1/x", "/v2/*"] } }],
        },
      ],
    });
    await waitFor(
      "the removed secret's ExternalSecret to be pruned",
      async () => (await getChild(client, "ExternalSecret", n, "drop")) === undefined,
    );
    expect(await getChild(client, "ExternalSecret", n, "keep")).toBeDefined();
    expect(p.status?.objects?.some((o) => o.name === "drop")).toBe(false);
  });

  it("3: recreates a deleted child and says so in a DriftCorrected event", async () => {
    const n = await ns("delete");
    await applyProfile(client, n, "api", { selector: { app: "api" } });
    await waitCondition(client, n, "api");
    const before = await getChild(client, "PeerAuthentication", n, "api");
    await client.delete(resourcePath(kindOf("PeerAuthentication"), n, "api"));
    const after = await waitFor("the PeerAuthentication to be recreated", async () => {
      const pa = await getChild(client, "PeerAuthentication", n, "api");
      return pa && pa.metadata?.uid !== before?.metadata?.uid ? pa : undefined;
    });
    expect(after.spec).toEqual(before?.spec);
    const ev = await waitEvent(client, n, "DriftCorrected", "PeerAuthentication api");
    expect(ev.note).toContain("deleted");
    expect(ev.related).toMatchObject({ kind: "PeerAuthentication", name: "api" });
  });

  it("4: restores an edited field we own and names the field path in the event", async () => {
    const n = await ns("edit");
    await applyProfile(client, n, "api", {
      selector: { app: "api" },
      ingress: [{ from: [{ serviceAccount: { namespace: "x", name: "y" } }] }],
    });
    await waitCondition(client, n, "api");
    const ap = await getChild(client, "AuthorizationPolicy", n, "api");
    const rules = (ap?.spec as { rules: { from: { source: { principals: string[] } }[] }[] }).rules;
    const edited = structuredClone(rules);
    edited[0]?.from[0]?.source.principals.push("cluster.local/ns/evil/sa/intruder");
    // Like `kubectl edit`: a full update by another client.
    await client.request("PUT", resourcePath(kindOf("AuthorizationPolicy"), n, "api"), {
      body: { ...ap, spec: { ...(ap?.spec as object), rules: edited } },
      query: { fieldManager: "kubectl-edit" },
    });
    const ev = await waitEvent(client, n, "DriftCorrected", "AuthorizationPolicy api");
    expect(ev.note).toContain("spec.rules");
    const restored = await waitFor("the principal list to be restored", async () => {
      const cur = await getChild(client, "AuthorizationPolicy", n, "api");
      return JSON.stringify((cur?.spec as { rules: unknown }).rules) === JSON.stringify(rules)
        ? cur
        : undefined;
    });
    expect(JSON.stringify(restored.spec)).not.toContain("intruder");
  });

  it("5: driftPolicy Report leaves the edit and reports it; switching to Correct restores it", async () => {
    const n = await ns("report");
    const spec = { selector: { app: "api" }, driftPolicy: "Report" };
    await applyProfile(client, n, "api", spec);
    await waitCondition(client, n, "api");
    await client.request("PATCH", resourcePath(kindOf("PeerAuthentication"), n, "api"), {
      body: { spec: { mtls: { mode: "PERMISSIVE" } } },
      contentType: "application/merge-patch+json",
      query: { fieldManager: "someone" },
    });
    const drifted = await waitCondition(client, n, "api", { type: "Drifted", status: "True" });
    expect(condition(drifted, "Drifted")?.message).toContain("PeerAuthentication api: spec.mtls.mode");
    expect(condition(drifted, "Ready")).toMatchObject({ status: "False", reason: "Drifted" });
    expect(drifted.status?.objects?.find((o) => o.kind === "PeerAuthentication")?.state).toBe("Drifted");
    // Not restored, even after a while (and a second reconcile).
    await new Promise((r) => setTimeout(r, 1500));
    expect(
      ((await getChild(client, "PeerAuthentication", n, "api"))?.spec as { mtls: { mode: string } }).mtls
        .mode,
    ).toBe("PERMISSIVE");
    await applyProfile(client, n, "api", { ...spec, driftPolicy: "Correct" });
    const fixed = await waitCondition(client, n, "api", { type: "Drifted", status: "False" });
    expect(condition(fixed, "Ready")?.status).toBe("True");
    expect(
      ((await getChild(client, "PeerAuthentication", n, "api"))?.spec as { mtls: { mode: string } }).mtls
        .mode,
    ).toBe("STRICT");
  });

  it("6: leaves a pre-existing object it does not own byte-for-byte and reports Conflict", async () => {
    const n = await ns("conflict");
    const foreign = await createForeignPeerAuthentication(client, n, "api");
    await applyProfile(client, n, "api", { selector: { app: "api" } });
    const p = await waitCondition(client, n, "api", { type: "Conflict", status: "True" });
    expect(condition(p, "Conflict")?.message).toContain("PeerAuthentication api (managed by platform-team)");
    expect(condition(p, "Ready")).toMatchObject({ status: "False", reason: "Conflict" });
    expect(p.status?.objects?.find((o) => o.kind === "PeerAuthentication")?.state).toBe("Conflict");
    // The other children were still created.
    expect(await getChild(client, "AuthorizationPolicy", n, "api")).toBeDefined();
    await new Promise((r) => setTimeout(r, 1000));
    const after = await getChild(client, "PeerAuthentication", n, "api");
    expect(after?.metadata?.resourceVersion).toBe(foreign.metadata?.resourceVersion);
    expect(after).toEqual(foreign);
  });

  it("7: a caller's new selector and service account reach its callee's policies", async () => {
    const n = await ns("refs");
    await applyProfile(client, n, "a", { selector: { app: "a" } });
    await applyProfile(client, n, "b", {
      selector: { app: "b" },
      ingress: [{ from: [{ service: "a" }], ports: [80] }],
    });
    await waitCondition(client, n, "b");
    await applyProfile(client, n, "a", { selector: { app: "a-v2" }, serviceAccount: { name: "a-v2" } });
    await waitFor(
      "b's NetworkPolicy and AuthorizationPolicy to follow a's new selector and identity",
      async () => {
        const np = await getChild(client, "NetworkPolicy", n, "b");
        const ap = await getChild(client, "AuthorizationPolicy", n, "b");
        const peer = (
          np?.spec as { ingress: { from: { podSelector?: { matchLabels: Record<string, string> } }[] }[] }
        ).ingress[0]?.from[0];
        const principals = (ap?.spec as { rules: { from: { source: { principals: string[] } }[] }[] })
          .rules[0]?.from[0]?.source.principals;
        return (
          peer?.podSelector?.matchLabels.app === "a-v2" && principals?.[0] === `cluster.local/ns/${n}/sa/a-v2`
        );
      },
    );
  });

  it("9: an exception that expires during the test: STRICT comes back on time, status shows it expired", async () => {
    const n = await ns("expiry");
    const expires = new Date(Date.now() + 6_000);
    expires.setMilliseconds(0);
    await applyProfile(client, n, "legacy", {
      selector: { app: "legacy" },
      mtls: { mode: "Permissive" },
      exceptions: [
        {
          type: "PermissiveMtls",
          reason: "old client migrating",
          ticket: "SEC-9",
          expires: expires.toISOString().replace(".000Z", "Z"),
        },
      ],
    });
    const p = await waitCondition(client, n, "legacy");
    expect(p.status?.exceptions?.[0]).toMatchObject({ type: "PermissiveMtls", state: "Active" });
    expect(
      ((await getChild(client, "PeerAuthentication", n, "legacy"))?.spec as { mtls: { mode: string } }).mtls
        .mode,
    ).toBe("PERMISSIVE");
    const strictAt = await waitFor(
      "STRICT after expiry",
      async () => {
        const pa = await getChild(client, "PeerAuthentication", n, "legacy");
        return (pa?.spec as { mtls: { mode: string } }).mtls.mode === "STRICT" ? Date.now() : undefined;
      },
      20_000,
      50,
    );
    // On time: not before the expiry, and within a few seconds after it.
    expect(strictAt).toBeGreaterThanOrEqual(expires.getTime());
    expect(strictAt - expires.getTime()).toBeLessThan(3_000);
    const after = await waitFor("status to show the exception expired", async () => {
      const cur = await getProfile(client, n, "legacy");
      return cur?.status?.exceptions?.[0]?.state === "Expired" ? cur : undefined;
    });
    expect(after.status?.exceptions?.[0]).toMatchObject({
      type: "PermissiveMtls",
      ticket: "SEC-9",
      state: "Expired",
    });
    await waitEvent(client, n, "ExceptionExpired", "SEC-9");
  });

  it("10: deleting the profile garbage-collects its children, and the last profile takes the namespace deny with it", async () => {
    const n = await ns("gc");
    await applyProfile(client, n, "api", {
      selector: { app: "api" },
      secrets: [{ name: "s", storeRef: { name: "v" }, data: [{ secretKey: "k", remoteRef: { key: "k" } }] }],
    });
    await waitCondition(client, n, "api");
    expect(await getChild(client, "NetworkPolicy", n, "meshward-default-deny")).toBeDefined();
    await client.delete(resourcePath(PROFILES, n, "api"));
    await waitFor(
      "every child to be gone",
      async () => {
        for (const [kind, name] of [
          ["ServiceAccount", "api"],
          ["PeerAuthentication", "api"],
          ["AuthorizationPolicy", "api"],
          ["NetworkPolicy", "api"],
          ["ExternalSecret", "s"],
          ["NetworkPolicy", "meshward-default-deny"],
        ] as const) {
          if (await getChild(client, kind, n, name)) return false;
        }
        return true;
      },
      60_000,
    );
  });

  it("12: a restart with 50 in-sync profiles makes zero mutating requests", async () => {
    const n = await ns("restart");
    for (let i = 0; i < 50; i++) {
      await applyProfile(client, n, `svc-${i}`, {
        selector: { app: `svc-${i}` },
        ingress: [{ from: [{ service: `svc-${(i + 1) % 50}` }], ports: [8080] }],
        egress: { to: [{ service: `svc-${(i + 49) % 50}`, ports: [8080] }] },
        secrets: [
          {
            name: `svc-${i}-db`,
            storeRef: { name: "vault" },
            data: [{ secretKey: "p", remoteRef: { key: `svc-${i}` } }],
          },
        ],
      });
    }
    for (let i = 0; i < 50; i++) await waitCondition(client, n, `svc-${i}`, {}, 60_000);
    await op.stop();
    op = await startOperator({ name: "operator-restarted" });
    // Wait until the new process has reconciled every profile (and namespace key) at least once.
    await waitFor(
      "the restarted operator to reconcile everything",
      async () =>
        (await op.metric("controller_runtime_reconcile_total")) >= 50 &&
        (await op.metric("workqueue_depth")) === 0,
      60_000,
    );
    await new Promise((r) => setTimeout(r, 1000));
    expect(await op.metric("controller_runtime_reconcile_total")).toBeGreaterThanOrEqual(50);
    expect(await op.writes()).toBe(0);
    const evs = (await events(client, n)).length;
    await new Promise((r) => setTimeout(r, 500));
    expect((await events(client, n)).length).toBe(evs);
  });
});
