// Sample requests for one profile: callers, destinations, ports, methods, paths and tokens taken
// from what the profile and its references mention, plus near misses (one label short, the next
// port, a path one character off, an issuer that only shares a prefix or a suffix) and strangers.
// Deterministic for a seed, so a fast-check counterexample replays.
import type { Profile } from "../../operator/api/schema.ts";
import { ISSUERS, LABEL_KEYS, LABEL_VALUES, NAMESPACES, SA_NAMES } from "./arbitraries.ts";
import {
  AMBIENT_PROBE_IP,
  type EgressRequest,
  type IngressRequest,
  type Labels,
  netEdges,
  type Peer,
  type Platform,
  type Pod,
  type Protocol,
} from "./evaluator.ts";

export type Rand = () => number;

/** mulberry32: a small seeded PRNG. */
export function prng(seed: number): Rand {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(r: Rand, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)] as T;
}

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "get"];

/** Label sets around `sel`: itself, with an extra label, one label short, one value changed. */
function around(sel: Labels): Labels[] {
  const entries = Object.entries(sel);
  const out: Labels[] = [{ ...sel }, { ...sel, extra: "1" }];
  if (entries.length > 1) out.push(Object.fromEntries(entries.slice(1)));
  const first = entries[0];
  if (first) out.push({ ...sel, [first[0]]: `${first[1]}-other` });
  return out;
}

function targets(profile: Profile, profiles: ReadonlyMap<string, Profile>, refs: string[]): Profile[] {
  const out: Profile[] = [];
  for (const ref of refs) {
    const [ns, name] = ref.includes("/") ? ref.split("/") : [profile.metadata.namespace, ref];
    const t = profiles.get(`${ns}/${name}`);
    if (t) out.push(t);
  }
  return out;
}

function paths(patterns: string[]): string[] {
  const out = ["/", "/admin", "/v1/charges", "/x.json"];
  for (const p of patterns) {
    if (p === "*") continue;
    if (p.endsWith("*")) {
      const stem = p.slice(0, -1);
      out.push(stem, `${stem}x`, stem.slice(0, -1), `${stem.slice(0, -1)}x`);
    } else if (p.startsWith("*")) {
      const tail = p.slice(1);
      out.push(`/a${tail}`, tail.slice(1), `/a${tail}x`);
    } else out.push(p, `${p}/`, `${p}x`, p.slice(0, -1));
  }
  return out.filter((x) => x.length > 0);
}

function issuers(listed: string[]): string[] {
  const out: string[] = [...ISSUERS, "https://other.example"];
  for (const i of listed) out.push(i, `evil${i.slice(1)}`, `${i.slice(0, -1)}evil`, `${i}x`, `x${i}`);
  return out;
}

function ports(listed: number[]): number[] {
  const out = [1, 53, 80, 443, 8080, 15008, 15012, 65535];
  for (const p of listed) out.push(p, Math.max(1, p - 1), Math.min(65535, p + 1));
  return out;
}

function protocol(r: Rand): Protocol {
  const x = r();
  return x < 0.8 ? "TCP" : x < 0.9 ? "UDP" : "SCTP";
}

