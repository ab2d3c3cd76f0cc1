// The work and the probes, the same for both sides: apply namespaces and simple profiles, wait until
// every expected object exists, delete and edit generated objects and time their return.
import * as fs from "node:fs";
import {
  ApiError,
  type KubeClient,
  type KubeObjectLike,
  resourcePath,
} from "../../operator/runtime/client.ts";
import { CHILD_KINDS, PROFILES } from "../../operator/reconcile/kinds.ts";
import { applyNamespace } from "../../test-support/harness/namespaces.ts";
import { sleep } from "../../test-support/harness/wait.ts";
import { percentile, pool } from "../lib.ts";
import { expectedObjects, namespaceDefaultDeny, PEER_NAMESPACE_LABEL, simpleProfile } from "./policy.ts";

export interface Workload {
  namespaces: string[];
  profiles: { namespace: string; name: string }[];
}

export function workload(prefix: string, count: number, perNs: number): Workload {
  const namespaces = Array.from({ length: Math.ceil(count / perNs) }, (_, i) => `${prefix}-${i}`);
  const profiles = Array.from({ length: count }, (_, i) => ({
    namespace: namespaces[Math.floor(i / perNs)] as string,
    name: `svc-${i}`,
  }));
  return { namespaces, profiles };
}

function kind(k: string) {
  const r = CHILD_KINDS.find((c) => c.resource.kind === k)?.resource;
  if (!r) throw new Error(`unknown kind ${k}`);
  return r;
}
export const PROBED_KINDS = [
  "ServiceAccount",
  "PeerAuthentication",
  "AuthorizationPolicy",
  "NetworkPolicy",
].map(kind);

/** Applies the labelled namespaces, then the profiles, `width` requests at a time (as the admin user). */
export async function applyWorkload(client: KubeClient, w: Workload, width: number): Promise<void> {
  await pool(w.namespaces, width, (ns) =>
    applyNamespace(client, ns, "bench", { [PEER_NAMESPACE_LABEL]: "true" }),
  );
  await pool(w.profiles, width, async (p) => {
    await client.apply(
      resourcePath(PROFILES, p.namespace, p.name),
      simpleProfile(p.namespace, p.name),
      "bench",
      true,
    );
  });
}

export function expectedKeys(w: Workload): Set<string> {
  const keys = new Set<string>();
  for (const p of w.profiles) for (const r of PROBED_KINDS) keys.add(`${r.kind}/${p.namespace}/${p.name}`);
  for (const ns of w.namespaces) keys.add(`NetworkPolicy/${ns}/${namespaceDefaultDeny(ns).metadata.name}`);
  return keys;
}

/** Keys (Kind/namespace/name) of the expected objects that exist now. */
export async function presentKeys(client: KubeClient, w: Workload): Promise<Set<string>> {
  const want = expectedKeys(w);
  const nsSet = new Set(w.namespaces);
  const have = new Set<string>();
  for (const r of PROBED_KINDS) {
    // One cluster-wide list per kind; ServiceAccounts only with our label (every namespace has a default one).
    const query = r.kind === "ServiceAccount" ? { labelSelector: "meshward.io/profile" } : undefined;
    const list = await client.request<{ items: KubeObjectLike[] }>("GET", resourcePath(r), { query });
    for (const o of list.items) {
      const key = `${r.kind}/${o.metadata?.namespace}/${o.metadata?.name}`;
      if (nsSet.has(o.metadata?.namespace ?? "") && want.has(key)) have.add(key);
    }
  }
  return have;
}

/** Polls until every expected object exists; returns ms from `t0` to the poll that saw them all, or undefined on timeout. */
export async function waitPresent(
  client: KubeClient,
  w: Workload,
  t0: number,
  timeoutMs: number,
  progress: (have: number, want: number) => void,
): Promise<{ ms: number | undefined; present: number; expected: number }> {
  const expected = expectedKeys(w).size;
  let lastReport = 0;
  for (;;) {
    const have = (await presentKeys(client, w)).size;
    const now = performance.now();
    if (have >= expected) return { ms: now - t0, present: have, expected };
    if (now - t0 > timeoutMs) return { ms: undefined, present: have, expected };
    if (now - lastReport > 30_000) {
      progress(have, expected);
      lastReport = now;
    }
    await sleep(500);
  }
}

async function getOrUndefined<T>(client: KubeClient, p: string): Promise<T | undefined> {
  return client.get<T>(p).catch((e: unknown) => {
    if (e instanceof ApiError && e.status === 404) return undefined;
    throw e;
  });
}

/** Polls fast for the first second (5 ms), then every 50 ms. */
async function until(ok: () => Promise<boolean>, timeoutMs: number): Promise<number | undefined> {
  const t0 = performance.now();
  for (;;) {
    if (await ok()) return performance.now() - t0;
    const spent = performance.now() - t0;
    if (spent > timeoutMs) return undefined;
    await sleep(spent < 1000 ? 5 : 50);
  }
}

export interface ProbeResult {
  tried: number;
  restored: number;
  latenciesMs: number[];
  /** why the probe stopped early, if it did */
  stopped?: string;
}

