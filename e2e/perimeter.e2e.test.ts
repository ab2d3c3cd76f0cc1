// The perimeter around meshward on a real API server (issue 23): a tenant holding the upstream `edit`
// role in its namespace (with External Secrets Operator's roles aggregated into it the way ESO's
// chart does, and Istio's kinds aggregated as several distributions do) tries to get around its
// profiles by writing the security kinds itself; meshward's own identity tries to write outside its
// fence. Each test performs the move and asserts what the cluster then holds. The operator runs
// under its own ServiceAccount, so the fence applies to its real writes.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { AdmissionMode } from "../operator/api/policy.ts";
import { API_VERSION, KIND } from "../operator/api/schema.ts";
import { NAMESPACE_DEFAULT_DENY } from "../operator/builders/meta.ts";
import { DEFAULT_PLATFORM } from "../operator/builders/context.ts";
import { buildPerimeter, perimeterPolicyName } from "../operator/perimeter/admission.ts";
import type { ClusterObject } from "../operator/policy/admission.ts";
import { policy } from "../test-support/fixtures/policy.ts";
import { buildQuarantine } from "../operator/policy/quarantine.ts";
import { POLICIES, PROFILES } from "../operator/reconcile/kinds.ts";
import { ApiError, KubeClient, type Resource, resourcePath } from "../operator/runtime/client.ts";
import type { KubeConfig } from "@kubernetes/client-node";
import { esoAggregatedRoles } from "./controlplane/eso-roles.ts";
import { AUDIT_LOG_PATH } from "./controlplane/state.ts";
import { type Answer, loadKubeconfig, send } from "./support/admission.ts";
import {
  createNamespace,
  deleteNamespace,
  getOrUndefined,
  kube,
  kubeconfigPath,
  serviceAccountKubeconfig,
  waitFor,
} from "./support/kube.ts";
import { type OperatorProcess, startOperator } from "./support/operator.ts";
import { applyProfile, condition, getProfile, kindOf, waitCondition, waitEvent } from "./support/profiles.ts";

const MANAGER = "meshward-e2e-perimeter";
const WORK = path.resolve(import.meta.dirname, "../.cache/e2e/perimeter");
const POLICY = "e2e-perimeter";
const ESO_RELEASE = "e2e-perimeter-eso";
const ISTIO_EDIT = "e2e-perimeter-istio-edit";
const MESH_ROOT = "istio-system";

const r = (group: string, version: string, plural: string, kind: string, namespaced = true): Resource => ({
  group,
  version,
  plural,
  kind,
  namespaced,
});
const NETPOL = r("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy");
const EXTERNAL_SECRETS = r("external-secrets.io", "v1", "externalsecrets", "ExternalSecret");
const SECRET_STORES = r("external-secrets.io", "v1", "secretstores", "SecretStore");
const AUTHZ = r("security.istio.io", "v1", "authorizationpolicies", "AuthorizationPolicy");
const PEERAUTH = r("security.istio.io", "v1", "peerauthentications", "PeerAuthentication");
const SERVICE_ACCOUNTS = r("", "v1", "serviceaccounts", "ServiceAccount");
const PUSH_SECRETS = r("external-secrets.io", "v1alpha1", "pushsecrets", "PushSecret");
const REQUEST_AUTHN = r("security.istio.io", "v1", "requestauthentications", "RequestAuthentication");
const TELEMETRIES = r("telemetry.istio.io", "v1", "telemetries", "Telemetry");
const SIDECARS = r("networking.istio.io", "v1", "sidecars", "Sidecar");
const SERVICE_ENTRIES = r("networking.istio.io", "v1", "serviceentries", "ServiceEntry");
const ENVOY_FILTERS = r("networking.istio.io", "v1alpha3", "envoyfilters", "EnvoyFilter");
const CLUSTER_ROLES = r("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false);
const CLUSTER_ROLE_BINDINGS = r(
  "rbac.authorization.k8s.io",
  "v1",
  "clusterrolebindings",
  "ClusterRoleBinding",
  false,
);
const ROLE_BINDINGS = r("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding");
const NAMESPACES = r("", "v1", "namespaces", "Namespace", false);

let admin: KubeClient;
let team: string; // governed by the policy
let other: string; // not governed
let opNs: string; // meshward's own namespace
const kcs: Record<string, KubeConfig> = {};
let operator: OperatorProcess | undefined;
let perimeter: ClusterObject[] = [];
const clusterScoped: string[] = [];

const allowAll = (name: string) => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name },
  spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"], ingress: [{}], egress: [{}] },
});

const stolenSecret = (name: string) => ({
  apiVersion: "external-secrets.io/v1",
  kind: "ExternalSecret",
  metadata: { name },
  spec: {
    refreshInterval: "1h",
    secretStoreRef: { kind: "ClusterSecretStore", name: "vault" },
    target: { name },
    data: [{ secretKey: "password", remoteRef: { key: "payments/database", property: "password" } }],
  },
});

const allowAllAuthz = (name: string) => ({
  apiVersion: "security.istio.io/v1",
  kind: "AuthorizationPolicy",
  metadata: { name },
  spec: { action: "ALLOW", rules: [{}] },
});

