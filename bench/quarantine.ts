// Emergency quarantine, timed (issue 9): from applying a MeshwardPolicy that quarantines one
// profile of a running fleet to the last object it changes (the DENY in the mesh root namespace,
// the isolating NetworkPolicy, the profile's own AuthorizationPolicy and NetworkPolicy), and the
// same for lifting it. One server-side apply round trip is timed alongside, for the ratio.
import { CHILD_KINDS, POLICIES } from "../operator/reconcile/kinds.ts";
import { ApiError, type KubeClient, type KubeObjectLike, resourcePath } from "../operator/runtime/client.ts";
import { applyNamespace, deleteIfPresent, deleteNamespace } from "../test-support/harness/namespaces.ts";
import { sleep } from "../test-support/harness/wait.ts";
import { type Fleet, percentile } from "./lib.ts";

const POLICY = "bench-quarantine";
const ROOT_NS = "bench-mesh-root";
const QUARANTINE = "meshward-quarantine";

export interface QuarantineTimes {
  /** Apply of the policy → every changed object seen (ms), per try. */
  apply: number[];
  /** Delete of the policy → every quarantine object gone and the profile's objects restored (ms). */
  lift: number[];
  /** One server-side apply of a small object (ms), per try. */
  roundTrip: number[];
}

function kind(k: string) {
  const r = CHILD_KINDS.find((c) => c.resource.kind === k)?.resource;
  if (!r) throw new Error(`kind ${k}`);
  return r;
}

async function get(client: KubeClient, path: string): Promise<KubeObjectLike | undefined> {
  try {
    return await client.get<KubeObjectLike>(path);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return undefined;
    throw e;
  }
}

async function until(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("quarantine: timed out waiting for the objects");
    await sleep(5);
  }
}

async function applyPolicy(client: KubeClient, profile: string): Promise<void> {
  await client.apply(
    resourcePath(POLICIES, undefined, POLICY),
    {
      apiVersion: "meshward.io/v1alpha1",
      kind: "MeshwardPolicy",
      metadata: { name: POLICY },
      spec: {
        namespaceSelector: { "meshward.io/bench": "nobody" },
        quarantine: { meshRootNamespace: ROOT_NS, identities: [{ profile, reason: "bench" }] },
      },
    },
    "bench-platform",
    true,
  );
}

function deletePolicy(client: KubeClient): Promise<void> {
  return deleteIfPresent(client, resourcePath(POLICIES, undefined, POLICY));
}

/** `tries` quarantines of different profiles of `fleet` (the operator is running and settled). */
export async function measureQuarantine(
  client: KubeClient,
  fleet: Fleet,
  tries: number,
): Promise<QuarantineTimes> {
  const ap = kind("AuthorizationPolicy");
  const np = kind("NetworkPolicy");
  await applyNamespace(client, ROOT_NS, "bench");
  const out: QuarantineTimes = { apply: [], lift: [], roundTrip: [] };
  try {
    for (let i = 0; i < tries; i++) {
      const p = fleet.profiles[(i * 104_729) % fleet.profiles.length] as { namespace: string; name: string };
      const own = [resourcePath(ap, p.namespace, p.name), resourcePath(np, p.namespace, p.name)];
      const before = await Promise.all(own.map((x) => get(client, x)));
      const rv = before.map((o) => o?.metadata?.resourceVersion);
      const deny = resourcePath(ap, ROOT_NS, QUARANTINE);
      const isolate = resourcePath(np, p.namespace, `${QUARANTINE}-${p.name}`);

      const t0 = performance.now();
      await applyPolicy(client, `${p.namespace}/${p.name}`);
      await until(async () => {
        const [d, n, ...mine] = await Promise.all([deny, isolate, ...own].map((x) => get(client, x)));
        return !!d && !!n && mine.every((o, j) => o && o.metadata?.resourceVersion !== rv[j]);
      });
      out.apply.push(performance.now() - t0);

      const quarantined = await Promise.all(own.map((x) => get(client, x)));
      const t1 = performance.now();
      await deletePolicy(client);
      await until(async () => {
        const [d, n, ...mine] = await Promise.all([deny, isolate, ...own].map((x) => get(client, x)));
        return (
          !d &&
          !n &&
          mine.every((o, j) => o && o.metadata?.resourceVersion !== quarantined[j]?.metadata?.resourceVersion)
        );
      });
      out.lift.push(performance.now() - t1);

      // One server-side apply round trip, on the same API server at the same moment.
      const t2 = performance.now();
      await applyNamespace(client, ROOT_NS, "bench", { "meshward.io/bench-try": String(i) });
      out.roundTrip.push(performance.now() - t2);
    }
  } finally {
    await deletePolicy(client);
    await deleteNamespace(client, ROOT_NS);
  }
  return out;
}

/** p50 and max, rounded (ms). */
export function summary(xs: number[]): { p50: number; max: number } {
  return { p50: Math.round(percentile(xs, 50)), max: Math.round(Math.max(...xs)) };
}