/**
 * Runs `count` probes one after another: `one(i)` disturbs an object and resolves to the time until
 * it was put back (ms), `undefined` when it was not within the time bound, or "skip" when there was
 * nothing to disturb. Gives up after `maxMisses` misses in a row, saying so with `missed`.
 */
export async function probes(
  count: number,
  maxMisses: number,
  missed: string,
  one: (i: number) => Promise<number | undefined | "skip">,
): Promise<ProbeResult> {
  const res: ProbeResult = { tried: 0, restored: 0, latenciesMs: [] };
  let misses = 0;
  for (let i = 0; i < count; i++) {
    const ms = await one(i);
    if (ms === "skip") continue;
    res.tried++;
    if (ms === undefined) {
      misses++;
      if (misses >= maxMisses) {
        res.stopped = `${maxMisses} ${missed}`;
        break;
      }
      continue;
    }
    misses = 0;
    res.restored++;
    res.latenciesMs.push(ms);
  }
  return res;
}

/**
 * Deletes `count` generated objects (the four kinds in turn, spread over the profiles) and times
 * each one's return with a new UID. Gives up after 3 objects in a row that are not back within `timeoutMs`.
 */
export function deleteProbe(
  client: KubeClient,
  w: Workload,
  count: number,
  timeoutMs: number,
): Promise<ProbeResult> {
  return probes(count, 3, `deleted objects in a row not back within ${timeoutMs / 1000} s`, async (i) => {
    const p = w.profiles[(i * 7919) % w.profiles.length] as { namespace: string; name: string };
    const r = PROBED_KINDS[i % PROBED_KINDS.length] as (typeof PROBED_KINDS)[number];
    const at = resourcePath(r, p.namespace, p.name);
    const before = await getOrUndefined<KubeObjectLike>(client, at);
    if (!before) return "skip";
    const t0 = performance.now();
    await client.delete(at);
    const back = await until(async () => {
      const cur = await getOrUndefined<KubeObjectLike>(client, at);
      return !!cur && cur.metadata?.uid !== before.metadata?.uid;
    }, timeoutMs);
    return back === undefined ? undefined : performance.now() - t0;
  });
}

/**
 * Someone edits a generated NetworkPolicy (policyTypes [Ingress] instead of [Ingress, Egress], as another
 * field manager); is it put back, and how fast? Gives up after 2 edits in a row that stay.
 */
export function editProbe(
  client: KubeClient,
  w: Workload,
  count: number,
  timeoutMs: number,
): Promise<ProbeResult> {
  const np = kind("NetworkPolicy");
  return probes(count, 2, `edited objects in a row not restored within ${timeoutMs / 1000} s`, async (i) => {
    const p = w.profiles[(i * 104_729 + 3) % w.profiles.length] as { namespace: string; name: string };
    const at = resourcePath(np, p.namespace, p.name);
    const t0 = performance.now();
    await client.request("PATCH", at, {
      body: { spec: { policyTypes: ["Ingress"] } },
      contentType: "application/merge-patch+json",
      query: { fieldManager: "bench-intruder" },
    });
    const back = await until(async () => {
      const cur = await getOrUndefined<{ spec?: { policyTypes?: string[] } }>(client, at);
      return cur?.spec?.policyTypes?.length === 2;
    }, timeoutMs);
    return back === undefined ? undefined : performance.now() - t0;
  });
}

export function p(xs: number[], q: number): number | null {
  return xs.length ? Math.round(percentile(xs, q)) : null;
}

/** JSON with object keys sorted: the API server returns fields in its own order. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object")
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v);
}

/** Compares the generated objects of one profile and one namespace with meshward's builders (labels aside). */
export async function sameAsBuilders(client: KubeClient, w: Workload): Promise<string[]> {
  const diffs: string[] = [];
  const pr = w.profiles[0] as { namespace: string; name: string };
  const want = [...expectedObjects(pr.namespace, pr.name), namespaceDefaultDeny(pr.namespace)];
  for (const o of want) {
    const r = CHILD_KINDS.find((c) => c.resource.kind === o.kind)?.resource;
    if (!r) continue;
    const got = await getOrUndefined<Record<string, unknown>>(
      client,
      resourcePath(r, o.metadata.namespace, o.metadata.name),
    );
    const field = o.kind === "ServiceAccount" ? "automountServiceAccountToken" : "spec";
    if (!got) diffs.push(`${o.kind} ${o.metadata.name}: missing`);
    else if (canonical(got[field]) !== canonical(o[field]))
      diffs.push(`${o.kind} ${o.metadata.name}: ${field} differs`);
  }
  return diffs;
}

/** utime+stime (s), RSS and peak RSS (MB) of a process, from /proc. */
export function procStats(pid: number): { cpuSeconds: number; rssMb: number; peakRssMb: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return {
    cpuSeconds: (Number(stat[11]) + Number(stat[12])) / 100,
    rssMb: kb("VmRSS"),
    peakRssMb: kb("VmHWM"),
  };
}

export function sumStats(pids: number[]) {
  const s = pids.map(procStats);
  return {
    cpuSeconds: s.reduce((a, b) => a + b.cpuSeconds, 0),
    rssMb: s.reduce((a, b) => a + b.rssMb, 0),
    peakRssMb: s.reduce((a, b) => a + b.peakRssMb, 0),
  };
}