const permissive = (name: string) => ({
  apiVersion: "security.istio.io/v1",
  kind: "PeerAuthentication",
  metadata: { name },
  spec: { selector: { matchLabels: { app: "shop" } }, mtls: { mode: "PERMISSIVE" } },
});

/**
 * The locked kinds the tests above do not try, each as a tenant would use it to get around its
 * profile, with what the refusal advises.
 */
const MORE_MOVES = [
  {
    what: "a PushSecret copying a Secret of the namespace out to the shared store",
    resource: PUSH_SECRETS,
    advice: "pushing secrets to a store is not a tenant operation",
    body: (name: string) => ({
      apiVersion: "external-secrets.io/v1alpha1",
      kind: "PushSecret",
      metadata: { name },
      spec: {
        secretStoreRefs: [{ kind: "ClusterSecretStore", name: "vault" }],
        selector: { secret: { name: "shop-db" } },
        data: [{ match: { secretKey: "password", remoteRef: { remoteKey: "payments/database" } } }],
      },
    }),
  },
  {
    what: "a RequestAuthentication trusting its own token issuer",
    resource: REQUEST_AUTHN,
    advice: "declare end-user tokens in your ServiceSecurityProfile's spec.requestAuthentication",
    body: (name: string) => ({
      apiVersion: "security.istio.io/v1",
      kind: "RequestAuthentication",
      metadata: { name },
      spec: {
        selector: { matchLabels: { app: "shop" } },
        jwtRules: [{ issuer: "https://tokens.example.com", jwksUri: "https://tokens.example.com/jwks" }],
      },
    }),
  },
  {
    what: "a Telemetry turning access logs off",
    resource: TELEMETRIES,
    advice: "turn on access logs with your ServiceSecurityProfile's spec.audit.accessLogs",
    body: (name: string) => ({
      apiVersion: "telemetry.istio.io/v1",
      kind: "Telemetry",
      metadata: { name },
      spec: { accessLogging: [{ disabled: true }] },
    }),
  },
  {
    what: "a Sidecar opening egress to every host of the mesh",
    resource: SIDECARS,
    advice: "declare your egress in your ServiceSecurityProfile's spec.egress",
    body: (name: string) => ({
      apiVersion: "networking.istio.io/v1",
      kind: "Sidecar",
      metadata: { name },
      spec: { egress: [{ hosts: ["*/*"] }], outboundTrafficPolicy: { mode: "ALLOW_ANY" } },
    }),
  },
  {
    what: "a ServiceEntry registering a host no profile declares",
    resource: SERVICE_ENTRIES,
    advice: "name the external host in your ServiceSecurityProfile's spec.egress.to[].host",
    body: (name: string) => ({
      apiVersion: "networking.istio.io/v1",
      kind: "ServiceEntry",
      metadata: { name },
      spec: {
        hosts: ["exfil.example.org"],
        location: "MESH_EXTERNAL",
        resolution: "DNS",
        ports: [{ number: 443, name: "tls-443", protocol: "TLS" }],
      },
    }),
  },
  {
    what: "an EnvoyFilter removing the inbound RBAC filter",
    resource: ENVOY_FILTERS,
    advice: "EnvoyFilters change the mesh for every service",
    body: (name: string) => ({
      apiVersion: "networking.istio.io/v1alpha3",
      kind: "EnvoyFilter",
      metadata: { name },
      spec: {
        configPatches: [
          {
            applyTo: "HTTP_FILTER",
            match: {
              context: "SIDECAR_INBOUND",
              listener: { filterChain: { filter: { subFilter: { name: "envoy.filters.http.rbac" } } } },
            },
            patch: { operation: "REMOVE" },
          },
        ],
      },
    }),
  },
] as const;

function vapPath(o: ClusterObject): string {
  const plural =
    o.kind === "ValidatingAdmissionPolicy"
      ? "validatingadmissionpolicies"
      : "validatingadmissionpolicybindings";
  return `/apis/admissionregistration.k8s.io/v1/${plural}/${o.metadata.name}`;
}

function policyBody(mode: AdmissionMode) {
  return {
    apiVersion: API_VERSION,
    kind: "MeshwardPolicy",
    metadata: { name: POLICY },
    spec: {
      namespaceSelector: { "meshward.io/e2e-perimeter": team },
      guardrails: { secrets: { mode: "Audit", stores: [{ name: "vault", keys: ["{namespace}/*"] }] } },
      perimeter: {
        mode,
        platformIdentities: [
          { serviceAccount: { namespace: team, name: "platform" } },
          { group: "platform-admins" },
          // Missing until the bad-input test creates it.
          { serviceAccount: { namespace: team, name: "release-bot" } },
        ],
        exemptions: [
          {
            namespace: team,
            kind: "NetworkPolicy",
            name: "legacy-allow",
            expires: new Date(Date.now() + 86_400_000).toISOString().replace(/\.\d{3}Z$/, "Z"),
            ticket: "SEC-42",
            reason: "legacy batch job, until its profile lands",
          },
        ],
      },
    },
  };
}

