import { describe, expect, it } from "vitest";
import type { ProfileSpecInput } from "../api/schema.ts";
import { validateProfile } from "../api/validate.ts";
import {
  buildNamespace,
  buildProfile,
  DEFAULT_PLATFORM,
  indexProfiles,
  type KubeObject,
  makeContext,
} from "./index.ts";

const NOW = new Date("2026-11-20T00:00:00Z");

function profile(name: string, namespace: string, spec: ProfileSpecInput, uid?: string) {
  const r = validateProfile({
    apiVersion: "meshward.io/v1alpha1",
    kind: "ServiceSecurityProfile",
    metadata: {
      name,
      namespace,
      ...(uid && { uid }),
      labels: { "app.kubernetes.io/instance": "argo-app" },
      annotations: { "argocd.argoproj.io/tracking-id": "x" },
    },
    spec,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.profile;
}

function find(objects: KubeObject[], kind: string, name?: string): KubeObject {
  const o = objects.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
  if (!o) throw new Error(`no ${kind} ${name ?? ""}`);
  return o;
}

const caller = profile("checkout-api", "checkout", {
  selector: { app: "checkout" },
  serviceAccount: { name: "checkout-sa" },
});

describe("builders", () => {
  it("denies everything when no ingress is listed (ALLOW policy without rules)", () => {
    const p = profile("lonely", "ns", { selector: { app: "lonely" } });
    const { objects } = buildProfile(p, makeContext({ now: NOW }));
    const ap = find(objects, "AuthorizationPolicy");
    expect(ap.spec).toEqual({ selector: { matchLabels: { app: "lonely" } }, action: "ALLOW" });
    const np = find(objects, "NetworkPolicy") as KubeObject & { spec: { ingress: unknown[] } };
    expect(np.spec.ingress).toEqual([]);
  });

  it("turns service references into the callee's principal and pod selector", () => {
    const p = profile("payments", "payments", {
      selector: { app: "payments" },
      ingress: [
        {
          from: [{ service: "checkout/checkout-api" }, { namespace: "gw" }],
          ports: [8080],
          http: { methods: ["POST"], paths: ["/v1/*"] },
        },
      ],
    });
    const ctx = makeContext({ now: NOW, trustDomain: "td.example", profiles: indexProfiles([caller, p]) });
    const { objects, problems } = buildProfile(p, ctx);
    expect(problems).toEqual([]);
    const ap = find(objects, "AuthorizationPolicy") as KubeObject & { spec: { rules: unknown[] } };
    expect(ap.spec.rules).toEqual([
      {
        from: [
          { source: { principals: ["td.example/ns/checkout/sa/checkout-sa"] } },
          { source: { namespaces: ["gw"] } },
        ],
        to: [{ operation: { ports: ["8080"], methods: ["POST"], paths: ["/v1/*"] } }],
      },
    ]);
    const np = find(objects, "NetworkPolicy") as KubeObject & { spec: { ingress: unknown[] } };
    expect(np.spec.ingress).toEqual([
      {
        from: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "checkout" } },
            podSelector: { matchLabels: { app: "checkout" } },
          },
          { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "gw" } } },
        ],
        ports: [{ protocol: "TCP", port: 8080 }],
      },
    ]);
  });

  it("reports an unresolved reference with its field path and fails closed", () => {
    const p = profile("payments", "payments", {
      selector: { app: "payments" },
      ingress: [{ from: [{ service: "ghost" }] }],
      egress: { to: [{ service: "x/y" }] },
    });
    const { objects, problems } = buildProfile(p, makeContext({ now: NOW }));
    expect(problems.map((x) => x.path)).toEqual([
      "spec.ingress[0].from[0].service",
      "spec.egress.to[0].service",
    ]);
    expect(problems[0]?.message).toContain("payments/ghost");
    expect((find(objects, "AuthorizationPolicy").spec as { rules?: unknown }).rules).toBeUndefined();
    const np = find(objects, "NetworkPolicy").spec as { ingress: unknown[]; egress: unknown[] };
    expect(np.ingress).toEqual([]);
    expect(np.egress).toHaveLength(2); // DNS and istiod only
  });

  it("requires a request principal from the listed issuers when requireToken is set", () => {
    const p = profile("edge", "edge", {
      selector: { app: "edge" },
      ingress: [{ from: [{ namespace: "gw" }] }],
      requestAuthentication: { jwt: [{ issuer: "https://a.example", jwksUri: "https://a.example/jwks" }] },
    });
    const { objects } = buildProfile(p, makeContext({ now: NOW }));
    const ap = find(objects, "AuthorizationPolicy").spec as { rules: { from: { source: unknown }[] }[] };
    expect(ap.rules[0]?.from).toEqual([
      { source: { namespaces: ["gw"], requestPrincipals: ["https://a.example/*"] } },
    ]);
    expect(find(objects, "RequestAuthentication").spec).toEqual({
      selector: { matchLabels: { app: "edge" } },
      jwtRules: [{ issuer: "https://a.example", jwksUri: "https://a.example/jwks" }],
    });
  });

  it("lets one ingress rule waive the token (requireToken: false) while the others keep it", () => {
    const p = profile("edge", "edge", {
      selector: { app: "edge" },
      ingress: [
        { from: [{ namespace: "gw" }] },
        {
          from: [{ serviceAccount: { namespace: "monitoring", name: "prometheus" } }],
          ports: [9090],
          requireToken: false,
        },
        { from: [{ namespace: "batch" }], requireToken: true },
      ],
      requestAuthentication: { jwt: [{ issuer: "https://a.example" }], requireToken: false },
    });
    const { objects } = buildProfile(p, makeContext({ now: NOW }));
    const ap = find(objects, "AuthorizationPolicy").spec as { rules: { from: { source: unknown }[] }[] };
    expect(ap.rules.map((r) => r.from)).toEqual([
      [{ source: { namespaces: ["gw"] } }],
      [{ source: { principals: ["cluster.local/ns/monitoring/sa/prometheus"] } }],
      [{ source: { namespaces: ["batch"], requestPrincipals: ["https://a.example/*"] } }],
    ]);
  });

  it("honours PermissiveMtls only while unexpired and schedules the expiry", () => {
    const spec: ProfileSpecInput = {
      selector: { app: "legacy" },
      mtls: { mode: "Permissive" },
      exceptions: [
        {
          type: "PermissiveMtls",
          reason: "old client migrating",
          ticket: "SEC-1",
          expires: "2026-12-01T00:00:00Z",
        },
      ],
    };
    const p = profile("legacy", "legacy", spec);
    const before = buildProfile(p, makeContext({ now: NOW }));
    expect((find(before.objects, "PeerAuthentication").spec as { mtls: unknown }).mtls).toEqual({
      mode: "PERMISSIVE",
    });
    expect(before.nextChange?.toISOString()).toBe("2026-12-01T00:00:00.000Z");
    expect(before.exceptions[0]?.state).toBe("Active");
    const after = buildProfile(p, makeContext({ now: new Date("2026-12-01T00:00:00Z") }));
    expect((find(after.objects, "PeerAuthentication").spec as { mtls: unknown }).mtls).toEqual({
      mode: "STRICT",
    });
    expect(after.nextChange).toBeUndefined();
    expect(after.exceptions[0]?.state).toBe("Expired");
  });

  it("puts the AuthorizationPolicy in dry-run under an active AuditOnly exception", () => {
    const p = profile("a", "ns", {
      selector: { app: "a" },
      exceptions: [
        { type: "AuditOnly", reason: "rolling out slowly", ticket: "SEC-2", expires: "2026-12-01T00:00:00Z" },
      ],
    });
    expect(
      find(buildProfile(p, makeContext({ now: NOW })).objects, "AuthorizationPolicy").metadata.annotations,
    ).toEqual({ "istio.io/dry-run": "true" });
    expect(
      find(
        buildProfile(p, makeContext({ now: new Date("2027-01-01T00:00:00Z") })).objects,
        "AuthorizationPolicy",
      ).metadata.annotations,
    ).toBeUndefined();
  });

  it("allows DNS and istiod egress by default, and nothing but them", () => {
    const p = profile("a", "ns", { selector: { app: "a" } });
    const egress = (
      find(buildProfile(p, makeContext({ now: NOW })).objects, "NetworkPolicy").spec as {
        egress: { ports: unknown[] }[];
      }
    ).egress;
    expect(egress.map((e) => e.ports)).toEqual([
      [
        { protocol: "UDP", port: 53 },
        { protocol: "TCP", port: 53 },
      ],
      [{ protocol: "TCP", port: 15012 }],
    ]);
    const noDns = profile("b", "ns", { selector: { app: "b" }, egress: { dns: false } });
    const e2 = (
      find(buildProfile(noDns, makeContext({ now: NOW, meshMode: "ambient" })).objects, "NetworkPolicy")
        .spec as { egress: unknown[] }
    ).egress;
    expect(e2).toEqual([]);
  });

  it("adds HBONE and the probe address in ambient mode", () => {
    const p = profile("a", "ns", {
      selector: { app: "a" },
      ingress: [{ from: [{ namespace: "gw" }], ports: [8080] }],
    });
    const np = find(buildProfile(p, makeContext({ now: NOW, meshMode: "ambient" })).objects, "NetworkPolicy")
      .spec as { ingress: unknown[] };
    expect(np.ingress).toEqual([
      {
        from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "gw" } } }],
        ports: [
          { protocol: "TCP", port: 8080 },
          { protocol: "TCP", port: 15008 },
        ],
      },
      { from: [{ ipBlock: { cidr: "169.254.7.127/32" } }] },
    ]);
  });

  it("labels every object as ours, owns it by the profile, and copies no Argo CD tracking metadata", () => {
    const p = profile(
      "a",
      "ns",
      {
        selector: { app: "a" },
        secrets: [
          { name: "db", storeRef: { name: "vault" }, data: [{ secretKey: "k", remoteRef: { key: "r" } }] },
        ],
      },
      "uid-1",
    );
    const { objects } = buildProfile(p, makeContext({ now: NOW }));
    expect(objects.map((o) => o.kind)).toEqual([
      "ServiceAccount",
      "PeerAuthentication",
      "AuthorizationPolicy",
      "NetworkPolicy",
      "ExternalSecret",
    ]);
    for (const o of objects) {
      expect(o.metadata.namespace).toBe("ns");
      expect(o.metadata.labels).toEqual({
        "app.kubernetes.io/managed-by": "meshward",
        "meshward.io/profile": "a",
      });
      expect(JSON.stringify(o.metadata)).not.toContain("argo");
      expect(o.metadata.ownerReferences).toEqual([
        {
          apiVersion: "meshward.io/v1alpha1",
          kind: "ServiceSecurityProfile",
          name: "a",
          uid: "uid-1",
          controller: true,
        },
      ]);
    }
    expect(find(objects, "ExternalSecret").spec).toEqual({
      secretStoreRef: { kind: "ClusterSecretStore", name: "vault" },
      refreshInterval: "1h",
      target: { name: "db", creationPolicy: "Owner" },
      data: [{ secretKey: "k", remoteRef: { key: "r" } }],
    });
  });

  it("admits every TCP port, and no UDP or SCTP, when a rule lists no ports (found by the fuzzer)", () => {
    const p = profile("a", "ns", {
      selector: { app: "a" },
      ingress: [{ from: [{ namespace: "gw" }] }, { from: [{ namespace: "mon" }], ports: [] }],
      egress: { dns: false, to: [{ cidr: "192.168.1.0/24" }, { service: "a" }] },
    });
    for (const meshMode of ["sidecar", "ambient"] as const) {
      const ctx = makeContext({ now: NOW, meshMode, profiles: indexProfiles([p]) });
      const np = find(buildProfile(p, ctx).objects, "NetworkPolicy").spec as {
        ingress: { from: { ipBlock?: unknown }[]; ports?: unknown }[];
        egress: { ports?: unknown }[];
      };
      const tcp = [{ protocol: "TCP" }];
      const ingress = np.ingress.filter((r) => r.from[0]?.ipBlock === undefined);
      expect(ingress.map((r) => r.ports)).toEqual([tcp, tcp]);
      // After istiod's rule in sidecar mode: the CIDR and the service.
      expect(np.egress.slice(-2).map((r) => r.ports)).toEqual([tcp, tcp]);
    }
  });

  it("gives UDP and SCTP rules to the NetworkPolicy only, with their protocol", () => {
    const p = profile("syslog", "logs", {
      selector: { app: "syslog" },
      ingress: [
        { from: [{ service: "checkout/checkout-api" }], protocol: "UDP", ports: [514] },
        { from: [{ namespace: "gw" }], ports: [8080] },
        { from: [{ namespace: "telecom" }], protocol: "SCTP" },
      ],
      egress: {
        dns: false,
        to: [
          { cidr: "10.30.0.0/24", protocol: "UDP", ports: [514] },
          { service: "checkout/checkout-api", protocol: "UDP", ports: [8125] },
          { service: "checkout/checkout-api", ports: [8080] },
        ],
      },
    });
    const rules = (meshMode: "sidecar" | "ambient") => {
      const ctx = makeContext({ now: NOW, meshMode, profiles: indexProfiles([caller, p]) });
      const { objects, problems } = buildProfile(p, ctx);
      expect(problems).toEqual([]);
      const np = find(objects, "NetworkPolicy").spec as {
        ingress: { from: { ipBlock?: unknown }[]; ports?: unknown }[];
        egress: { ports?: unknown }[];
      };
      const ap = find(objects, "AuthorizationPolicy").spec as { rules: unknown[] };
      return {
        ingress: np.ingress.filter((r) => r.from[0]?.ipBlock === undefined).map((r) => r.ports),
        egress: np.egress.slice(-3).map((r) => r.ports),
        ap: ap.rules,
      };
    };
    const sidecar = rules("sidecar");
    expect(sidecar.ingress).toEqual([
      [{ protocol: "UDP", port: 514 }],
      [{ protocol: "TCP", port: 8080 }],
      [{ protocol: "SCTP" }],
    ]);
    expect(sidecar.egress).toEqual([
      [{ protocol: "UDP", port: 514 }],
      [{ protocol: "UDP", port: 8125 }],
      [{ protocol: "TCP", port: 8080 }],
    ]);
    // Istio authorizes TCP only: the UDP and SCTP rules leave no trace (no port 514 over TCP).
    expect(sidecar.ap).toEqual([
      { from: [{ source: { namespaces: ["gw"] } }], to: [{ operation: { ports: ["8080"] } }] },
    ]);
    // Ambient: ztunnel tunnels TCP only, so HBONE joins the TCP entries and nothing else.
    const ambient = rules("ambient");
    expect(ambient.ingress).toEqual([
      [{ protocol: "UDP", port: 514 }],
      [
        { protocol: "TCP", port: 8080 },
        { protocol: "TCP", port: 15008 },
      ],
      [{ protocol: "SCTP" }],
    ]);
    expect(ambient.egress).toEqual([
      [{ protocol: "UDP", port: 514 }],
      [{ protocol: "UDP", port: 8125 }],
      [
        { protocol: "TCP", port: 8080 },
        { protocol: "TCP", port: 15008 },
      ],
    ]);
  });

  it("reports an unresolved reference in a UDP rule, which allows nothing", () => {
    const p = profile("syslog", "logs", {
      selector: { app: "syslog" },
      ingress: [{ from: [{ service: "nowhere/ghost" }], protocol: "UDP", ports: [514] }],
    });
    const { objects, problems } = buildProfile(p, makeContext({ now: NOW, profiles: indexProfiles([p]) }));
    expect(problems.map((x) => x.path)).toEqual(["spec.ingress[0].from[0].service"]);
    expect((find(objects, "NetworkPolicy").spec as { ingress: unknown[] }).ingress).toEqual([]);
    expect(find(objects, "AuthorizationPolicy").spec).toEqual({
      selector: { matchLabels: { app: "syslog" } },
      action: "ALLOW",
    });
  });

  it("turns on access logs with a Telemetry when the profile or the platform asks, in sidecar mode", () => {
    const spec = { selector: { app: "pay" } };
    const telemetry = (s: ProfileSpecInput, ctx: Parameters<typeof makeContext>[0]) =>
      buildProfile(profile("pay", "pay", s, "uid-1"), makeContext({ now: NOW, ...ctx })).objects.filter(
        (o) => o.kind === "Telemetry",
      );
    expect(telemetry(spec, {})).toEqual([]);
    expect(telemetry({ ...spec, audit: { accessLogs: "Disabled" } }, {})).toEqual([]);
    const [t] = telemetry({ ...spec, audit: { accessLogs: "Enabled" } }, {});
    expect(t).toMatchObject({
      apiVersion: "telemetry.istio.io/v1",
      kind: "Telemetry",
      metadata: { name: "pay", namespace: "pay", ownerReferences: [{ uid: "uid-1", controller: true }] },
      spec: {
        selector: { matchLabels: { app: "pay" } },
        accessLogging: [{ providers: [{ name: "envoy" }] }],
      },
    });
    // The platform default applies to profiles that say nothing, and a profile's own word wins.
    const enabled = { defaults: { ...DEFAULT_PLATFORM, accessLogs: "Enabled" as const } };
    expect(telemetry(spec, enabled)).toHaveLength(1);
    expect(telemetry({ ...spec, audit: { accessLogs: "Disabled" } }, enabled)).toEqual([]);
    expect(telemetry({ ...spec, audit: {} }, enabled)).toHaveLength(1);
    // Ambient: no proxy of the pod reads a selector-based Telemetry (docs/audit.md).
    expect(telemetry({ ...spec, audit: { accessLogs: "Enabled" } }, { meshMode: "ambient" })).toEqual([]);
  });

  it("keeps one shared default deny per namespace, and none without profiles", () => {
    expect(buildNamespace("ns", 0)).toEqual([]);
    const [deny] = buildNamespace("ns", 200);
    expect(deny?.metadata.name).toBe("meshward-default-deny");
    expect(deny?.metadata.ownerReferences).toBeUndefined();
    expect(deny?.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
  });
});
