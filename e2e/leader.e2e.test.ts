// 11: two operator processes with leader election: only the leader writes; kill it and the other
// takes over and reconciles new changes.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { KubeClient } from "../operator/runtime/client.ts";
import { resourcePath } from "../operator/runtime/client.ts";
import { LEASES } from "../operator/reconcile/kinds.ts";
import { createNamespace, deleteNamespace, kube, waitFor } from "./support/kube.ts";
import { leaderElectionArgs, type OperatorProcess, startOperator } from "./support/operator.ts";
import { applyProfile, getChild, waitCondition } from "./support/profiles.ts";

let client: KubeClient;
const ops: OperatorProcess[] = [];
let namespace = "";

beforeAll(async () => {
  client = kube();
  namespace = await createNamespace(client, "leader");
});
afterAll(async () => {
  await Promise.all(ops.map((o) => o.stop()));
  await deleteNamespace(client, namespace);
});

it("11: only the leader writes; killing it hands over to the other replica", async () => {
  const args = leaderElectionArgs(namespace, "meshward-e2e");
  ops.push(await startOperator({ name: "replica-a", args }));
  ops.push(await startOperator({ name: "replica-b", args }));
  const lease = await waitFor("a leader", async () => {
    const l = await client
      .get<{ spec: { holderIdentity?: string } }>(resourcePath(LEASES, namespace, "meshward-e2e"))
      .catch(() => undefined);
    return l?.spec.holderIdentity ? l : undefined;
  });
  const leader = ops.find((o) => o.name === lease.spec.holderIdentity);
  const follower = ops.find((o) => o !== leader);
  expect(leader).toBeDefined();
  if (!leader || !follower) return;

  await applyProfile(client, namespace, "one", { selector: { app: "one" } });
  await waitCondition(client, namespace, "one");
  expect(await follower.writes()).toBe(0);
  expect(await leader.writes()).toBeGreaterThan(0);
  expect(await follower.metric("meshward_leader")).toBe(0);
  expect(await leader.metric("meshward_leader")).toBe(1);

  const killedAt = Date.now();
  await leader.kill();
  await applyProfile(client, namespace, "two", { selector: { app: "two" } });
  await waitCondition(client, namespace, "two", {}, 40_000);
  const tookOverMs = Date.now() - killedAt;
  // A killed leader cannot release its lease: the other waits out the 15 s lease, then some seconds.
  expect(tookOverMs).toBeLessThan(15_000 + 10_000);
  expect(await getChild(client, "PeerAuthentication", namespace, "two")).toBeDefined();
  expect(await follower.metric("meshward_leader")).toBe(1);
  const l = await client.get<{ spec: { holderIdentity?: string } }>(
    resourcePath(LEASES, namespace, "meshward-e2e"),
  );
  expect(l.spec.holderIdentity).toBe(follower.name);
});

it("releases the lease on SIGTERM so a successor takes over at once", async () => {
  const args = leaderElectionArgs(namespace, "meshward-e2e-release");
  const a = await startOperator({ name: "release-a", args });
  ops.push(a);
  await waitFor("release-a to lead", async () => (await a.metric("meshward_leader")) === 1, 30_000);
  const b = await startOperator({ name: "release-b", args });
  ops.push(b);
  const t0 = Date.now();
  expect(await a.stop()).toBe(0);
  await waitFor("release-b to lead", async () => (await b.metric("meshward_leader")) === 1, 15_000, 50);
  expect(Date.now() - t0).toBeLessThan(5_000);
});

it("a lease namespace that does not exist: one error line saying what to do; not ready, no stack traces", async () => {
  const missing = `${namespace}-absent`;
  const op = await startOperator({
    name: "no-lease-namespace",
    args: ["--leader-election", "true", "--leader-election-namespace", missing],
    ready: false,
  });
  ops.push(op);
  const lines = () =>
    op
      .log()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { level: string; msg: string; [k: string]: unknown });
  // Wait for several attempts (the repeats are debug lines), so one error line means one in all.
  await waitFor(
    "three attempts to create the lease",
    async () => lines().filter((l) => l.msg === "creating the lease failed").length >= 2,
    60_000,
  );
  const errors = lines().filter((l) => l.level === "error" || l.level === "fatal");
  expect(errors).toHaveLength(1);
  expect(errors[0]?.msg).toContain(`the leader election namespace "${missing}" does not exist`);
  expect(errors[0]?.msg).toContain(`kubectl create namespace ${missing}`);
  expect(errors[0]?.msg).toContain("--leader-election-namespace");
  expect(op.log()).not.toMatch(/"stack"/);
  expect(lines().some((l) => l.level === "info" && /lease/.test(l.msg) && /failed/.test(l.msg))).toBe(false);
  const ready = await fetch(`http://127.0.0.1:${op.port}/readyz`);
  expect(ready.status).not.toBe(200);
  expect(await ready.text()).toContain("leadership unknown");
  expect(op.proc.exitCode).toBeNull();
});
