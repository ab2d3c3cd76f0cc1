// Do foreign Istio policies widen what a profile's own Istio objects allow? (pure)
//
// AuthorizationPolicy: for a workload Istio denies on any matching CUSTOM (when its server says so)
// or DENY policy, then allows when no ALLOW policy applies or any ALLOW policy matches. So only an
// enforced ALLOW policy can widen, by matching a request meshward's ALLOW policy does not; DENY,
// CUSTOM, AUDIT and dry-run policies never do. While meshward's own policy is in dry-run (an
// AuditOnly exception) no ALLOW policy of meshward's applies and the pods are open at L7: another
// ALLOW policy can then only narrow.
//
// PeerAuthentication: for a workload, a policy whose selector matches it beats the namespace-wide
// one (no or empty selector), which beats the mesh root's; among several that match, Istio picks the
// oldest. meshward's policy selects the profile's pods, so a foreign namespace-wide policy never
// applies to them, and a foreign workload policy on the same pods is a conflict Istio may resolve
// either way: reported when it is weaker, whatever its age.
//
// RequestAuthentication: Istio merges every one that applies to a workload (namespace-wide and
// workload ones alike), so another policy's issuers and keys are accepted beside the profile's. Kept
// simple: when the profile requires a token, any JWT rule that is not one of the profile's own
// (same issuer, keys, audiences, token locations) is reported. Errs towards reporting: meshward's
// AuthorizationPolicy admits only request principals of the profile's issuers, so tokens of a new
// issuer are validated but do not open a rule; a rule for one of the profile's issuers with other
// keys or audiences does.
import { canOverlap } from "../policy/selectors.ts";
import type {
  AuthorizationPolicyInput,
  AuthzOperation,
  AuthzRule,
  AuthzSource,
  IstioTarget,
  JwtRuleInput,
  Labels,
  MtlsMode,
  Patterns,
  PeerAuthenticationInput,
  RequestAuthenticationInput,
} from "./types.ts";

/** Where the profile's pods are. */
export interface IstioScope {
  namespace: string;
  /** The profile's spec.selector. */
  selector: Labels;
}

/** Kinds a targetRef may name that Istio attaches to a Service's traffic (at a waypoint). */
const SERVICE_KINDS = new Set(["Service", "ServiceEntry"]);

/**
 * Whether a policy of the namespace applies to the profile's pods: undefined when not, "" when its
 * selector can match them or it is namespace-wide, a note when it is attached to a Service (which
 * pods a Service fronts is not known here, so it may apply: errs towards reporting).
 */
export function attachment(t: IstioTarget & { namespace: string }, scope: IstioScope): string | undefined {
  if (t.namespace !== scope.namespace) return undefined;
  if (t.targetRefs && t.targetRefs.length > 0) {
    const service = t.targetRefs.find((r) => SERVICE_KINDS.has(r.kind));
    return service ? ` (attached to ${service.kind} ${service.name}, which may front these pods)` : undefined;
  }
  if (!t.selector || Object.keys(t.selector).length === 0) return "";
  return canOverlap(t.selector, scope.selector) ? "" : undefined;
}

function shown(values: Patterns): string {
  const head = values.slice(0, 3).join(", ");
  return values.length > 3 ? `${head} and ${values.length - 3} more` : head;
}

// ---- AuthorizationPolicy ----------------------------------------------------------------------

/** Every string `p` matches (exact, `x*`, `*x` or `*`), `q` matches too. */
export function covers(q: string, p: string): boolean {
  if (q === "*" || q === p) return true;
  if (q.endsWith("*")) return !p.startsWith("*") && p.startsWith(q.slice(0, -1));
  if (q.startsWith("*")) return !p.endsWith("*") && p.endsWith(q.slice(1));
  return false;
}

/** A field of meshward's (`mine`) admits everything the foreign field admits (absent: anything). */
function fieldCovered(mine: Patterns | undefined, theirs: Patterns | undefined): boolean {
  if (mine === undefined) return true;
  return theirs !== undefined && theirs.every((p) => mine.some((q) => covers(q, p)));
}

function sourceCovered(theirs: AuthzSource, mine: AuthzSource): boolean {
  return (
    mine.other.length === 0 &&
    fieldCovered(mine.principals, theirs.principals) &&
    fieldCovered(mine.namespaces, theirs.namespaces) &&
    fieldCovered(mine.requestPrincipals, theirs.requestPrincipals)
  );
}

function operationCovered(theirs: AuthzOperation, mine: AuthzOperation): boolean {
  return (
    mine.other.length === 0 &&
    fieldCovered(mine.ports, theirs.ports) &&
    fieldCovered(mine.methods, theirs.methods) &&
    fieldCovered(mine.paths, theirs.paths)
  );
}

const ANY: AuthzSource & AuthzOperation = { other: [] };

