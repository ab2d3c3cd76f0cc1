// From API objects (as JSON from the cluster, or as the builders make them) to the stripped inputs
// of the widening decision (types.ts). Read defensively: the objects come from tenants, so a field
// of the wrong shape is skipped, never trusted. Defaults are the API servers' (the NetworkPolicy
// port protocol TCP, policyTypes from the rules present, ESO's store kind SecretStore). Pure.
import { PROTOCOLS, type Protocol } from "../api/schema.ts";
import { DRY_RUN_ANNOTATION } from "../builders/authorization.ts";
import { MANAGED_BY, MANAGED_BY_LABEL } from "../builders/meta.ts";
import type {
  AuthorizationPolicyInput,
  AuthzOperation,
  AuthzRule,
  AuthzSource,
  ExternalSecretInput,
  IstioTarget,
  JwtRuleInput,
  LabelRequirement,
  LabelSelector,
  MtlsMode,
  NetworkPeer,
  NetworkPolicyInput,
  NetworkPort,
  NetworkRule,
  PeerAuthenticationInput,
  PolicyType,
  RequestAuthenticationInput,
  SecretRead,
  SelectorOperator,
  StoreRef,
} from "./types.ts";

type Json = Record<string, unknown>;

function obj(v: unknown): Json | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function strings(v: unknown): string[] {
  return list(v).filter((x): x is string => typeof x === "string");
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(obj(v) ?? {})) if (typeof x === "string") out[k] = x;
  return out;
}

function meta(
  o: unknown,
): { name: string; namespace: string; labels: Json; annotations: Json; created?: string } | undefined {
  const m = obj(obj(o)?.metadata);
  const name = str(m?.name);
  const namespace = str(m?.namespace);
  if (!m || name === undefined || namespace === undefined) return undefined;
  const created = str(m.creationTimestamp);
  return {
    name,
    namespace,
    labels: obj(m.labels) ?? {},
    annotations: obj(m.annotations) ?? {},
    ...(created !== undefined && { created }),
  };
}

/** Not created by meshward: it lacks app.kubernetes.io/managed-by: meshward. */
export function isForeign(o: unknown): boolean {
  return obj(obj(obj(o)?.metadata)?.labels)?.[MANAGED_BY_LABEL] !== MANAGED_BY;
}

// ---- NetworkPolicy ----------------------------------------------------------------------------

const OPERATORS: readonly SelectorOperator[] = ["In", "NotIn", "Exists", "DoesNotExist"];

/** A label selector; an unknown operator (refused by the API server) is dropped, widening it. */
function selector(v: unknown): LabelSelector | undefined {
  const s = obj(v);
  if (!s) return undefined;
  const matchExpressions: LabelRequirement[] = [];
  for (const e of list(s.matchExpressions)) {
    const r = obj(e);
    const key = str(r?.key);
    const operator = OPERATORS.find((op) => op === r?.operator);
    if (key === undefined || operator === undefined) continue;
    matchExpressions.push({ key, operator, values: strings(r?.values) });
  }
  return { matchLabels: stringMap(s.matchLabels), matchExpressions };
}

function peer(v: unknown): NetworkPeer | undefined {
  const p = obj(v);
  if (!p) return undefined;
  const block = obj(p.ipBlock);
  const cidr = str(block?.cidr);
  if (block && cidr !== undefined) return { ipBlock: { cidr, except: strings(block.except) } };
  const out: NetworkPeer = {};
  const pods = selector(p.podSelector);
  const namespaces = selector(p.namespaceSelector);
  if (pods) out.podSelector = pods;
  if (namespaces) out.namespaceSelector = namespaces;
  return out;
}

function port(v: unknown): NetworkPort | undefined {
  const p = obj(v);
  if (!p) return undefined;
  const protocol: Protocol | undefined =
    p.protocol === undefined ? "TCP" : PROTOCOLS.find((x) => x === p.protocol);
  if (protocol === undefined) return undefined;
  const out: NetworkPort = { protocol };
  if (typeof p.port === "number" && Number.isInteger(p.port)) {
    out.port = p.port;
    if (typeof p.endPort === "number" && Number.isInteger(p.endPort)) out.endPort = p.endPort;
  } else if (typeof p.port === "string") {
    out.port = p.port;
  }
  return out;
}

