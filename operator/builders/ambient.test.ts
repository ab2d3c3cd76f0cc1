// The ambient builders (operator/builders/ambient.ts): a golden file for the example fleet, table
// tests per rule, and the property that the ambient output (ztunnel, and the waypoint behind it)
// never allows a request that the sidecar output for the same profile denies.
import fc from "fast-check";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { rawProfile, world } from "../../test-support/fuzz/arbitraries.ts";
import {
  authorizationPolicyAllows,
  type IngressRequest,
  type Peer,
  type Platform,
} from "../../test-support/fuzz/evaluator.ts";
import { ingressRequests, prng } from "../../test-support/fuzz/requests.ts";
import type { Profile, ProfileSpecInput } from "../api/schema.ts";
import { validateProfile } from "../api/validate.ts";
import { profile as fixtureProfile } from "../../test-support/fixtures/policy.ts";
import { loadProfiles } from "../cli/load.ts";
import {
  buildAmbientProfile,
  checkBinding,
  GATEWAY_NAME_LABEL,
  NAMESPACE_WAYPOINT,
  needsWaypoint,
  serviceWaypointName,
  USE_WAYPOINT_LABEL,
  waypointOf,
} from "./ambient.ts";
import { type BuildContext, DEFAULT_PLATFORM, indexProfiles, makeContext } from "./context.ts";
import { buildProfile } from "./index.ts";
import type { KubeObject } from "./meta.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const FLEET = path.join(ROOT, "examples/fleet");
const GOLDEN = path.join(import.meta.dirname, "testdata", "fleet-ambient-waypoint.golden.yaml");
const NOW = new Date("2026-11-20T00:00:00Z");
const TD = "cluster.local";

/** A validated profile (test-support/fixtures), api in shop unless named. */
function profile(spec: ProfileSpecInput, name = "api", namespace = "shop"): Profile {
  return fixtureProfile(`${namespace}/${name}`, spec);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions read any path of an object
type Obj = KubeObject & { spec: any };

function find(objects: KubeObject[], kind: string, name: string): Obj {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o)
    throw new Error(`no ${kind} ${name} in ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(", ")}`);
  return o as Obj;
}

const fleet = loadProfiles([FLEET]).profiles.map((l) => l.profile);
const fleetCtx = (profiles: Profile[] = fleet): BuildContext =>
  makeContext({ trustDomain: TD, profiles: indexProfiles(profiles), now: NOW });

describe("ambient golden file", () => {
  it("renders the example fleet with waypoints where L7 rules need them", () => {
    const ctx = fleetCtx();
    const docs: string[] = [];
    const shared = new Map<string, KubeObject>();
    for (const p of [...fleet].sort((a, b) =>
      `${a.metadata.namespace}/${a.metadata.name}` < `${b.metadata.namespace}/${b.metadata.name}` ? -1 : 1,
    )) {
      const r = buildAmbientProfile(p, ctx);
      const head = [`# ServiceSecurityProfile ${p.metadata.namespace}/${p.metadata.name}`];
      for (const pr of r.problems) head.push(`# ${pr.severity ?? "error"}: ${pr.path}: ${pr.message}`);
      if (r.binding)
        head.push(
          `# needs: ${r.binding.label}=${r.binding.value} on Service ${r.binding.namespace}/${r.binding.service}`,
        );
      r.objects.forEach((o, i) =>
        docs.push(`${i === 0 ? `${head.join("\n")}\n` : ""}${stringify(o, { lineWidth: 0 })}`),
      );
      for (const o of r.shared) shared.set(`${o.metadata.namespace}/${o.metadata.name}`, o);
    }
    for (const [key, o] of shared)
      docs.push(`# shared by the namespace's profiles: ${key}\n${stringify(o, { lineWidth: 0 })}`);
    const out = docs.join("---\n");
    if (process.env.UPDATE_GOLDEN) fs.writeFileSync(GOLDEN, out);
    expect(fs.existsSync(GOLDEN), "golden missing: run with UPDATE_GOLDEN=1").toBe(true);
    expect(out).toBe(fs.readFileSync(GOLDEN, "utf8"));
  });
});

