// The ServiceSecurityProfile API (meshward.io/v1alpha1): the single source of truth.
// The CRD in crds/, docs/api.md and the TypeScript types are all derived from this file
// (`npm run gen`; `npm run gen:check` fails when a derived file is stale).
import * as z from "zod";
import { containsCidr, isCanonical, parseCidr } from "./net.ts";
import { patterned, type Rule, withRules } from "./rules.ts";

export const GROUP = "meshward.io";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = "ServiceSecurityProfile";
export const PLURAL = "servicesecurityprofiles";
export const SINGULAR = "servicesecurityprofile";
export const SHORT_NAMES = ["ssp"];
export const CATEGORIES = ["meshward", "security"];

// Regular expressions are RE2-compatible and free of backslashes and quotes (they are embedded in CEL).
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_LABEL_MSG =
  "must be a DNS label: 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit (e.g. payments-api)";
/** A Kubernetes object name (DNS subdomain), as ServiceAccount names are. */
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SERVICE_REF = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?[/])?[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*[/])?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
export const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const HTTP_PATH = /^([*]|[/][^*?# ]*[*]?|[*][^*?# ]+)$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const DURATION = /^([0-9]+(ms|s|m|h))+$/;
export const TICKET = /^[A-Za-z0-9][-A-Za-z0-9_.#/:]*$/;
const HTTPS_URL = /^https:[/][/][^ ]+$/;

/** A list whose entries are unique by `key` (a list-map in the CRD; a rule for a friendly message). */
function uniqueBy<T extends Record<K, string>, K extends string>(
  list: z.ZodArray<z.ZodType<T>>,
  key: K,
  message: string,
) {
  return withRules(list, [
    {
      cel: `self.all(x, self.exists_one(y, y.${key} == x.${key}))`,
      message,
      check: (xs) => new Set(xs.map((x) => x[key])).size === xs.length,
    },
  ]);
}

export const dnsLabel = () => patterned(DNS_LABEL, DNS_LABEL_MSG, 63);

const port = z.number().int().min(1).max(65535);
const ports = z
  .array(port)
  .max(16)
  .describe(
    "Ports of the entry's protocol (TCP unless `protocol` says otherwise). Omitted or empty means every port of that protocol; other protocols are never admitted.",
  );

export const PROTOCOLS = ["TCP", "UDP", "SCTP"] as const;
export type Protocol = (typeof PROTOCOLS)[number];
const protocol = z
  .enum(PROTOCOLS)
  .optional()
  .describe(
    "Protocol of `ports`: TCP (when omitted), UDP or SCTP. UDP and SCTP are enforced by the NetworkPolicy only (Istio's proxies carry and authorize TCP only): a service that needs both writes one entry per protocol.",
  );

/** Protocols an egress `host` entry may name besides TCP (Istio's ServiceEntry port protocols). */
export const HOST_PROTOCOLS = ["TLS", "HTTPS", "HTTP"] as const;
export type HostProtocol = (typeof HOST_PROTOCOLS)[number] | "TCP";
const EGRESS_PROTOCOLS = [...PROTOCOLS, ...HOST_PROTOCOLS] as const;

/**
 * The transport protocol an ingress rule or egress target asks for (TCP when it names none). An
 * egress host's TLS, HTTPS and HTTP travel over TCP.
 */
export function protocolOf(entry: { protocol?: Protocol | HostProtocol | undefined }): Protocol {
  const p = entry.protocol;
  return p === undefined || p === "TLS" || p === "HTTPS" || p === "HTTP" ? "TCP" : p;
}

/** The protocol of an egress `host` entry's ports: TLS when it names none. */
export function hostProtocolOf(entry: { protocol?: Protocol | HostProtocol | undefined }): HostProtocol {
  const p = entry.protocol;
  return p === "TCP" || p === "HTTPS" || p === "HTTP" ? p : "TLS";
}

// An external DNS name, lowercase, at least two labels of at most 63 characters, optionally with
// one leading '*.' label (Istio's ServiceEntry wildcard).
const HOST = /^([*][.])?[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?([.][a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$/;

/**
 * The checks of an egress host, in order, each with what to write instead. Each rule fires only
 * when the ones before it pass, so a host gets the one message that fits it best (offline and from
 * the API server alike).
 */
const HOST_CHECKS: { pass: string; ok: (h: string) => boolean; message: string }[] = [
  {
    pass: "!self.contains('/')",
    ok: (h) => !h.includes("/"),
    message:
      "host must be a bare DNS name without scheme or path: write api.stripe.com, not https://api.stripe.com/v1",
  },
  {
    pass: "!self.matches('^[0-9.]+$') && !self.matches('^[0-9a-fA-F]*:[0-9a-fA-F]*:[0-9a-fA-F:]*$')",
    ok: (h) => !/^[0-9.]+$/.test(h) && !/^[0-9a-fA-F]*:[0-9a-fA-F]*:[0-9a-fA-F:]*$/.test(h),
    message:
      "host must be a DNS name, not an IP address: for an address write cidr, e.g. cidr: 203.0.113.10/32",
  },
  {
    pass: "!self.contains(':')",
    ok: (h) => !h.includes(":"),
    message: "host must not carry a port: put it under ports, e.g. host: api.stripe.com with ports: [443]",
  },
  {
    pass: "!self.matches('[A-Z]')",
    ok: (h) => !/[A-Z]/.test(h),
    message: "host must be lowercase (Istio matches host names in lowercase): write api.stripe.com",
  },
  {
    pass: "!self.endsWith('.')",
    ok: (h) => !h.endsWith("."),
    message: "host must not end with a dot: write api.stripe.com, not api.stripe.com.",
  },
  {
    pass: "!self.matches('^.+[*]') && (!self.startsWith('*') || self.startsWith('*.'))",
    ok: (h) => !/^.+[*]/.test(h) && (!h.startsWith("*") || h.startsWith("*.")),
    message:
      "'*' may only stand as the whole first label of host, as in *.googleapis.com; write the domain after '*.'",
  },
  {
    pass: "!self.endsWith('.local') && !self.endsWith('.svc') && !self.endsWith('.internal')",
    ok: (h) => !h.endsWith(".local") && !h.endsWith(".svc") && !h.endsWith(".internal"),
    message:
      "host must be outside the cluster, not a cluster-internal name such as *.svc.cluster.local: for a service in the cluster write service: <namespace>/<name> (its profile) instead",
  },
  {
    pass: `self.matches('${HOST.source}')`,
    ok: (h) => HOST.test(h),
    message:
      "host must be a DNS name of at least two labels (lowercase letters, digits and '-', each label 1-63 characters), optionally after a leading '*.', e.g. api.stripe.com or *.googleapis.com",
  },
];

export const egressHost = withRules(
  z.string().min(1).max(253),
  HOST_CHECKS.map((c, i) => {
    const before = HOST_CHECKS.slice(0, i);
    return {
      cel:
        before.length === 0 ? c.pass : `!(${before.map((b) => `(${b.pass})`).join(" && ")}) || (${c.pass})`,
      message: c.message,
      check: (h: string) => !before.every((b) => b.ok(h)) || c.ok(h),
    };
  }),
);

export const HTTP_METHODS = [
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "PATCH",
  "DELETE",
  "OPTIONS",
  "CONNECT",
  "TRACE",
] as const;

export const SELECTOR_KEY_MESSAGE =
  "selector keys must be label keys such as app or app.kubernetes.io/name (the part after the '/' at most 63 characters)";

/**
 * A label map with matchLabels semantics (at most 16 labels), keys and values checked as Kubernetes
 * label keys and values. `field` names it in the value message; `rules` run before those checks.
 */
export function labelMap(field: string, keyMessage: string, rules: Rule<Record<string, string>>[] = []) {
  return withRules(z.record(z.string().max(317), z.string().max(63)).meta({ maxProperties: 16 }), [
    ...rules,
    {
      cel: `self.all(k, k.matches('${LABEL_KEY.source}'))`,
      message: keyMessage,
      check: (m) => Object.keys(m).every((k) => LABEL_KEY.test(k)),
    },
    {
      cel: `self.all(k, self[k].matches('${LABEL_VALUE.source}'))`,
      message: `${field} values must be label values: 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`,
      check: (m) => Object.values(m).every((v) => LABEL_VALUE.test(v)),
    },
  ]);
}

export const labelSelector = labelMap("selector", SELECTOR_KEY_MESSAGE, [
  {
    cel: "self.size() >= 1 && self.size() <= 16",
    message: "selector needs 1 to 16 labels that pick this service's pods, e.g. {app: payments-api}",
    check: (m) => Object.keys(m).length >= 1 && Object.keys(m).length <= 16,
  },
]).describe(
  "Labels of this service's pods (a label map, as Istio selectors are). Every generated policy selects these pods.",
);

export const serviceRef = patterned(
  SERVICE_REF,
  "service must name another profile as <namespace>/<name> (or <name> in this namespace), e.g. checkout/checkout-api",
  127,
).describe(
  "Another ServiceSecurityProfile, as <namespace>/<name> or <name> for the same namespace. Gives both its SPIFFE principal and its pod selector.",
);

export const serviceAccountRef = z
  .object({
    namespace: dnsLabel().describe("Namespace of the service account."),
    // A pattern, not just a string: the name goes into a SPIFFE principal, where '*' is Istio's
    // wildcard ("monitoring/*" would admit every service account of the namespace).
    name: patterned(
      DNS_SUBDOMAIN,
      "serviceAccount name must be a service account's name: lowercase letters, digits, '-' and '.' (e.g. prometheus); wildcards are not allowed",
      253,
    ).describe("Name of the service account."),
  })
  .strict();

export const Source = withRules(
  z
    .object({
      service: serviceRef.optional(),
      serviceAccount: serviceAccountRef
        .describe(
          "A workload identity not managed by meshward (e.g. monitoring/prometheus). At L4 the NetworkPolicy can only narrow this to the namespace; the AuthorizationPolicy narrows it to the principal.",
        )
        .optional(),
      namespace: dnsLabel().describe("Any workload in this namespace.").optional(),
    })
    .strict(),
  [
    {
      cel: "[has(self.service), has(self.serviceAccount), has(self.namespace)].filter(x, x).size() == 1",
      message:
        "each 'from' entry sets exactly one of service, serviceAccount or namespace; split it into separate entries",
      check: (s) => [s.service, s.serviceAccount, s.namespace].filter((x) => x !== undefined).length === 1,
    },
  ],
).describe("One caller: exactly one of service, serviceAccount or namespace.");

const httpRule = withRules(
  z
    .object({
      methods: z
        .array(z.enum(HTTP_METHODS))
        .max(9)
        .optional()
        .describe("HTTP methods allowed. Omitted means any."),
      paths: z
        .array(
          patterned(
            HTTP_PATH,
            "paths are exact (/v1/charges), prefix (/v1/refunds/*), suffix (*.json) or *; '*' may only stand at the start or the end",
            256,
          ),
        )
        .max(32)
        .optional()
        .describe("URL paths allowed: exact, prefix (`/v1/*`), suffix (`*.json`) or `*`. Omitted means any."),
    })
    .strict(),
  [
    {
      cel: "(has(self.methods) && self.methods.size() > 0) || (has(self.paths) && self.paths.size() > 0)",
      message: "http needs methods or paths; remove http to allow every request on the ports",
      check: (h) => (h.methods?.length ?? 0) > 0 || (h.paths?.length ?? 0) > 0,
    },
  ],
).describe("Optional L7 rules (needs a sidecar, or a waypoint in ambient mode).");

const NOT_TCP = "has(self.protocol) && self.protocol != 'TCP'";

export const IngressRule = withRules(
  z
    .object({
      from: z.array(Source).min(1).max(32).describe("Callers allowed by this rule. At least one."),
      protocol,
      ports: ports.optional(),
      http: httpRule.optional(),
      requireToken: z
        .boolean()
        .optional()
        .describe(
          "Whether callers of this rule need a valid end-user token. Omitted: requestAuthentication.requireToken decides. false suits callers without one, such as a metrics scraper.",
        ),
    })
    .strict(),
  [
    {
      cel: `!(${NOT_TCP}) || !has(self.http)`,
      message:
        "http rules apply to TCP only: remove http from this UDP/SCTP rule, or put the HTTP ports in a rule of their own without protocol",
      path: ["http"],
      check: (r) => protocolOf(r) === "TCP" || r.http === undefined,
    },
    {
      cel: `!(${NOT_TCP}) || !self.from.exists(f, has(f.serviceAccount))`,
      message:
        "a UDP or SCTP rule cannot admit a serviceAccount: only the NetworkPolicy sees UDP and SCTP, and it cannot tell service accounts apart; name the caller's service or its whole namespace instead",
      path: ["from"],
      check: (r) => protocolOf(r) === "TCP" || r.from.every((f) => f.serviceAccount === undefined),
    },
    {
      cel: `!(${NOT_TCP}) || !has(self.requireToken) || !self.requireToken`,
      message:
        "requireToken applies to TCP only (no end-user token travels over UDP or SCTP): remove requireToken from this UDP/SCTP rule",
      path: ["requireToken"],
      check: (r) => protocolOf(r) === "TCP" || r.requireToken !== true,
    },
  ],
).describe("Who may call this service, on which protocol and ports, with which requests.");

export const EgressTarget = withRules(
  z
    .object({
      service: serviceRef.optional(),
      cidr: z.string().min(1).max(43).optional().describe("An IP range outside the mesh, e.g. 10.20.0.0/16."),
      except: z
        .array(z.string().min(1).max(43))
        .max(16)
        .optional()
        .describe("Ranges inside cidr that stay blocked."),
      host: egressHost
        .optional()
        .describe(
          "An external service by DNS name: exact (api.stripe.com) or a leading wildcard (*.googleapis.com). Needs ports; protocol TLS (default), HTTPS, HTTP or TCP. Gets an Istio ServiceEntry visible to this namespace only (docs/egress.md).",
        ),
      protocol: z
        .enum(EGRESS_PROTOCOLS)
        .optional()
        .describe(
          "Protocol of `ports`: TCP (when omitted), UDP or SCTP; for a host, TLS (when omitted), HTTPS, HTTP or TCP. UDP and SCTP are enforced by the NetworkPolicy only (Istio's proxies carry and authorize TCP only): a service that needs both writes one entry per protocol.",
        ),
      ports: ports.optional(),
    })
    .strict(),
  [
    {
      cel: "[has(self.service), has(self.cidr), has(self.host)].filter(x, x).size() == 1",
      message:
        "each egress 'to' entry sets exactly one of service, cidr or host; split it into separate entries",
      check: (t) => [t.service, t.cidr, t.host].filter((x) => x !== undefined).length === 1,
    },
    {
      cel: "!has(self.host) || (has(self.ports) && self.ports.size() > 0)",
      message: "a host entry needs the ports it calls, e.g. host: api.stripe.com with ports: [443]",
      path: ["ports"],
      check: (t) => t.host === undefined || (t.ports?.length ?? 0) > 0,
    },
    {
      cel: "!has(self.host) || !has(self.protocol) || self.protocol in ['TLS', 'HTTPS', 'HTTP', 'TCP']",
      message:
        "a host entry's protocol is TLS (the default), HTTPS, HTTP or TCP: UDP and SCTP cannot be named by host; write a cidr entry for them",
      path: ["protocol"],
      check: (t) =>
        t.host === undefined ||
        t.protocol === undefined ||
        t.protocol === "TCP" ||
        HOST_PROTOCOLS.some((p) => p === t.protocol),
    },
    {
      cel: "has(self.host) || !has(self.protocol) || self.protocol in ['TCP', 'UDP', 'SCTP']",
      message:
        "TLS, HTTPS and HTTP name the protocol of a host entry only: for a service or cidr write TCP (or leave protocol out)",
      path: ["protocol"],
      check: (t) =>
        t.host !== undefined || t.protocol === undefined || PROTOCOLS.some((p) => p === t.protocol),
    },
    {
      cel: "!has(self.except) || has(self.cidr)",
      message: "except is only allowed together with cidr",
      path: ["except"],
      check: (t) => t.except === undefined || t.cidr !== undefined,
    },
    {
      cel: "!has(self.cidr) || (isCIDR(self.cidr) && cidr(self.cidr).masked() == cidr(self.cidr))",
      message:
        "cidr must be a network address with a prefix length, with no host bits set, e.g. 10.20.0.0/16",
      path: ["cidr"],
      check: (t) => {
        if (t.cidr === undefined) return true;
        const c = parseCidr(t.cidr);
        return c !== undefined && isCanonical(c);
      },
    },
    {
      cel: "!has(self.except) || !has(self.cidr) || !isCIDR(self.cidr) || self.except.all(e, isCIDR(e) && cidr(self.cidr).containsCIDR(e))",
      message:
        "every except entry must be a CIDR inside cidr, e.g. cidr 10.20.0.0/16 with except 10.20.5.0/24",
      path: ["except"],
      check: (t) => {
        if (t.except === undefined || t.cidr === undefined) return true;
        const outer = parseCidr(t.cidr);
        if (outer === undefined) return true;
        return t.except.every((e) => {
          const inner = parseCidr(e);
          return inner !== undefined && containsCidr(outer, inner);
        });
      },
    },
  ],
).describe("One destination: exactly one of service, cidr or host.");

export const Egress = z
  .object({
    dns: z.boolean().default(true).describe("Allow DNS to kube-dns on port 53 (UDP and TCP). Default true."),
    to: z
      .array(EgressTarget)
      .max(64)
      .optional()
      .describe("Destinations this service may call. Empty means DNS only."),
  })
  .strict()
  .describe("What this service may call. Omitted means DNS only.");

export const JwtRule = z
  .object({
    // No '*': with requireToken the issuer becomes the request principal pattern "<issuer>/*", where
    // '*' is Istio's wildcard ("*" would admit a token from any issuer the mesh validates).
    issuer: withRules(z.string().min(1).max(512), [
      {
        cel: "!self.contains('*')",
        message: "issuer must be the exact issuer of the tokens (iss); '*' is not allowed",
        check: (v) => !v.includes("*"),
      },
    ]).describe("The token issuer (`iss`), e.g. https://auth.example.com/."),
    jwksUri: patterned(HTTPS_URL, "jwksUri must be an https:// URL of the issuer's JSON Web Key Set", 1024)
      .optional()
      .describe("Where to fetch the issuer's keys. Omitted means OpenID discovery from the issuer."),
    audiences: z
      .array(z.string().min(1).max(256))
      .max(16)
      .optional()
      .describe("Accepted `aud` values. Omitted means any."),
    forwardOriginalToken: z.boolean().optional().describe("Forward the Authorization header to the service."),
  })
  .strict();

export const RequestAuthentication = z
  .object({
    jwt: z.array(JwtRule).min(1).max(8).describe("Accepted token issuers. At least one."),
    requireToken: z
      .boolean()
      .default(true)
      .describe("Deny requests without a valid token from one of the issuers. Default true."),
  })
  .strict()
  .describe("End-user JWTs validated at this service (Istio RequestAuthentication).");

export const SecretSpec = z
  .object({
    name: dnsLabel().describe(
      "Name of the Secret that External Secrets Operator writes (also the ExternalSecret's name).",
    ),
    storeRef: z
      .object({
        kind: z.enum(["SecretStore", "ClusterSecretStore", "IdentityStore"]).default("ClusterSecretStore"),
        name: z.string().min(1).max(253),
      })
      .strict()
      .describe(
        "The store to read from: a SecretStore or ClusterSecretStore, or an IdentityStore that a MeshwardPolicy defines (read as this profile's own ServiceAccount).",
      ),
    refreshInterval: patterned(
      DURATION,
      "refreshInterval must be a duration such as 15m or 1h (units ms, s, m, h)",
      32,
    )
      .optional()
      .describe("How often the secret is re-read and rotated. Omitted means the platform default (1h)."),
    leaseTTL: patterned(DURATION, "leaseTTL must be a duration such as 30s or 1h (units ms, s, m, h)", 32)
      .optional()
      .describe(
        "For a dynamic credential (e.g. Vault's database engine, where each read issues a new one): the lease's TTL as the store's role sets it. The status then reports when the current credential was issued and when it expires. Set refreshInterval well below it.",
      ),
    data: z
      .array(
        z
          .object({
            secretKey: patterned(
              SECRET_KEY,
              "secretKey must be a Secret data key: letters, digits, '-', '_' or '.'",
              253,
            ),
            remoteRef: z
              .object({
                key: z.string().min(1).max(512),
                property: z.string().min(1).max(256).optional(),
                version: z.string().min(1).max(128).optional(),
              })
              .strict(),
          })
          .strict(),
      )
      .min(1)
      .max(32)
      .describe("Keys of the Secret and where each comes from."),
  })
  .strict();

export const EXCEPTION_TYPES = ["PermissiveMtls", "AuditOnly"] as const;

export const Exception = z
  .object({
    type: z
      .enum(EXCEPTION_TYPES)
      .describe(
        "PermissiveMtls: accept plain-text callers (needs mtls.mode Permissive). AuditOnly: the AuthorizationPolicy runs in dry-run and only logs.",
      ),
    reason: z.string().min(10).max(1024).describe("Why the exception is needed (at least 10 characters)."),
    ticket: patterned(TICKET, "ticket must be a tracker reference such as SEC-1234", 128).describe(
      "The tracking ticket, e.g. SEC-1234.",
    ),
    expires: z.iso
      .datetime({ offset: false })
      .max(64)
      .describe("RFC 3339 UTC time at which enforcement returns, e.g. 2026-12-31T00:00:00Z."),
  })
  .strict();

export const WAYPOINT_SCOPES = ["Namespace", "Service"] as const;
export type WaypointScope = (typeof WAYPOINT_SCOPES)[number];

export const DRIFT_POLICIES = ["Correct", "Report"] as const;

export const ACCESS_LOG_MODES = ["Enabled", "Disabled"] as const;
export type AccessLogMode = (typeof ACCESS_LOG_MODES)[number];

export const Audit = z
  .object({
    accessLogs: z
      .enum(ACCESS_LOG_MODES)
      .optional()
      .describe(
        "Enabled: an Istio Telemetry turns on the mesh's access log (provider `envoy`) for this service's pods, so every request and connection is logged with the caller's principal and the authorization decision (docs/audit.md). Disabled: no Telemetry. Omitted: the platform default (Disabled unless the platform team sets it).",
      ),
  })
  .strict()
  .describe("Audit records of this service's traffic.");

export const ProfileSpec = withRules(
  z
    .object({
      selector: labelSelector,
      dataplaneMode: z
        .enum(["sidecar", "ambient"])
        .optional()
        .describe(
          "Which Istio data plane serves the pods: sidecar or ambient. Unset (the usual case): what Istio decides from the namespace's labels (istio-injection or istio.io/rev: sidecar, even with istio.io/dataplane-mode=ambient; istio.io/dataplane-mode=ambient alone: ambient), otherwise the operator's --mesh-mode.",
        ),
      waypoint: z
        .object({
          scope: z
            .enum(WAYPOINT_SCOPES)
            .default("Namespace")
            .describe(
              "Namespace (default): the namespace's shared waypoint, meshward-waypoint. Service: a waypoint of this Service's own, meshward-waypoint-<service>.",
            ),
          service: dnsLabel()
            .optional()
            .describe(
              "The Kubernetes Service of these pods that the waypoint serves and the L7 policies attach to (targetRefs). Defaults to the profile's name.",
            ),
        })
        .strict()
        .optional()
        .describe(
          "Ambient mode only, for profiles with http rules or requestAuthentication: the waypoint proxy that enforces them (docs/ambient.md). Omitted: the namespace's shared waypoint, for the Service named like the profile. Ignored in sidecar mode and by profiles without L7 rules.",
        ),
      serviceAccount: z
        .object({
          name: dnsLabel().optional().describe("Defaults to the profile's name."),
          automountToken: z
            .boolean()
            .default(false)
            .describe("Mount the account's API token into pods. Default false."),
        })
        .strict()
        .optional()
        .describe(
          "The dedicated ServiceAccount meshward creates for this service (one workload, one identity).",
        ),
      mtls: z
        .object({
          mode: z
            .enum(["Strict", "Permissive"])
            .default("Strict")
            .describe(
              "Strict (default) or Permissive; Permissive only while a PermissiveMtls exception is unexpired.",
            ),
        })
        .strict()
        .optional(),
      ingress: z
        .array(IngressRule)
        .max(32)
        .optional()
        .describe("Who may call this service. Empty means nobody."),
      egress: Egress.optional(),
      requestAuthentication: RequestAuthentication.optional(),
      audit: Audit.optional(),
      secrets: uniqueBy(
        z.array(SecretSpec).max(16),
        "name",
        "secret names must be unique: each names its own Secret",
      )
        .optional()
        .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] })
        .describe("Secrets synced by External Secrets Operator, one ExternalSecret each. Names are unique."),
      driftPolicy: z
        .enum(DRIFT_POLICIES)
        .default("Correct")
        .describe(
          "Correct (default): restore edited or deleted objects. Report: only report them in status.",
        ),
      exceptions: uniqueBy(
        z.array(Exception).max(8),
        "type",
        "at most one exception per type: merge them into one",
      )
        .optional()
        .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] })
        .describe("Time-limited exceptions, at most one per type. Each is honoured only until it expires."),
    })
    .strict(),
  [
    {
      cel: "!has(self.serviceAccount) || !has(self.serviceAccount.name) || !self.serviceAccount.name.startsWith('meshward-')",
      message:
        "serviceAccount.name: names starting with meshward- are reserved for meshward's objects (the waypoint runs as meshward-waypoint…, whose identity ztunnel trusts): name the account after the service, e.g. payments-api",
      path: ["serviceAccount", "name"],
      check: (s) => !(s.serviceAccount?.name ?? "").startsWith("meshward-"),
    },
    {
      cel: "!has(self.mtls) || self.mtls.mode != 'Permissive' || (has(self.exceptions) && self.exceptions.exists(e, e.type == 'PermissiveMtls'))",
      message:
        "mtls.mode Permissive requires an exception of type PermissiveMtls with an expiry date, a reason and a ticket",
      path: ["mtls", "mode"],
      check: (s) =>
        s.mtls?.mode !== "Permissive" || (s.exceptions ?? []).some((e) => e.type === "PermissiveMtls"),
    },
    {
      cel: "!has(self.exceptions) || !self.exceptions.exists(e, e.type == 'PermissiveMtls') || (has(self.mtls) && self.mtls.mode == 'Permissive')",
      message:
        "an exception of type PermissiveMtls has no effect unless mtls.mode is Permissive; set mtls.mode: Permissive or remove the exception",
      path: ["exceptions"],
      check: (s) =>
        !(s.exceptions ?? []).some((e) => e.type === "PermissiveMtls") || s.mtls?.mode === "Permissive",
    },
    {
      cel: "!has(self.requestAuthentication) || (has(self.requestAuthentication.requireToken) && !self.requestAuthentication.requireToken) || !has(self.ingress) || self.ingress.all(r, !has(r.protocol) || r.protocol == 'TCP')",
      message:
        "requestAuthentication.requireToken denies every request without a token, and UDP or SCTP traffic carries none: set requireToken: false, or remove the UDP/SCTP ingress rules",
      path: ["ingress"],
      check: (s) =>
        !s.requestAuthentication?.requireToken || (s.ingress ?? []).every((r) => protocolOf(r) === "TCP"),
    },
  ],
).describe("What this service needs to be zero-trust.");