/**
 * One rule of meshward's admits every request of `source` × `operation`. Compared one foreign
 * (source, operation) pair against one of meshward's rules at a time: a pair covered only by two
 * rules together (ports split between them) is reported, and the narrowing a foreign pair adds
 * (notPrincipals, hosts, when, ...) is not counted. Both err towards reporting.
 */
function pairCovered(source: AuthzSource, operation: AuthzOperation, mine: AuthzRule): boolean {
  return (
    mine.when === 0 &&
    (mine.from === undefined || mine.from.some((m) => sourceCovered(source, m))) &&
    (mine.to === undefined || mine.to.some((m) => operationCovered(operation, m)))
  );
}

function sourceText(s: AuthzSource): string {
  const parts: string[] = [];
  if (s.principals) parts.push(`principals ${shown(s.principals)}`);
  if (s.namespaces) parts.push(`namespaces ${shown(s.namespaces)}`);
  if (s.requestPrincipals) parts.push(`request principals ${shown(s.requestPrincipals)}`);
  const text = parts.length > 0 ? parts.join(" with ") : "any caller";
  return s.other.length > 0 ? `${text} (narrowed by ${s.other.join(", ")})` : text;
}

function operationText(o: AuthzOperation): string {
  const parts: string[] = [];
  if (o.ports) parts.push(`ports ${shown(o.ports)}`);
  if (o.methods) parts.push(`methods ${shown(o.methods)}`);
  if (o.paths) parts.push(`paths ${shown(o.paths)}`);
  const text = parts.length > 0 ? parts.join(", ") : "any port";
  return o.other.length > 0 ? `${text} (narrowed by ${o.other.join(", ")})` : text;
}

/**
 * What a foreign AuthorizationPolicy lets through that meshward's (`declared`, built from the
 * profile) does not, or undefined.
 */
export function authorizationWidening(
  foreign: AuthorizationPolicyInput,
  declared: readonly AuthorizationPolicyInput[],
  scope: IstioScope,
): string | undefined {
  if (foreign.action !== "ALLOW" || foreign.dryRun) return undefined;
  const where = attachment(foreign, scope);
  if (where === undefined) return undefined;
  const enforced = declared.filter((d) => d.action === "ALLOW" && !d.dryRun && attachment(d, scope) === "");
  if (enforced.length === 0) return undefined;
  const mine = enforced.flatMap((d) => d.rules ?? []);
  const rules = foreign.rules ?? [];
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i];
    if (!rule) continue;
    for (const source of rule.from ?? [ANY])
      for (const operation of rule.to ?? [ANY]) {
        if (mine.some((m) => pairCovered(source, operation, m))) continue;
        const names = enforced.map((d) => d.name).join(", ");
        return `ALLOW rules[${i}] admits requests from ${sourceText(source)} to ${operationText(operation)}${where}, which no rule of meshward's AuthorizationPolicy ${names} admits`;
      }
  }
  return undefined;
}

// ---- PeerAuthentication -----------------------------------------------------------------------

const STRENGTH: Record<Exclude<MtlsMode, "UNSET">, number> = { DISABLE: 0, PERMISSIVE: 1, STRICT: 2 };
/** Istio's mode when no policy sets one (no mesh-wide policy is read here). */
const MESH_DEFAULT = "PERMISSIVE";

function isWorkload(p: PeerAuthenticationInput): boolean {
  return p.selector !== undefined && Object.keys(p.selector).length > 0;
}

function created(p: PeerAuthenticationInput): number {
  const t = p.created === undefined ? Number.NaN : Date.parse(p.created);
  return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t; // undated: after every dated one
}