describe("which profiles need a waypoint", () => {
  it.each<[string, ProfileSpecInput, boolean]>([
    ["no ingress", { selector: { app: "a" } }, false],
    [
      "L4 rules only",
      { selector: { app: "a" }, ingress: [{ from: [{ namespace: "x" }], ports: [80] }] },
      false,
    ],
    [
      "an http rule",
      {
        selector: { app: "a" },
        ingress: [{ from: [{ namespace: "x" }], ports: [80], http: { methods: ["GET"] } }],
      },
      true,
    ],
    [
      "requestAuthentication, even without a token requirement",
      {
        selector: { app: "a" },
        requestAuthentication: { jwt: [{ issuer: "https://i/" }], requireToken: false },
        ingress: [{ from: [{ namespace: "x" }], ports: [80] }],
      },
      true,
    ],
  ])("%s", (_n, spec, want) => {
    expect(needsWaypoint(profile(spec))).toBe(want);
  });
});

describe("the waypoint a profile uses", () => {
  it.each<[string, ProfileSpecInput["waypoint"], string, string]>([
    [
      "default: the namespace's shared one, the profile's name as Service",
      undefined,
      NAMESPACE_WAYPOINT,
      "api",
    ],
    ["Service scope", { scope: "Service" }, "meshward-waypoint-api", "api"],
    ["another Service", { scope: "Service", service: "api-v2" }, "meshward-waypoint-api-v2", "api-v2"],
    ["namespace scope, another Service", { service: "web" }, NAMESPACE_WAYPOINT, "web"],
  ])("%s", (_n, waypoint, name, service) => {
    const w = waypointOf(profile({ selector: { app: "a" }, ...(waypoint && { waypoint }) }), TD);
    expect(w).toMatchObject({ name, service, principal: `${TD}/ns/shop/sa/${name}` });
  });

  it("keeps a per-service waypoint name a DNS label, distinct per service", () => {
    const a = serviceWaypointName("s".repeat(63));
    const b = serviceWaypointName(`${"s".repeat(62)}t`);
    expect(a.length).toBeLessThanOrEqual(63);
    expect(a).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(a).not.toBe(b);
  });

  it("refuses a profile service account that would take the waypoint's identity", () => {
    const v = validateProfile({
      apiVersion: "meshward.io/v1alpha1",
      kind: "ServiceSecurityProfile",
      metadata: { name: "api", namespace: "shop" },
      spec: { selector: { app: "a" }, serviceAccount: { name: "meshward-waypoint" } },
    });
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.problems.map((p) => p.message).join()).toMatch(/reserved for meshward's objects/);
  });
});

const L7: ProfileSpecInput = {
  selector: { app: "api" },
  ingress: [
    { from: [{ service: "shop/web" }], ports: [8080], http: { methods: ["GET"], paths: ["/v1/*"] } },
    { from: [{ serviceAccount: { namespace: "monitoring", name: "prometheus" } }], ports: [9090] },
    { from: [{ namespace: "batch" }], ports: [8080, 7000] },
    { from: [{ namespace: "dns" }], protocol: "UDP", ports: [53] },
  ],
};
const WEB = profile({ selector: { app: "web" }, egress: { to: [{ service: "api", ports: [8080] }] } }, "web");

