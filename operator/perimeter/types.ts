// What the widening decision reads and says (operator/perimeter/widening.ts). Pure data: objects
// that meshward did not create (no app.kubernetes.io/managed-by: meshward), stripped to what the
// decision needs, so a cache can hold just that (read.ts strips them from API objects).
import type { Protocol } from "../api/schema.ts";

export type Labels = Readonly<Record<string, string>>;

// ---- Label selectors (Kubernetes: matchLabels and matchExpressions) ---------------------------

export type SelectorOperator = "In" | "NotIn" | "Exists" | "DoesNotExist";

export interface LabelRequirement {
  key: string;
  operator: SelectorOperator;
  /** In and NotIn: the values; Exists and DoesNotExist: empty. */
  values: readonly string[];
}

/** Both parts must hold. `{ matchLabels: {}, matchExpressions: [] }` selects everything. */
export interface LabelSelector {
  matchLabels: Labels;
  matchExpressions: readonly LabelRequirement[];
}

// ---- NetworkPolicy (networking.k8s.io/v1) -----------------------------------------------------

export interface IpBlock {
  cidr: string;
  except: readonly string[];
}

/**
 * One `from`/`to` entry. ipBlock: those addresses. Otherwise pods: of the namespaces the
 * namespaceSelector selects (absent: the policy's own namespace) that the podSelector selects
 * (absent: every pod there). The API server refuses an entry with none of the three; should one
 * appear anyway it is read as every peer (over-reported rather than missed).
 */
export interface NetworkPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: IpBlock;
}

/** A port entry: one protocol (TCP when the object names none); no port: every port of it. */
export interface NetworkPort {
  protocol: Protocol;
  /** A number, or a container port's name (resolved on the pod; see network.ts). */
  port?: number | string;
  /** With a numeric port: the range port..endPort. */
  endPort?: number;
}

/** One rule: any of `peers` (empty: every peer) on any of `ports` (empty: every port of every protocol). */
export interface NetworkRule {
  peers: readonly NetworkPeer[];
  ports: readonly NetworkPort[];
}

export type PolicyType = "Ingress" | "Egress";

export interface NetworkPolicyInput {
  namespace: string;
  name: string;
  podSelector: LabelSelector;
  /** As the API server defaults it: Ingress always, Egress when the policy has egress rules. */
  policyTypes: readonly PolicyType[];
  ingress: readonly NetworkRule[];
  egress: readonly NetworkRule[];
}

// ---- One concrete flow, for the per-flow evaluator (evaluate.ts) and for examples ------------

export type Direction = "ingress" | "egress";

/** The other end of a flow: a pod (with its namespace's labels) or an address outside the pod network. */
export type FlowPeer =
  { kind: "pod"; namespace: string; namespaceLabels: Labels; labels: Labels } | { kind: "ip"; ip: string };

export interface Flow {
  direction: Direction;
  peer: FlowPeer;
  protocol: Protocol;
  /** A port number, or a port name (a named port whose number is not known). */
  port: number | string;
}

export interface Pod {
  namespace: string;
  labels: Labels;
}

// ---- Istio (security.istio.io) ----------------------------------------------------------------

/** Where an Istio policy attaches: a workload selector, or targetRefs (Gateway, Service, ...). */
export interface IstioTarget {
  /** matchLabels of spec.selector; empty or absent with no targetRefs: every workload of the namespace. */
  selector?: Labels;
  /** spec.targetRefs, plus the older single spec.targetRef. */
  targetRefs?: readonly { kind: string; name: string }[];
}

/** A positive list (principals, namespaces, ...) as Istio matches it: exact, `x*`, `*x` or `*`. */
export type Patterns = readonly string[];

/** One `from[].source`: every listed field must match; fields meshward never writes are only named. */
export interface AuthzSource {
  principals?: Patterns;
  namespaces?: Patterns;
  requestPrincipals?: Patterns;
  /** Other fields set (notPrincipals, ipBlocks, serviceAccounts, ...): they only narrow the source. */
  other: readonly string[];
}

/** One `to[].operation`. */
export interface AuthzOperation {
  ports?: Patterns;
  methods?: Patterns;
  paths?: Patterns;
  /** Other fields set (hosts, notPorts, notPaths, ...): they only narrow the operation. */
  other: readonly string[];
}