/** Oldest first (creationTimestamp, then name), as Istio orders conflicting policies. */
function oldestFirst(a: PeerAuthenticationInput, b: PeerAuthenticationInput): number {
  const ta = created(a);
  const tb = created(b);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** A mode as it takes effect: UNSET inherits the namespace-wide policy's, then the mesh default. */
function resolve(
  mode: MtlsMode,
  namespaceWide: PeerAuthenticationInput | undefined,
): { mode: Exclude<MtlsMode, "UNSET">; from?: string } {
  if (mode !== "UNSET") return { mode };
  if (namespaceWide && namespaceWide.mode !== "UNSET")
    return { mode: namespaceWide.mode, from: `the namespace-wide PeerAuthentication ${namespaceWide.name}` };
  return { mode: MESH_DEFAULT, from: "the mesh: Istio's default unless a mesh-wide policy sets another" };
}

/**
 * Whether a foreign PeerAuthentication weakens mTLS on the profile's pods below what meshward's
 * (`declared`) sets. `namespacePolicies`: every PeerAuthentication of the namespace (an unset mode
 * inherits the oldest namespace-wide one's).
 */
export function peerAuthenticationWidening(
  foreign: PeerAuthenticationInput,
  namespacePolicies: readonly PeerAuthenticationInput[],
  declared: readonly PeerAuthenticationInput[],
  scope: IstioScope,
): string | undefined {
  if (foreign.namespace !== scope.namespace) return undefined;
  const mine = declared.find(
    (d) => d.namespace === scope.namespace && isWorkload(d) && attachment(d, scope) === "",
  );
  // With meshward's workload policy in place a namespace-wide one does not apply to these pods.
  if (!isWorkload(foreign) && mine) return undefined;
  if (attachment(foreign, scope) !== "") return undefined;
  const namespaceWide = namespacePolicies
    .filter((p) => p.namespace === scope.namespace && !isWorkload(p))
    .sort(oldestFirst)[0];
  const wanted = resolve(mine?.mode ?? "STRICT", namespaceWide).mode;
  const theirs = resolve(foreign.mode, namespaceWide);
  const against = mine
    ? `meshward's PeerAuthentication ${mine.name} sets ${wanted}; both select these pods and Istio applies the older one`
    : `this profile requires ${wanted}`;
  if (STRENGTH[theirs.mode] < STRENGTH[wanted]) {
    const inherited = theirs.from ? ` (unset, inherited from ${theirs.from})` : "";
    return `mTLS ${theirs.mode}${inherited} on this profile's pods, where ${against}`;
  }
  const ports = Object.keys(foreign.portLevelMtls).sort((a, b) => Number(a) - Number(b) || (a < b ? -1 : 1));
  for (const port of ports) {
    const m = foreign.portLevelMtls[port] ?? "UNSET";
    const mode = m === "UNSET" ? theirs.mode : m;
    if (STRENGTH[mode] < STRENGTH[wanted])
      return `mTLS ${mode} on port ${port} of this profile's pods, where ${against}`;
  }
  return undefined;
}

// ---- RequestAuthentication --------------------------------------------------------------------

function sameSet(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const x = new Set(a ?? []);
  const y = new Set(b ?? []);
  return x.size === y.size && [...x].every((v) => y.has(v));
}

function sameRule(a: JwtRuleInput, b: JwtRuleInput): boolean {
  return (
    a.issuer === b.issuer &&
    a.jwksUri === b.jwksUri &&
    !a.inlineJwks &&
    !b.inlineJwks &&
    sameSet(a.audiences, b.audiences) &&
    !a.customLocations &&
    !b.customLocations
  );
}

function differences(theirs: JwtRuleInput, mine: readonly JwtRuleInput[]): string {
  const same = mine.filter((m) => m.issuer === theirs.issuer);
  const out: string[] = [];
  if (theirs.inlineJwks) out.push("inline keys");
  else if (!same.some((m) => m.jwksUri === theirs.jwksUri))
    out.push(theirs.jwksUri === undefined ? "keys from OpenID discovery" : `keys from ${theirs.jwksUri}`);
  if (!same.some((m) => sameSet(m.audiences, theirs.audiences)))
    out.push(theirs.audiences ? `audiences ${shown(theirs.audiences)}` : "any audience");
  if (theirs.customLocations) out.push("tokens from other headers, parameters or cookies");
  return out.join(", ");
}

/** The profile requires an end-user token on some rule: an enforced ALLOW rule names request principals. */
function requiresToken(declared: readonly AuthorizationPolicyInput[], scope: IstioScope): boolean {
  return declared.some(
    (d) =>
      d.action === "ALLOW" &&
      !d.dryRun &&
      attachment(d, scope) === "" &&
      (d.rules ?? []).some((r) => (r.from ?? []).some((s) => s.requestPrincipals !== undefined)),
  );
}

/**
 * Whether a foreign RequestAuthentication makes the profile's pods accept tokens the profile does
 * not declare, while the profile requires one. `declared`: meshward's objects for the profile.
 */
export function requestAuthenticationWidening(
  foreign: RequestAuthenticationInput,
  declared: {
    requestAuthentications: readonly RequestAuthenticationInput[];
    authorizationPolicies: readonly AuthorizationPolicyInput[];
  },
  scope: IstioScope,
): string | undefined {
  const where = attachment(foreign, scope);
  if (where === undefined || !requiresToken(declared.authorizationPolicies, scope)) return undefined;
  const mine = declared.requestAuthentications
    .filter((r) => attachment(r, scope) === "")
    .flatMap((r) => r.jwtRules);
  const issuers = [...new Set(mine.map((r) => r.issuer))];
  for (let i = 0; i < foreign.jwtRules.length; i++) {
    const rule = foreign.jwtRules[i];
    if (!rule || mine.some((m) => sameRule(m, rule))) continue;
    if (!issuers.includes(rule.issuer))
      return `jwtRules[${i}] accepts tokens of issuer ${rule.issuer}${where}, which this profile does not list (it requires tokens of ${shown(issuers)})`;
    return `jwtRules[${i}] accepts tokens of issuer ${rule.issuer} with ${differences(rule, mine)}${where}, other than this profile declares`;
  }
  return undefined;
}