describe("ambient objects per rule", () => {
  it("an L4-only profile keeps today's selector policy and no waypoint", () => {
    const p = profile({ selector: { app: "a" }, ingress: [{ from: [{ namespace: "x" }], ports: [80] }] });
    const r = buildAmbientProfile(p, makeContext({ now: NOW }));
    const sidecarAp = buildProfile(p, makeContext({ meshMode: "ambient", now: NOW })).objects.find(
      (o) => o.kind === "AuthorizationPolicy",
    );
    expect(find(r.objects, "AuthorizationPolicy", "api")).toEqual(sidecarAp);
    expect(r.objects.map((o) => o.kind)).toEqual([
      "ServiceAccount",
      "PeerAuthentication",
      "AuthorizationPolicy",
      "NetworkPolicy",
    ]);
    expect(r.shared).toEqual([]);
    expect(r.binding).toBeUndefined();
    expect(r.problems).toEqual([]);
  });

  const ctx = makeContext({ profiles: indexProfiles([WEB]), now: NOW });
  const r = buildAmbientProfile(profile(L7), ctx);
  const wpPrincipal = `${TD}/ns/shop/sa/${NAMESPACE_WAYPOINT}`;

  it("builds the shared waypoint: Gateway istio-waypoint, listener mesh 15008 HBONE, no owner", () => {
    expect(r.shared).toHaveLength(1);
    const gw = r.shared[0] as KubeObject & { spec: unknown };
    expect(gw.metadata).toEqual({
      name: NAMESPACE_WAYPOINT,
      namespace: "shop",
      labels: {
        "app.kubernetes.io/managed-by": "meshward",
        "meshward.io/scope": "waypoint",
        "istio.io/waypoint-for": "service",
      },
    });
    expect(gw.spec).toEqual({
      gatewayClassName: "istio-waypoint",
      listeners: [{ name: "mesh", port: 15008, protocol: "HBONE" }],
    });
    expect(r.binding).toEqual({
      namespace: "shop",
      service: "api",
      label: USE_WAYPOINT_LABEL,
      value: NAMESPACE_WAYPOINT,
    });
  });

  it("a per-service waypoint is the profile's own object", () => {
    const own = buildAmbientProfile(profile({ ...L7, waypoint: { scope: "Service" } }), ctx);
    expect(own.shared).toEqual([]);
    const gw = find(own.objects, "Gateway", "meshward-waypoint-api");
    expect(gw.metadata.labels?.["meshward.io/profile"]).toBe("api");
  });

  it("attaches the L7 policy to the Service with targetRefs, with every TCP rule", () => {
    const ap = find(r.objects, "AuthorizationPolicy", "meshward-l7-api");
    expect(ap.spec.selector).toBeUndefined();
    expect(ap.spec.targetRefs).toEqual([{ group: "", kind: "Service", name: "api" }]);
    expect(ap.spec.rules).toEqual([
      {
        from: [{ source: { principals: [`${TD}/ns/shop/sa/web`] } }],
        to: [{ operation: { ports: ["8080"], methods: ["GET"], paths: ["/v1/*"] } }],
      },
      {
        from: [{ source: { principals: [`${TD}/ns/monitoring/sa/prometheus`] } }],
        to: [{ operation: { ports: ["9090"] } }],
      },
      { from: [{ source: { namespaces: ["batch"] } }], to: [{ operation: { ports: ["8080", "7000"] } }] },
    ]);
    expect(r.problems).toEqual([]);
  });

  it("admits only the waypoint on L7 ports at ztunnel, and direct L4 callers elsewhere", () => {
    const z = find(r.objects, "AuthorizationPolicy", "api");
    expect(z.spec.selector).toEqual({ matchLabels: { app: "api" } });
    expect(z.spec.rules).toEqual([
      {
        from: [{ source: { principals: [wpPrincipal] } }],
        to: [{ operation: { ports: ["8080", "9090", "7000"] } }],
      },
      {
        from: [{ source: { principals: [`${TD}/ns/monitoring/sa/prometheus`] } }],
        to: [{ operation: { ports: ["9090"] } }],
      },
      // 8080 is an L7 port: batch reaches it through the waypoint only.
      { from: [{ source: { namespaces: ["batch"] } }], to: [{ operation: { ports: ["7000"] } }] },
    ]);
    expect(JSON.stringify(z.spec)).not.toMatch(/methods|paths|requestPrincipals/);
  });

  it("drops a port-less direct rule beside L7 rules, and admits the waypoint on every port when a rule has none", () => {
    const p = profile({
      selector: { app: "api" },
      ingress: [
        { from: [{ namespace: "a" }], ports: [80], http: { methods: ["GET"] } },
        { from: [{ namespace: "b" }] },
      ],
    });
    const z = find(buildAmbientProfile(p, makeContext({ now: NOW })).objects, "AuthorizationPolicy", "api");
    expect(z.spec.rules).toEqual([{ from: [{ source: { principals: [wpPrincipal] } }] }]);
  });

  it("RequestAuthentication attaches to the Service", () => {
    const p = profile({
      selector: { app: "api" },
      requestAuthentication: { jwt: [{ issuer: "https://auth.example.com/" }] },
      ingress: [{ from: [{ namespace: "a" }], ports: [80] }],
    });
    const out = buildAmbientProfile(p, makeContext({ now: NOW }));
    const ra = find(out.objects, "RequestAuthentication", "meshward-l7-api");
    expect(ra.spec).toEqual({
      targetRefs: [{ group: "", kind: "Service", name: "api" }],
      jwtRules: [{ issuer: "https://auth.example.com/" }],
    });
    // The rule needs a token: nobody is admitted directly.
    expect(find(out.objects, "AuthorizationPolicy", "api").spec.rules).toEqual([
      { from: [{ source: { principals: [wpPrincipal] } }], to: [{ operation: { ports: ["80"] } }] },
    ]);
  });

  it("PeerAuthentication stays STRICT; Permissive is applied and says what ambient does with it", () => {
    expect(find(r.objects, "PeerAuthentication", "api").spec.mtls).toEqual({ mode: "STRICT" });
    const permissive = (spec: ProfileSpecInput) =>
      buildAmbientProfile(
        profile({
          ...spec,
          mtls: { mode: "Permissive" },
          exceptions: [
            {
              type: "PermissiveMtls",
              reason: "old client, no mTLS",
              ticket: "SEC-1",
              expires: "2026-12-01T00:00:00Z",
            },
          ],
        }),
        makeContext({ now: NOW }),
      );
    const l4 = permissive({ selector: { app: "a" }, ingress: [{ from: [{ namespace: "x" }], ports: [80] }] });
    expect(find(l4.objects, "PeerAuthentication", "api").spec.mtls).toEqual({ mode: "PERMISSIVE" });
    expect(l4.problems).toEqual([
      expect.objectContaining({
        path: "spec.mtls.mode",
        severity: "warning",
        message: expect.stringMatching(/ztunnel accepts plain text/),
      }),
    ]);
    const l7 = permissive({
      selector: { app: "a" },
      ingress: [{ from: [{ namespace: "x" }], ports: [80], http: { methods: ["GET"] } }],
    });
    expect(l7.problems.map((p) => p.message)).toEqual([expect.stringMatching(/cannot pass the waypoint/)]);
  });

  it("NetworkPolicies: HBONE from the waypoint to the pods, and the waypoint's own policy", () => {
    const np = find(r.objects, "NetworkPolicy", "api");
    const wpPods = {
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "shop" } },
      podSelector: { matchLabels: { [GATEWAY_NAME_LABEL]: NAMESPACE_WAYPOINT } },
    };
    expect(np.spec.ingress).toContainEqual({ from: [wpPods], ports: [{ protocol: "TCP", port: 15008 }] });
    const wnp = find(r.objects, "NetworkPolicy", "meshward-l7-api");
    expect(wnp.spec.podSelector).toEqual({ matchLabels: { [GATEWAY_NAME_LABEL]: NAMESPACE_WAYPOINT } });
    // In: the TCP callers only (not the UDP rule's dns namespace), on HBONE.
    expect(wnp.spec.ingress).toHaveLength(1);
    expect(wnp.spec.ingress[0].ports).toEqual([{ protocol: "TCP", port: 15008 }]);
    expect(JSON.stringify(wnp.spec.ingress)).not.toContain('"dns"');
    expect(wnp.spec.ingress[0].from).toContainEqual({
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "batch" } },
    });
    expect(wnp.spec.egress[0]).toEqual({
      to: [{ podSelector: { matchLabels: { app: "api" } } }],
      ports: [{ protocol: "TCP", port: 15008 }],
    });
    expect(wnp.spec.egress[1].ports).toEqual([{ protocol: "TCP", port: 15012 }]);
  });

  it("a caller's NetworkPolicy admits HBONE to the waypoint of a service that needs one", () => {
    const api = profile(L7);
    const out = buildAmbientProfile(WEB, makeContext({ profiles: indexProfiles([WEB, api]), now: NOW }));
    const np = find(out.objects, "NetworkPolicy", "web");
    expect(np.spec.egress).toContainEqual({
      to: [
        {
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "shop" } },
          podSelector: { matchLabels: { [GATEWAY_NAME_LABEL]: NAMESPACE_WAYPOINT } },
        },
      ],
      ports: [{ protocol: "TCP", port: 15008 }],
    });
  });
});