async function setMode(mode: AdmissionMode): Promise<void> {
  await admin.apply(resourcePath(POLICIES, undefined, POLICY), policyBody(mode), MANAGER, true);
  // The API server reads parameters from its own informer: wait until it answers in this mode.
  await waitFor(`the perimeter in ${mode}`, async () => {
    const a = await tenant("POST", `${resourcePath(NETPOL, team)}?dryRun=All`, allowAll("probe"));
    if (mode === "Deny") return a.status === 403 && a.message.includes(`MeshwardPolicy ${POLICY}`);
    if (mode === "Warn")
      return a.status === 201 && a.warnings.some((w) => w.includes(`MeshwardPolicy ${POLICY}`));
    return a.status === 201 && a.warnings.length === 0;
  });
}

function tenant(
  method: "POST" | "PATCH" | "DELETE",
  p: string,
  body?: unknown,
  type?: string,
): Promise<Answer> {
  return send(kcs.tenant as KubeConfig, method, p, body, type);
}

/** A ServiceAccount of `namespace`, bound to `role` there (or cluster-wide), and its kubeconfig. */
async function account(namespace: string, name: string, role: string, where: string[] | "cluster") {
  await admin.request("POST", resourcePath(SERVICE_ACCOUNTS, namespace), {
    body: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name } },
  });
  const roleRef = { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role };
  const subjects = [{ kind: "ServiceAccount", name, namespace }];
  if (where === "cluster") {
    const binding = `e2e-perimeter-${namespace}-${name}`;
    await admin.request("POST", resourcePath(CLUSTER_ROLE_BINDINGS), {
      body: {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: binding },
        roleRef,
        subjects,
      },
    });
    clusterScoped.push(resourcePath(CLUSTER_ROLE_BINDINGS, undefined, binding));
  } else
    for (const ns of where)
      await admin.request("POST", resourcePath(ROLE_BINDINGS, ns), {
        body: {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "RoleBinding",
          metadata: { name },
          roleRef,
          subjects,
        },
      });
  return loadKubeconfig(
    await serviceAccountKubeconfig(
      admin,
      namespace,
      name,
      path.join(WORK, `${namespace}-${name}.kubeconfig`),
    ),
  );
}

/** Whether `kc` may create `plural` of `group` in `namespace` (SelfSubjectAccessReview). */
async function can(kc: KubeConfig, group: string, plural: string, namespace: string): Promise<boolean> {
  const review = await new KubeClient(kc).request<{ status: { allowed: boolean } }>(
    "POST",
    "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
    {
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SelfSubjectAccessReview",
        spec: { resourceAttributes: { group, resource: plural, verb: "create", namespace } },
      },
    },
  );
  return review.status.allowed;
}

async function exists(resource: Resource, namespace: string, name: string): Promise<boolean> {
  return (await getOrUndefined(admin, resourcePath(resource, namespace, name))) !== undefined;
}

beforeAll(async () => {
  fs.mkdirSync(WORK, { recursive: true });
  admin = kube();
  team = await createNamespace(admin, "perimeter-team");
  other = await createNamespace(admin, "perimeter-other");
  opNs = await createNamespace(admin, "perimeter-meshward");
  await admin.apply(
    resourcePath(NAMESPACES, undefined, team),
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: team, labels: { "meshward.io/e2e-perimeter": team } },
    },
    MANAGER,
    true,
  );
  await admin.apply(
    resourcePath(NAMESPACES, undefined, MESH_ROOT),
    { apiVersion: "v1", kind: "Namespace", metadata: { name: MESH_ROOT } },
    MANAGER,
    true,
  );

  // External Secrets Operator's roles as its chart installs them, and Istio's kinds aggregated into
  // edit as some distributions do.
  for (const role of await esoAggregatedRoles(ESO_RELEASE)) {
    await admin.apply(resourcePath(CLUSTER_ROLES, undefined, role.metadata?.name), role, MANAGER, true);
    clusterScoped.push(resourcePath(CLUSTER_ROLES, undefined, role.metadata?.name));
  }
  const istioEdit = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: ISTIO_EDIT, labels: { "rbac.authorization.k8s.io/aggregate-to-edit": "true" } },
    rules: [
      {
        apiGroups: ["security.istio.io", "networking.istio.io", "telemetry.istio.io"],
        resources: ["*"],
        verbs: ["create", "update", "patch", "delete"],
      },
    ],
  };
  await admin.apply(resourcePath(CLUSTER_ROLES, undefined, ISTIO_EDIT), istioEdit, MANAGER, true);
  clusterScoped.push(resourcePath(CLUSTER_ROLES, undefined, ISTIO_EDIT));

  kcs.tenant = await account(team, "tenant", "edit", [team, other]);
  kcs.platform = await account(team, "platform", "edit", [team]);
  kcs.meshward = await account(opNs, "meshward", "cluster-admin", "cluster");
  for (const [group, plural] of [
    ["networking.k8s.io", "networkpolicies"],
    ["external-secrets.io", "externalsecrets"],
    ["external-secrets.io", "secretstores"],
    ["security.istio.io", "authorizationpolicies"],
    ...MORE_MOVES.map((m) => [m.resource.group, m.resource.plural] as const),
  ])
    await waitFor(`edit to grant ${plural} (aggregation)`, () =>
      can(kcs.tenant as KubeConfig, group, plural, team),
    );

  perimeter = buildPerimeter({
    operator: { namespace: opNs, name: "meshward" },
    meshRootNamespace: MESH_ROOT,
  });
  for (const o of perimeter) await admin.apply(vapPath(o), o, MANAGER, true);
  await setMode("Deny");

  // The real operator, under its own ServiceAccount: the fence applies to everything it writes.
  operator = await startOperator({
    name: "perimeter",
    kubeconfig: path.join(WORK, `${opNs}-meshward.kubeconfig`),
  });
  await applyProfile(admin, team, "shop", {
    selector: { app: "shop" },
    ingress: [{ from: [{ namespace: other }], ports: [8080] }],
  });
  await waitCondition(admin, team, "shop");
  // The operator publishes the exemption in force; the admission policies read it from there.
  await waitFor("the exemption in the policy's status", async () => {
    const p = await getOrUndefined<{ status?: { perimeter?: { active?: string[] } } }>(
      admin,
      resourcePath(POLICIES, undefined, POLICY),
    );
    return p?.status?.perimeter?.active?.includes(`NetworkPolicy/${team}/legacy-allow`) ?? false;
  });
});

