// Fault injection on the real test bed. Every scenario ends by checking convergence: status current,
// every child equal to the builders' output, no orphans, and nothing meshward does not own changed.
// CI runs few iterations; `npm run test:chaos` (MESHWARD_CHAOS=1) runs the full counts.
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compactEtcd, killApiserver, startApiserver } from "./controlplane/faults.ts";
import { AUDIT_LOG_PATH } from "./controlplane/state.ts";
import { up } from "./controlplane/testbed.ts";
import { ApiError, type KubeClient, type KubeObjectLike, resourcePath } from "../operator/runtime/client.ts";
import { LEASES, PROFILES } from "../operator/reconcile/kinds.ts";
import { snapshot, waitConverged } from "./support/converge.ts";
import { createNamespace, deleteNamespace, kube, waitFor } from "./support/kube.ts";
import { leaderElectionArgs, type OperatorProcess, startOperator } from "./support/operator.ts";
import { applyProfile, condition, getProfile, kindOf, waitCondition } from "./support/profiles.ts";

const CHAOS = process.env.MESHWARD_CHAOS === "1";
const n = (ci: number, chaos: number) => (CHAOS ? chaos : ci);

let client: KubeClient;
const namespaces: string[] = [];
const ops: OperatorProcess[] = [];

beforeAll(async () => {
  // Without the watch cache, a watch from a compacted revision gets 410 Gone straight from etcd.
  await up({ apiserverArgs: ["--watch-cache=false"] });
  client = kube();
}, 600_000);
afterAll(async () => {
  await Promise.all(ops.map((o) => o.kill()));
  await startApiserver(); // a no-op unless a scenario left it down
  for (const ns of namespaces) await deleteNamespace(client, ns).catch(() => undefined);
});

async function ns(prefix: string): Promise<string> {
  const name = await retrying(() => createNamespace(client, prefix));
  namespaces.push(name);
  return name;
}

/** An operator process watching only `watch` (so scenarios never see each other's objects). */
async function operator(name: string, watch: string[], args: string[] = []): Promise<OperatorProcess> {
  const op = await startOperator({ name, args: ["--namespaces", watch.join(","), ...args] });
  ops.push(op);
  return op;
}