describe("the Service binding is reported, never written", () => {
  const b = {
    namespace: "shop",
    service: "api",
    label: USE_WAYPOINT_LABEL,
    value: NAMESPACE_WAYPOINT,
  } as const;
  it.each<[string, Record<string, string> | undefined, RegExp | undefined]>([
    ["bound", { [USE_WAYPOINT_LABEL]: NAMESPACE_WAYPOINT }, undefined],
    ["no Service", undefined, /no Service shop\/api exists .* set spec\.waypoint\.service/],
    [
      "not bound",
      {},
      /run kubectl label service --namespace shop api istio\.io\/use-waypoint=meshward-waypoint$/,
    ],
    [
      "another waypoint",
      { [USE_WAYPOINT_LABEL]: "theirs" },
      /uses waypoint theirs.*=meshward-waypoint --overwrite/,
    ],
  ])("%s", (_n, labels, want) => {
    const p = checkBinding(b, labels);
    if (want === undefined) expect(p).toBeUndefined();
    else expect(p?.message).toMatch(want);
  });
});

// ---------------------------------------------------------------------------------------------
// Never more than sidecars: every request the ambient objects let through (through the waypoint:
// the waypoint's policy for the caller, then ztunnel's for the waypoint; or directly: ztunnel's for
// the caller) is one the sidecar's policy allows. Exhaustive over a small domain per profile.

