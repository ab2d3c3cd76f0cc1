// The fuzzer's evaluator, pinned on hand-checked cases: a wrong evaluator would make the fuzzer
// prove nothing.
import { describe, expect, it } from "vitest";
import type { Profile, ProfileSpecInput } from "../../operator/api/schema.ts";
import { validateProfile } from "../../operator/api/validate.ts";
import {
  authorizationPolicyAllows,
  clusterAllowsEgress,
  clusterAllowsIngress,
  type IngressRequest,
  istioMatch,
  networkPolicyAllowsEgress,
  networkPolicyAllowsIngress,
  netEdges,
  type Platform,
  type Pod,
  specAllowsEgress,
  specAllowsL4Ingress,
  specAllowsL7,
  Unexpected,
} from "./evaluator.ts";

const TD = "cluster.local";
const dest = { app: "api" };

function req(over: Partial<IngressRequest> = {}): IngressRequest {
  return {
    source: { kind: "pod", namespace: "gw", labels: { app: "gw" }, serviceAccount: "gw" },
    destination: dest,
    protocol: "TCP",
    port: 8080,
    mtls: true,
    http: { method: "GET", path: "/v1/x" },
    ...over,
  };
}

function ap(rules?: unknown[], annotations?: Record<string, string>) {
  return {
    kind: "AuthorizationPolicy",
    metadata: { name: "api", namespace: "pay", ...(annotations && { annotations }) },
    spec: { selector: { matchLabels: dest }, action: "ALLOW", ...(rules && { rules }) },
  };
}

function np(ingress: unknown[] = [], egress: unknown[] = [], policyTypes = ["Ingress", "Egress"]) {
  return {
    kind: "NetworkPolicy",
    metadata: { name: "api", namespace: "pay" },
    spec: { podSelector: { matchLabels: dest }, policyTypes, ingress, egress },
  };
}

describe("Istio string match", () => {
  it("is exact, prefix, suffix or presence", () => {
    expect(istioMatch("a", "a")).toBe(true);
    expect(istioMatch("a", "ab")).toBe(false);
    expect(istioMatch("/v1/*", "/v1/x")).toBe(true);
    expect(istioMatch("/v1/*", "/v1")).toBe(false);
    expect(istioMatch("*.json", "/a.json")).toBe(true);
    expect(istioMatch("*", "anything")).toBe(true);
    expect(istioMatch("*", undefined)).toBe(false);
  });
});