afterAll(async () => {
  await operator?.stop();
  for (const o of [...perimeter].reverse())
    await admin.delete(vapPath(o)).catch((e: unknown) => {
      if (!(e instanceof ApiError && e.status === 404)) throw e;
    });
  await admin.delete(resourcePath(POLICIES, undefined, POLICY)).catch(() => undefined);
  for (const p of clusterScoped) await admin.delete(p).catch(() => undefined);
  for (const ns of [team, other, opNs]) if (ns) await deleteNamespace(admin, ns);
});

describe("the perimeter's admission policies", () => {
  it("are type-checked by the API server without a warning", async () => {
    for (const o of perimeter.filter((x) => x.kind === "ValidatingAdmissionPolicy")) {
      const vap = await waitFor(`${o.metadata.name} observed`, async () => {
        const v = await admin.get<{
          metadata: { generation: number };
          status?: {
            observedGeneration?: number;
            typeChecking?: { expressionWarnings?: { fieldRef: string; warning: string }[] };
          };
        }>(vapPath(o));
        return v.status?.observedGeneration === v.metadata.generation ? v : undefined;
      });
      expect(vap.status?.typeChecking?.expressionWarnings ?? [], o.metadata.name).toEqual([]);
    }
  });
});

describe("a tenant with edit, perimeter in Deny", () => {
  it("cannot undo the default deny with its own allow-all NetworkPolicy", async () => {
    const a = await tenant("POST", resourcePath(NETPOL, team), allowAll("allow-all"));
    expect(a.status).toBe(403);
    expect(a.message).toContain(
      "declare the traffic in your ServiceSecurityProfile (spec.ingress, spec.egress)",
    );
    expect(a.message).toContain(`{namespace: ${team}, kind: NetworkPolicy, name: allow-all}`);
    expect(await exists(NETPOL, team, "allow-all")).toBe(false);
  });

  it("cannot read another team's key through its own ExternalSecret, nor bring its own store", async () => {
    const a = await tenant("POST", resourcePath(EXTERNAL_SECRETS, team), stolenSecret("stolen"));
    expect(a.status).toBe(403);
    expect(a.message).toContain("list the secret in your ServiceSecurityProfile's spec.secrets");
    expect(await exists(EXTERNAL_SECRETS, team, "stolen")).toBe(false);
    const store = await tenant("POST", resourcePath(SECRET_STORES, team), {
      apiVersion: "external-secrets.io/v1",
      kind: "SecretStore",
      metadata: { name: "mine" },
      spec: { provider: { fake: { data: [] } } },
    });
    expect(store.status).toBe(403);
    expect(await exists(SECRET_STORES, team, "mine")).toBe(false);
  });

  it("cannot widen the mesh with an ALLOW AuthorizationPolicy or a PERMISSIVE PeerAuthentication", async () => {
    const allow = await tenant("POST", resourcePath(AUTHZ, team), allowAllAuthz("allow-all"));
    expect(allow.status).toBe(403);
    expect(allow.message).toContain("declare your callers in your ServiceSecurityProfile's spec.ingress");
    const peer = await tenant("POST", resourcePath(PEERAUTH, team), permissive("permissive"));
    expect(peer.status).toBe(403);
    expect(peer.message).toContain("mTLS is STRICT for every profile");
    expect(await exists(AUTHZ, team, "allow-all")).toBe(false);
    expect(await exists(PEERAUTH, team, "permissive")).toBe(false);
  });

  it("cannot delete or edit the NetworkPolicies meshward wrote for its profile", async () => {
    const del = await tenant("DELETE", resourcePath(NETPOL, team, NAMESPACE_DEFAULT_DENY));
    expect(del.status).toBe(403);
    const patch = await tenant(
      "PATCH",
      resourcePath(NETPOL, team, "shop"),
      { spec: { ingress: [{}] } },
      "application/merge-patch+json",
    );
    expect(patch.status).toBe(403);
    const live = await getOrUndefined<{ spec: { ingress?: unknown[] } }>(
      admin,
      resourcePath(NETPOL, team, "shop"),
    );
    expect(live?.spec.ingress).not.toContainEqual({});
    expect(await exists(NETPOL, team, NAMESPACE_DEFAULT_DENY)).toBe(true);
  });

  it("may write the object the platform exempted, and only that one", async () => {
    const exemptionMessage = async () =>
      (
        await getOrUndefined<{ status?: { perimeter?: { exemptions?: { message?: string }[] } } }>(
          admin,
          resourcePath(POLICIES, undefined, POLICY),
        )
      )?.status?.perimeter?.exemptions?.[0]?.message ?? "";
    expect(await exemptionMessage()).toContain(`no NetworkPolicy legacy-allow exists in ${team} yet`);
    const a = await tenant("POST", resourcePath(NETPOL, team), allowAll("legacy-allow"));
    expect(a.status).toBe(201);
    await waitFor("the exemption's object seen", async () => !(await exemptionMessage()).includes("yet"));
    expect(await exists(NETPOL, team, "legacy-allow")).toBe(true);
    expect((await tenant("DELETE", resourcePath(NETPOL, team, "legacy-allow"))).status).toBe(200);
    expect((await tenant("POST", resourcePath(NETPOL, team), allowAll("legacy-allow-2"))).status).toBe(403);
  });

  it("leaves platform identities and namespaces the policy does not govern alone", async () => {
    const platform = await send(
      kcs.platform as KubeConfig,
      "POST",
      resourcePath(NETPOL, team),
      allowAll("platform-owned"),
    );
    expect(platform.status).toBe(201);
    const elsewhere = await tenant("POST", resourcePath(NETPOL, other), allowAll("allow-all"));
    expect(elsewhere.status).toBe(201);
    expect(await exists(NETPOL, team, "platform-owned")).toBe(true);
    expect(await exists(NETPOL, other, "allow-all")).toBe(true);
  });
});