type Ap = KubeObject & { spec: Record<string, unknown> };

function asSelected(ap: Ap, selector: Record<string, string>): Ap {
  const { targetRefs: _t, ...rest } = ap.spec;
  return { ...ap, spec: { selector: { matchLabels: selector }, ...rest } };
}

function requests(p: Profile, callers: Peer[]): IngressRequest[] {
  const ports = new Set<number>([1, 15008]);
  const methods = new Set(["GET", "POST", "DELETE"]);
  const paths = new Set(["/", "/other"]);
  for (const r of p.spec.ingress ?? []) {
    for (const port of r.ports ?? []) ports.add(port);
    for (const m of r.http?.methods ?? []) methods.add(m);
    for (const x of r.http?.paths ?? []) paths.add(x.replace(/\*$/, "x").replace(/^\*/, "/x"));
  }
  const https: (IngressRequest["http"] | undefined)[] = [undefined];
  for (const method of methods) for (const x of paths) https.push({ method, path: x });
  const jwts = [undefined, { issuer: "https://auth.example.com/", subject: "u" }];
  const out: IngressRequest[] = [];
  for (const source of callers)
    for (const port of ports)
      for (const http of https)
        for (const jwt of jwts)
          for (const mtls of source.kind === "pod" ? [true, false] : [false])
            out.push({
              source,
              destination: p.spec.selector,
              protocol: "TCP",
              port,
              mtls,
              ...(http && { http }),
              ...(jwt && { jwt }),
            });
  return out;
}