/** One rule: any of `from` (absent: any source), any of `to` (absent: any operation), every `when`. */
export interface AuthzRule {
  from?: readonly AuthzSource[];
  to?: readonly AuthzOperation[];
  /** How many `when` conditions narrow the rule (they only narrow it). */
  when: number;
}

export interface AuthorizationPolicyInput extends IstioTarget {
  namespace: string;
  name: string;
  action: "ALLOW" | "DENY" | "AUDIT" | "CUSTOM";
  /** istio.io/dry-run: "true": Istio only logs the decision. */
  dryRun: boolean;
  /** Absent: no rules (an ALLOW policy without rules allows nothing). `[{}]` matches every request. */
  rules?: readonly AuthzRule[];
}

export type MtlsMode = "UNSET" | "DISABLE" | "PERMISSIVE" | "STRICT";

export interface PeerAuthenticationInput {
  namespace: string;
  name: string;
  /** Non-empty: a workload policy; empty or absent: the namespace-wide policy. */
  selector?: Labels;
  /** mtls.mode; absent or UNSET: inherited from the namespace-wide policy, then the mesh. */
  mode: MtlsMode;
  /** portLevelMtls: port number (as written) to mode. Istio honours it on workload policies only. */
  portLevelMtls: Readonly<Record<string, MtlsMode>>;
  /** metadata.creationTimestamp: the oldest of conflicting policies wins. */
  created?: string;
}

export interface JwtRuleInput {
  issuer: string;
  jwksUri?: string;
  /** Inline keys (spec.jwtRules[].jwks) are set: kept as a flag, the key set may be large. */
  inlineJwks: boolean;
  audiences?: readonly string[];
  /** fromHeaders, fromParams or fromCookies: tokens are also taken from there. */
  customLocations: boolean;
}

export interface RequestAuthenticationInput extends IstioTarget {
  namespace: string;
  name: string;
  jwtRules: readonly JwtRuleInput[];
}

// ---- External Secrets (external-secrets.io) ---------------------------------------------------

export interface StoreRef {
  kind: "SecretStore" | "ClusterSecretStore";
  name: string;
}

/** One thing an ExternalSecret reads, with where it is written (e.g. spec.data[0]). */
export type SecretRead =
  /** spec.data[].remoteRef.key or spec.dataFrom[].extract.key, from a store. */
  | { kind: "key"; path: string; store: StoreRef; key: string }
  /** spec.dataFrom[].find: every key the store's search returns. */
  | { kind: "find"; path: string; store: StoreRef; filter: string }
  /** sourceRef.generatorRef: a generator instead of a store. */
  | { kind: "generator"; path: string; generator: { kind: string; name: string } };

export interface ExternalSecretInput {
  namespace: string;
  name: string;
  reads: readonly SecretRead[];
}

/** Every foreign object of one namespace that the decision looks at. */
export interface ForeignObjects {
  networkPolicies: readonly NetworkPolicyInput[];
  authorizationPolicies: readonly AuthorizationPolicyInput[];
  peerAuthentications: readonly PeerAuthenticationInput[];
  requestAuthentications: readonly RequestAuthenticationInput[];
  externalSecrets: readonly ExternalSecretInput[];
}

/** A namespace without foreign objects. */
export function noForeignObjects(): ForeignObjects {
  return {
    networkPolicies: [],
    authorizationPolicies: [],
    peerAuthentications: [],
    requestAuthentications: [],
    externalSecrets: [],
  };
}

// ---- The decision -----------------------------------------------------------------------------

export type ForeignKind =
  "AuthorizationPolicy" | "ExternalSecret" | "NetworkPolicy" | "PeerAuthentication" | "RequestAuthentication";

/** One foreign object that widens what a profile declares, with one example of what it adds. */
export interface WideningFinding {
  kind: ForeignKind;
  namespace: string;
  name: string;
  example: string;
}

export interface Widening {
  /** Sorted by kind, then name; at most MAX_FINDINGS. */
  findings: WideningFinding[];
  /** How many more were found and left out. */
  omitted: number;
}