/** Retries a client call through API server restarts and throttling. */
async function retrying<T>(fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      const retriable = e instanceof ApiError && (e.status === 0 || e.status === 429 || e.status >= 500);
      if (!retriable || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function spec(i: number, size: number, variant = 0) {
  return {
    selector: { app: `svc-${i}` },
    ingress: [{ from: [{ service: `svc-${(i + 1) % size}` }], ports: [8080 + variant] }],
    egress: { to: [{ service: `svc-${(i + size - 1) % size}`, ports: [8080] }] },
    secrets: [
      {
        name: `svc-${i}-db`,
        storeRef: { name: "vault" },
        data: [{ secretKey: "p", remoteRef: { key: `svc-${i}` } }],
      },
    ],
  };
}

async function fleet(namespace: string, size: number): Promise<void> {
  for (let i = 0; i < size; i++)
    await retrying(() => applyProfile(client, namespace, `svc-${i}`, spec(i, size)));
}

/** Random creates, updates, deletes of profiles and deletes of children, until `stop` says so. */
async function churn(namespace: string, size: number, stop: () => boolean): Promise<number> {
  let ops = 0;
  let seed = 7;
  const rnd = (k: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % k;
  };
  while (!stop()) {
    const i = rnd(size);
    const what = rnd(10);
    try {
      if (what < 5) await applyProfile(client, namespace, `svc-${i}`, spec(i, size, rnd(3)));
      else if (what < 7) await client.delete(resourcePath(PROFILES, namespace, `svc-${i}`));
      else
        await client.delete(
          resourcePath(
            kindOf(["AuthorizationPolicy", "NetworkPolicy", "ServiceAccount"][rnd(3)] as string),
            namespace,
            `svc-${i}`,
          ),
        );
      ops++;
    } catch {
      // 404s and an API server that is down are part of the game
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  // End in a known state: every profile present with its base spec.
  await fleet(namespace, size);
  return ops;
}

describe("faults", () => {
  it("1: kube-apiserver killed (-9) during churn: converges, the operator never exits, reconnects stay bounded", async () => {
    const namespace = await ns("f-restart");
    await fleet(namespace, 10);
    const op = await operator("f1", [namespace]);
    await waitConverged(client, [namespace]);
    let done = false;
    const churning = churn(namespace, 10, () => done);
    const kills = n(2, 6);
    for (let k = 0; k < kills; k++) {
      await new Promise((r) => setTimeout(r, 1500));
      try {
        await killApiserver("SIGKILL");
        await new Promise((r) => setTimeout(r, 1000));
      } finally {
        await startApiserver();
      }
    }
    done = true;
    const changes = await churning;
    expect(changes).toBeGreaterThan(5);
    const t0 = Date.now();
    // Children of a profile deleted and recreated during the churn carry the old profile's uid:
    // meshward reports them as conflicts until kube-controller-manager's garbage collector deletes
    // them. Right after each restart the API server has not loaded its RBAC roles yet, and the
    // collector's requests are refused (its log: "clusterrole system:controller:generic-garbage-
    // collector not found"); each refusal doubles that item's retry delay in its work queue. With
    // 6 restarts (test:chaos) convergence took more than 60 s once on 2026-12-02 (25 s in the
    // rerun), so the wait is longer there. The time taken is recorded either way.
    await waitConverged(client, [namespace], { timeoutMs: n(60_000, 180_000) });
    const convergedMs = Date.now() - t0;
    expect(op.proc.exitCode).toBeNull();
    const restarts = await op.metric("meshward_informer_restarts_total");
    // 18 informers (11, the 5 caches of foreign objects, the ClusterNetworkPolicy CRD and the
    // platform tier's objects; no policy names a platform identity here); each restart of the API
    // server may cost each of them a few reconnects, not a storm.
    expect(restarts).toBeGreaterThan(0);
    expect(restarts).toBeLessThan(kills * 18 * 4);
    fs.appendFileSync(
      ".cache/e2e/reliability.jsonl",
      `${JSON.stringify({ scenario: "apiserver-restart", kills, changes, informerRestarts: restarts, convergedMs })}\n`,
    );
    await op.stop();
  });

  it("2: paused past a compaction (410 Gone): relists and misses no change, deletions included", async () => {
    const a = await ns("f-gone-a");
    const b = await ns("f-gone-b");
    await fleet(a, 6);
    await retrying(() => applyProfile(client, b, "only", { selector: { app: "only" } }));
    const op = await operator("f2", [a, b]);
    await waitConverged(client, [a, b]);
    expect(
      await retrying(() => client.get(resourcePath(kindOf("NetworkPolicy"), b, "meshward-default-deny"))),
    ).toBeDefined();
    op.proc.kill("SIGSTOP");
    try {
      await retrying(() => client.delete(resourcePath(PROFILES, b, "only"))); // the last profile of b: its deny must go
      await retrying(() => client.delete(resourcePath(PROFILES, a, "svc-1")));
      await retrying(() => applyProfile(client, a, "svc-2", spec(2, 6, 2)));
      await retrying(() =>
        applyProfile(client, a, "svc-6", {
          selector: { app: "svc-6" },
          ingress: [{ from: [{ service: "svc-0" }] }],
        }),
      );
      await retrying(() => client.delete(resourcePath(kindOf("PeerAuthentication"), a, "svc-3")));
      // Cut every open watch and compact etcd: the paused watches must come back as 410 Gone.
      await killApiserver("SIGKILL");
      await compactEtcd();
    } finally {
      // Whatever failed above, the API server comes back (the other scenarios need it).
      await startApiserver();
      op.proc.kill("SIGCONT");
    }
    // svc-1 is gone: its neighbours now report the reference (which proves the deletion was seen).
    await waitConverged(client, [a, b], { allowedNotReady: ["ReferenceNotFound"] });
    for (const name of ["svc-0", "svc-2"]) {
      const p = await waitCondition(client, a, name, {
        type: "Ready",
        status: "False",
        reason: "ReferenceNotFound",
      });
      expect(condition(p, "Ready")?.message).toContain(`${a}/svc-1`);
    }
    await waitFor(
      "b's default deny to be removed",
      async () =>
        (await getOrGone(resourcePath(kindOf("NetworkPolicy"), b, "meshward-default-deny"))) === undefined,
    );
    expect(await op.metric("meshward_informer_restarts_total", { reason: "gone" })).toBeGreaterThan(0);
    fs.appendFileSync(
      ".cache/e2e/reliability.jsonl",
      `${JSON.stringify({ scenario: "410-gone", relists: await op.metric("meshward_informer_restarts_total", { reason: "gone" }) })}\n`,
    );
    await op.stop();
  });

  it("3: operator SIGKILLed at random moments during churn: converges, no orphans, no duplicates", async () => {
    const namespace = await ns("f-kill");
    await fleet(namespace, 8);
    const iterations = n(12, 50);
    let seed = 11;
    for (let k = 0; k < iterations; k++) {
      const op = await operator(`f3-${k}`, [namespace]);
      // a change for it to work on, then a kill at a random moment
      await applyProfile(client, namespace, `svc-${k % 8}`, spec(k % 8, 8, k % 3));
      if (k % 4 === 0)
        await client
          .delete(resourcePath(kindOf("AuthorizationPolicy"), namespace, `svc-${(k + 3) % 8}`))
          .catch(() => undefined);
      seed = (seed * 48271) % 2147483647;
      await new Promise((r) => setTimeout(r, seed % 400));
      await op.kill();
    }
    const last = await operator("f3-final", [namespace]);
    const t0 = Date.now();
    await waitConverged(client, [namespace]);
    fs.appendFileSync(
      ".cache/e2e/reliability.jsonl",
      `${JSON.stringify({ scenario: "operator-sigkill", iterations, convergedAfterRestartMs: Date.now() - t0 })}\n`,
    );
    await last.stop();
  });

  it("5: concurrent writers on a profile's status: no condition is lost", async () => {
    const namespace = await ns("f-status");
    const op = await operator("f5", [namespace]);
    await applyProfile(client, namespace, "api", { selector: { app: "api" } });
    await waitCondition(client, namespace, "api");
    const specChanges: Promise<unknown>[] = [];
    for (let k = 0; k < 20; k++) {
      // A second controller owns its own condition, written with its own field manager…
      await retrying(() =>
        client.apply(
          resourcePath(PROFILES, namespace, "api", "status"),
          {
            apiVersion: "meshward.io/v1alpha1",
            kind: "ServiceSecurityProfile",
            metadata: { name: "api", namespace },
            status: {
              conditions: [
                {
                  type: "AuditPassed",
                  status: k % 2 ? "True" : "False",
                  reason: "Audit",
                  message: `run ${k}`,
                  lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
                },
              ],
            },
          },
          "auditor",
          true,
        ),
      );
      // …while the spec changes, so meshward rewrites its own conditions at the same time.
      specChanges.push(
        retrying(() =>
          applyProfile(client, namespace, "api", {
            selector: { app: "api" },
            ingress: [{ from: [{ namespace: `caller-${k}` }] }],
          }),
        ),
      );
    }
    await Promise.all(specChanges);
    const p = await waitCondition(client, namespace, "api");
    const types = (p.status?.conditions ?? []).map((c) => c.type).sort();
    expect(types).toEqual([
      "AuditPassed",
      "Compliant",
      "Conflict",
      "Degraded",
      "Drifted",
      "Ready",
      "SecretsReady",
      "Widened",
    ]);
    for (const t of ["Ready", "Drifted", "Degraded", "Conflict", "SecretsReady", "Compliant", "Widened"])
      expect(condition(p, t)?.observedGeneration).toBe(p.metadata?.generation);
    expect(condition(p, "AuditPassed")?.message).toBe("run 19");
    await op.stop();
  });

  it("6: leader killed repeatedly: a new leader reconciles within the lease time plus a few seconds; never two writers at once", async () => {
    const namespace = await ns("f-leader");
    const args = leaderElectionArgs(namespace, "f6");
    const replicas = new Map<string, OperatorProcess>();
    for (const name of ["f6-a", "f6-b"]) replicas.set(name, await operator(name, [namespace], args));
    const failovers: number[] = [];
    const killedAt = new Map<string, number>();
    let spare = 0;
    for (let k = 0; k < n(2, 10); k++) {
      const holder = await waitFor("a leader", async () => {
        const l = await client
          .get<{ spec: { holderIdentity?: string } }>(resourcePath(LEASES, namespace, "f6"))
          .catch(() => undefined);
        return l?.spec.holderIdentity && replicas.has(l.spec.holderIdentity)
          ? l.spec.holderIdentity
          : undefined;
      });
      const leader = replicas.get(holder) as OperatorProcess;
      const t0 = Date.now();
      killedAt.set(holder, t0);
      await leader.kill();
      replicas.delete(holder);
      await applyProfile(client, namespace, `after-kill-${k}`, { selector: { app: `k${k}` } });
      await waitCondition(client, namespace, `after-kill-${k}`, {}, 45_000);
      failovers.push(Date.now() - t0);
      const name = `f6-spare-${spare++}`;
      replicas.set(name, await operator(name, [namespace], args));
    }
    for (const ms of failovers) expect(ms).toBeLessThan(15_000 + 10_000);
    // The audit log: writes (outside the Lease) by replicas, in time order, never from a killed one
    // after its death, and never interleaved between two replicas.
    const writes = auditWrites(namespace, "f6-").filter((e) => e.resource !== "leases");
    expect(writes.length).toBeGreaterThan(0);
    for (const w of writes) {
      const dead = killedAt.get(w.who);
      if (dead !== undefined) expect(w.at).toBeLessThanOrEqual(dead + 50);
    }
    const blocks: string[] = [];
    for (const w of writes) if (blocks.at(-1) !== w.who) blocks.push(w.who);
    expect(new Set(blocks).size).toBe(blocks.length); // each replica wrote in one stretch only
    fs.appendFileSync(
      ".cache/e2e/reliability.jsonl",
      `${JSON.stringify({ scenario: "leader-failover", failoversMs: failovers })}\n`,
    );
  });

  it("7: 200 pre-existing objects with meshward's names, made by other managers: none modified or deleted; each a Conflict", async () => {
    const namespace = await ns("f-preexisting");
    const op = await operator("f7", [namespace]);
    const kinds: [string, (name: string) => Record<string, unknown>][] = [
      ["ServiceAccount", () => ({})],
      ["PeerAuthentication", () => ({ spec: { mtls: { mode: "PERMISSIVE" } } })],
      ["AuthorizationPolicy", () => ({ spec: { action: "ALLOW", rules: [{}] } })],
      ["NetworkPolicy", () => ({ spec: { podSelector: {}, ingress: [{}] } })],
      [
        "ExternalSecret",
        (name) => ({
          spec: {
            secretStoreRef: { name: "other", kind: "SecretStore" },
            target: { name: `${name}-db` },
            data: [{ secretKey: "x", remoteRef: { key: "y" } }],
          },
        }),
      ],
    ];
    const profiles = 40;
    let made = 0;
    for (let i = 0; i < profiles; i++) {
      for (const [kind, body] of kinds) {
        const name = kind === "ExternalSecret" ? `svc-${i}-db` : `svc-${i}`;
        const res = kindOf(kind);
        const obj = {
          apiVersion: res.group ? `${res.group}/${res.version}` : res.version,
          kind,
          metadata: { name, namespace, labels: { team: "theirs" } },
          ...body(`svc-${i}`),
        };
        if (made % 2 === 0)
          await client.request("POST", resourcePath(res, namespace), {
            body: obj,
            query: { fieldManager: "kubectl-client-side-apply" },
          });
        else await client.apply(resourcePath(res, namespace, name), obj, "argocd-controller", false);
        made++;
      }
    }
    expect(made).toBe(200);
    const foreign = (o: KubeObjectLike) => o.metadata?.labels?.team === "theirs";
    const before = await snapshot(client, [namespace], foreign);
    expect(before.size).toBe(200);
    for (let i = 0; i < profiles; i++) await applyProfile(client, namespace, `svc-${i}`, spec(i, profiles));
    for (let i = 0; i < profiles; i++) {
      const p = await waitCondition(
        client,
        namespace,
        `svc-${i}`,
        { type: "Conflict", status: "True" },
        60_000,
      );
      expect(p.status?.objects?.filter((o) => o.state === "Conflict")).toHaveLength(5);
    }
    await new Promise((r) => setTimeout(r, 2000));
    const after = await snapshot(client, [namespace], foreign);
    expect(after).toEqual(before);
    const p0 = await getProfile(client, namespace, "svc-0");
    expect(condition(p0, "Conflict")?.message).toMatch(
      /managed by (kubectl-client-side-apply|argocd-controller)/,
    );
    await op.stop();
  });

  it("8: the leader's renewals refused while it lives: no write after its renew deadline, then it exits; the other takes over", async () => {
    const namespace = await ns("f-renew");
    const args = leaderElectionArgs(namespace, "f8");
    const replicas = new Map<string, OperatorProcess>();
    for (const name of ["f8-a", "f8-b"]) replicas.set(name, await operator(name, [namespace], args));
    const holder = await waitFor("a leader", async () => {
      const l = await getOrGone(resourcePath(LEASES, namespace, "f8"));
      const h = (l as { spec?: { holderIdentity?: string } } | undefined)?.spec?.holderIdentity;
      return h && replicas.has(h) ? h : undefined;
    });
    const leader = replicas.get(holder) as OperatorProcess;
    const other = [...replicas.values()].find((r) => r !== leader) as OperatorProcess;
    await applyProfile(client, namespace, "before", { selector: { app: "before" } });
    await waitCondition(client, namespace, "before");

    // An admission policy refuses every Lease update that would name the leader: its renewals fail
    // (422, the policy's denial) while the process, its watches and every other request it makes go on as before.
    await refuseRenewals(namespace, "f8", holder);
    try {
      const refusedAt = await waitFor(
        "a renewal refused",
        async () => auditWrites(namespace, holder).find((e) => e.resource === "leases" && e.code === 422)?.at,
        30_000,
      );
      // Profile edits all along: a leader that kept working past its deadline would write for them.
      let i = 0;
      const editUntil = Date.now() + 25_000;
      while (Date.now() < editUntil) {
        await applyProfile(client, namespace, "churn", {
          selector: { app: "churn" },
          ingress: [{ from: [{ service: "before" }], ports: [8000 + (i++ % 50)] }],
        });
        await new Promise((r) => setTimeout(r, 250));
      }
      await applyProfile(client, namespace, "after", { selector: { app: "after" } });
      await waitCondition(client, namespace, "after", {}, 45_000);
      expect(await other.metric("meshward_leader")).toBe(1);
      // It stepped down at its deadline and exited to be restarted clean, as controller-runtime does.
      expect(await leader.exited).toBe(1);
      expect(leader.log()).toContain("lost leadership; exiting");

      const events = auditWrites(namespace, holder);
      // Its last good renewal came before the first refusal; a good Lease write after that is the
      // release on the way out (holderIdentity cleared, which the policy lets through).
      const renewed = events.filter(
        (e) => e.resource === "leases" && e.code >= 200 && e.code < 300 && e.at < refusedAt,
      );
      const lastRenewal = Math.max(...renewed.map((e) => e.at));
      // The deadline runs from when the last good renewal was sent, which is before the API server
      // received it; a request in flight at the deadline is aborted, so 500 ms covers its landing.
      const late = events.filter(
        (e) => e.resource !== "leases" && e.at > lastRenewal + RENEW_DEADLINE_MS + 500,
      );
      expect(late).toEqual([]);
      // Until its deadline it went on working: the check above is not empty because it had stopped.
      expect(events.some((e) => e.resource !== "leases" && e.at > refusedAt)).toBe(true);
      // The other replica did the work after the leader stepped down, and only it.
      expect(
        auditWrites(namespace, other.name).some((e) => e.resource !== "leases" && e.at > lastRenewal),
      ).toBe(true);
    } finally {
      await allowRenewals("f8");
    }
    await waitConverged(client, [namespace]);
  });
});

async function getOrGone(path: string): Promise<unknown> {
  try {
    return await client.get(path);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return undefined;
    throw e;
  }
}

/** controller-runtime's default, which the operator keeps (operator/runtime/leader.ts). */
const RENEW_DEADLINE_MS = 10_000;

interface AuditWrite {
  who: string;
  resource: string;
  code: number;
  at: number;
}

/** Mutating requests in `namespace` by the replicas whose identity starts with `who`, in time order. */
function auditWrites(namespace: string, who: string): AuditWrite[] {
  return fs
    .readFileSync(AUDIT_LOG_PATH, "utf8")
    .split("\n")
    .filter(Boolean)
    .map(
      (l) =>
        JSON.parse(l) as {
          stage: string;
          userAgent?: string;
          objectRef?: { namespace?: string; resource?: string };
          responseStatus?: { code?: number };
          requestReceivedTimestamp: string;
        },
    )
    .filter((e) => e.stage === "ResponseComplete" && e.objectRef?.namespace === namespace)
    .map((e) => ({
      who: /\(([^)]+)\)/.exec(e.userAgent ?? "")?.[1] ?? "",
      resource: e.objectRef?.resource ?? "",
      code: e.responseStatus?.code ?? 0,
      at: Date.parse(e.requestReceivedTimestamp),
    }))
    .filter((e) => e.who.startsWith(who))
    .sort((x, y) => x.at - y.at);
}

const ADMISSION = "/apis/admissionregistration.k8s.io/v1";

/** A ValidatingAdmissionPolicy (and its binding) that refuses Lease `lease` updates naming `holder`. */
async function refuseRenewals(namespace: string, lease: string, holder: string): Promise<void> {
  const name = `meshward-e2e-refuse-${lease}`;
  await client.apply(
    `${ADMISSION}/validatingadmissionpolicies/${name}`,
    {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingAdmissionPolicy",
      metadata: { name },
      spec: {
        failurePolicy: "Fail",
        matchConstraints: {
          resourceRules: [
            {
              apiGroups: ["coordination.k8s.io"],
              apiVersions: ["v1"],
              operations: ["UPDATE"],
              resources: ["leases"],
            },
          ],
        },
        validations: [
          {
            expression: `object.metadata.name != '${lease}' || !has(object.spec.holderIdentity) || object.spec.holderIdentity != '${holder}'`,
            message: `e2e: ${holder} may not renew Lease ${lease}`,
          },
        ],
      },
    },
    "meshward-e2e",
    true,
  );
  await client.apply(
    `${ADMISSION}/validatingadmissionpolicybindings/${name}`,
    {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingAdmissionPolicyBinding",
      metadata: { name },
      spec: {
        policyName: name,
        validationActions: ["Deny"],
        matchResources: { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } } },
      },
    },
    "meshward-e2e",
    true,
  );
}

async function allowRenewals(lease: string): Promise<void> {
  const name = `meshward-e2e-refuse-${lease}`;
  await getOrGone(`${ADMISSION}/validatingadmissionpolicybindings/${name}`).then(
    (b) => b && client.delete(`${ADMISSION}/validatingadmissionpolicybindings/${name}`),
  );
  await getOrGone(`${ADMISSION}/validatingadmissionpolicies/${name}`).then(
    (p) => p && client.delete(`${ADMISSION}/validatingadmissionpolicies/${name}`),
  );
}