describe("AuthorizationPolicy (ALLOW)", () => {
  it("allows nothing without rules, everything (TCP) with an empty rule", () => {
    expect(authorizationPolicyAllows(ap(), req(), TD)).toBe(false);
    expect(authorizationPolicyAllows(ap([{}]), req(), TD)).toBe(true);
    expect(authorizationPolicyAllows(ap([{}]), req({ protocol: "UDP" }), TD)).toBe(false);
    expect(authorizationPolicyAllows(ap([{}]), req({ destination: { app: "other" } }), TD)).toBe(false);
  });

  it("matches principals and namespaces only with mTLS, and ANDs the fields of a source", () => {
    const rule = { from: [{ source: { principals: ["cluster.local/ns/gw/sa/gw"] } }] };
    expect(authorizationPolicyAllows(ap([rule]), req(), TD)).toBe(true);
    expect(authorizationPolicyAllows(ap([rule]), req({ mtls: false }), TD)).toBe(false);
    const wildcard = { from: [{ source: { principals: ["cluster.local/ns/gw/sa/*"] } }] };
    const other = req({ source: { kind: "pod", namespace: "gw", labels: {}, serviceAccount: "x" } });
    expect(authorizationPolicyAllows(ap([wildcard]), other, TD)).toBe(true);
    const both = { from: [{ source: { namespaces: ["gw"], requestPrincipals: ["https://idp/*"] } }] };
    expect(authorizationPolicyAllows(ap([both]), req(), TD)).toBe(false);
    expect(
      authorizationPolicyAllows(ap([both]), req({ jwt: { issuer: "https://idp", subject: "u" } }), TD),
    ).toBe(true);
    // A token is only read from HTTP.
    expect(
      authorizationPolicyAllows(
        ap([both]),
        req({ http: undefined, jwt: { issuer: "https://idp", subject: "u" } }),
        TD,
      ),
    ).toBe(false);
  });

  it("reads request principals either whole or split into issuer and subject", () => {
    const rule = { from: [{ source: { requestPrincipals: ["*/*"] } }] };
    // Whole: suffix "/*"; split: any issuer, any subject. Either admits.
    expect(
      authorizationPolicyAllows(ap([rule]), req({ jwt: { issuer: "https://x", subject: "u" } }), TD),
    ).toBe(true);
  });

  it("matches operations: ports as strings, methods and paths only on HTTP", () => {
    const rule = { to: [{ operation: { ports: ["8080"], methods: ["GET"], paths: ["/v1/*"] } }] };
    expect(authorizationPolicyAllows(ap([rule]), req(), TD)).toBe(true);
    expect(authorizationPolicyAllows(ap([rule]), req({ port: 8081 }), TD)).toBe(false);
    expect(authorizationPolicyAllows(ap([rule]), req({ http: { method: "POST", path: "/v1/x" } }), TD)).toBe(
      false,
    );
    expect(authorizationPolicyAllows(ap([rule]), req({ http: undefined }), TD)).toBe(false);
    const portsOnly = { to: [{ operation: { ports: ["8080"] } }] };
    expect(authorizationPolicyAllows(ap([portsOnly]), req({ http: undefined }), TD)).toBe(true);
  });

  it("enforces nothing in dry-run, and refuses fields it does not know", () => {
    expect(authorizationPolicyAllows(ap([], { "istio.io/dry-run": "true" }), req(), TD)).toBe(true);
    expect(() => authorizationPolicyAllows(ap([{ when: [] }]), req(), TD)).toThrow(Unexpected);
    expect(() =>
      authorizationPolicyAllows(ap([{ from: [{ source: { notPrincipals: ["x"] } }] }]), req(), TD),
    ).toThrow(Unexpected);
  });
});

describe("NetworkPolicy", () => {
  it("admits nothing without rules, and only what a rule's peers and ports match", () => {
    expect(networkPolicyAllowsIngress(np(), req())).toBe(false);
    expect(networkPolicyAllowsIngress(np([{}]), req({ protocol: "SCTP", port: 1 }))).toBe(true);
    const rule = {
      from: [
        {
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "gw" } },
          podSelector: { matchLabels: { app: "gw" } },
        },
      ],
      ports: [{ protocol: "TCP", port: 8080 }],
    };
    expect(networkPolicyAllowsIngress(np([rule]), req())).toBe(true);
    expect(networkPolicyAllowsIngress(np([rule]), req({ protocol: "UDP" }))).toBe(false);
    expect(
      networkPolicyAllowsIngress(
        np([rule]),
        req({ source: { kind: "pod", namespace: "gw", labels: {}, serviceAccount: "gw" } }),
      ),
    ).toBe(false);
    // A podSelector alone means the policy's own namespace.
    const own = { from: [{ podSelector: { matchLabels: { app: "gw" } } }] };
    expect(networkPolicyAllowsIngress(np([own]), req())).toBe(false);
    expect(
      networkPolicyAllowsIngress(
        np([own]),
        req({ source: { kind: "pod", namespace: "pay", labels: { app: "gw" }, serviceAccount: "x" } }),
      ),
    ).toBe(true);
    // A namespace label other than the name could be set by anyone: taken as every namespace.
    const team = { from: [{ namespaceSelector: { matchLabels: { team: "gw" } } }] };
    expect(
      networkPolicyAllowsIngress(
        np([team]),
        req({ source: { kind: "pod", namespace: "evil", labels: {}, serviceAccount: "x" } }),
      ),
    ).toBe(true);
    expect(networkPolicyAllowsIngress(np([{}], [], ["Egress"]), req())).toBe(false);
  });

  it("admits addresses by ipBlock minus except", () => {
    const rule = { to: [{ ipBlock: { cidr: "10.0.0.0/8", except: ["10.1.0.0/16"] } }] };
    const out = (ip: string) =>
      networkPolicyAllowsEgress(np([], [rule]), {
        source: dest,
        destination: { kind: "ip", ip },
        protocol: "TCP",
        port: 1,
      });
    expect(out("10.0.0.1")).toBe(true);
    expect(out("10.1.2.3")).toBe(false);
    expect(out("11.0.0.0")).toBe(false);
    expect(netEdges("10.0.0.0/8")).toEqual([
      "10.0.0.0",
      "10.255.255.255",
      "10.127.255.255",
      "9.255.255.255",
      "11.0.0.0",
    ]);
  });
});

