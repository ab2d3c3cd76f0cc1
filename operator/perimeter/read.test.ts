// Reading foreign objects: the API servers' defaults, and fields of the wrong shape skipped.
import { describe, expect, it } from "vitest";
import { makeContext } from "../builders/context.ts";
import { buildProfile } from "../builders/index.ts";
import { profile } from "../../test-support/fixtures/policy.ts";
import {
  isForeign,
  readAuthorizationPolicy,
  readExternalSecret,
  readNetworkPolicy,
  readPeerAuthentication,
  readRequestAuthentication,
} from "./read.ts";
import { matches } from "./selectors.ts";

const metadata = { name: "x", namespace: "payments" };

describe("isForeign", () => {
  it("is false for every object meshward builds, true without its label", () => {
    const p = profile("payments/api", {
      selector: { app: "api" },
      secrets: [
        { name: "db", storeRef: { name: "vault" }, data: [{ secretKey: "k", remoteRef: { key: "a" } }] },
      ],
    });
    for (const o of buildProfile(p, makeContext()).objects) expect(isForeign(o)).toBe(false);
    expect(isForeign({ metadata })).toBe(true);
    expect(isForeign({ metadata: { ...metadata, labels: { "app.kubernetes.io/managed-by": "Helm" } } })).toBe(
      true,
    );
  });
});

describe("readNetworkPolicy", () => {
  it("defaults policyTypes from the rules present, as the API server does", () => {
    expect(readNetworkPolicy({ metadata, spec: { podSelector: {} } })?.policyTypes).toEqual(["Ingress"]);
    expect(readNetworkPolicy({ metadata, spec: { podSelector: {}, egress: [{}] } })?.policyTypes).toEqual([
      "Ingress",
      "Egress",
    ]);
    expect(
      readNetworkPolicy({ metadata, spec: { podSelector: {}, policyTypes: ["Egress"], ingress: [{}] } })
        ?.policyTypes,
    ).toEqual(["Egress"]);
  });

  it("reads ports (TCP by default), peers and matchExpressions", () => {
    const r = readNetworkPolicy({
      metadata,
      spec: {
        podSelector: { matchExpressions: [{ key: "tier", operator: "Exists" }] },
        ingress: [
          {
            from: [
              { ipBlock: { cidr: "10.0.0.0/8", except: ["10.1.0.0/16"] } },
              { namespaceSelector: {}, podSelector: { matchLabels: { app: "a" } } },
            ],
            ports: [{ port: 80, endPort: 90 }, { protocol: "UDP" }, { port: "http" }],
          },
        ],
      },
    });
    expect(r?.ingress).toEqual([
      {
        peers: [
          { ipBlock: { cidr: "10.0.0.0/8", except: ["10.1.0.0/16"] } },
          {
            namespaceSelector: { matchLabels: {}, matchExpressions: [] },
            podSelector: { matchLabels: { app: "a" }, matchExpressions: [] },
          },
        ],
        ports: [
          { protocol: "TCP", port: 80, endPort: 90 },
          { protocol: "UDP" },
          { protocol: "TCP", port: "http" },
        ],
      },
    ]);
    expect(r && matches(r.podSelector, { tier: "x" })).toBe(true);
    expect(r && matches(r.podSelector, {})).toBe(false);
  });

  it("drops a rule whose every port is unreadable (it admits nothing), not its ports", () => {
    const r = readNetworkPolicy({
      metadata,
      spec: { podSelector: {}, ingress: [{ ports: [{ protocol: "ICMP" }] }] },
    });
    expect(r?.ingress).toEqual([]);
  });

  it("refuses an object without name or spec", () => {
    expect(readNetworkPolicy({ metadata: { namespace: "a" }, spec: {} })).toBeUndefined();
    expect(readNetworkPolicy({ metadata })).toBeUndefined();
  });
});

