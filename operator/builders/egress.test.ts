// Egress by host (operator/builders/egress.ts): the ServiceEntries, the Sidecar and the NetworkPolicy
// egress path for each data plane, as tables, and golden files of examples/egress in both modes.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import type { ProfileSpecInput } from "../api/schema.ts";
import { profile as fixtureProfile } from "../../test-support/fixtures/policy.ts";
import { loadProfiles } from "../cli/load.ts";
import { render } from "../cli/render.ts";
import { buildAmbientProfile } from "./ambient.ts";
import { declaredHosts, serviceEntryName } from "./egress.ts";
import {
  buildProfile,
  DEFAULT_PLATFORM,
  indexProfiles,
  type KubeObject,
  makeContext,
  type MeshMode,
} from "./index.ts";

const NOW = new Date("2026-11-20T00:00:00Z");
const GOLDEN = path.join(import.meta.dirname, "testdata");
const EXAMPLE = path.resolve(import.meta.dirname, "../../examples/egress");

/** A validated profile (test-support/fixtures), api in shop unless named. */
function profile(spec: ProfileSpecInput, name = "api", namespace = "shop") {
  return fixtureProfile(`${namespace}/${name}`, spec);
}

function build(spec: ProfileSpecInput, meshMode: MeshMode) {
  const p = profile(spec);
  const orders = profile({ selector: { app: "orders" } }, "orders-api", "orders");
  return buildProfile(p, makeContext({ meshMode, now: NOW, profiles: indexProfiles([p, orders]) }));
}

function ofKind(objects: KubeObject[], kind: string): KubeObject[] {
  return objects.filter((o) => o.kind === kind);
}

type Spec = Record<string, unknown>;
const specOf = (o: KubeObject | undefined) => (o as { spec: Spec } | undefined)?.spec;

describe("ServiceEntries", () => {
  it.each([
    ["api.stripe.com", [443], undefined, "DNS", [{ number: 443, name: "tls-443", protocol: "TLS" }]],
    ["*.googleapis.com", [443], "TLS", "NONE", [{ number: 443, name: "tls-443", protocol: "TLS" }]],
    ["status.example.com", [80], "HTTP", "DNS", [{ number: 80, name: "http-80", protocol: "HTTP" }]],
    ["api.example.com", [8443], "HTTPS", "DNS", [{ number: 8443, name: "https-8443", protocol: "HTTPS" }]],
    ["db.example.com", [5432], "TCP", "DNS", [{ number: 5432, name: "tcp-5432", protocol: "TCP" }]],
  ] as const)("%s %j %s: resolution %s", (host, ports, protocol, resolution, sePorts) => {
    for (const mode of ["sidecar", "ambient"] as const) {
      const r = build(
        { selector: { app: "api" }, egress: { to: [{ host, ports: [...ports], protocol }] } },
        mode,
      );
      expect(r.problems).toEqual([]);
      const [se, ...more] = ofKind(r.objects, "ServiceEntry");
      expect(more).toEqual([]);
      expect(se?.metadata.name).toBe(serviceEntryName("api", host));
      expect(specOf(se)).toMatchObject({
        hosts: [host],
        location: "MESH_EXTERNAL",
        resolution,
        ports: sePorts,
      });
    }
  });

  it("exports to the profile's namespace only in sidecar mode; in ambient also to the egress waypoint's", () => {
    const spec = { selector: { app: "api" }, egress: { to: [{ host: "api.stripe.com", ports: [443] }] } };
    const sidecar = ofKind(build(spec, "sidecar").objects, "ServiceEntry")[0];
    expect(specOf(sidecar)?.exportTo).toEqual(["."]);
    expect(sidecar?.metadata.labels).not.toHaveProperty("istio.io/use-waypoint");
    const ambient = ofKind(build(spec, "ambient").objects, "ServiceEntry")[0];
    expect(specOf(ambient)?.exportTo).toEqual([".", "istio-egress"]);
    expect(ambient?.metadata.labels).toMatchObject({
      "istio.io/use-waypoint": "waypoint",
      "istio.io/use-waypoint-namespace": "istio-egress",
    });
  });

  it("merges the ports of entries naming the same host, and warns on a port with two protocols", () => {
    const p = profile({
      selector: { app: "api" },
      egress: {
        to: [
          { host: "api.stripe.com", ports: [443] },
          { host: "api.stripe.com", ports: [80, 443], protocol: "HTTP" },
        ],
      },
    });
    const problems: { path: string; message: string }[] = [];
    expect(declaredHosts(p, problems)).toEqual([
      {
        host: "api.stripe.com",
        entries: [0, 1],
        ports: [
          { port: 80, protocol: "HTTP" },
          { port: 443, protocol: "TLS" },
        ],
      },
    ]);
    expect(problems).toEqual([
      expect.objectContaining({ path: "spec.egress.to[1].protocol", severity: "warning" }),
    ]);
    expect(problems[0]?.message).toContain("api.stripe.com port 443 is declared as TLS");
  });

  it("names each host's ServiceEntry apart, wildcards too, and hashes names that would be too long", () => {
    expect(serviceEntryName("api", "api.stripe.com")).toBe("api-egress.api.stripe.com");
    expect(serviceEntryName("api", "*.stripe.com")).toBe("api-egress-any.stripe.com");
    expect(serviceEntryName("api", "any.stripe.com")).toBe("api-egress.any.stripe.com");
    const long = `${"a".repeat(60)}.${"b".repeat(60)}.${"c".repeat(60)}.${"d".repeat(60)}.io`;
    const name = serviceEntryName("a-profile-name", long);
    expect(name).toMatch(/^a-profile-name-egress-[0-9a-f]{16}$/);
    expect(serviceEntryName("a-profile-name", `${long.slice(0, -3)}.de`)).not.toBe(name);
  });

  it("builds nothing for a profile without host entries", () => {
    for (const mode of ["sidecar", "ambient"] as const) {
      const r = build(
        {
          selector: { app: "api" },
          egress: { to: [{ cidr: "10.0.0.0/8" }, { service: "orders/orders-api" }] },
        },
        mode,
      );
      expect(ofKind(r.objects, "ServiceEntry")).toEqual([]);
      expect(ofKind(r.objects, "Sidecar")).toEqual([]);
    }
  });
});