describe("bad input: a clear status message, nothing opened", () => {
  type Identity = { identity: string; state: string; message?: string };
  const identities = async (): Promise<Identity[]> =>
    (
      await getOrUndefined<{ status?: { perimeter?: { identities?: Identity[] } } }>(
        admin,
        resourcePath(POLICIES, undefined, POLICY),
      )
    )?.status?.perimeter?.identities ?? [];
  const states = (xs: Identity[]) => xs.map((i) => `${i.identity}=${i.state}`);

  it("a platform identity whose ServiceAccount does not exist is NotFound, and follows it when created", async () => {
    const before = await waitFor("the identities in the policy's status", async () => {
      const xs = await identities();
      return xs.length === 3 ? xs : undefined;
    });
    expect(states(before)).toEqual([
      `serviceAccount:${team}/platform=Found`,
      "group:platform-admins=Unchecked",
      `serviceAccount:${team}/release-bot=NotFound`,
    ]);
    const missing = before[2]?.message ?? "";
    expect(missing).toContain(`no ServiceAccount release-bot exists in namespace ${team}`);
    expect(missing).toContain("the admission policies trust the name anyway");
    expect(missing).toContain(`check the name (kubectl get serviceaccounts -n ${team})`);
    expect(before[1]?.message).toContain("a group has no API object to look up");
    // Nothing is opened meanwhile: the tenant is still refused, the profile still reconciled.
    expect((await tenant("POST", resourcePath(NETPOL, team), allowAll("while-missing"))).status).toBe(403);
    expect(await exists(NETPOL, team, "while-missing")).toBe(false);
    expect(condition(await getProfile(admin, team, "shop"), "Ready")?.status).toBe("True");

    // Created: the watch sees it and the status follows; deleted: back to NotFound.
    await admin.request("POST", resourcePath(SERVICE_ACCOUNTS, team), {
      body: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "release-bot" } },
    });
    const found = await waitFor("release-bot Found", async () => {
      const xs = await identities();
      return xs[2]?.state === "Found" ? xs : undefined;
    });
    expect(found[2]?.message).toContain(`ServiceAccount ${team}/release-bot exists`);
    expect(states(found).slice(0, 2)).toEqual(states(before).slice(0, 2));
    await admin.delete(resourcePath(SERVICE_ACCOUNTS, team, "release-bot"));
    await waitFor("release-bot NotFound again", async () => (await identities())[2]?.state === "NotFound");
  });

  const asAdmin = (body: unknown) =>
    send(loadKubeconfig(kubeconfigPath()), "POST", resourcePath(POLICIES), body);
  const badPolicy = (name: string, perimeter: Record<string, unknown>) => ({
    apiVersion: API_VERSION,
    kind: "MeshwardPolicy",
    metadata: { name },
    spec: { namespaceSelector: { "meshward.io/e2e-perimeter": team }, perimeter },
  });
  const exemption = {
    namespace: "shop",
    kind: "NetworkPolicy",
    name: "legacy",
    expires: "2030-01-01T00:00:00Z",
    ticket: "SEC-1",
  };

  it("the API server refuses the same exemption twice, naming the field", async () => {
    const a = await asAdmin(
      badPolicy("e2e-perimeter-duplicate", {
        mode: "Deny",
        exemptions: [exemption, { ...exemption, expires: "2031-01-01T00:00:00Z", ticket: "SEC-2" }],
      }),
    );
    expect(a.status).toBe(422);
    expect(a.message).toContain("spec.perimeter.exemptions[1]: Duplicate value");
    expect(await exists(POLICIES, "", "e2e-perimeter-duplicate")).toBe(false);
  });

  it("the API server refuses a platform identity with two forms, naming the field", async () => {
    const a = await asAdmin(
      badPolicy("e2e-perimeter-two-forms", {
        mode: "Deny",
        platformIdentities: [{ group: "platform-admins" }, { user: "alice", group: "platform-admins" }],
      }),
    );
    expect(a.status).toBe(422);
    expect(a.message).toContain("spec.perimeter.platformIdentities[1]");
    expect(a.message).toContain("each platform identity sets exactly one of user, group or serviceAccount");
    expect(await exists(POLICIES, "", "e2e-perimeter-two-forms")).toBe(false);
  });
});

