// Fleet checks and the call graph, table-tested on small fleets written inline.
import { describe, expect, it } from "vitest";
import type { Profile } from "../api/schema.ts";
import { validateProfile } from "../api/validate.ts";
import {
  edgeLabel,
  buildGraph,
  type EdgeState,
  type FleetProfile,
  findMissingReferences,
  findOneSided,
  oneSidedFor,
  suggestProfile,
} from "./fleet.ts";

/** A valid profile from a spec (fails the test when the spec is invalid). */
function profile(key: string, spec: Record<string, unknown>): FleetProfile {
  const [namespace, name] = key.split("/");
  const r = validateProfile({
    apiVersion: "meshward.io/v1alpha1",
    kind: "ServiceSecurityProfile",
    metadata: { name, namespace },
    spec: { selector: { app: name }, ...spec },
  });
  if (!r.ok) throw new Error(`${key}: ${JSON.stringify(r.problems)}`);
  return { file: `${name}.yaml`, profile: r.profile as Profile };
}

const admits = (...services: string[]) => ({
  ingress: [{ from: services.map((service) => ({ service })), ports: [8080] }],
});
const calls = (...services: string[]) => ({
  egress: { to: services.map((service) => ({ service, ports: [8080] })) },
});

describe("findOneSided", () => {
  const cases: { name: string; fleet: FleetProfile[]; want: [string, string, string, string][] }[] = [
    {
      name: "both sides declare: nothing to report",
      fleet: [profile("a/api", admits("b/web")), profile("b/web", calls("a/api"))],
      want: [],
    },
    {
      name: "the callee admits a caller that declares no egress",
      fleet: [profile("a/api", admits("b/web")), profile("b/web", {})],
      want: [["no-egress", "a/api", "b/web", "spec.ingress[0].from[0].service"]],
    },
    {
      name: "the caller declares egress to a callee that does not admit it",
      fleet: [profile("a/api", {}), profile("b/web", calls("a/api"))],
      want: [["not-admitted", "b/web", "a/api", "spec.egress.to[0].service"]],
    },
    {
      name: "both directions at once",
      fleet: [profile("a/api", admits("b/web")), profile("b/web", calls("c/db")), profile("c/db", {})],
      want: [
        ["no-egress", "a/api", "b/web", "spec.ingress[0].from[0].service"],
        ["not-admitted", "b/web", "c/db", "spec.egress.to[0].service"],
      ],
    },
    {
      name: "a callee admitting the caller's namespace is enough",
      fleet: [
        profile("a/api", { ingress: [{ from: [{ namespace: "b" }] }] }),
        profile("b/web", calls("a/api")),
      ],
      want: [],
    },
    {
      name: "a callee admitting the caller's service account is enough",
      fleet: [
        profile("a/api", { ingress: [{ from: [{ serviceAccount: { namespace: "b", name: "web-sa" } }] }] }),
        profile("b/web", { serviceAccount: { name: "web-sa" }, ...calls("a/api") }),
      ],
      want: [],
    },
    {
      name: "a short reference resolves in the profile's own namespace",
      fleet: [profile("a/api", admits("web")), profile("a/web", calls("api"))],
      want: [],
    },
    {
      name: "ports that do not overlap",
      fleet: [
        profile("a/api", admits("b/web")),
        profile("b/web", { egress: { to: [{ service: "a/api", ports: [9090] }] } }),
      ],
      want: [["ports-disjoint", "b/web", "a/api", "spec.egress.to[0].ports"]],
    },
    {
      name: "egress on every port overlaps any admitted port",
      fleet: [
        profile("a/api", admits("b/web")),
        profile("b/web", { egress: { to: [{ service: "a/api" }] } }),
      ],
      want: [],
    },
    {
      name: "the same port number on another protocol: UDP 514 is not TCP 514",
      fleet: [
        profile("shop/cart", { ingress: [{ from: [{ service: "shop/api" }], ports: [514] }] }),
        profile("shop/api", { egress: { to: [{ service: "shop/cart", ports: [514], protocol: "UDP" }] } }),
      ],
      want: [["ports-disjoint", "shop/api", "shop/cart", "spec.egress.to[0].ports"]],
    },
    {
      name: "the same port and protocol named on both sides (UDP)",
      fleet: [
        profile("shop/cart", {
          ingress: [{ from: [{ service: "shop/api" }], ports: [514], protocol: "UDP" }],
        }),
        profile("shop/api", { egress: { to: [{ service: "shop/cart", ports: [514], protocol: "UDP" }] } }),
      ],
      want: [],
    },
    {
      name: "TCP named on one side, left to its default on the other",
      fleet: [
        profile("shop/cart", {
          ingress: [{ from: [{ service: "shop/api" }], ports: [514], protocol: "TCP" }],
        }),
        profile("shop/api", { egress: { to: [{ service: "shop/cart", ports: [514] }] } }),
      ],
      want: [],
    },
    {
      name: "egress on every UDP port does not reach a callee that admits TCP only",
      fleet: [
        profile("a/api", admits("b/web")),
        profile("b/web", { egress: { to: [{ service: "a/api", protocol: "UDP" }] } }),
      ],
      want: [["ports-disjoint", "b/web", "a/api", "spec.egress.to[0].ports"]],
    },
    {
      name: "every port admitted on SCTP meets SCTP egress on one port",
      fleet: [
        profile("a/api", { ingress: [{ from: [{ service: "b/web" }], protocol: "SCTP" }] }),
        profile("b/web", { egress: { to: [{ service: "a/api", ports: [3868], protocol: "SCTP" }] } }),
      ],
      want: [],
    },
    {
      name: "one of the callee's rules admits the egress protocol: enough",
      fleet: [
        profile("shop/cart", {
          ingress: [
            { from: [{ service: "shop/api" }], ports: [514] },
            { from: [{ service: "shop/api" }], ports: [514], protocol: "UDP" },
          ],
        }),
        profile("shop/api", { egress: { to: [{ service: "shop/cart", ports: [514], protocol: "UDP" }] } }),
      ],
      want: [],
    },
    {
      name: "a whole namespace admitted, none of its profiles calls: one-sided",
      fleet: [profile("a/api", { ingress: [{ from: [{ namespace: "b" }] }] }), profile("b/web", {})],
      want: [["namespace-no-egress", "a/api", "namespace b", "spec.ingress[0].from[0].namespace"]],
    },
    {
      name: "a whole namespace admitted, one of its profiles calls: nothing to report",
      fleet: [
        profile("a/api", { ingress: [{ from: [{ namespace: "b" }] }] }),
        profile("b/web", {}),
        profile("b/cart", calls("a/api")),
      ],
      want: [],
    },
    {
      name: "a whole namespace admitted that has no profile in the set: not judged",
      fleet: [profile("a/api", { ingress: [{ from: [{ namespace: "ingress" }] }] })],
      want: [],
    },
    {
      name: "its own namespace admitted, alone in it: the profile itself is no caller",
      fleet: [profile("a/api", { ingress: [{ from: [{ namespace: "a" }] }] })],
      want: [],
    },
    {
      name: "egress to another callee does not answer a namespace admission",
      fleet: [
        profile("a/api", { ingress: [{ from: [{ namespace: "b" }] }, { from: [{ namespace: "c" }] }] }),
        profile("b/web", calls("c/db")),
        profile("c/db", { ingress: [{ from: [{ service: "b/web" }] }] }),
      ],
      want: [
        ["namespace-no-egress", "a/api", "namespace b", "spec.ingress[0].from[0].namespace"],
        ["namespace-no-egress", "a/api", "namespace c", "spec.ingress[1].from[0].namespace"],
      ],
    },
    {
      name: "a peer that is not in the set is not one-sided (it is a missing reference)",
      fleet: [profile("a/api", admits("b/web")), profile("c/x", calls("d/y"))],
      want: [],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = findOneSided(c.fleet).map((o) => [o.kind, o.owner, o.peer, o.path]);
      expect(got).toEqual(c.want);
    });
  }

  it("names both files and says what to write", () => {
    const [o] = findOneSided([profile("a/api", admits("b/web")), profile("b/web", {})]);
    expect(o?.ownerFile).toBe("api.yaml");
    expect(o?.peerFile).toBe("web.yaml");
    expect(o?.message).toBe(
      'admits b/web, but b/web (web.yaml) declares no egress to a/api, so the call is denied: add "- service: a/api" to its spec.egress.to, or remove this entry',
    );
    const [p] = findOneSided([profile("a/api", {}), profile("b/web", calls("a/api"))]);
    expect(p?.message).toContain(
      'but a/api (api.yaml) does not admit b/web, so the call is denied: add "- service: b/web"',
    );
  });

  it("names the protocols of both sides when they differ", () => {
    const [o] = findOneSided([
      profile("shop/cart", {
        ingress: [{ from: [{ service: "shop/api" }, { namespace: "ops" }], ports: [514, 8080] }],
      }),
      profile("shop/api", { egress: { to: [{ service: "shop/cart", ports: [514], protocol: "UDP" }] } }),
    ]);
    expect(o?.message).toBe(
      "declares egress to shop/cart on UDP port 514, but shop/cart (cart.yaml) admits shop/api only on TCP ports 514, 8080: make the ports and protocols agree",
    );
    const [every] = findOneSided([
      profile("shop/cart", {
        ingress: [
          { from: [{ service: "shop/api" }], ports: [53], protocol: "UDP" },
          { from: [{ service: "shop/api" }], ports: [8080] },
        ],
      }),
      profile("shop/api", { egress: { to: [{ service: "shop/cart", protocol: "SCTP" }] } }),
    ]);
    expect(every?.message).toContain(
      "on every SCTP port, but shop/cart (cart.yaml) admits shop/api only on TCP port 8080 and UDP port 53:",
    );
  });

  it("names the admitted namespace's profiles and files, and says what to write", () => {
    const [o] = findOneSided([
      profile("pay/ledger", { ingress: [{ from: [{ namespace: "shop" }] }] }),
      ...["e", "d", "c", "b", "a"].map((n) => profile(`shop/${n}`, {})),
    ]);
    expect(o?.peerFile).toBe("a.yaml");
    expect(o?.message).toBe(
      'admits namespace shop, but no profile there (shop/a (a.yaml), shop/b (b.yaml), shop/c (c.yaml) and 2 more) declares egress to pay/ledger, so no pod of shop that a profile selects can call it: add "- service: pay/ledger" to the spec.egress.to of the profile in shop that calls it, or remove this entry',
    );
  });

  it("oneSidedFor keeps the findings a profile owns", () => {
    const fleet = [profile("a/api", admits("b/web")), profile("b/web", calls("c/db")), profile("c/db", {})];
    expect(oneSidedFor("b/web", fleet).map((o) => o.peer)).toEqual(["c/db"]);
    expect(oneSidedFor("c/db", fleet)).toEqual([]);
  });
});