export const CONDITION_TYPES = [
  "Ready",
  "Drifted",
  "Degraded",
  "Conflict",
  "SecretsReady",
  "Compliant",
] as const;
export const OBJECT_STATES = ["InSync", "Drifted", "Missing", "Conflict"] as const;

export const Condition = z
  .object({
    type: z.string().min(1).max(316),
    status: z.enum(["True", "False", "Unknown"]),
    reason: z.string().min(1).max(1024),
    message: z.string().max(32768),
    lastTransitionTime: z.iso.datetime({ offset: true }).max(64),
    observedGeneration: z.number().int().min(0).optional(),
  })
  .strict();

export const ObjectStatus = z
  .object({
    apiVersion: z.string().max(253),
    kind: z.string().max(63),
    name: z.string().max(253),
    state: z.enum(OBJECT_STATES),
    message: z.string().max(4096).optional(),
  })
  .strict();

export const ExceptionStatus = z
  .object({
    type: z.enum(EXCEPTION_TYPES),
    ticket: z.string().max(128),
    expires: z.string().max(64),
    state: z
      .enum(["Active", "Expired", "Rejected"])
      .describe(
        "Active: honoured now. Expired: past its expiry. Rejected: not honoured (e.g. expires too far ahead).",
      ),
  })
  .strict();