describe("the ambient builder (waypoints for L7 rules)", () => {
  it("builds the same egress objects as buildProfile in ambient mode, also beside a waypoint", () => {
    for (const http of [undefined, { methods: ["GET" as const] }]) {
      const p = profile({
        selector: { app: "api" },
        ingress: [{ from: [{ namespace: "shop" }], ports: [8080], ...(http && { http }) }],
        egress: { to: [{ host: "api.stripe.com", ports: [443] }] },
      });
      const ctx = makeContext({ meshMode: "ambient", now: NOW, profiles: indexProfiles([p]) });
      const egressOf = (objects: KubeObject[]) =>
        objects.filter((o) => o.kind === "ServiceEntry" || o.kind === "Sidecar");
      const ambient = buildAmbientProfile(p, ctx);
      expect(egressOf(ambient.objects)).toEqual(egressOf(buildProfile(p, ctx).objects));
      expect(egressOf(ambient.objects).map((o) => o.kind)).toEqual(["ServiceEntry"]);
      const np = ambient.objects.find((o) => o.kind === "NetworkPolicy" && o.metadata.name === "api");
      expect(JSON.stringify(specOf(np)?.egress)).toContain("istio-egress");
    }
  });
});

describe("Sidecar", () => {
  it("sidecar mode: REGISTRY_ONLY for the profile's pods, with the namespaces it calls", () => {
    const r = build(
      {
        selector: { app: "api", tier: "web" },
        egress: {
          to: [
            { host: "api.stripe.com", ports: [443] },
            { service: "orders/orders-api", ports: [8080] },
          ],
        },
      },
      "sidecar",
    );
    const [sidecar, ...more] = ofKind(r.objects, "Sidecar");
    expect(more).toEqual([]);
    expect(sidecar?.metadata.name).toBe("api");
    expect(specOf(sidecar)).toEqual({
      workloadSelector: { labels: { app: "api", tier: "web" } },
      outboundTrafficPolicy: { mode: "REGISTRY_ONLY" },
      egress: [{ hosts: ["./*", "istio-system/*", "orders/*"] }],
    });
  });

  it("ambient mode: none (no proxy in the pod reads it)", () => {
    const r = build(
      { selector: { app: "api" }, egress: { to: [{ host: "api.stripe.com", ports: [443] }] } },
      "ambient",
    );
    expect(ofKind(r.objects, "Sidecar")).toEqual([]);
  });

  it("warns that a TCP cidr entry is refused by the sidecar beside host entries", () => {
    const r = build(
      {
        selector: { app: "api" },
        egress: {
          to: [
            { host: "api.stripe.com", ports: [443] },
            { cidr: "10.20.0.0/16", ports: [5432] },
            { cidr: "10.30.0.0/16", ports: [514], protocol: "UDP" },
          ],
        },
      },
      "sidecar",
    );
    expect(r.problems).toEqual([
      expect.objectContaining({ path: "spec.egress.to[1].cidr", severity: "warning" }),
    ]);
    expect(r.problems[0]?.message).toContain("REGISTRY_ONLY");
  });
});