/** A rule, or undefined when every port entry is unreadable (it then admits nothing). */
function rule(v: unknown, peersField: "from" | "to"): NetworkRule | undefined {
  const r = obj(v);
  if (!r) return undefined;
  const rawPorts = list(r.ports);
  const ports = rawPorts.map(port).filter((p) => p !== undefined);
  if (rawPorts.length > 0 && ports.length === 0) return undefined;
  const peers = list(r[peersField])
    .map(peer)
    .filter((p) => p !== undefined);
  return { peers, ports };
}

export function readNetworkPolicy(o: unknown): NetworkPolicyInput | undefined {
  const m = meta(o);
  const spec = obj(obj(o)?.spec);
  if (!m || !spec) return undefined;
  const egressRules = list(spec.egress);
  const declared = strings(spec.policyTypes).filter(
    (t): t is PolicyType => t === "Ingress" || t === "Egress",
  );
  const policyTypes: PolicyType[] =
    declared.length > 0 ? declared : egressRules.length > 0 ? ["Ingress", "Egress"] : ["Ingress"];
  return {
    namespace: m.namespace,
    name: m.name,
    podSelector: selector(spec.podSelector) ?? { matchLabels: {}, matchExpressions: [] },
    policyTypes,
    ingress: list(spec.ingress)
      .map((r) => rule(r, "from"))
      .filter((r) => r !== undefined),
    egress: egressRules.map((r) => rule(r, "to")).filter((r) => r !== undefined),
  };
}

// ---- Istio ------------------------------------------------------------------------------------

function target(spec: Json): IstioTarget {
  const out: IstioTarget = {};
  const sel = obj(spec.selector);
  if (sel) out.selector = stringMap(sel.matchLabels);
  const refs = [...list(spec.targetRefs), ...(spec.targetRef === undefined ? [] : [spec.targetRef])]
    .map(obj)
    .map((r) => ({ kind: str(r?.kind), name: str(r?.name) }))
    .filter((r): r is { kind: string; name: string } => r.kind !== undefined && r.name !== undefined);
  if (refs.length > 0) out.targetRefs = refs;
  return out;
}

/** The positive fields `keep` (non-empty lists), and the names of every other field set. */
function fields<K extends string>(
  v: unknown,
  keep: readonly K[],
): { values: Partial<Record<K, string[]>>; other: string[] } {
  const values: Partial<Record<K, string[]>> = {};
  const other: string[] = [];
  for (const [k, x] of Object.entries(obj(v) ?? {})) {
    if (Array.isArray(x) && x.length === 0) continue; // Istio reads an empty list as unset
    const known = keep.find((f) => f === k);
    if (known !== undefined && Array.isArray(x)) values[known] = strings(x);
    else other.push(k);
  }
  return { values, other: other.sort() };
}

function source(v: unknown): AuthzSource {
  const f = fields(v, ["principals", "namespaces", "requestPrincipals"]);
  return { ...f.values, other: f.other };
}

function operation(v: unknown): AuthzOperation {
  const f = fields(v, ["ports", "methods", "paths"]);
  return { ...f.values, other: f.other };
}

function authzRule(v: unknown): AuthzRule {
  const r = obj(v) ?? {};
  const from = list(r.from).map((f) => source(obj(f)?.source));
  const to = list(r.to).map((t) => operation(obj(t)?.operation));
  const out: AuthzRule = { when: list(r.when).length };
  if (from.length > 0) out.from = from;
  if (to.length > 0) out.to = to;
  return out;
}

const ACTIONS = ["ALLOW", "DENY", "AUDIT", "CUSTOM"] as const;

export function readAuthorizationPolicy(o: unknown): AuthorizationPolicyInput | undefined {
  const m = meta(o);
  const spec = obj(obj(o)?.spec) ?? {};
  if (!m) return undefined;
  // An action Istio does not know is not enforced as ALLOW: read it as AUDIT (never widens).
  const action = spec.action === undefined ? "ALLOW" : (ACTIONS.find((a) => a === spec.action) ?? "AUDIT");
  const out: AuthorizationPolicyInput = {
    namespace: m.namespace,
    name: m.name,
    ...target(spec),
    action,
    dryRun: m.annotations[DRY_RUN_ANNOTATION] === "true",
  };
  if (Array.isArray(spec.rules)) out.rules = spec.rules.map(authzRule);
  return out;
}

const MODES: readonly MtlsMode[] = ["UNSET", "DISABLE", "PERMISSIVE", "STRICT"];

function mode(v: unknown): MtlsMode {
  return MODES.find((x) => x === obj(v)?.mode) ?? "UNSET";
}

