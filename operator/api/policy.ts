// The MeshwardPolicy API (meshward.io/v1alpha1, cluster-scoped): what the platform team sets for the
// namespaces it selects. The single source of truth, like schema.ts is for profiles: the CRD in
// crds/, the MeshwardPolicy part of docs/api.md and the TypeScript types derive from this file.
// How several policies combine: docs/adr/0006-platform-policies.md.
import * as z from "zod";
import { isCanonical, parseCidr } from "./net.ts";
import { patterned, withRules } from "./rules.ts";
import {
  ACCESS_LOG_MODES,
  Condition,
  dnsLabel,
  DNS_SUBDOMAIN,
  egressHost,
  EgressTarget,
  EXCEPTION_TYPES,
  IngressRule,
  labelMap,
  serviceAccountRef,
  TICKET,
} from "./schema.ts";

export const POLICY_KIND = "MeshwardPolicy";
export const POLICY_PLURAL = "meshwardpolicies";
export const POLICY_SINGULAR = "meshwardpolicy";
export const POLICY_SHORT_NAMES = ["mwp"];

export const GUARDRAIL_MODES = ["Enforce", "Audit"] as const;
export type GuardrailMode = (typeof GUARDRAIL_MODES)[number];
export const ADMISSION_MODES = ["Deny", "Warn", "Audit"] as const;
export type AdmissionMode = (typeof ADMISSION_MODES)[number];
export const DEFAULT_MESH_ROOT_NAMESPACE = "istio-system";