export const SecretStatus = z
  .object({
    name: z.string().max(253).describe("The ExternalSecret (and Secret) name."),
    ready: z
      .enum(["True", "False", "Unknown"])
      .describe("The ExternalSecret's Ready condition as External Secrets Operator reports it."),
    reason: z
      .string()
      .max(1024)
      .describe("ESO's reason (e.g. SecretSynced, SecretSyncedError), or meshward's."),
    message: z.string().max(4096).optional(),
    refreshTime: z.iso
      .datetime({ offset: true })
      .max(64)
      .optional()
      .describe("When ESO last fetched the secret from its store successfully."),
    issuedAt: z.iso
      .datetime({ offset: true })
      .max(64)
      .optional()
      .describe("With leaseTTL: when the current credential was issued (ESO's last successful fetch)."),
    expiresAt: z.iso
      .datetime({ offset: true })
      .max(64)
      .optional()
      .describe("With leaseTTL: when the current credential expires (issuedAt plus leaseTTL)."),
    syncedResourceVersion: z
      .string()
      .max(256)
      .optional()
      .describe("The ExternalSecret version ESO last synced (ESO's status.syncedResourceVersion)."),
  })
  .strict();

export const PolicyFinding = z
  .object({
    reason: z
      .string()
      .max(64)
      .describe(
        "SecretNotAllowed, EgressCidrNotAllowed, EgressHostNotAllowed, ExceptionNotAllowed, PendingApproval, SelectorOverlap or Quarantined.",
      ),
    rule: z.string().max(128).describe("The guardrail, as its field of MeshwardPolicy spec."),
    mode: z
      .enum(["Enforce", "Audit"])
      .describe("Enforce: the part was not applied (removed if it existed). Audit: applied, and reported."),
    path: z
      .string()
      .max(512)
      .describe("The field of the profile, e.g. spec.secrets[0].data[1].remoteRef.key."),
    message: z.string().max(4096).describe("What is wrong and what to write instead."),
    policies: z.array(z.string().max(253)).max(16).describe("The MeshwardPolicies that forbid it."),
  })
  .strict();