const CALLERS: Peer[] = [
  ...fleet.map((p): Peer => ({
    kind: "pod",
    namespace: p.metadata.namespace,
    labels: p.spec.selector,
    serviceAccount: p.spec.serviceAccount?.name ?? p.metadata.name,
  })),
  { kind: "pod", namespace: "monitoring", labels: { app: "prometheus" }, serviceAccount: "prometheus" },
  { kind: "pod", namespace: "ingress-gateways", labels: { app: "gw" }, serviceAccount: "gw" },
  { kind: "pod", namespace: "batch", labels: { app: "job" }, serviceAccount: "job" },
  { kind: "pod", namespace: "shop", labels: { app: "web" }, serviceAccount: "web" },
  { kind: "ip", ip: "10.9.9.9" },
];

const TABLE: Profile[] = [
  profile(L7),
  profile({
    ...L7,
    ingress: (L7.ingress ?? []).slice(0, 3),
    requestAuthentication: { jwt: [{ issuer: "https://auth.example.com/" }], requireToken: true },
  }),
  profile({
    selector: { app: "api" },
    requestAuthentication: { jwt: [{ issuer: "https://auth.example.com/" }], requireToken: true },
    ingress: [
      { from: [{ namespace: "batch" }], ports: [8080] },
      {
        from: [{ serviceAccount: { namespace: "monitoring", name: "prometheus" } }],
        ports: [9090],
        requireToken: false,
      },
    ],
  }),
  profile({
    selector: { app: "api" },
    mtls: { mode: "Permissive" },
    exceptions: [
      {
        type: "PermissiveMtls",
        reason: "old client, no mTLS",
        ticket: "SEC-1",
        expires: "2026-12-01T00:00:00Z",
      },
    ],
    ingress: [
      { from: [{ namespace: "batch" }], ports: [8080], http: { paths: ["/v1/*"] } },
      { from: [{ namespace: "batch" }], ports: [7000] },
    ],
  }),
  profile({
    selector: { app: "api" },
    ingress: [
      { from: [{ namespace: "batch" }], http: { methods: ["GET"] } },
      { from: [{ namespace: "shop" }] },
    ],
  }),
];

/**
 * What the sidecar policy and the ambient objects decide for a request: through the waypoint (its
 * policy for the caller, then ztunnel's for the waypoint's identity), or directly (ztunnel's).
 */
function verdicts(p: Profile, ctx: BuildContext) {
  const sidecarAp = buildProfile(p, { ...ctx, meshMode: "sidecar" }).objects.find(
    (o) => o.kind === "AuthorizationPolicy",
  ) as Ap;
  const ambient = buildAmbientProfile(p, ctx);
  const ztunnel = find(ambient.objects, "AuthorizationPolicy", p.metadata.name) as Ap;
  const l7 = ambient.objects.find(
    (o) => o.kind === "AuthorizationPolicy" && o.metadata.name !== p.metadata.name,
  ) as Ap | undefined;
  const wp = waypointOf(p, ctx.trustDomain);
  const td = ctx.trustDomain;
  const viaWaypoint = (req: IngressRequest) =>
    l7 !== undefined &&
    req.mtls &&
    authorizationPolicyAllows(asSelected(l7, p.spec.selector), req, td) &&
    authorizationPolicyAllows(
      ztunnel,
      {
        source: {
          kind: "pod",
          namespace: p.metadata.namespace,
          labels: { [GATEWAY_NAME_LABEL]: wp.name },
          serviceAccount: wp.name,
        },
        destination: req.destination,
        protocol: req.protocol,
        port: req.port,
        mtls: true,
      },
      td,
    );
  // ztunnel sees bytes, not HTTP: a direct request is judged without its method, path or token.
  const direct = (req: IngressRequest) =>
    authorizationPolicyAllows(
      ztunnel,
      {
        source: req.source,
        destination: req.destination,
        protocol: req.protocol,
        port: req.port,
        mtls: req.mtls,
      },
      td,
    );
  return {
    l7,
    sidecar: (req: IngressRequest) => authorizationPolicyAllows(sidecarAp, req, td),
    ambient: (req: IngressRequest) => viaWaypoint(req) || direct(req),
    direct,
  };
}