describe("findMissingReferences", () => {
  const fleet = [
    profile("checkout/checkout-api", calls("payments/payment-api", "orders-api")),
    profile("payments/payments-api", admits("checkout/checkout-api")),
    profile("orders/orders-api", {}),
  ];
  it("finds references to profiles not in the set, with a suggestion", () => {
    const got = findMissingReferences(fleet, { fleet: true }).map((m) => [m.path, m.target, m.suggestion]);
    expect(got).toEqual([
      ["spec.egress.to[0].service", "payments/payment-api", "payments/payments-api"],
      ["spec.egress.to[1].service", "checkout/orders-api", "orders/orders-api"],
    ]);
  });
  it("says whether the set was the whole fleet", () => {
    const [whole] = findMissingReferences(fleet, { fleet: true });
    expect(whole?.message).toBe(
      "ServiceSecurityProfile payments/payment-api is not in the fleet that was given; did you mean payments/payments-api? this entry allows nothing until it exists",
    );
    const [part] = findMissingReferences(fleet, { fleet: false });
    expect(part?.message).toContain(
      "is not among the files given (with the whole fleet as input, --fleet makes this an error)",
    );
  });
});

describe("suggestProfile", () => {
  const keys = ["checkout/checkout-api", "payments/payments-api", "orders/orders-api", "edge/edge-api"];
  const cases: [string, string | undefined][] = [
    ["payments/payment-api", "payments/payments-api"], // a letter missing
    ["payments/paymnets-api", "payments/payments-api"], // two letters swapped
    ["checkout/orders-api", "orders/orders-api"], // the right name in the wrong namespace
    ["Edge/edge-api", "edge/edge-api"], // case
    ["billing/ledger", undefined], // nothing close
  ];
  for (const [typo, want] of cases)
    it(`${typo} -> ${want}`, () => expect(suggestProfile(typo, keys)).toBe(want));
});