export function readPeerAuthentication(o: unknown): PeerAuthenticationInput | undefined {
  const m = meta(o);
  const spec = obj(obj(o)?.spec) ?? {};
  if (!m) return undefined;
  const portLevelMtls: Record<string, MtlsMode> = {};
  for (const [p, v] of Object.entries(obj(spec.portLevelMtls) ?? {})) portLevelMtls[p] = mode(v);
  const sel = obj(spec.selector);
  return {
    namespace: m.namespace,
    name: m.name,
    ...(sel && { selector: stringMap(sel.matchLabels) }),
    mode: mode(spec.mtls),
    portLevelMtls,
    ...(m.created !== undefined && { created: m.created }),
  };
}

function jwtRule(v: unknown): JwtRuleInput | undefined {
  const r = obj(v);
  const issuer = str(r?.issuer);
  if (!r || issuer === undefined) return undefined;
  const jwksUri = str(r.jwksUri) ?? str(r.jwks_uri);
  const audiences = strings(r.audiences);
  return {
    issuer,
    ...(jwksUri !== undefined && { jwksUri }),
    inlineJwks: str(r.jwks) !== undefined,
    ...(audiences.length > 0 && { audiences }),
    customLocations: [r.fromHeaders, r.fromParams, r.fromCookies].some((x) => list(x).length > 0),
  };
}

export function readRequestAuthentication(o: unknown): RequestAuthenticationInput | undefined {
  const m = meta(o);
  const spec = obj(obj(o)?.spec) ?? {};
  if (!m) return undefined;
  return {
    namespace: m.namespace,
    name: m.name,
    ...target(spec),
    jwtRules: list(spec.jwtRules)
      .map(jwtRule)
      .filter((r) => r !== undefined),
  };
}

// ---- ExternalSecret ---------------------------------------------------------------------------

/** A store reference; ESO's default kind is SecretStore. */
function store(v: unknown): StoreRef | undefined {
  const s = obj(v);
  const name = str(s?.name);
  if (!s || name === undefined) return undefined;
  return { kind: s.kind === "ClusterSecretStore" ? "ClusterSecretStore" : "SecretStore", name };
}

function generator(sourceRef: Json | undefined): { kind: string; name: string } | undefined {
  const g = obj(sourceRef?.generatorRef);
  const kind = str(g?.kind);
  const name = str(g?.name);
  return kind !== undefined && name !== undefined ? { kind, name } : undefined;
}

function findFilter(find: Json): string {
  const parts: string[] = [];
  const path = str(find.path);
  const regexp = str(obj(find.name)?.regexp);
  const tags = stringMap(find.tags);
  if (path !== undefined) parts.push(`path ${path}`);
  if (regexp !== undefined) parts.push(`name ${regexp}`);
  if (Object.keys(tags).length > 0)
    parts.push(
      `tags ${Object.entries(tags)
        .map(([k, v]) => `${k}=${v}`)
        .join(",")}`,
    );
  return parts.join(", ") || "every key";
}

export function readExternalSecret(o: unknown): ExternalSecretInput | undefined {
  const m = meta(o);
  const spec = obj(obj(o)?.spec) ?? {};
  if (!m) return undefined;
  const main = store(spec.secretStoreRef);
  const reads: SecretRead[] = [];
  list(spec.data).forEach((d, i) => {
    const entry = obj(d);
    const path = `spec.data[${i}]`;
    const sourceRef = obj(entry?.sourceRef);
    const gen = generator(sourceRef);
    if (gen) return void reads.push({ kind: "generator", path, generator: gen });
    const from = store(sourceRef?.storeRef) ?? main;
    const key = str(obj(entry?.remoteRef)?.key);
    if (from && key !== undefined) reads.push({ kind: "key", path, store: from, key });
  });
  list(spec.dataFrom).forEach((d, i) => {
    const entry = obj(d);
    const path = `spec.dataFrom[${i}]`;
    const sourceRef = obj(entry?.sourceRef);
    const gen = generator(sourceRef);
    if (gen) return void reads.push({ kind: "generator", path, generator: gen });
    const from = store(sourceRef?.storeRef) ?? main;
    if (!from) return;
    const key = str(obj(entry?.extract)?.key);
    if (key !== undefined) reads.push({ kind: "key", path: `${path}.extract`, store: from, key });
    const find = obj(entry?.find);
    if (find) reads.push({ kind: "find", path: `${path}.find`, store: from, filter: findFilter(find) });
  });
  return { namespace: m.namespace, name: m.name, reads };
}
