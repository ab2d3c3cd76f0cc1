// Creation without a read, against the real API server: an object someone else made is never
// co-owned, even when it is compatible with what meshward would write (server-side apply would
// then have merged into it without a conflict).
//
// The window between the operator deciding to create and writing is opened deterministically:
// the operator's caches hold only objects carrying meshward's label, so a foreign object is never
// in them; whatever the timing, the operator decides "missing, create it" for a name someone else
// holds. The second test aims at the other write, the forced apply on an object the cache says is
// ours: the object is replaced behind the cache (a stale uid), and the write must be refused.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError, type KubeClient, type KubeObjectLike, resourcePath } from "../operator/runtime/client.ts";
import { apiWrites } from "../operator/reconcile/api-writes.ts";
import { childKind } from "../operator/reconcile/kinds.ts";
import { createNamespace, deleteNamespace, kube } from "./support/kube.ts";
import { type OperatorProcess, startOperator } from "./support/operator.ts";
import { applyProfile, condition, getChild, kindOf, waitCondition } from "./support/profiles.ts";

let client: KubeClient;
let op: OperatorProcess;
const namespaces: string[] = [];

beforeAll(async () => {
  client = kube();
  const a = await createNamespace(client, "own-create");
  const b = await createNamespace(client, "own-apply");
  namespaces.push(a, b);
  op = await startOperator({ name: "operator-ownership", args: ["--namespaces", a] });
});
afterAll(async () => {
  await op?.stop();
  for (const ns of namespaces) await deleteNamespace(client, ns);
});

/** What must not change on a foreign object: its content, version, labels, owners and managers. */
function fingerprint(o: KubeObjectLike | undefined) {
  return {
    resourceVersion: o?.metadata?.resourceVersion,
    labels: o?.metadata?.labels,
    annotations: o?.metadata?.annotations,
    ownerReferences: o?.metadata?.ownerReferences,
    managers: (o?.metadata?.managedFields ?? []).map((f) => f.manager).sort(),
    spec: (o as { spec?: unknown } | undefined)?.spec,
  };
}

describe("creation without a read", () => {
  it("1: a compatible foreign object created before the operator could see it stays untouched; Conflict", async () => {
    const [namespace = ""] = namespaces;
    // Compatible with meshward's: a ServiceAccount without fields, and an AuthorizationPolicy with
    // the very selector and action meshward sets. An apply without force would have merged into
    // both (no field conflict), adding meshward's labels and owner reference.
    const labels = { team: "theirs" }; // a label of theirs: compatible (meshward sets other keys)
    const sa = { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "api", namespace, labels } };
    const ap = {
      apiVersion: "security.istio.io/v1",
      kind: "AuthorizationPolicy",
      metadata: { name: "api", namespace, labels },
      spec: { selector: { matchLabels: { app: "api" } }, action: "ALLOW" },
    };
    for (const o of [sa, ap]) {
      await client.request("POST", resourcePath(kindOf(o.kind), namespace), {
        body: o,
        query: { fieldManager: "someone-else" },
      });
    }
    const before = {
      sa: fingerprint(await getChild(client, "ServiceAccount", namespace, "api")),
      ap: fingerprint(await getChild(client, "AuthorizationPolicy", namespace, "api")),
    };
    await applyProfile(client, namespace, "api", { selector: { app: "api" } });
    const p = await waitCondition(client, namespace, "api", { type: "Conflict", status: "True" });
    expect(condition(p, "Conflict")?.message).toContain("ServiceAccount api (managed by someone-else)");
    expect(condition(p, "Conflict")?.message).toContain("AuthorizationPolicy api (managed by someone-else)");
    expect(p.status?.objects?.filter((o) => o.state === "Conflict").map((o) => o.kind)).toEqual([
      "ServiceAccount",
      "AuthorizationPolicy",
    ]);
    // The objects that were free are created and ours.
    const pa = await getChild(client, "PeerAuthentication", namespace, "api");
    expect(pa?.metadata?.ownerReferences?.[0]?.uid).toBe(p.metadata?.uid);
    const after = {
      sa: fingerprint(await getChild(client, "ServiceAccount", namespace, "api")),
      ap: fingerprint(await getChild(client, "AuthorizationPolicy", namespace, "api")),
    };
    expect(after).toEqual(before);
    expect(after.sa.managers).toEqual(["someone-else"]);
    expect(after.sa.ownerReferences).toBeUndefined();
  });

  it("2: the forced apply carries the cached uid: an object replaced behind the cache is refused, unchanged", async () => {
    const [, namespace = ""] = namespaces;
    const writes = apiWrites(client);
    const kind = childKind("security.istio.io/v1", "AuthorizationPolicy");
    if (!kind) throw new Error("no AuthorizationPolicy kind");
    const ours = {
      apiVersion: "security.istio.io/v1",
      kind: "AuthorizationPolicy",
      metadata: { name: "api", namespace, labels: { "app.kubernetes.io/managed-by": "meshward" } },
      spec: { selector: { matchLabels: { app: "api" } }, action: "ALLOW" },
    };
    const created = await writes.create(kind, ours);
    const staleUid = created.metadata?.uid ?? "";
    expect(staleUid).not.toBe("");
    // Replaced by someone else's compatible object with the same name…
    await client.delete(resourcePath(kindOf("AuthorizationPolicy"), namespace, "api"));
    await client.request("POST", resourcePath(kindOf("AuthorizationPolicy"), namespace), {
      body: { ...ours, metadata: { name: "api", namespace } },
      query: { fieldManager: "someone-else" },
    });
    const before = fingerprint(await getChild(client, "AuthorizationPolicy", namespace, "api"));
    // …while a stale cache still holds ours: the forced apply with its uid is refused.
    const err = await writes.apply(kind, ours, staleUid).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiError);
    expect([409, 422]).toContain((err as ApiError).status);
    const after = fingerprint(await getChild(client, "AuthorizationPolicy", namespace, "api"));
    expect(after).toEqual(before);
    expect(after.managers).toEqual(["someone-else"]);
    // With the right uid the same apply goes through (the precondition is what refused it).
    const live = await getChild(client, "AuthorizationPolicy", namespace, "api");
    await writes.apply(kind, ours, live?.metadata?.uid ?? "");
    expect((await getChild(client, "AuthorizationPolicy", namespace, "api"))?.metadata?.labels).toMatchObject(
      ours.metadata.labels,
    );
  });
});
