// Egress by host on the real test bed (Istio's CRDs, the real operator): a profile's host entries
// get their ServiceEntries (exported to the namespace only) and, in sidecar mode, a REGISTRY_ONLY
// Sidecar, both accepted by Istio's schemas with strict field validation; drift on them is
// corrected; removing the hosts prunes them; switching the namespace to ambient swaps the Sidecar
// for the egress-waypoint binding; the API server refuses a malformed host naming the field; and
// MeshwardPolicy guardrails.egressHosts reports in Audit and refuses in Enforce. Each test asserts
// what the cluster holds afterwards.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POLICIES, PROFILES } from "../operator/reconcile/kinds.ts";
import { ApiError, type KubeClient, type KubeObjectLike, resourcePath } from "../operator/runtime/client.ts";
import { deleteIfPresent } from "../test-support/harness/namespaces.ts";
import { applyNamespace, createNamespace, deleteNamespace, kube, waitFor } from "./support/kube.ts";
import { type OperatorProcess, startOperator } from "./support/operator.ts";
import {
  applyProfile,
  condition,
  getChild,
  getProfile,
  kindOf,
  type ProfileObject,
  waitCondition,
  waitEvent,
} from "./support/profiles.ts";

let client: KubeClient;
let op: OperatorProcess | undefined;
const namespaces: string[] = [];
const policies = new Set<string>();

type Child = KubeObjectLike & { spec?: Record<string, unknown> };

const HOSTS = {
  selector: { app: "api" },
  egress: {
    to: [
      { host: "api.stripe.com", ports: [443] },
      { host: "*.googleapis.com", ports: [443], protocol: "TLS" },
    ],
  },
};
const STRIPE = "api-egress.api.stripe.com";
const GOOGLE = "api-egress-any.googleapis.com";

async function namespace(prefix: string): Promise<string> {
  const ns = await createNamespace(client, prefix);
  namespaces.push(ns);
  return ns;
}

const present = (kind: string, ns: string, name: string, check: (o: Child) => boolean = () => true) =>
  waitFor(
    `${kind} ${ns}/${name}`,
    async () => {
      const o = await getChild(client, kind, ns, name);
      return o && check(o) ? o : undefined;
    },
    30_000,
    200,
  );

const gone = (kind: string, ns: string, name: string) =>
  waitFor(`${kind} ${ns}/${name} gone`, async () => !(await getChild(client, kind, ns, name)), 30_000, 200);

function waitProfile(ns: string, name: string, what: string, check: (p: ProfileObject) => boolean) {
  return waitFor(
    `${ns}/${name}: ${what}`,
    async () => {
      const p = await getProfile(client, ns, name);
      if (!p || p.status?.observedGeneration !== p.metadata?.generation) return undefined;
      return check(p) ? p : undefined;
    },
    30_000,
    200,
  );
}

async function applyPolicy(name: string, spec: Record<string, unknown>): Promise<void> {
  policies.add(name);
  await client.apply(
    resourcePath(POLICIES, undefined, name),
    { apiVersion: "meshward.io/v1alpha1", kind: "MeshwardPolicy", metadata: { name }, spec },
    "e2e-platform",
    true,
    { fieldValidation: "Strict" },
  );
}

beforeAll(async () => {
  client = kube();
  op = await startOperator({ name: "operator-egress-host" });
});

afterAll(async () => {
  for (const p of [...policies]) await deleteIfPresent(client, resourcePath(POLICIES, undefined, p));
  await op?.stop();
  for (const ns of namespaces) await deleteNamespace(client, ns);
});