describe("the profile's own reading", () => {
  const NOW = new Date("2026-11-20T00:00:00Z");
  const platform = (meshMode: "sidecar" | "ambient"): Platform => ({
    trustDomain: TD,
    meshMode,
    now: NOW,
    maxExceptionDays: 90,
    dns: { namespace: "kube-system", podSelector: { "k8s-app": "kube-dns" } },
    istiod: { namespace: "istio-system", podSelector: { app: "istiod" } },
  });
  function profile(spec: ProfileSpecInput): Profile {
    const r = validateProfile({
      apiVersion: "meshward.io/v1alpha1",
      kind: "ServiceSecurityProfile",
      metadata: { name: "api", namespace: "pay" },
      spec,
    });
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    return r.profile;
  }
  const none = new Map<string, Profile>();

  it("narrows a serviceAccount to its principal at L7 and to its namespace at L4", () => {
    const p = profile({
      selector: dest,
      ingress: [{ from: [{ serviceAccount: { namespace: "gw", name: "gw" } }] }],
    });
    const stranger = req({ source: { kind: "pod", namespace: "gw", labels: {}, serviceAccount: "other" } });
    expect(specAllowsL7(p, none, platform("sidecar"), req())).toBe(true);
    expect(specAllowsL7(p, none, platform("sidecar"), stranger)).toBe(false);
    expect(specAllowsL4Ingress(p, none, platform("sidecar"), stranger)).toBe(true);
    expect(specAllowsL4Ingress(p, none, platform("sidecar"), req({ protocol: "UDP" }))).toBe(false);
  });

  it("drops the caller identity at L7 only under an active PermissiveMtls exception", () => {
    const spec = (expires: string): ProfileSpecInput => ({
      selector: dest,
      mtls: { mode: "Permissive" },
      ingress: [{ from: [{ namespace: "gw" }] }],
      exceptions: [{ type: "PermissiveMtls", reason: "old clients migrating", ticket: "SEC-1", expires }],
    });
    const plain = req({
      mtls: false,
      source: { kind: "pod", namespace: "x", labels: {}, serviceAccount: "x" },
    });
    expect(specAllowsL7(profile(spec("2026-12-01T00:00:00Z")), none, platform("sidecar"), plain)).toBe(true);
    expect(specAllowsL7(profile(spec("2026-11-01T00:00:00Z")), none, platform("sidecar"), plain)).toBe(false);
    expect(specAllowsL7(profile(spec("2027-12-01T00:00:00Z")), none, platform("sidecar"), plain)).toBe(false);
    expect(specAllowsL4Ingress(profile(spec("2026-12-01T00:00:00Z")), none, platform("sidecar"), plain)).toBe(
      false,
    );
  });

  it("allows the platform's extras: DNS, istiod in sidecar mode, HBONE and the probe in ambient mode", () => {
    const p = profile({ selector: dest, ingress: [{ from: [{ namespace: "gw" }], ports: [8080] }] });
    const dns = {
      kind: "pod" as const,
      namespace: "kube-system",
      labels: { "k8s-app": "kube-dns" },
      serviceAccount: "x",
    };
    const istiod = {
      kind: "pod" as const,
      namespace: "istio-system",
      labels: { app: "istiod" },
      serviceAccount: "x",
    };
    const out = (destination: Pod, protocol: "TCP" | "UDP", port: number, mode: "sidecar" | "ambient") =>
      specAllowsEgress(p, none, platform(mode), { source: dest, destination, protocol, port });
    expect(out(dns, "UDP", 53, "ambient")).toBe(true);
    expect(out(istiod, "TCP", 15012, "sidecar")).toBe(true);
    expect(out(istiod, "TCP", 15012, "ambient")).toBe(false);
    expect(specAllowsL4Ingress(p, none, platform("ambient"), req({ port: 15008 }))).toBe(true);
    expect(specAllowsL4Ingress(p, none, platform("sidecar"), req({ port: 15008 }))).toBe(false);
    const probe = req({ source: { kind: "ip", ip: "169.254.7.127" }, mtls: false });
    expect(specAllowsL4Ingress(p, none, platform("ambient"), probe)).toBe(true);
    expect(specAllowsL4Ingress(p, none, platform("sidecar"), probe)).toBe(false);
  });
});