describe("buildGraph", () => {
  const states = (fleet: FleetProfile[]) =>
    Object.fromEntries(buildGraph(fleet).edges.map((e) => [`${e.from} -> ${e.to}`, e.state])) as Record<
      string,
      EdgeState
    >;
  it("marks each edge by who declares it", () => {
    expect(
      states([
        profile("a/api", admits("b/web")),
        profile("b/web", calls("a/api", "c/db")),
        profile("c/db", {}),
        profile("d/job", {
          ingress: [{ from: [{ namespace: "batch" }] }],
          egress: { to: [{ cidr: "10.0.0.0/8" }] },
        }),
        profile("e/new", calls("z/unknown")),
      ]),
    ).toEqual({
      "b/web -> a/api": "both",
      "b/web -> c/db": "caller-only",
      "d/job -> cidr:10.0.0.0/8": "external",
      "e/new -> z/unknown": "external",
      "ns:batch -> d/job": "external",
    });
  });
  it("names a protocol other than TCP in the edge label", () => {
    const g = buildGraph([
      profile("a/api", { egress: { to: [{ cidr: "10.30.0.0/24", ports: [514], protocol: "UDP" }] } }),
    ]);
    expect(g.edges.map(edgeLabel)).toEqual(["514 UDP"]);
  });
  it("merges the rules between two services into one edge with every port, method and path", () => {
    const g = buildGraph([
      profile("a/api", {
        ingress: [
          { from: [{ service: "b/web" }], ports: [8080], http: { methods: ["GET"], paths: ["/v1/*"] } },
          {
            from: [{ service: "b/web" }],
            ports: [9090, 8080],
            http: { methods: ["POST"], paths: ["/admin"] },
          },
        ],
      }),
      profile("b/web", calls("a/api")),
    ]);
    expect(g.edges).toEqual([
      {
        from: "b/web",
        to: "a/api",
        ports: [8080, 9090],
        protocols: ["TCP"],
        methods: ["GET", "POST"],
        paths: ["/admin", "/v1/*"],
        state: "both",
      },
    ]);
    expect(g.nodes.map((n) => [n.id, n.kind])).toEqual([
      ["a/api", "profile"],
      ["b/web", "profile"],
    ]);
  });
  it("draws a caller admitted by namespace as a profile edge when it declares egress", () => {
    expect(
      states([
        profile("a/api", { ingress: [{ from: [{ namespace: "b" }] }] }),
        profile("b/web", calls("a/api")),
      ]),
    ).toEqual({ "b/web -> a/api": "both", "ns:b -> a/api": "external" });
  });
  it("draws a namespace edge one-sided when the namespace has profiles and none calls", () => {
    expect(
      states([profile("a/api", { ingress: [{ from: [{ namespace: "b" }] }] }), profile("b/web", {})]),
    ).toEqual({ "ns:b -> a/api": "callee-only" });
    expect(states([profile("a/api", { ingress: [{ from: [{ namespace: "x" }] }] })])).toEqual({
      "ns:x -> a/api": "external",
    });
  });
});