describe("Istio objects", () => {
  it("AuthorizationPolicy: ALLOW by default, dry-run, rules kept apart from no rules", () => {
    const ap = readAuthorizationPolicy({
      metadata: { ...metadata, annotations: { "istio.io/dry-run": "true" } },
      spec: {
        rules: [
          {
            from: [{ source: { principals: ["a"], notNamespaces: ["b"], ipBlocks: [] } }],
            to: [{ operation: { ports: ["8080"], hosts: ["h"] } }],
            when: [{ key: "k", values: ["v"] }],
          },
          {},
        ],
      },
    });
    expect(ap).toEqual({
      ...metadata,
      action: "ALLOW",
      dryRun: true,
      rules: [
        {
          from: [{ principals: ["a"], other: ["notNamespaces"] }],
          to: [{ ports: ["8080"], other: ["hosts"] }],
          when: 1,
        },
        { when: 0 },
      ],
    });
    expect(readAuthorizationPolicy({ metadata, spec: { action: "DENY" } })?.rules).toBeUndefined();
    expect(
      readAuthorizationPolicy({
        metadata,
        spec: { targetRefs: [{ kind: "Service", name: "s" }], targetRef: { kind: "Gateway", name: "g" } },
      })?.targetRefs,
    ).toEqual([
      { kind: "Service", name: "s" },
      { kind: "Gateway", name: "g" },
    ]);
  });

  it("PeerAuthentication: UNSET when no mode, port-level modes, creation time", () => {
    expect(
      readPeerAuthentication({
        metadata: { ...metadata, creationTimestamp: "2026-01-01T00:00:00Z" },
        spec: { selector: { matchLabels: { app: "a" } }, portLevelMtls: { "8080": { mode: "DISABLE" } } },
      }),
    ).toEqual({
      ...metadata,
      selector: { app: "a" },
      mode: "UNSET",
      portLevelMtls: { "8080": "DISABLE" },
      created: "2026-01-01T00:00:00Z",
    });
  });

  it("RequestAuthentication: issuers, keys and token locations", () => {
    const ra = readRequestAuthentication({
      metadata,
      spec: {
        jwtRules: [
          { issuer: "https://a/", jwksUri: "https://a/keys", audiences: ["x"] },
          { issuer: "https://b/", jwks: "{}", fromHeaders: [{ name: "X-Token" }] },
          { jwksUri: "no issuer" },
        ],
      },
    });
    expect(ra?.jwtRules).toEqual([
      {
        issuer: "https://a/",
        jwksUri: "https://a/keys",
        inlineJwks: false,
        audiences: ["x"],
        customLocations: false,
      },
      { issuer: "https://b/", inlineJwks: true, customLocations: true },
    ]);
  });
});

describe("readExternalSecret", () => {
  it("reads every key, search and generator, with per-entry stores (ESO's default kind SecretStore)", () => {
    const es = readExternalSecret({
      metadata,
      spec: {
        secretStoreRef: { name: "local" },
        data: [
          { secretKey: "a", remoteRef: { key: "k1" } },
          {
            secretKey: "b",
            remoteRef: { key: "k2" },
            sourceRef: { storeRef: { kind: "ClusterSecretStore", name: "vault" } },
          },
          {
            secretKey: "c",
            remoteRef: { key: "" },
            sourceRef: { generatorRef: { kind: "Password", name: "p" } },
          },
        ],
        dataFrom: [{ extract: { key: "k3" } }, { find: { path: "teams/", name: { regexp: ".*" } } }],
      },
    });
    expect(es?.reads).toEqual([
      { kind: "key", path: "spec.data[0]", store: { kind: "SecretStore", name: "local" }, key: "k1" },
      { kind: "key", path: "spec.data[1]", store: { kind: "ClusterSecretStore", name: "vault" }, key: "k2" },
      { kind: "generator", path: "spec.data[2]", generator: { kind: "Password", name: "p" } },
      {
        kind: "key",
        path: "spec.dataFrom[0].extract",
        store: { kind: "SecretStore", name: "local" },
        key: "k3",
      },
      {
        kind: "find",
        path: "spec.dataFrom[1].find",
        store: { kind: "SecretStore", name: "local" },
        filter: "path teams/, name .*",
      },
    ]);
  });
});