// Literal characters of remote keys, '*' (any run of characters, '/' included) and the placeholders.
// No backslash or quote: it is embedded in CEL.
export const KEY_PATTERN = /^([-._a-zA-Z0-9/:@+=*]|[{](namespace|profile)[}])+$/;
const PROFILE_REF = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?[/][a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const mode = (what: string) =>
  z
    .enum(GUARDRAIL_MODES)
    .describe(
      `Enforce: ${what} is refused, fail closed (not created, removed if it exists), Ready=False. Audit: applied as today and reported.`,
    );

const namespaceSelector = labelMap(
  "namespaceSelector",
  "namespaceSelector keys must be label keys such as team or kubernetes.io/metadata.name",
).describe(
  "Labels a namespace must all carry to be governed by this policy (matchLabels semantics). Omitted or empty: every namespace.",
);

const profileRef = patterned(
  PROFILE_REF,
  "profile must name a ServiceSecurityProfile as <namespace>/<name>, e.g. shop/cart",
  127,
);

const keyPattern = patterned(
  KEY_PATTERN,
  "key patterns use letters, digits, '-', '.', '_', '/', ':', '@', '+', '=', '*' (any characters) and the placeholders {namespace} and {profile}, e.g. {namespace}/*",
  512,
);

export const StoreAllowance = z
  .object({
    kind: z.enum(["SecretStore", "ClusterSecretStore", "IdentityStore"]).default("ClusterSecretStore"),
    name: z.string().min(1).max(253).describe("Name of the store."),
    keys: z
      .array(keyPattern)
      .min(1)
      .max(16)
      .describe(
        "Remote keys a profile may read from this store, as patterns: '*' matches any characters, {namespace} and {profile} stand for the profile's namespace and name. E.g. {namespace}/*.",
      ),
  })
  .strict()
  .describe("One store profiles may read from, and which keys.");

export const SecretsGuardrail = withRules(
  z
    .object({
      mode: mode("a secret entry from a store or key not listed"),
      stores: z
        .array(StoreAllowance)
        .max(16)
        .describe("The only stores profiles may use, each with its key patterns. Empty: no store at all."),
    })
    .strict(),
  [
    {
      cel: "self.stores.all(x, self.stores.exists_one(y, y.kind == x.kind && y.name == x.name))",
      message: "each store (kind and name) may be listed once: merge its key patterns into one entry",
      path: ["stores"],
      check: (g) => new Set(g.stores.map((s) => `${s.kind}/${s.name}`)).size === g.stores.length,
    },
  ],
).describe("Which secret stores and remote keys profiles may read.");

const cidrList = (what: string) =>
  withRules(z.array(z.string().min(1).max(43)).max(32), [
    {
      cel: "self.all(c, isCIDR(c) && cidr(c).masked() == cidr(c))",
      message: `${what} must be network addresses with a prefix length and no host bits set, e.g. 10.0.0.0/8`,
      check: (xs) =>
        xs.every((c) => {
          const p = parseCidr(c);
          return p !== undefined && isCanonical(p);
        }),
    },
  ]);

export const EgressCidrGuardrail = z
  .object({
    mode: mode("an egress cidr outside the allowed ranges"),
    allowed: cidrList("allowed ranges")
      .optional()
      .describe("An egress cidr must lie inside one of these. Omitted: any range (denied still applies)."),
    denied: cidrList("denied ranges")
      .optional()
      .describe("No address of these may be opened (unless the profile's except covers it)."),
  })
  .strict()
  .describe("Which IP ranges profiles may open for egress.");

export const EgressHostGuardrail = z
  .object({
    mode: mode("an egress host that no allowed pattern matches"),
    allowed: z
      .array(egressHost)
      .max(64)
      .describe(
        "Host patterns profiles may name in egress.to[].host: an exact name (api.stripe.com) or a leading wildcard (*.stripe.com matches api.stripe.com, *.api.stripe.com and *.stripe.com, not stripe.com). Empty: no host at all.",
      ),
  })
  .strict()
  .describe(
    "Which external hosts profiles may call by name, in the namespaces this policy selects (one policy per set of namespaces, e.g. namespaceSelector {team: payments} with allowed [*.stripe.com]).",
  );

export const AdoptionGuardrail = z
  .object({
    mode: z
      .enum(GUARDRAIL_MODES)
      .describe(
        "Enforce: the namespace-wide default deny is created. Audit: it is not, and the pods it would cut off are reported, so a shared namespace adopts meshward one service at a time.",
      ),
  })
  .strict()
  .describe("Whether the namespace-wide default deny NetworkPolicy is created.");

export const Approval = z
  .object({
    profile: profileRef.describe("The profile whose exception is approved, as <namespace>/<name>."),
    type: z.enum(EXCEPTION_TYPES).describe("The exception type approved."),
    expires: z.iso
      .datetime({ offset: false })
      .max(64)
      .describe(
        "RFC 3339 UTC time the approval ends. The profile's exception must expire no later than this.",
      ),
    ticket: patterned(TICKET, "ticket must be a tracker reference such as SEC-1234", 128)
      .optional()
      .describe("The ticket that records the approval."),
  })
  .strict()
  .describe("A platform-owned approval of one exception of one profile.");

export const ExceptionsGuardrail = withRules(
  z
    .object({
      mode: mode("an exception not allowed, too long or not approved"),
      allowedTypes: z
        .array(z.enum(EXCEPTION_TYPES))
        .max(8)
        .optional()
        .describe("Exception types profiles may use. Omitted: every type."),
      maxDays: z
        .number()
        .int()
        .min(1)
        .max(3650)
        .optional()
        .describe("How far ahead an exception may expire, in days. Omitted: the operator's limit."),
      requireApproval: z
        .boolean()
        .default(true)
        .describe("An exception takes effect only while an approval names it. Default true."),
      approvals: z
        .array(Approval)
        .max(256)
        .optional()
        .describe("Approved exceptions: profile, type and expiry."),
    })
    .strict(),
  [
    {
      cel: "!has(self.approvals) || self.approvals.all(a, self.approvals.exists_one(b, b.profile == a.profile && b.type == a.type))",
      message: "one approval per profile and exception type: keep the one with the right expiry",
      path: ["approvals"],
      check: (g) =>
        new Set((g.approvals ?? []).map((a) => `${a.profile}/${a.type}`)).size === (g.approvals ?? []).length,
    },
  ],
).describe("Which exceptions profiles may write, for how long, and which the platform approved.");

export const Guardrails = z
  .object({
    secrets: SecretsGuardrail.optional(),
    egressCidrs: EgressCidrGuardrail.optional(),
    egressHosts: EgressHostGuardrail.optional(),
    adoption: AdoptionGuardrail.optional(),
    exceptions: ExceptionsGuardrail.optional(),
  })
  .strict()
  .describe(
    "Bounds on what profiles may ask for. Selector overlap is always checked (no field): the older profile keeps its pods.",
  );

export const Baseline = z
  .object({
    ingress: z
      .array(IngressRule)
      .max(16)
      .optional()
      .describe(
        "Ingress rules every governed profile gets (e.g. Prometheus on 15090). requireToken defaults to false here.",
      ),
    egress: z
      .array(EgressTarget)
      .max(16)
      .optional()
      .describe("Egress targets every governed profile gets (e.g. observability/otel-collector on 4317)."),
  })
  .strict()
  .describe("Rules added to every governed profile, marked as coming from this policy.");

export const QuarantinedIdentity = withRules(
  z
    .object({
      profile: profileRef.optional().describe("A profile, as <namespace>/<name>: its pods and principal."),
      serviceAccount: serviceAccountRef
        .optional()
        .describe(
          "A workload identity: its principal (pods of a profile running as it are isolated; other pods are not: use namespace for no escape).",
        ),
      namespace: dnsLabel()
        .optional()
        .describe(
          "A whole namespace: every principal of it denied mesh-wide, every workload in it denied every caller, every pod in it isolated (DNS only), whatever its ServiceAccount or profile.",
        ),
      reason: z.string().max(1024).optional().describe("Why, for the runbook and the audit trail."),
    })
    .strict(),
  [
    {
      cel: "[has(self.profile), has(self.serviceAccount), has(self.namespace)].filter(x, x).size() == 1",
      message: "each quarantined identity sets exactly one of profile, serviceAccount or namespace",
      check: (i) => [i.profile, i.serviceAccount, i.namespace].filter((v) => v !== undefined).length === 1,
    },
  ],
);

export const Quarantine = withRules(
  z
    .object({
      meshRootNamespace: dnsLabel()
        .default(DEFAULT_MESH_ROOT_NAMESPACE)
        .describe("Istio's root namespace, where a policy applies mesh-wide. Default istio-system."),
      identities: z
        .array(QuarantinedIdentity)
        .max(64)
        .describe("Identities cut off everywhere, whatever namespaces the policy selects."),
    })
    .strict()
    .describe(
      "Emergency: a DENY AuthorizationPolicy in the mesh root namespace for these principals and namespaces, and NetworkPolicy isolation of the quarantined profiles' pods and of every pod of a quarantined namespace (no ingress, DNS only).",
    ),
  [
    {
      // The mesh root holds the mesh-wide DENY of the same name, and is no tenant namespace.
      cel: `self.identities.all(i, !has(i.namespace) || i.namespace != (has(self.meshRootNamespace) ? self.meshRootNamespace : '${DEFAULT_MESH_ROOT_NAMESPACE}'))`,
      message:
        "a quarantined namespace cannot be the mesh root namespace: quarantine the identities in it instead",
      path: ["identities"],
      check: (q) =>
        q.identities.every(
          (i) =>
            i.namespace === undefined || i.namespace !== (q.meshRootNamespace ?? DEFAULT_MESH_ROOT_NAMESPACE),
        ),
    },
  ],
);

export const Admission = z
  .object({
    mode: z
      .enum(ADMISSION_MODES)
      .describe(
        "How the workload baseline is enforced at admission: Deny (refused), Warn (admitted with a warning), Audit (admitted, recorded in the audit log).",
      ),
  })
  .strict()
  .describe("Workload baselines checked by ValidatingAdmissionPolicies in governed namespaces.");

/** The kinds a tenant may not write in a governed namespace (spec.perimeter), by API group. */
export const LOCKED_KINDS = {
  NetworkPolicy: { group: "networking.k8s.io", plural: "networkpolicies" },
  ExternalSecret: { group: "external-secrets.io", plural: "externalsecrets" },
  SecretStore: { group: "external-secrets.io", plural: "secretstores" },
  PushSecret: { group: "external-secrets.io", plural: "pushsecrets" },
  AuthorizationPolicy: { group: "security.istio.io", plural: "authorizationpolicies" },
  PeerAuthentication: { group: "security.istio.io", plural: "peerauthentications" },
  RequestAuthentication: { group: "security.istio.io", plural: "requestauthentications" },
  Telemetry: { group: "telemetry.istio.io", plural: "telemetries" },
  Sidecar: { group: "networking.istio.io", plural: "sidecars" },
  ServiceEntry: { group: "networking.istio.io", plural: "serviceentries" },
  EnvoyFilter: { group: "networking.istio.io", plural: "envoyfilters" },
} as const;
export type LockedKind = keyof typeof LOCKED_KINDS;
export const LOCKED_KIND_NAMES = Object.keys(LOCKED_KINDS) as [LockedKind, ...LockedKind[]];

export const PlatformIdentity = withRules(
  z
    .object({
      user: z
        .string()
        .min(1)
        .max(253)
        .optional()
        .describe("A user name, as the API server authenticates it."),
      group: z
        .string()
        .min(1)
        .max(253)
        .optional()
        .describe("A group, e.g. system:masters or platform-admins."),
      serviceAccount: serviceAccountRef
        .optional()
        .describe("A ServiceAccount, e.g. argocd/argocd-application-controller."),
    })
    .strict(),
  [
    {
      cel: "[has(self.user), has(self.group), has(self.serviceAccount)].filter(x, x).size() == 1",
      message: "each platform identity sets exactly one of user, group or serviceAccount",
      check: (i) => [i.user, i.group, i.serviceAccount].filter((x) => x !== undefined).length === 1,
    },
  ],
).describe("An identity that may still write the locked kinds in governed namespaces.");

export const PerimeterExemption = z
  .object({
    namespace: dnsLabel().describe("Namespace of the object."),
    kind: z.enum(LOCKED_KIND_NAMES).describe("Kind of the object."),
    name: patterned(
      DNS_SUBDOMAIN,
      "exemption name must be the object's name: lowercase letters, digits, '-' and '.'",
      253,
    ).describe("Name of the object tenants may create, change and delete."),
    expires: z.iso
      .datetime({ offset: false })
      .max(64)
      .describe("RFC 3339 UTC time the exemption ends; after it the object is locked again."),
    ticket: patterned(TICKET, "ticket must be a tracker reference such as SEC-1234", 128).describe(
      "The ticket that records the platform's approval.",
    ),
    reason: z.string().max(1024).optional().describe("Why the object is written outside meshward."),
  })
  .strict()
  .describe("One object of a locked kind that tenants may write until the exemption expires.");

export const Perimeter = z
  .object({
    mode: z
      .enum(ADMISSION_MODES)
      .describe(
        "How tenants' writes of the locked kinds in governed namespaces are handled: Deny (refused), Warn (admitted with a warning), Audit (admitted, recorded in the audit log). The operator reports foreign objects whatever the mode.",
      ),
    platformIdentities: z
      .array(PlatformIdentity)
      .max(32)
      .optional()
      .describe(
        "Who may still write the locked kinds (meshward itself and Kubernetes' own controllers always may).",
      ),
    exemptions: z
      .array(PerimeterExemption)
      .max(64)
      // One entry per object: the API server refuses a duplicate key (a list-map, no CEL cost).
      .refine((xs) => new Set(xs.map((e) => `${e.kind}/${e.namespace}/${e.name}`)).size === xs.length, {
        message: "one exemption per object (namespace, kind and name): keep the one with the right expiry",
      })
      .optional()
      .meta({
        description: "Objects tenants may write until a date, approved by the platform team.",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["namespace", "kind", "name"],
      }),
  })
  .strict()
  .describe(
    "The perimeter around meshward: in governed namespaces tenants may not create, change or delete NetworkPolicies, External Secrets objects or Istio security and traffic kinds (meshward writes them from profiles); ValidatingAdmissionPolicies from the chart or `meshward admission` enforce it.",
  );

/** Placeholders of an identity store's Vault role. */
export const ROLE_PLACEHOLDERS = ["{namespace}", "{serviceAccount}", "{profile}"] as const;
export const ROLE_PATTERN = /^([-._a-zA-Z0-9@]|[{](namespace|serviceAccount|profile)[}])+$/;
export const DEFAULT_IDENTITY_ROLE = "{namespace}-{serviceAccount}";

export const VaultIdentityStore = z
  .object({
    server: patterned(
      /^https?:[/][/][-._a-zA-Z0-9]+(:[0-9]+)?$/,
      "server must be Vault's address without a path, e.g. https://vault.vault.svc:8200",
      512,
    ).describe("Vault's address as ESO reaches it, e.g. https://vault.vault.svc:8200."),
    caBundle: patterned(/^[A-Za-z0-9+/=]+$/, "caBundle must be a base64-encoded PEM bundle", 65536)
      .optional()
      .describe("Base64-encoded PEM CA bundle of Vault's serving certificate. Omitted: the system roots."),
    path: patterned(/^[-._a-zA-Z0-9/]+$/, "path must be the KV engine's mount path, e.g. secret", 256)
      .default("secret")
      .describe("Mount path of the KV secrets engine. Default secret."),
    version: z.enum(["v1", "v2"]).default("v2").describe("KV engine version. Default v2."),
    authMountPath: patterned(
      /^[-._a-zA-Z0-9/]+$/,
      "authMountPath must be the Kubernetes auth method's mount path, e.g. kubernetes",
      256,
    )
      .default("kubernetes")
      .describe("Mount path of Vault's Kubernetes auth method. Default kubernetes."),
    role: patterned(
      ROLE_PATTERN,
      "role uses letters, digits, '-', '.', '_', '@' and the placeholders {namespace}, {serviceAccount} and {profile}, e.g. {namespace}-{serviceAccount}",
      256,
    )
      .default(DEFAULT_IDENTITY_ROLE)
      .describe(
        "The Vault role each profile logs in with; {namespace}, {serviceAccount} and {profile} are the profile's. Default {namespace}-{serviceAccount}.",
      ),
  })
  .strict()
  .describe(
    "A Vault reached through its Kubernetes auth method with the profile's own ServiceAccount token.",
  );

export const IdentityStore = z
  .object({
    name: dnsLabel().describe(
      "What profiles name in storeRef (kind IdentityStore). meshward builds a SecretStore <profile>-<name> per profile that uses it.",
    ),
    vault: VaultIdentityStore,
  })
  .strict();

export const SecretIdentity = withRules(
  z
    .object({
      stores: z
        .array(IdentityStore)
        .max(8)
        .describe("Stores a profile reads as its own ServiceAccount (storeRef kind IdentityStore)."),
      mode: z
        .enum(GUARDRAIL_MODES)
        .optional()
        .describe(
          "Require every secret to come from an identity store. Enforce: any other secret is refused (fail closed). Audit: reported. Omitted: not required.",
        ),
    })
    .strict(),
  [
    {
      cel: "self.stores.all(x, self.stores.exists_one(y, y.name == x.name))",
      message: "each identity store name may be listed once",
      path: ["stores"],
      check: (g) => new Set(g.stores.map((s) => s.name)).size === g.stores.length,
    },
  ],
).describe(
  "Secrets read with the service's own identity: a namespaced SecretStore per profile that logs in to Vault as the profile's ServiceAccount, so Vault's policy decides what each service may read (docs/secrets.md).",
);

export const PolicyDefaults = z
  .object({
    accessLogs: z
      .enum(ACCESS_LOG_MODES)
      .optional()
      .describe(
        "Access logs (an Istio Telemetry, docs/audit.md) for every governed profile that does not set spec.audit.accessLogs itself. When governing policies disagree, Enabled wins.",
      ),
  })
  .strict()
  .describe("Defaults for what a profile leaves out; a profile's own setting wins.");

export const PolicySpec = z
  .object({
    namespaceSelector: namespaceSelector.optional(),
    defaults: PolicyDefaults.optional(),
    guardrails: Guardrails.optional(),
    baseline: Baseline.optional(),
    secretIdentity: SecretIdentity.optional(),
    quarantine: Quarantine.optional(),
    admission: Admission.optional(),
    perimeter: Perimeter.optional(),
  })
  .strict()
  .describe("What the platform team sets for the namespaces it selects.");

export const PolicyProblem = z
  .object({
    path: z.string().max(512),
    message: z.string().max(4096),
  })
  .strict();

export const EXEMPTION_STATES = ["Active", "Expired", "NotGoverned"] as const;

export const ExemptionStatus = z
  .object({
    key: z.string().max(400).describe("kind/namespace/name of the exempted object."),
    state: z.enum(EXEMPTION_STATES),
    message: z.string().max(1024).optional(),
  })
  .strict();

export const IDENTITY_STATES = ["Found", "NotFound", "Unchecked"] as const;
export type IdentityState = (typeof IDENTITY_STATES)[number];

export const IdentityStatus = z
  .object({
    identity: z
      .string()
      .max(600)
      .describe("The platform identity as user:<name>, group:<name> or serviceAccount:<namespace>/<name>."),
    state: z
      .enum(IDENTITY_STATES)
      .describe(
        "Found: the ServiceAccount exists. NotFound: it does not (the admission policies still trust the name). Unchecked: a user or group (no API object), or a ServiceAccount the operator could not look up.",
      ),
    message: z.string().max(1024).optional().describe("What the state means and what to write instead."),
  })
  .strict();

export const PerimeterStatus = z
  .object({
    active: z
      .array(z.string().max(400))
      .max(64)
      .optional()
      .describe(
        "The exemptions in force, as kind/namespace/name; the admission policies read this list (they cannot read a clock).",
      ),
    exemptions: z.array(ExemptionStatus).max(64).optional().describe("Every exemption and its state."),
    identities: z
      .array(IdentityStatus)
      .max(32)
      .optional()
      .describe(
        "Every platform identity, in spec order, and whether it exists: ServiceAccounts are looked up, users and groups have no API object to look up.",
      ),
  })
  .strict();

export const NetworkTierStatus = z
  .object({
    tier: z
      .enum(["ClusterNetworkPolicy", "NetworkPolicy"])
      .describe(
        "ClusterNetworkPolicy: denied egress ranges and the quarantine's isolation are Admin-tier rules a namespace cannot override, the namespace default deny a Baseline rule. NetworkPolicy: only namespaced NetworkPolicies, which a NetworkPolicy a tenant writes can widen.",
      ),
    reason: z
      .enum([
        "ClusterNetworkPolicyServed",
        "CRDNotInstalled",
        "CRDNotEstablished",
        "CRDTerminating",
        "UnsupportedVersion",
      ])
      .describe("Why this tier is in force."),
    message: z.string().max(1024).describe("What the tier means here, and what to do to change it."),
  })
  .strict();

export const PolicyStatus = z
  .object({
    observedGeneration: z.number().int().min(0).optional(),
    namespaceCount: z.number().int().min(0).optional().describe("Namespaces this policy governs."),
    namespaces: z
      .array(z.string().max(63))
      .max(256)
      .optional()
      .describe("Governed namespaces, sorted (the first 256)."),
    profileCount: z.number().int().min(0).optional().describe("Profiles in the governed namespaces."),
    conditions: z
      .array(Condition)
      .max(8)
      .optional()
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] }),
    problems: z
      .array(PolicyProblem)
      .max(64)
      .optional()
      .describe("What is wrong: contradictions with other policies, approvals of missing profiles."),
    perimeter: PerimeterStatus.optional().describe("The perimeter's exemptions and which are in force."),
    networkTier: NetworkTierStatus.optional().describe(
      "Which network-policy tier holds the platform's rules in this cluster (the same for every policy).",
    ),
    widened: z
      .object({
        count: z.number().int().min(0).describe("Profiles in the governed namespaces with Widened=True."),
        profiles: z
          .array(z.string().max(127))
          .max(64)
          .describe("Those profiles as <namespace>/<name>, sorted (the first 64)."),
      })
      .strict()
      .optional()
      .describe(
        "Profiles that objects meshward did not create widen (their Widened condition names the objects), whatever the perimeter's mode.",
      ),
  })
  .strict();

export type PolicySpecInput = z.input<typeof PolicySpec>;
export type VaultIdentityStore = z.output<typeof VaultIdentityStore>;
export type PolicySpec = z.output<typeof PolicySpec>;
export type PolicyStatus = z.output<typeof PolicyStatus>;
export type PolicyProblem = z.output<typeof PolicyProblem>;
export type Approval = z.output<typeof Approval>;
export type PerimeterExemption = z.output<typeof PerimeterExemption>;
export type PlatformIdentity = z.output<typeof PlatformIdentity>;
export type PerimeterStatus = z.output<typeof PerimeterStatus>;
export type NetworkTierStatus = z.output<typeof NetworkTierStatus>;
export type IdentityStatus = z.output<typeof IdentityStatus>;
export type QuarantinedIdentity = z.output<typeof QuarantinedIdentity>;

/** A parsed MeshwardPolicy. */
export interface MeshwardPolicy {
  apiVersion: "meshward.io/v1alpha1";
  kind: typeof POLICY_KIND;
  metadata: { name: string; uid?: string; generation?: number; creationTimestamp?: string };
  spec: PolicySpec;
  status?: PolicyStatus;
}