export const BaselineEntry = z
  .object({
    path: z.string().max(512).describe("The entry of the effective profile, e.g. spec.ingress[2]."),
    policies: z.array(z.string().max(253)).max(16).describe("The MeshwardPolicies that add it."),
  })
  .strict();

export const PolicyReport = z
  .object({
    governedBy: z
      .array(z.string().max(253))
      .max(32)
      .optional()
      .describe("The MeshwardPolicies that select this profile's namespace."),
    quarantinedBy: z
      .array(z.string().max(253))
      .max(32)
      .optional()
      .describe("The MeshwardPolicies that quarantine this profile's identity."),
    findings: z
      .array(PolicyFinding)
      .max(32)
      .optional()
      .describe("What the platform's guardrails refuse (Enforce) or would refuse (Audit)."),
    baseline: z
      .array(BaselineEntry)
      .max(32)
      .optional()
      .describe("Rules the platform's policies add to this profile (baseline rules)."),
  })
  .strict()
  .describe("What the platform's MeshwardPolicies decided for this profile.");

export const ProfileStatus = z
  .object({
    observedGeneration: z.number().int().min(0).optional(),
    conditions: z
      .array(Condition)
      .max(16)
      .optional()
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] }),
    objects: z
      .array(ObjectStatus)
      .max(256)
      .optional()
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["kind", "name"] })
      .describe("Every object generated for this profile and its state."),
    exceptions: z
      .array(ExceptionStatus)
      .max(8)
      .optional()
      .describe("Exceptions and whether each is active or expired."),
    secrets: z
      .array(SecretStatus)
      .max(16)
      .optional()
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] })
      .describe(
        "Each secret's sync state, read from its ExternalSecret's status (External Secrets Operator).",
      ),
    policy: PolicyReport.optional(),
    dataplane: z
      .object({
        mode: z.enum(["sidecar", "ambient"]).describe("The data plane the generated objects are for."),
        source: z
          .enum(["Profile", "Namespace", "Default"])
          .describe(
            "Profile: spec.dataplaneMode; Namespace: the namespace's Istio labels; Default: the operator's --mesh-mode.",
          ),
        message: z.string().max(512).describe("Why, in words."),
      })
      .strict()
      .optional()
      .describe("Which Istio data plane meshward generated this profile's objects for, and why."),
  })
  .strict();