describe("meshward's managed-by label, whatever the perimeter's mode", () => {
  it("a tenant cannot put meshward's label on its own ServiceAccount, nor take it off meshward's", async () => {
    const labelled = await tenant("POST", resourcePath(SERVICE_ACCOUNTS, team), {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "squatter", labels: { "app.kubernetes.io/managed-by": "meshward" } },
    });
    expect(labelled.status).toBe(403);
    expect(labelled.message).toContain("only meshward sets it");
    expect(await exists(SERVICE_ACCOUNTS, team, "squatter")).toBe(false);
    const strip = await tenant(
      "PATCH",
      resourcePath(SERVICE_ACCOUNTS, team, "shop"),
      { metadata: { labels: { "app.kubernetes.io/managed-by": null } } },
      "application/merge-patch+json",
    );
    expect(strip.status).toBe(403);
    const sa = await getOrUndefined(admin, resourcePath(SERVICE_ACCOUNTS, team, "shop"));
    expect(sa?.metadata?.labels?.["app.kubernetes.io/managed-by"]).toBe("meshward");
    // A ServiceAccount of its own without the label is the tenant's business.
    expect(
      (
        await tenant("POST", resourcePath(SERVICE_ACCOUNTS, team), {
          apiVersion: "v1",
          kind: "ServiceAccount",
          metadata: { name: "batch" },
        })
      ).status,
    ).toBe(201);
  });
});

describe("no profile in system namespaces", () => {
  for (const ns of ["kube-system", MESH_ROOT])
    it(`refuses a ServiceSecurityProfile in ${ns}, even from a cluster admin`, async () => {
      const a = await send(loadKubeconfig(kubeconfigPath()), "POST", resourcePath(PROFILES, ns), {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name: "mesh-wide" },
        spec: { selector: { app: "x" } },
      });
      expect(a.status).toBe(403);
      expect(a.message).toContain(`not accepted in namespace ${ns}`);
      expect(await exists(PROFILES, ns, "mesh-wide")).toBe(false);
    });
});

describe("meshward's reserved names", () => {
  // The chart aggregates profile writes into edit (user-roles.yaml); the same here.
  beforeAll(async () => {
    const name = "e2e-perimeter-profiles-edit";
    await admin.apply(
      resourcePath(CLUSTER_ROLES, undefined, name),
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: { name, labels: { "rbac.authorization.k8s.io/aggregate-to-edit": "true" } },
        rules: [
          {
            apiGroups: ["meshward.io"],
            resources: ["servicesecurityprofiles"],
            verbs: ["create", "update", "patch"],
          },
        ],
      },
      MANAGER,
      true,
    );
    clusterScoped.push(resourcePath(CLUSTER_ROLES, undefined, name));
    await waitFor("edit to grant servicesecurityprofiles (aggregation)", () =>
      can(kcs.tenant as KubeConfig, "meshward.io", "servicesecurityprofiles", team),
    );
  });

  for (const name of [NAMESPACE_DEFAULT_DENY, "meshward-quarantine-shop"])
    it(`a tenant cannot name a profile ${name} to squat meshward's shared objects`, async () => {
      const a = await send(kcs.tenant as KubeConfig, "POST", resourcePath(PROFILES, team), {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name },
        spec: { selector: { app: "squat" } },
      });
      expect(a.status).toBe(422);
      expect(a.message).toContain("metadata.name");
      expect(a.message).toContain("reserved for objects meshward creates");
      expect(await exists(PROFILES, team, name)).toBe(false);
      // meshward's own object of that name is untouched.
      if (name === NAMESPACE_DEFAULT_DENY) {
        const deny = await getOrUndefined<{ metadata: { labels?: Record<string, string> } }>(
          admin,
          resourcePath(NETPOL, team, name),
        );
        expect(deny?.metadata.labels?.["meshward.io/scope"]).toBe("namespace");
      }
    });
});