describe("ClusterNetworkPolicy tiers around NetworkPolicies", () => {
  type Rule = Record<string, unknown>;
  const cnp = (
    tier: "Admin" | "Baseline",
    priority: number,
    rules: { ingress?: Rule[]; egress?: Rule[] },
    subject: object = { namespaces: {} },
  ) => ({
    apiVersion: "policy.networking.k8s.io/v1beta1",
    kind: "ClusterNetworkPolicy",
    metadata: { name: `${tier}-${priority}` },
    spec: { tier, priority, subject, ...rules },
  });
  const everywhere = [{ namespaces: {} }, { networks: ["0.0.0.0/0", "::/0"] }];
  const denyRange = (priority: number, cidr: string, subject?: object) =>
    cnp("Admin", priority, { egress: [{ action: "Deny", to: [{ networks: [cidr] }] }] }, subject);
  const dnsPeer = {
    pods: {
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
      podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
    },
  };
  const dns53 = [{ udp: { destinationPort: { number: 53 } } }, { tcp: { destinationPort: { number: 53 } } }];
  const quarantine = cnp("Admin", 10, {
    ingress: [{ action: "Deny", from: [{ namespaces: {} }] }],
    egress: [
      { action: "Accept", to: [dnsPeer], protocols: dns53 },
      { action: "Deny", to: everywhere },
    ],
  });
  const baselineDeny = cnp("Baseline", 100, {
    ingress: [{ action: "Deny", from: [{ namespaces: {} }] }],
    egress: [{ action: "Deny", to: everywhere }],
  });
  const allowAll = np([{}], [{}]);
  const selectsOthers = {
    ...allowAll,
    spec: { ...allowAll.spec, podSelector: { matchLabels: { app: "other" } } },
  };
  const ingressOnly = np([{}], [{}], ["Ingress"]);
  const elsewhere = { ...allowAll, metadata: { name: "api", namespace: "shop" } };

  const dnsPod: Pod = {
    kind: "pod",
    namespace: "kube-system",
    labels: { "k8s-app": "kube-dns" },
    serviceAccount: "x",
  };
  const gwPod: Pod = { kind: "pod", namespace: "gw", labels: { app: "gw" }, serviceAccount: "gw" };
  const out = (
    destination: Pod | { kind: "ip"; ip: string },
    protocol: "TCP" | "UDP" = "TCP",
    port = 443,
  ) => ({
    namespace: "pay",
    source: dest,
    destination,
    protocol,
    port,
  });
  const ip = (a: string) => ({ kind: "ip" as const, ip: a });
  const into = (source: Pod | { kind: "ip"; ip: string }, port = 8080) => ({
    namespace: "pay",
    source,
    destination: dest,
    protocol: "TCP" as const,
    port,
  });
  const teams = new Map([
    ["pay", { team: "pay" }],
    ["shop", { team: "shop" }],
  ]);

  it.each([
    ["nothing anywhere allows", [], [], out(ip("10.1.2.3")), true],
    [
      "an Admin Deny beats an allow-all NetworkPolicy",
      [denyRange(100, "10.0.0.0/8")],
      [allowAll],
      out(ip("10.1.2.3")),
      false,
    ],
    [
      "an Admin Deny covers its range only",
      [denyRange(100, "10.0.0.0/8")],
      [allowAll],
      out(ip("11.0.0.0")),
      true,
    ],
    ["an Admin Deny on networks does not match a pod", [denyRange(100, "0.0.0.0/0")], [], out(gwPod), true],
    [
      "an Admin Deny applies to its subject's namespaces only",
      [denyRange(100, "10.0.0.0/8", { namespaces: { matchLabels: { team: "shop" } } })],
      [allowAll],
      out(ip("10.1.2.3")),
      true,
    ],
    [
      "an Admin Deny applies to a namespace by its labels",
      [denyRange(100, "10.0.0.0/8", { namespaces: { matchLabels: { team: "pay" } } })],
      [allowAll],
      out(ip("10.1.2.3")),
      false,
    ],
    ["the quarantine accepts DNS over UDP before its Deny", [quarantine], [], out(dnsPod, "UDP", 53), true],
    ["the quarantine accepts DNS over TCP before its Deny", [quarantine], [], out(dnsPod, "TCP", 53), true],
    [
      "the quarantine denies another port of the resolver",
      [quarantine],
      [allowAll],
      out(dnsPod, "UDP", 54),
      false,
    ],
    [
      "the quarantine denies DNS to a pod that only looks like the resolver",
      [quarantine],
      [allowAll],
      out({ ...dnsPod, namespace: "gw" }, "UDP", 53),
      false,
    ],
    [
      "the quarantine denies every other pod whatever the NetworkPolicy",
      [quarantine],
      [allowAll],
      out(gwPod),
      false,
    ],
    [
      "the quarantine denies every address whatever the NetworkPolicy",
      [quarantine],
      [allowAll],
      out(ip("2001:db8::1")),
      false,
    ],
    [
      "the quarantine's DNS Accept is final: a later Deny does not apply",
      [quarantine, denyRange(5, "0.0.0.0/0")],
      [],
      out(dnsPod, "UDP", 53),
      true,
    ],
    ["Baseline denies a pod no NetworkPolicy selects", [baselineDeny], [], out(gwPod), false],
    [
      "Baseline does not apply to a pod a NetworkPolicy selects",
      [baselineDeny],
      [allowAll],
      out(gwPod),
      true,
    ],
    ["a selecting NetworkPolicy decides, Baseline or not", [baselineDeny], [np([], [])], out(gwPod), false],
    [
      "Baseline applies when the NetworkPolicy selects other pods",
      [baselineDeny],
      [selectsOthers],
      out(gwPod),
      false,
    ],
    [
      "Baseline applies when the NetworkPolicy is for ingress only",
      [baselineDeny],
      [ingressOnly],
      out(gwPod),
      false,
    ],
    [
      "Baseline applies when the NetworkPolicy is in another namespace",
      [baselineDeny],
      [elsewhere],
      out(gwPod),
      false,
    ],
    ["without Baseline, a pod no NetworkPolicy selects is open", [], [selectsOthers], out(gwPod), true],
    [
      "a lower priority is checked first (Accept at 50, Deny at 100)",
      [
        denyRange(100, "10.0.0.0/8"),
        cnp("Admin", 50, { egress: [{ action: "Accept", to: [{ namespaces: {} }] }] }),
        cnp("Admin", 50, { egress: [{ action: "Pass", to: [{ pods: { podSelector: {} } }] }] }),
      ],
      [],
      out(gwPod),
      true,
    ],
    [
      "a lower priority is checked first (Deny at 50, Accept at 100)",
      [
        cnp("Admin", 100, { egress: [{ action: "Accept", to: [{ namespaces: {} }] }] }),
        cnp("Admin", 50, { egress: [{ action: "Deny", to: [{ namespaces: {} }] }] }),
      ],
      [allowAll],
      out(gwPod),
      false,
    ],
    [
      "Admin Accept is final over a deny-all NetworkPolicy",
      [cnp("Admin", 100, { egress: [{ action: "Accept", to: [{ namespaces: {} }] }] })],
      [np([], [])],
      out(gwPod),
      true,
    ],
    [
      "within a policy the first matching rule decides",
      [
        cnp("Admin", 100, {
          egress: [
            { action: "Deny", to: [{ namespaces: {} }] },
            { action: "Accept", to: [{ namespaces: {} }] },
          ],
        }),
      ],
      [allowAll],
      out(gwPod),
      false,
    ],
    [
      "tied policies may apply in either order: allowed when one order allows",
      [
        cnp("Admin", 100, { egress: [{ action: "Accept", to: [{ namespaces: {} }] }] }),
        cnp("Admin", 100, { egress: [{ action: "Deny", to: [{ namespaces: {} }] }] }),
      ],
      [],
      out(gwPod),
      true,
    ],
    [
      "Pass skips the rest of Admin: the NetworkPolicy decides",
      [
        cnp("Admin", 5, { egress: [{ action: "Pass", to: [{ namespaces: {} }] }] }),
        cnp("Admin", 10, { egress: [{ action: "Deny", to: [{ namespaces: {} }] }] }),
      ],
      [allowAll],
      out(gwPod),
      true,
    ],
    [
      "Pass with a deny-all NetworkPolicy is denied",
      [cnp("Admin", 5, { egress: [{ action: "Pass", to: [{ namespaces: {} }] }] })],
      [np([], [])],
      out(gwPod),
      false,
    ],
    [
      "Pass without a NetworkPolicy goes on to Baseline",
      [cnp("Admin", 5, { egress: [{ action: "Pass", to: [{ namespaces: {} }] }] }), baselineDeny],
      [],
      out(gwPod),
      false,
    ],
    [
      "a Pass in Baseline leaves the default: allowed",
      [cnp("Baseline", 5, { egress: [{ action: "Pass", to: [{ namespaces: {} }] }] }), baselineDeny],
      [],
      out(gwPod),
      true,
    ],
    [
      "a port range matches inside it",
      [
        cnp("Admin", 1, {
          egress: [
            {
              action: "Deny",
              to: [{ namespaces: {} }],
              protocols: [{ tcp: { destinationPort: { range: { start: 400, end: 500 } } } }],
            },
          ],
        }),
      ],
      [],
      out(gwPod, "TCP", 443),
      false,
    ],
    [
      "a port range does not match another protocol",
      [
        cnp("Admin", 1, {
          egress: [
            {
              action: "Deny",
              to: [{ namespaces: {} }],
              protocols: [{ tcp: { destinationPort: { range: { start: 400, end: 500 } } } }],
            },
          ],
        }),
      ],
      [],
      out(gwPod, "UDP", 443),
      true,
    ],
    [
      "a pods subject selects by namespace AND labels",
      [
        denyRange(1, "0.0.0.0/0", {
          pods: {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "pay" } },
            podSelector: { matchLabels: dest },
          },
        }),
      ],
      [],
      out(ip("1.1.1.1")),
      false,
    ],
    [
      "a pods subject does not select other labels",
      [
        denyRange(1, "0.0.0.0/0", {
          pods: { namespaceSelector: {}, podSelector: { matchLabels: { app: "other" } } },
        }),
      ],
      [],
      out(ip("1.1.1.1")),
      true,
    ],
    [
      "a namespace expression In selects the listed names",
      [
        denyRange(1, "0.0.0.0/0", {
          namespaces: {
            matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["ci", "pay"] }],
          },
        }),
      ],
      [],
      out(ip("1.1.1.1")),
      false,
    ],
    [
      "a namespace expression NotIn leaves the listed names",
      [
        denyRange(1, "0.0.0.0/0", {
          namespaces: {
            matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["pay"] }],
          },
        }),
      ],
      [],
      out(ip("1.1.1.1")),
      true,
    ],
  ])("egress: %s", (_, cnps, nps, request, allowed) => {
    expect(clusterAllowsEgress(cnps, nps, request, teams)).toBe(allowed);
  });

  it.each([
    [
      "an Admin Deny from pods beats an allow-all NetworkPolicy",
      [quarantine],
      [allowAll],
      into(gwPod),
      false,
    ],
    [
      "an Admin Deny from pods covers pods of the same namespace",
      [quarantine],
      [allowAll],
      into({ ...gwPod, namespace: "pay" }),
      false,
    ],
    [
      "ingress has no address peer: an address is not denied by Admin",
      [quarantine],
      [],
      into(ip("8.8.8.8")),
      true,
    ],
    ["Baseline denies pods into a pod no NetworkPolicy selects", [baselineDeny], [], into(gwPod), false],
    [
      "Baseline cannot deny an address (no ingress peer for one)",
      [baselineDeny],
      [],
      into(ip("8.8.8.8")),
      true,
    ],
    [
      "a NetworkPolicy for egress only leaves ingress to Baseline",
      [baselineDeny],
      [np([{}], [{}], ["Egress"])],
      into(gwPod),
      false,
    ],
    ["a selecting NetworkPolicy decides ingress", [baselineDeny], [allowAll], into(ip("8.8.8.8")), true],
    ["a deny-all NetworkPolicy denies an address", [baselineDeny], [np([], [])], into(ip("8.8.8.8")), false],
  ])("ingress: %s", (_, cnps, nps, request, allowed) => {
    expect(clusterAllowsIngress(cnps, nps, request, teams)).toBe(allowed);
  });

  it.each([
    ["networks in an Accept rule", { action: "Accept", to: [{ networks: ["10.0.0.0/8"] }] }],
    ["networks in a Pass rule", { action: "Pass", to: [{ networks: ["10.0.0.0/8"] }] }],
    ["a nodes peer", { action: "Deny", to: [{ nodes: {} }] }],
    ["a domainNames peer", { action: "Accept", to: [{ domainNames: ["example.com"] }] }],
    ["a peer with two fields", { action: "Deny", to: [{ namespaces: {}, networks: ["10.0.0.0/8"] }] }],
    ["an empty peer", { action: "Deny", to: [{}] }],
    ["no peers", { action: "Deny", to: [] }],
    [
      "a named port",
      { action: "Deny", to: [{ namespaces: {} }], protocols: [{ destinationNamedPort: "http" }] },
    ],
    ["a protocol without a port", { action: "Deny", to: [{ namespaces: {} }], protocols: [{ tcp: {} }] }],
    ["an unknown action", { action: "Allow", to: [{ namespaces: {} }] }],
  ])("refuses %s", (_, rule) => {
    expect(() => clusterAllowsEgress([cnp("Admin", 1, { egress: [rule] })], [], out(gwPod))).toThrow(
      Unexpected,
    );
  });

  it("refuses a subject with both fields and a priority out of range", () => {
    const both = cnp("Admin", 1, { egress: [] }, { namespaces: {}, pods: { podSelector: {} } });
    expect(() => clusterAllowsEgress([both], [], out(gwPod))).toThrow(Unexpected);
    expect(() => clusterAllowsEgress([cnp("Admin", 1001, { egress: [] })], [], out(gwPod))).toThrow(
      Unexpected,
    );
  });
});