/** What the profile mentions, and strangers. */
function pools(profile: Profile, profiles: ReadonlyMap<string, Profile>, p: Platform) {
  const spec = profile.spec;
  const sources = (spec.ingress ?? []).flatMap((e) => e.from);
  const refs = [
    ...sources.flatMap((s) => (s.service ? [s.service] : [])),
    ...(spec.egress?.to ?? []).flatMap((t) => (t.service ? [t.service] : [])),
  ];
  const ts = targets(profile, profiles, refs);
  const namespaces = new Set<string>([
    ...NAMESPACES,
    profile.metadata.namespace,
    "other",
    p.dns.namespace,
    p.istiod.namespace,
  ]);
  const sas = new Set<string>([...SA_NAMES, "other-sa"]);
  const callerLabels: Labels[] = [
    {},
    { app: "stranger" },
    ...around(p.dns.podSelector),
    ...around(p.istiod.podSelector),
  ];
  for (const k of LABEL_KEYS) for (const v of LABEL_VALUES) callerLabels.push({ [k]: v });
  // Pods the profile mentions (and their near misses), besides random combinations of the pools.
  const mentioned: Pod[] = [];
  const pod = (namespace: string, labels: Labels, serviceAccount: string): Pod => ({
    kind: "pod",
    namespace,
    labels,
    serviceAccount,
  });
  for (const l of around(p.dns.podSelector)) mentioned.push(pod(p.dns.namespace, l, "coredns"));
  for (const l of around(p.istiod.podSelector)) mentioned.push(pod(p.istiod.namespace, l, "istiod"));
  for (const s of sources) {
    if (s.namespace) {
      namespaces.add(s.namespace);
      mentioned.push(pod(s.namespace, { app: "any" }, "default"));
    }
    if (s.serviceAccount) {
      namespaces.add(s.serviceAccount.namespace);
      // Only names a service account can have: a caller cannot be called "*".
      if (SUBDOMAIN.test(s.serviceAccount.name) && s.serviceAccount.name.length <= 253) {
        sas.add(s.serviceAccount.name);
        mentioned.push(pod(s.serviceAccount.namespace, { app: "any" }, s.serviceAccount.name));
      }
    }
  }
  for (const t of ts) {
    const sa = t.spec.serviceAccount?.name ?? t.metadata.name;
    namespaces.add(t.metadata.namespace);
    sas.add(sa);
    callerLabels.push(...around(t.spec.selector));
    for (const l of around(t.spec.selector)) {
      mentioned.push(pod(t.metadata.namespace, l, sa));
      mentioned.push(pod(t.metadata.namespace, l, "default"));
    }
  }
  const listedPorts = [
    ...(spec.ingress ?? []).flatMap((e) => e.ports ?? []),
    ...(spec.egress?.to ?? []).flatMap((t) => t.ports ?? []),
  ];
  const pathPatterns = (spec.ingress ?? []).flatMap((e) => e.http?.paths ?? []);
  const listedIssuers = (spec.requestAuthentication?.jwt ?? []).map((j) => j.issuer);
  const addresses = [AMBIENT_PROBE_IP, "10.0.0.5", "8.8.8.8", "192.168.1.1", "2001:db8::1", "fd00::1", "::1"];
  for (const t of spec.egress?.to ?? []) {
    if (t.cidr) addresses.push(...netEdges(t.cidr));
    for (const e of t.except ?? []) addresses.push(...netEdges(e));
  }
  return {
    mentioned,
    namespaces: [...namespaces],
    sas: [...sas],
    callerLabels,
    destLabels: around(spec.selector),
    ports: ports(listedPorts),
    paths: paths(pathPatterns),
    issuers: issuers(listedIssuers),
    addresses,
  };
}

export function ingressRequests(
  profile: Profile,
  profiles: ReadonlyMap<string, Profile>,
  p: Platform,
  r: Rand,
  n: number,
): IngressRequest[] {
  const pool = pools(profile, profiles, p);
  const out: IngressRequest[] = [];
  for (let i = 0; i < n; i++) {
    const x = r();
    const source: Peer =
      x < 0.45
        ? pick(r, pool.mentioned)
        : x < 0.9
          ? {
              kind: "pod",
              namespace: pick(r, pool.namespaces),
              labels: pick(r, pool.callerLabels),
              serviceAccount: pick(r, pool.sas),
            }
          : { kind: "ip", ip: pick(r, pool.addresses) };
    const req: IngressRequest = {
      source,
      destination: pick(r, pool.destLabels),
      protocol: protocol(r),
      port: pick(r, pool.ports),
      mtls: source.kind === "pod" && r() < 0.85,
    };
    if (r() < 0.7) {
      req.http = { method: pick(r, METHODS), path: pick(r, pool.paths) };
      if (r() < 0.7) req.jwt = { issuer: pick(r, pool.issuers), subject: pick(r, ["alice", "*", "a/b"]) };
    }
    out.push(req);
  }
  return out;
}

export function egressRequests(
  profile: Profile,
  profiles: ReadonlyMap<string, Profile>,
  p: Platform,
  r: Rand,
  n: number,
): EgressRequest[] {
  const pool = pools(profile, profiles, p);
  const out: EgressRequest[] = [];
  for (let i = 0; i < n; i++) {
    const x = r();
    const destination: Peer =
      x < 0.3
        ? pick(r, pool.mentioned)
        : x < 0.5
          ? {
              kind: "pod",
              namespace: pick(r, pool.namespaces),
              labels: pick(r, pool.callerLabels),
              serviceAccount: "default",
            }
          : { kind: "ip", ip: pick(r, pool.addresses) };
    out.push({
      source: pick(r, pool.destLabels),
      destination,
      protocol: protocol(r),
      port: pick(r, pool.ports),
    });
  }
  return out;
}