describe("meshward's own identity is fenced", () => {
  const op = (method: "POST" | "PATCH" | "DELETE", p: string, body?: unknown, type?: string) =>
    send(kcs.meshward as KubeConfig, method, p, body, type);
  const ours = { "app.kubernetes.io/managed-by": "meshward" };

  it("cannot write an object without its label, nor take over a foreign one", async () => {
    const bare = await op("POST", resourcePath(NETPOL, team), allowAll("unlabelled"));
    expect(bare.status).toBe(403);
    expect(bare.message).toContain(
      "meshward writes only objects labelled app.kubernetes.io/managed-by: meshward",
    );
    // platform-owned was written by the platform identity above.
    const takeover = await op(
      "PATCH",
      resourcePath(NETPOL, team, "platform-owned"),
      { metadata: { labels: ours } },
      "application/merge-patch+json",
    );
    expect(takeover.status).toBe(403);
    const del = await op("DELETE", resourcePath(NETPOL, team, "platform-owned"));
    expect(del.status).toBe(403);
    expect(await exists(NETPOL, team, "platform-owned")).toBe(true);
  });

  it("writes nothing in kube-system, and in the mesh root only its quarantine policy", async () => {
    const np = { ...allowAll("meshward-anything"), metadata: { name: "meshward-anything", labels: ours } };
    const sys = await op("POST", resourcePath(NETPOL, "kube-system"), np);
    expect(sys.status).toBe(403);
    expect(sys.message).toContain("writes nothing in the system namespace kube-system");
    expect(await exists(NETPOL, "kube-system", "meshward-anything")).toBe(false);
    const wide = { ...allowAllAuthz("meshward-wide"), metadata: { name: "meshward-wide", labels: ours } };
    expect((await op("POST", resourcePath(AUTHZ, MESH_ROOT), wide)).status).toBe(403);
    const quarantine = {
      apiVersion: "security.istio.io/v1",
      kind: "AuthorizationPolicy",
      metadata: { name: "meshward-quarantine", labels: ours },
      spec: { action: "DENY", rules: [{ from: [{ source: { principals: ["cluster.local/ns/x/sa/y"] } }] }] },
    };
    const q = await op("POST", `${resourcePath(AUTHZ, MESH_ROOT)}?dryRun=All`, quarantine);
    expect(q.status).toBe(201);
    expect(await exists(AUTHZ, MESH_ROOT, "meshward-wide")).toBe(false);
  });

  it("may write a namespace quarantine: the root DENYs, and the DENY and isolation in a tenant namespace", async () => {
    const lockdown = policy("e2e-lockdown", {
      quarantine: { meshRootNamespace: MESH_ROOT, identities: [{ namespace: team }] },
    });
    const built = buildQuarantine([lockdown], [], {
      trustDomain: "cluster.local",
      dns: DEFAULT_PLATFORM.dns,
    });
    expect(built.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
      `AuthorizationPolicy/${MESH_ROOT}/meshward-quarantine`,
      `AuthorizationPolicy/${MESH_ROOT}/meshward-quarantine-waypoints`,
      `AuthorizationPolicy/${team}/meshward-quarantine`,
      `NetworkPolicy/${team}/meshward-quarantine`,
    ]);
    for (const o of built) {
      const r = await op("POST", `${resourcePath(kindOf(o.kind), o.metadata.namespace)}?dryRun=All`, o);
      expect(r.status, `${o.kind}/${o.metadata.namespace}: ${r.message}`).toBe(201);
    }
    expect(await exists(NETPOL, team, "meshward-quarantine")).toBe(false);
  });

  it("the fenced operator still reconciles: a profile's objects are all in place", async () => {
    for (const kind of ["NetworkPolicy", "ServiceAccount", "AuthorizationPolicy", "PeerAuthentication"]) {
      const o = await getOrUndefined(admin, resourcePath(kindOf(kind), team, "shop"));
      expect(o?.metadata?.labels?.["app.kubernetes.io/managed-by"], kind).toBe("meshward");
    }
  });
});

describe("Warn and Audit", () => {
  it("Warn admits the tenant's NetworkPolicy with the same advice as a warning", async () => {
    await setMode("Warn");
    const a = await tenant("POST", resourcePath(NETPOL, team), allowAll("warned"));
    expect(a.status).toBe(201);
    expect(a.warnings.join("\n")).toContain("declare the traffic in your ServiceSecurityProfile");
    expect(await exists(NETPOL, team, "warned")).toBe(true);
  });

  it("Audit admits it silently; the label lockdown still refuses", async () => {
    await setMode("Audit");
    const a = await tenant("POST", resourcePath(EXTERNAL_SECRETS, team), stolenSecret("audited"));
    expect(a.status).toBe(201);
    expect(a.warnings).toEqual([]);
    expect(await exists(EXTERNAL_SECRETS, team, "audited")).toBe(true);
    const labelled = await tenant("POST", resourcePath(SERVICE_ACCOUNTS, team), {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "squatter-audit", labels: { "app.kubernetes.io/managed-by": "meshward" } },
    });
    expect(labelled.status).toBe(403);
    expect(await exists(SERVICE_ACCOUNTS, team, "squatter-audit")).toBe(false);
  });
});

describe("what is admitted is seen", () => {
  it("the profile names each foreign object that widens it: condition, Warning Event, metric", async () => {
    // By now the namespace holds the platform identity's allow-all NetworkPolicy, the tenant's
    // allow-all from Warn and its ExternalSecret with another team's key from Audit.
    const p = await waitFor("Widened on the profile", async () => {
      const got = await getProfile(admin, team, "shop");
      const c = condition(got, "Widened");
      return c?.status === "True" && c.message.includes("ExternalSecret audited") ? c : undefined;
    });
    expect(p.reason).toBe("ForeignPolicy");
    expect(p.message).toContain("NetworkPolicy platform-owned");
    expect(p.message).toContain("NetworkPolicy warned");
    expect(p.message).toContain(
      "ExternalSecret audited, not created by meshward, widens what this profile declares",
    );
    await waitEvent(admin, team, "Widened", "not created by meshward");
    // …and on the policy that governs the namespace, whatever its perimeter mode.
    await waitFor("the widened profile on the policy's status", async () => {
      const mwp = await getOrUndefined<{ status?: { widened?: { count: number; profiles: string[] } } }>(
        admin,
        resourcePath(POLICIES, undefined, POLICY),
      );
      return mwp?.status?.widened?.profiles.includes(`${team}/shop`) ?? false;
    });
    expect(
      await operator?.metric("meshward_profile_widened", {
        namespace: team,
        name: "shop",
        kind: "NetworkPolicy",
      }),
    ).toBe(2);
    expect(
      await operator?.metric("meshward_profile_widened", {
        namespace: team,
        name: "shop",
        kind: "ExternalSecret",
      }),
    ).toBe(1);
  });

  it("removing them clears the condition and the metric", async () => {
    for (const [r, name] of [
      [NETPOL, "platform-owned"],
      [NETPOL, "warned"],
      [EXTERNAL_SECRETS, "audited"],
    ] as const)
      await admin.delete(resourcePath(r, team, name));
    await waitFor(
      "Widened=False",
      async () => condition(await getProfile(admin, team, "shop"), "Widened")?.status === "False",
    );
    expect(await operator?.metric("meshward_profile_widened", { namespace: team, name: "shop" })).toBe(0);
  });
});