describe("ServiceEntry and Sidecar", () => {
  it("are created as built, accepted by Istio's CRDs, drift-corrected, and pruned with the hosts", async () => {
    const ns = await namespace("egress-host");
    await applyProfile(client, ns, "api", HOSTS);
    const ready = await waitCondition(client, ns, "api");
    expect(condition(ready, "Ready")?.reason).toBe("Reconciled");

    const stripe = await present("ServiceEntry", ns, STRIPE);
    expect(stripe.spec).toEqual({
      hosts: ["api.stripe.com"],
      exportTo: ["."],
      location: "MESH_EXTERNAL",
      resolution: "DNS",
      ports: [{ number: 443, name: "tls-443", protocol: "TLS" }],
    });
    const google = await present("ServiceEntry", ns, GOOGLE);
    expect(google.spec).toMatchObject({ hosts: ["*.googleapis.com"], exportTo: ["."], resolution: "NONE" });
    const sidecar = await present("Sidecar", ns, "api");
    expect(sidecar.spec).toEqual({
      workloadSelector: { labels: { app: "api" } },
      outboundTrafficPolicy: { mode: "REGISTRY_ONLY" },
      egress: [{ hosts: ["./*", "istio-system/*"] }],
    });
    // What the operator applied passes Istio's schema with strict field validation (a dry run of
    // the same object), and the schema is real: an unknown field is refused.
    for (const o of [stripe, sidecar]) {
      const body = {
        apiVersion: o.apiVersion,
        kind: o.kind,
        metadata: { name: `copy-${o.metadata?.name ?? ""}`.slice(0, 63), namespace: ns },
        spec: o.spec,
      };
      await client.request("POST", resourcePath(kindOf(o.kind as string), ns), {
        body,
        query: { fieldValidation: "Strict", dryRun: "All" },
      });
      const err = await client
        .request("POST", resourcePath(kindOf(o.kind as string), ns), {
          body: { ...body, spec: { ...body.spec, notAField: true } },
          query: { fieldValidation: "Strict", dryRun: "All" },
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err, `${String(o.kind)} with an unknown field`).toBeInstanceOf(ApiError);
      expect((err as ApiError).message).toContain("notAField");
    }
    // The NetworkPolicy admits the egress path on 443 only, not every port.
    const np = await getChild(client, "NetworkPolicy", ns, "api");
    const hostRule = (np?.spec?.egress as { to: { ipBlock?: { cidr: string } }[]; ports: unknown[] }[]).find(
      (r) => r.to.some((t) => t.ipBlock?.cidr === "0.0.0.0/0"),
    );
    expect(hostRule?.ports).toEqual([{ protocol: "TCP", port: 443 }]);

    // Drift: a host added behind meshward's back (kubectl edit) is taken out again.
    await client.request("PUT", resourcePath(kindOf("ServiceEntry"), ns, STRIPE), {
      body: { ...stripe, spec: { ...stripe.spec, hosts: ["api.stripe.com", "exfil.example.org"] } },
      query: { fieldManager: "kubectl-edit" },
    });
    const edited = await waitEvent(client, ns, "DriftCorrected", `ServiceEntry ${STRIPE}`);
    expect(edited.note).toContain("spec.hosts");
    await present("ServiceEntry", ns, STRIPE, (o) => JSON.stringify(o.spec?.hosts) === '["api.stripe.com"]');
    // Drift: the Sidecar deleted is recreated, REGISTRY_ONLY again.
    await client.delete(resourcePath(kindOf("Sidecar"), ns, "api"));
    const deleted = await waitEvent(client, ns, "DriftCorrected", "Sidecar api");
    expect(deleted.note).toContain("deleted");
    const back = await present("Sidecar", ns, "api");
    expect(back.spec?.outboundTrafficPolicy).toEqual({ mode: "REGISTRY_ONLY" });

    // One host removed: its ServiceEntry goes, the other stays.
    await applyProfile(client, ns, "api", { ...HOSTS, egress: { to: [HOSTS.egress.to[0]] } });
    await gone("ServiceEntry", ns, GOOGLE);
    expect(await getChild(client, "ServiceEntry", ns, STRIPE)).toBeDefined();
    // Every host removed: the ServiceEntries and the Sidecar go.
    await applyProfile(client, ns, "api", { selector: { app: "api" } });
    await gone("ServiceEntry", ns, STRIPE);
    await gone("Sidecar", ns, "api");
    const after = await waitCondition(client, ns, "api");
    expect((after.status?.objects ?? []).map((o) => o.kind)).not.toContain("ServiceEntry");
  });

  it("in an ambient namespace: no Sidecar, the ServiceEntry bound to the egress waypoint", async () => {
    const ns = await namespace("egress-ambient");
    await applyProfile(client, ns, "api", HOSTS);
    await waitCondition(client, ns, "api");
    await present("Sidecar", ns, "api");
    // The namespace moves to ambient: the Sidecar is pruned, the ServiceEntry re-bound.
    await applyNamespace(client, ns, "e2e-egress-host", { "istio.io/dataplane-mode": "ambient" });
    await gone("Sidecar", ns, "api");
    const se = await present(
      "ServiceEntry",
      ns,
      STRIPE,
      (o) => o.metadata?.labels?.["istio.io/use-waypoint"] === "waypoint",
    );
    expect(se.metadata?.labels?.["istio.io/use-waypoint-namespace"]).toBe("istio-egress");
    expect(se.spec?.exportTo).toEqual([".", "istio-egress"]);
    const np = await getChild(client, "NetworkPolicy", ns, "api");
    expect(JSON.stringify(np?.spec?.egress)).not.toContain("0.0.0.0/0");
    expect(JSON.stringify(np?.spec?.egress)).toContain('"gateway.networking.k8s.io/gateway-name":"waypoint"');
  });
});

describe("malformed hosts", () => {
  it.each([
    ["https://api.stripe.com/v1", "host must be a bare DNS name without scheme or path"],
    ["10.1.2.3", "host must be a DNS name, not an IP address"],
    ["API.stripe.com", "host must be lowercase"],
    ["*.svc.cluster.local", "host must be outside the cluster"],
  ])("the API server refuses %s, naming the field", async (host, message) => {
    const ns = namespaces[0] ?? (await namespace("egress-host"));
    const err = await applyProfile(client, ns, "bad", {
      selector: { app: "bad" },
      egress: { to: [{ host, ports: [443] }] },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(422);
    expect((err as ApiError).message).toContain("spec.egress.to[0].host");
    expect((err as ApiError).message).toContain(message);
    expect(await getProfile(client, ns, "bad")).toBeUndefined();
  });
});

describe("guardrails.egressHosts", () => {
  it("Audit: applied and reported; Enforce: the host's objects removed, Ready=False", async () => {
    const ns = await namespace("egress-guard");
    const policy = `e2e-egress-hosts-${ns}`;
    const guard = (mode: string) =>
      applyPolicy(policy, {
        namespaceSelector: { "kubernetes.io/metadata.name": ns },
        guardrails: { egressHosts: { mode, allowed: ["*.stripe.com"] } },
      });
    await guard("Audit");
    await applyProfile(client, ns, "api", HOSTS);
    const audit = await waitProfile(
      ns,
      "api",
      "Compliant=False (EgressHostNotAllowed)",
      (p) => condition(p, "Compliant")?.reason === "EgressHostNotAllowed",
    );
    expect(condition(audit, "Ready")?.status).toBe("True");
    const message = `MeshwardPolicy ${policy} allows egress only to the hosts *.stripe.com: call *.googleapis.com through an allowed host, or ask the platform team to allow it`;
    expect(audit.status?.policy?.findings).toEqual([
      {
        reason: "EgressHostNotAllowed",
        rule: "guardrails.egressHosts",
        mode: "Audit",
        path: "spec.egress.to[1].host",
        message,
        policies: [policy],
      },
    ]);
    await waitEvent(client, ns, "EgressHostNotAllowed", "*.googleapis.com");
    // Applied as written.
    await present("ServiceEntry", ns, GOOGLE);
    await present("ServiceEntry", ns, STRIPE);

    await guard("Enforce");
    const enforced = await waitCondition(client, ns, "api", {
      status: "False",
      reason: "EgressHostNotAllowed",
    });
    expect(condition(enforced, "Ready")?.message).toContain("spec.egress.to[1].host");
    expect(condition(enforced, "Ready")?.message).toContain(message);
    // Fail closed: the refused host's ServiceEntry is removed; the allowed one and the Sidecar stay.
    await gone("ServiceEntry", ns, GOOGLE);
    expect(await getChild(client, "ServiceEntry", ns, STRIPE)).toBeDefined();
    expect(await getChild(client, "Sidecar", ns, "api")).toBeDefined();

    // The policy gone, the host is built again.
    await deleteIfPresent(client, resourcePath(POLICIES, undefined, policy));
    policies.delete(policy);
    await present("ServiceEntry", ns, GOOGLE);
    await waitCondition(client, ns, "api");
    expect(await client.get(resourcePath(PROFILES, ns, "api"))).toBeDefined();
  });
});
