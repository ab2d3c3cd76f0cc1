// "Converged": every profile's status is current, every child equals the builders' output, and no
// object carrying our labels is left over (no orphans). Computed independently of the operator's
// caches, from what the API server says now.
import type { ProfileStatus } from "../../operator/api/schema.ts";
import { validateProfile } from "../../operator/api/validate.ts";
import {
  buildNamespace,
  buildProfile,
  indexProfiles,
  makeContext,
  PROFILE_LABEL,
  SCOPE_LABEL,
} from "../../operator/builders/index.ts";
import { driftPaths } from "../../operator/reconcile/compare.ts";
import { CHILD_KINDS, PROFILES } from "../../operator/reconcile/kinds.ts";
import type { KubeClient, KubeObjectLike } from "../../operator/runtime/client.ts";
import { ApiError, resourcePath } from "../../operator/runtime/client.ts";
import { dataplaneOf } from "../../operator/builders/dataplane.ts";
import type { MeshMode } from "../../operator/builders/context.ts";
import { NAMESPACES } from "../../test-support/harness/namespaces.ts";
import { waitFor } from "./kube.ts";

type Raw = KubeObjectLike & { status?: ProfileStatus };

/** Problems that keep the namespaces from being converged (empty when converged). */
export async function convergenceProblems(
  client: KubeClient,
  namespaces: string[],
  allowedNotReady: string[] = [],
): Promise<string[]> {
  const problems: string[] = [];
  const raws: Raw[] = [];
  for (const ns of namespaces)
    raws.push(...(await client.get<{ items: Raw[] }>(resourcePath(PROFILES, ns))).items);
  const profiles = raws.flatMap((r) => {
    const v = validateProfile(r);
    if (!v.ok) return [];
    v.profile.metadata.uid = r.metadata?.uid as string;
    return [v.profile];
  });
  const ctx = makeContext({ profiles: indexProfiles(profiles) });
  // Each namespace's data plane, as the operator decides it (default: sidecar).
  const modes = new Map<string, MeshMode>();
  for (const ns of namespaces) {
    const live = await client.get<KubeObjectLike>(resourcePath(NAMESPACES, undefined, ns));
    modes.set(ns, dataplaneOf(live.metadata?.labels ?? {}, undefined, "sidecar").mode);
  }
  const desired = new Map<string, KubeObjectLike>();
  for (const r of raws) {
    const key = `${r.metadata?.namespace}/${r.metadata?.name}`;
    if (r.status?.observedGeneration !== r.metadata?.generation) problems.push(`${key}: status not current`);
    const ready = r.status?.conditions?.find((c) => c.type === "Ready");
    if (ready?.status !== "True" && !allowedNotReady.includes(ready?.reason ?? ""))
      problems.push(`${key}: Ready=${ready?.status} ${ready?.reason ?? ""}`);
  }
  for (const p of profiles) {
    const built = buildProfile(p, { ...ctx, meshMode: modes.get(p.metadata.namespace) ?? "sidecar" });
    for (const o of [...built.objects, ...(built.shared ?? [])])
      desired.set(`${o.kind}/${o.metadata.namespace}/${o.metadata.name}`, o);
  }
  for (const ns of namespaces) {
    const count = profiles.filter((p) => p.metadata.namespace === ns).length;
    for (const o of buildNamespace(ns, count)) desired.set(`${o.kind}/${ns}/${o.metadata.name}`, o);
  }
  const seen = new Set<string>();
  for (const kind of CHILD_KINDS) {
    for (const ns of namespaces) {
      const list = await listIfServed(
        client,
        `${resourcePath(kind.resource, ns)}?labelSelector=${encodeURIComponent("app.kubernetes.io/managed-by=meshward")}`,
      );
      for (const live of list) {
        // List items come without apiVersion and kind.
        live.apiVersion = kind.resource.group
          ? `${kind.resource.group}/${kind.resource.version}`
          : kind.resource.version;
        live.kind = kind.resource.kind;
        const key = `${kind.resource.kind}/${ns}/${live.metadata?.name}`;
        seen.add(key);
        const want = desired.get(key);
        if (!want) {
          const label = live.metadata?.labels?.[PROFILE_LABEL] ?? live.metadata?.labels?.[SCOPE_LABEL];
          problems.push(`${key}: orphan (labelled for ${label})`);
          continue;
        }
        const paths = driftPaths(want, live);
        if (paths.length > 0) problems.push(`${key}: differs at ${paths.join(", ")}`);
      }
    }
  }
  for (const key of desired.keys()) if (!seen.has(key)) problems.push(`${key}: missing`);
  return problems;
}

/** The items of a list; none when the kind is not served (a CRD only some files install). */
export async function listIfServed(client: KubeClient, path: string): Promise<KubeObjectLike[]> {
  try {
    return (await client.get<{ items: KubeObjectLike[] }>(path)).items;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return [];
    throw e;
  }
}

export async function waitConverged(
  client: KubeClient,
  namespaces: string[],
  opts: { timeoutMs?: number; allowedNotReady?: string[] } = {},
): Promise<void> {
  let last: string[] = [];
  await waitFor(
    `convergence of ${namespaces.length} namespaces`,
    async () => {
      last = await convergenceProblems(client, namespaces, opts.allowedNotReady);
      return last.length === 0;
    },
    opts.timeoutMs ?? 60_000,
    500,
  ).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}\n${last.slice(0, 20).join("\n")}`);
  });
}

/** resourceVersion of every object of the kinds we generate in the namespaces (to prove nothing foreign changed). */
export async function snapshot(
  client: KubeClient,
  namespaces: string[],
  filter: (o: KubeObjectLike) => boolean,
): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  for (const kind of CHILD_KINDS) {
    for (const ns of namespaces) {
      for (const o of await listIfServed(client, resourcePath(kind.resource, ns))) {
        if (filter(o))
          m.set(`${kind.resource.kind}/${ns}/${o.metadata?.name}`, o.metadata?.resourceVersion ?? "");
      }
    }
  }
  return m;
}