describe("the other locked kinds: PushSecret, RequestAuthentication, Telemetry, Sidecar, ServiceEntry, EnvoyFilter", () => {
  // The local test bed writes an audit log; kind and an external cluster do not (here).
  const auditLog =
    inject("ownCluster") && process.env.MESHWARD_TESTBED !== "kind" && process.env.MESHWARD_AUDIT !== "0";

  it("Deny refuses each, says what to write instead, and the object is not there", async () => {
    await setMode("Deny");
    for (const m of MORE_MOVES) {
      const a = await tenant("POST", resourcePath(m.resource, team), m.body("tenant-own"));
      expect(a.status, `${m.what}: ${a.message}`).toBe(403);
      expect(a.message).toContain(
        `MeshwardPolicy ${POLICY} locks ${m.resource.kind} objects in namespace ${team}`,
      );
      expect(a.message).toContain(m.advice);
      expect(a.message).toContain(`{namespace: ${team}, kind: ${m.resource.kind}, name: tenant-own}`);
      expect(await exists(m.resource, team, "tenant-own"), m.what).toBe(false);
    }
  });

  it("Warn admits each with the same advice as a warning", async () => {
    await setMode("Warn");
    for (const m of MORE_MOVES) {
      const a = await tenant("POST", resourcePath(m.resource, team), m.body("tenant-warned"));
      expect(a.status, `${m.what}: ${a.message}`).toBe(201);
      expect(a.warnings.join("\n"), m.what).toContain(
        `MeshwardPolicy ${POLICY} locks ${m.resource.kind} objects in namespace ${team}`,
      );
      expect(a.warnings.join("\n"), m.what).toContain(m.advice);
      expect(await exists(m.resource, team, "tenant-warned"), m.what).toBe(true);
    }
  });

  it("Audit admits each silently and records the refusal it would have been in the audit log", async () => {
    await setMode("Audit");
    for (const m of MORE_MOVES) {
      const a = await tenant("POST", resourcePath(m.resource, team), m.body("tenant-audited"));
      expect(a.status, `${m.what}: ${a.message}`).toBe(201);
      expect(a.warnings, m.what).toEqual([]);
      expect(await exists(m.resource, team, "tenant-audited"), m.what).toBe(true);
      if (!auditLog) continue;
      // At Metadata level the entry may lack the object's name: match the namespace, the resource
      // and the policy's message.
      const entry = await waitFor(`audit entry for ${m.resource.plural}`, async () =>
        fs
          .readFileSync(AUDIT_LOG_PATH, "utf8")
          .split("\n")
          .find(
            (l) =>
              l.includes(`"namespace":"${team}"`) &&
              l.includes(`"resource":"${m.resource.plural}"`) &&
              l.includes("validation_failure") &&
              l.includes(`locks ${m.resource.kind} objects in namespace ${team}`),
          ),
      );
      expect(entry).toContain(perimeterPolicyName("Audit"));
      expect(entry).toContain("Audit");
    }
  });

  it("back in Deny, nobody but a platform identity deletes what Warn and Audit admitted", async () => {
    await setMode("Deny");
    const clusterAdmin = loadKubeconfig(kubeconfigPath());
    for (const m of MORE_MOVES) {
      const a = await tenant("DELETE", resourcePath(m.resource, team, "tenant-warned"));
      expect(a.status, `${m.what}: ${a.message}`).toBe(403);
      expect(a.message).toContain(`kind: ${m.resource.kind}, name: tenant-warned}`);
      // A cluster admin is no platform identity of this policy either.
      const b = await send(clusterAdmin, "DELETE", resourcePath(m.resource, team, "tenant-audited"));
      expect(b.status, `${m.what}: ${b.message}`).toBe(403);
      expect(await exists(m.resource, team, "tenant-warned")).toBe(true);
      expect(await exists(m.resource, team, "tenant-audited")).toBe(true);
      const platform = await send(
        kcs.platform as KubeConfig,
        "DELETE",
        resourcePath(m.resource, team, "tenant-warned"),
      );
      expect(platform.status, `${m.what}: ${platform.message}`).toBe(200);
      expect(await exists(m.resource, team, "tenant-warned")).toBe(false);
    }
  });
});