export type ProfileSpecInput = z.input<typeof ProfileSpec>;
export type ProfileSpec = z.output<typeof ProfileSpec>;
export type IngressRule = z.output<typeof IngressRule>;
export type Source = z.output<typeof Source>;
export type EgressTarget = z.output<typeof EgressTarget>;
export type SecretSpec = z.output<typeof SecretSpec>;
export type Exception = z.output<typeof Exception>;
export type Audit = z.output<typeof Audit>;
export type Condition = z.output<typeof Condition>;
export type ObjectStatus = z.output<typeof ObjectStatus>;
export type ExceptionStatus = z.output<typeof ExceptionStatus>;
export type SecretStatus = z.output<typeof SecretStatus>;
export type ProfileStatus = z.output<typeof ProfileStatus>;
export type PolicyFinding = z.output<typeof PolicyFinding>;
export type PolicyReport = z.output<typeof PolicyReport>;

/** A parsed profile: metadata is what the builders and reconciler need. */
export interface Profile {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    /** Orders profiles whose selectors overlap (the older keeps its pods: operator/policy/overlap.ts). */
    creationTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: ProfileSpec;
  status?: ProfileStatus;
}

/** The name must fit in a DNS label: generated object names are derived from it. */
export const NAME_RULE = {
  cel: `self.metadata.name.matches('${DNS_LABEL.source}') && self.metadata.name.size() <= 63`,
  message:
    "metadata.name must be a DNS label of at most 63 characters, e.g. payments-api (generated objects are named after it)",
  check: (name: string) => DNS_LABEL.test(name) && name.length <= 63,
};

/**
 * meshward names the objects it shares in a namespace with this prefix: the namespace's default
 * deny (builders/meta.ts NAMESPACE_DEFAULT_DENY) and the quarantine NetworkPolicies
 * (policy/quarantine.ts QUARANTINE_NAME-<profile>). A profile's objects are named after the
 * profile, so a profile with such a name would squat them.
 */
export const RESERVED_NAME_PREFIX = "meshward-";

/** Profiles may not take a reserved name (at create: metadata.name cannot change afterwards). */
export const RESERVED_NAME_RULE = {
  cel: `!self.metadata.name.startsWith('${RESERVED_NAME_PREFIX}')`,
  message: `metadata.name: names starting with "${RESERVED_NAME_PREFIX}" are reserved for objects meshward creates (meshward-default-deny, meshward-quarantine-…): name the profile after its service, e.g. payments-api`,
  check: (name: string) => !name.startsWith(RESERVED_NAME_PREFIX),
};