describe("the ambient output never allows more than the sidecar output", () => {
  const cases = [...fleet, ...TABLE].map(
    (p, i) => [`${p.metadata.namespace}/${p.metadata.name} (#${i})`, p] as const,
  );
  it.each(cases)("%s", (_n, p) => {
    const ctx = makeContext({ trustDomain: TD, profiles: indexProfiles([...fleet, WEB, p]), now: NOW });
    const v = verdicts(p, ctx);
    let allowed = 0;
    for (const req of requests(p, CALLERS)) {
      const amb = v.ambient(req);
      if (amb) allowed++;
      if (amb) expect(v.sidecar(req), JSON.stringify(req)).toBe(true);
    }
    // Not vacuous: a profile with callers lets some of them through.
    if ((p.spec.ingress ?? []).length > 0) expect(allowed).toBeGreaterThan(0);
    // Anti-bypass: no caller reaches an L7 port directly.
    if (v.l7) {
      const l7Ports = (p.spec.ingress ?? [])
        .filter(
          (r) =>
            r.http ||
            (p.spec.requestAuthentication && (r.requireToken ?? p.spec.requestAuthentication.requireToken)),
        )
        .flatMap((r) => r.ports ?? [1, 8080, 9090, 7000]);
      for (const req of requests(p, CALLERS).filter((q) => l7Ports.includes(q.port)))
        expect(v.direct(req), JSON.stringify(req)).toBe(false);
    }
  });

  // Generated profiles (the fuzzer's arbitraries) and sampled requests (its request pools).
  const RUNS = Number(process.env.FUZZ_RUNS ?? 1_000);
  it(`holds for ${RUNS} generated profiles`, { timeout: 300_000 }, () => {
    const platform: Platform = {
      trustDomain: TD,
      meshMode: "ambient",
      now: NOW,
      maxExceptionDays: DEFAULT_PLATFORM.maxExceptionDays,
      dns: DEFAULT_PLATFORM.dns,
      istiod: DEFAULT_PLATFORM.istiod,
    };
    let l7Profiles = 0;
    let admitted = 0;
    fc.assert(
      fc.property(
        world,
        rawProfile(0),
        fc.option(fc.constantFrom("Namespace" as const, "Service" as const)),
        fc.integer(),
        (others, subject, scope, seed) => {
          const profiles = new Map<string, Profile>();
          for (const w of others) {
            const r = validateProfile({
              apiVersion: "meshward.io/v1alpha1",
              kind: "ServiceSecurityProfile",
              metadata: { name: w.name, namespace: w.namespace },
              spec: w.spec,
            });
            if (r.ok) profiles.set(`${w.namespace}/${w.name}`, r.profile);
          }
          const raw = subject.raw as { spec: Record<string, unknown> };
          const v0 = validateProfile(scope ? { ...raw, spec: { ...raw.spec, waypoint: { scope } } } : raw);
          if (!v0.ok) return;
          const p = v0.profile;
          profiles.set(`${p.metadata.namespace}/${p.metadata.name}`, p);
          const v = verdicts(p, makeContext({ trustDomain: TD, profiles, now: NOW }));
          if (v.l7) l7Profiles++;
          for (const req of ingressRequests(p, profiles, platform, prng(seed), 48)) {
            if (!v.ambient(req)) continue;
            admitted++;
            if (!v.sidecar(req))
              throw new Error(
                `ambient admits what the sidecar denies: ${JSON.stringify({ spec: p.spec, req })}`,
              );
          }
        },
      ),
      { numRuns: RUNS },
    );
    // Not vacuous: the generator reaches profiles with waypoints, and requests get through.
    expect(l7Profiles).toBeGreaterThan(RUNS / 20);
    expect(admitted).toBeGreaterThan(0);
  });
});