describe("NetworkPolicy egress path", () => {
  const spec = {
    selector: { app: "api" },
    egress: {
      to: [
        { host: "api.stripe.com", ports: [443] },
        { host: "status.example.com", ports: [80, 443], protocol: "HTTP" as const },
      ],
    },
  };
  const egressOf = (mode: MeshMode) =>
    (specOf(ofKind(build(spec, mode).objects, "NetworkPolicy")[0])?.egress ?? []) as Spec[];

  it("sidecar mode: addresses outside the cluster's ranges, on the declared ports only", () => {
    const rules = egressOf("sidecar");
    const host = rules.filter((r) => JSON.stringify(r).includes("0.0.0.0/0"));
    expect(host).toEqual([
      {
        to: [
          {
            ipBlock: {
              cidr: "0.0.0.0/0",
              except: DEFAULT_PLATFORM.egress.clusterCidrs.filter((c) => !c.includes(":")),
            },
          },
          {
            ipBlock: {
              cidr: "::/0",
              except: DEFAULT_PLATFORM.egress.clusterCidrs.filter((c) => c.includes(":")),
            },
          },
        ],
        ports: [
          { protocol: "TCP", port: 80 },
          { protocol: "TCP", port: 443 },
        ],
      },
    ]);
    // Never every port: each rule that reaches beyond the cluster names its ports.
    for (const r of rules) expect((r.ports as unknown[]).length).toBeGreaterThan(0);
  });

  it("ambient mode: HBONE to the egress waypoint's pods only, never the internet", () => {
    const rules = egressOf("ambient");
    expect(JSON.stringify(rules)).not.toContain("0.0.0.0/0");
    expect(rules).toContainEqual({
      to: [
        {
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "istio-egress" } },
          podSelector: { matchLabels: { "gateway.networking.k8s.io/gateway-name": "waypoint" } },
        },
      ],
      ports: [{ protocol: "TCP", port: 15008 }],
    });
  });

  it("adds nothing for a profile without host entries", () => {
    const r = build(
      { selector: { app: "api" }, egress: { to: [{ cidr: "10.0.0.0/8", ports: [5432] }] } },
      "sidecar",
    );
    const rules = specOf(ofKind(r.objects, "NetworkPolicy")[0])?.egress as Spec[];
    expect(JSON.stringify(rules)).not.toContain("0.0.0.0/0");
  });
});

describe("golden files of examples/egress", () => {
  function check(name: string, actual: string) {
    const file = path.join(GOLDEN, name);
    if (process.env.UPDATE_GOLDEN) fs.writeFileSync(file, actual);
    expect(fs.existsSync(file), `${name} missing: run with UPDATE_GOLDEN=1`).toBe(true);
    expect(actual).toBe(fs.readFileSync(file, "utf8"));
  }
  for (const meshMode of ["sidecar", "ambient"] as const) {
    it(`renders examples/egress (${meshMode})`, () => {
      const loaded = loadProfiles([EXAMPLE]);
      expect(loaded.problems).toEqual([]);
      const out = render(loaded.profiles, {
        trustDomain: "cluster.local",
        meshMode,
        defaults: DEFAULT_PLATFORM,
        now: NOW,
      });
      expect(out.problems).toEqual([]);
      check(`egress-${meshMode}.golden.yaml`, out.yaml);
    });
  }
});
