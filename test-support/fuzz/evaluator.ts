// An independent reading of two things, for the fuzzer's "generated ≤ asked" property:
//
// - what generated objects admit: an Istio AuthorizationPolicy (ALLOW), a Kubernetes
//   NetworkPolicy, and the tiers of ClusterNetworkPolicies around NetworkPolicies, evaluated for
//   one request with the semantics their documentation gives;
// - what a profile asks for: docs/api.md read for the same request.
//
// It is written from those documents, not from the builders, and imports nothing from
// operator/builders or operator/policy: a builder bug must not be copied into the check of that
// builder. The object evaluators are strict: a field they do not understand (matchExpressions in a
// NetworkPolicy, notPrincipals, when, named ports, a DENY action, …) is an `Unexpected` error, so a
// builder that starts emitting it fails the fuzzer until the evaluator learns it.
import type { Profile } from "../../operator/api/schema.ts";

export class Unexpected extends Error {
  override name = "Unexpected";
}

export type Protocol = "TCP" | "UDP" | "SCTP";
export type Labels = Record<string, string>;

/** A pod somewhere in the cluster: its namespace, labels and service account. */
export interface Pod {
  kind: "pod";
  namespace: string;
  labels: Labels;
  serviceAccount: string;
}
/** An address that is not a pod (outside the cluster, or the ambient probe address). */
export interface Address {
  kind: "ip";
  ip: string;
}
export type Peer = Pod | Address;

/** A connection to a pod of the profile's namespace (the pod has `labels`). */
export interface IngressRequest {
  source: Peer;
  /** Labels of the destination pod, in the profile's namespace. */
  destination: Labels;
  protocol: Protocol;
  port: number;
  /** The caller presents its mesh certificate (a pod in the mesh). False: plain text. */
  mtls: boolean;
  /** Absent: raw TCP (not HTTP). */
  http?: { method: string; path: string };
  /** A JWT that RequestAuthentication validated (issuer and subject). */
  jwt?: { issuer: string; subject: string };
}

/** A connection from a pod of the profile's namespace (the pod has `source`) to `destination`. */
export interface EgressRequest {
  source: Labels;
  destination: Peer;
  protocol: Protocol;
  port: number;
}

// ---------------------------------------------------------------------------------------------
// Small readers for untyped objects.

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function only(o: Obj, allowed: string[], where: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new Unexpected(`${where}: field ${k}`);
}

function list(v: unknown, where: string): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new Unexpected(`${where}: not a list`);
  return v;
}

function strings(v: unknown, where: string): string[] {
  const xs = list(v, where);
  for (const x of xs) if (typeof x !== "string") throw new Unexpected(`${where}: not a string`);
  return xs as string[];
}

function labelMap(v: unknown, where: string): Labels {
  if (v === undefined) return {};
  if (!isObj(v)) throw new Unexpected(`${where}: not a map`);
  for (const x of Object.values(v)) if (typeof x !== "string") throw new Unexpected(`${where}: not a string`);
  return v as Labels;
}

/** Every label of `wanted` is on `labels` (an empty `wanted` selects everything). */
function hasLabels(labels: Labels, wanted: Labels): boolean {
  return Object.entries(wanted).every(([k, v]) => Object.hasOwn(labels, k) && labels[k] === v);
}

/** A Kubernetes LabelSelector: matchLabels only (matchExpressions is not expected). */
function selectorMatches(sel: unknown, labels: Labels, where: string): boolean {
  if (!isObj(sel)) throw new Unexpected(`${where}: not a selector`);
  only(sel, ["matchLabels"], where);
  return hasLabels(labels, labelMap(sel.matchLabels, `${where}.matchLabels`));
}

// ---------------------------------------------------------------------------------------------
// IP arithmetic, written again here (not operator/api/net.ts) so the check stays independent.

interface Net {
  v6: boolean;
  addr: bigint;
  bits: number;
}

function ipv4(s: string): bigint | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  let out = 0n;
  for (const part of m.slice(1)) {
    const n = Number(part);
    if (n > 255 || (part.length > 1 && part.startsWith("0"))) return undefined;
    out = out * 256n + BigInt(n);
  }
  return out;
}

function ipv6(s: string): bigint | undefined {
  if (!/^[0-9a-fA-F:]+$/.test(s) || s.split("::").length > 2) return undefined;
  const [left = "", right] = s.split("::");
  const l = left === "" ? [] : left.split(":");
  const r = right === undefined || right === "" ? [] : right.split(":");
  const fill = right === undefined ? 0 : 8 - l.length - r.length;
  if (right === undefined ? l.length !== 8 : fill < 1) return undefined;
  const groups = [...l, ...Array<string>(fill).fill("0"), ...r];
  let out = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    out = out * 65536n + BigInt(`0x${g}`);
  }
  return out;
}

export function parseAddress(s: string): { v6: boolean; addr: bigint } | undefined {
  const a4 = ipv4(s);
  if (a4 !== undefined) return { v6: false, addr: a4 };
  const a6 = ipv6(s);
  return a6 === undefined ? undefined : { v6: true, addr: a6 };
}

export function parseNet(s: string): Net | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const a = parseAddress(m[1] ?? "");
  const bits = Number(m[2]);
  if (!a || bits > (a.v6 ? 128 : 32)) return undefined;
  return { ...a, bits };
}

export function formatAddress(v6: boolean, addr: bigint): string {
  if (!v6) return [24n, 16n, 8n, 0n].map((s) => String((addr >> s) & 255n)).join(".");
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((addr >> BigInt(i * 16)) & 0xffffn).toString(16));
  return groups.join(":");
}

export function netContains(net: Net, ip: string): boolean {
  const a = parseAddress(ip);
  if (!a || a.v6 !== net.v6) return false;
  const width = net.v6 ? 128 : 32;
  const shift = BigInt(width - net.bits);
  return a.addr >> shift === net.addr >> shift;
}

/** The first and last address of a CIDR, and the addresses just outside it (for sampling). */
export function netEdges(cidr: string): string[] {
  const n = parseNet(cidr);
  if (!n) return [];
  const width = n.v6 ? 128 : 32;
  const host = BigInt(width - n.bits);
  const first = (n.addr >> host) << host;
  const last = first + (1n << host) - 1n;
  const max = (1n << BigInt(width)) - 1n;
  const out = [first, last, first + (last - first) / 2n];
  if (first > 0n) out.push(first - 1n);
  if (last < max) out.push(last + 1n);
  return out.map((a) => formatAddress(n.v6, a));
}

// ---------------------------------------------------------------------------------------------
// Istio AuthorizationPolicy (security.istio.io/v1), action ALLOW.
//
// The policy applies to pods its selector matches. An ALLOW policy without rules allows nothing. A
// request is allowed when some rule matches: a rule matches when (it has no `from`, or some
// `from[].source` matches) and (it has no `to`, or some `to[].operation` matches). Within a source or
// an operation every field that is set must match (AND); a field matches when any of its values does.
// Strings match exactly, by prefix (`abc*`), by suffix (`*abc`), or `*` for "present".
// HTTP-only fields (methods, paths, requestPrincipals) never match a plain TCP connection.

/** Istio's string match. */
export function istioMatch(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (pattern === "*") return true;
  if (pattern.startsWith("*")) return value.endsWith(pattern.slice(1));
  if (pattern.endsWith("*")) return value.startsWith(pattern.slice(0, -1));
  return value === pattern;
}

/**
 * A request principal is "<iss>/<sub>". Istio versions differ in how they match a pattern: on the
 * whole string, or split at the last "/" into an issuer and a subject pattern. Either may apply, so
 * a pattern admits the token when either reading does (the evaluator over-approximates).
 */
function requestPrincipalMatch(pattern: string, jwt: IngressRequest["jwt"]): boolean {
  if (!jwt) return false;
  if (istioMatch(pattern, `${jwt.issuer}/${jwt.subject}`)) return true;
  const i = pattern.lastIndexOf("/");
  return (
    i >= 0 && istioMatch(pattern.slice(0, i), jwt.issuer) && istioMatch(pattern.slice(i + 1), jwt.subject)
  );
}

function sourceMatches(source: unknown, req: IngressRequest, trustDomain: string, where: string): boolean {
  if (!isObj(source)) throw new Unexpected(`${where}: not an object`);
  only(source, ["principals", "namespaces", "requestPrincipals"], where);
  // Plain text (or an address outside the mesh) reaches the proxy with no principal or namespace.
  const pod = req.source.kind === "pod" && req.mtls ? req.source : undefined;
  const identity = pod ? `${trustDomain}/ns/${pod.namespace}/sa/${pod.serviceAccount}` : undefined;
  // An empty list is treated as unset (matches anything): over-approximation.
  const any = (xs: string[], f: (p: string) => boolean) => xs.length === 0 || xs.some(f);
  return (
    any(strings(source.principals, `${where}.principals`), (p) => istioMatch(p, identity)) &&
    any(strings(source.namespaces, `${where}.namespaces`), (p) => istioMatch(p, pod?.namespace)) &&
    any(strings(source.requestPrincipals, `${where}.requestPrincipals`), (p) =>
      // A token is only read from an HTTP request.
      requestPrincipalMatch(p, req.http ? req.jwt : undefined),
    )
  );
}

function operationMatches(op: unknown, req: IngressRequest, where: string): boolean {
  if (!isObj(op)) throw new Unexpected(`${where}: not an object`);
  only(op, ["ports", "methods", "paths"], where);
  const ports = strings(op.ports, `${where}.ports`);
  for (const p of ports) if (!/^[1-9][0-9]*$/.test(p)) throw new Unexpected(`${where}.ports: ${p}`);
  const methods = strings(op.methods, `${where}.methods`);
  const paths = strings(op.paths, `${where}.paths`);
  if (ports.length > 0 && !ports.includes(String(req.port))) return false;
  if (methods.length > 0 && !methods.some((m) => istioMatch(m, req.http?.method))) return false;
  if (paths.length > 0 && !paths.some((p) => istioMatch(p, req.http?.path))) return false;
  return true;
}

/** The profile's Service (spec.waypoint.service, default its name) selects the profile's pods. */
export function serviceOf(profile: {
  metadata: { name: string };
  spec: { selector: Record<string, string>; waypoint?: { service?: string } };
}): (name: string) => Record<string, string> | undefined {
  const name = profile.spec.waypoint?.service ?? profile.metadata.name;
  return (n) => (n === name ? { ...profile.spec.selector } : undefined);
}

/** Does this AuthorizationPolicy allow the request? (False when it does not apply to the pod.) */
export function authorizationPolicyAllows(
  ap: unknown,
  req: IngressRequest,
  trustDomain: string,
  /** The pod selector of a Service in the policy's namespace (for policies attached by targetRefs). */
  service?: (name: string) => unknown,
): boolean {
  if (!isObj(ap) || ap.kind !== "AuthorizationPolicy") throw new Unexpected("not an AuthorizationPolicy");
  const meta = isObj(ap.metadata) ? ap.metadata : {};
  const spec = ap.spec;
  if (!isObj(spec)) throw new Unexpected("AuthorizationPolicy without spec");
  only(spec, ["selector", "targetRefs", "action", "rules"], "spec");
  if (spec.action !== undefined && spec.action !== "ALLOW")
    throw new Unexpected(`action ${String(spec.action)}`);
  if (spec.targetRefs !== undefined) {
    // Ambient: attached to a Service, enforced by its waypoint for the caller's identity, on the
    // pods the Service selects. Behind the waypoint ztunnel sees the waypoint's identity; the
    // selector policy's rule for it matches no caller here (no profile may run as
    // meshward-waypoint…: validation refuses it), so evaluating every policy with the caller's
    // identity bounds what any path (waypoint then ztunnel, or ztunnel directly) admits.
    if (spec.selector !== undefined) throw new Unexpected("targetRefs and selector");
    if (!service) throw new Unexpected("targetRefs without a Service resolver");
    const applies = list(spec.targetRefs, "spec.targetRefs").some((t, i) => {
      if (!isObj(t) || t.group !== "" || t.kind !== "Service" || typeof t.name !== "string")
        throw new Unexpected(`spec.targetRefs[${i}]: not a Service`);
      const sel = service(t.name);
      return sel !== undefined && selectorMatches({ matchLabels: sel }, req.destination, `service ${t.name}`);
    });
    if (!applies) return false;
  } else {
    if (spec.selector === undefined)
      throw new Unexpected("AuthorizationPolicy without selector (whole namespace)");
    if (!selectorMatches(spec.selector, req.destination, "spec.selector")) return false;
  }
  // The proxies only see TCP: UDP and SCTP are neither allowed nor denied here (the NetworkPolicy is).
  if (req.protocol !== "TCP") return false;
  // In dry-run Istio only logs what it would deny: nothing is enforced.
  if (isObj(meta.annotations) && meta.annotations["istio.io/dry-run"] === "true") return true;
  return list(spec.rules, "spec.rules").some((rule, i) => {
    const where = `spec.rules[${i}]`;
    if (!isObj(rule)) throw new Unexpected(`${where}: not an object`);
    only(rule, ["from", "to"], where);
    const from = list(rule.from, `${where}.from`);
    const to = list(rule.to, `${where}.to`);
    const fromOk =
      from.length === 0 ||
      from.some((f, j) => {
        if (!isObj(f)) throw new Unexpected(`${where}.from[${j}]`);
        only(f, ["source"], `${where}.from[${j}]`);
        return sourceMatches(f.source, req, trustDomain, `${where}.from[${j}].source`);
      });
    const toOk =
      to.length === 0 ||
      to.some((t, j) => {
        if (!isObj(t)) throw new Unexpected(`${where}.to[${j}]`);
        only(t, ["operation"], `${where}.to[${j}]`);
        return operationMatches(t.operation, req, `${where}.to[${j}].operation`);
      });
    return fromOk && toOk;
  });
}

// ---------------------------------------------------------------------------------------------
// Kubernetes NetworkPolicy (networking.k8s.io/v1).
//
// It applies to pods of its namespace that podSelector selects, for the policyTypes it lists. A
// connection is allowed when some rule of that direction matches: a rule matches when (it has no
// peers, or some peer matches) and (it has no ports, or some port matches). A peer with podSelector
// and/or namespaceSelector selects pods (the podSelector alone means the policy's namespace); an
// ipBlock selects addresses (cidr minus except). A port matches protocol (default TCP) and, when
// set, the port number (up to endPort). A namespace carries kubernetes.io/metadata.name; any other
// namespace label could be set by anyone, so a selector on one is taken to match every namespace.

const NS_NAME = "kubernetes.io/metadata.name";

function namespaceSelectorMatches(sel: unknown, namespace: string, where: string): boolean {
  if (!isObj(sel)) throw new Unexpected(`${where}: not a selector`);
  only(sel, ["matchLabels"], where);
  const wanted = labelMap(sel.matchLabels, `${where}.matchLabels`);
  return Object.entries(wanted).every(([k, v]) => k !== NS_NAME || v === namespace);
}

function peerMatches(peer: unknown, who: Peer, policyNamespace: string, where: string): boolean {
  if (!isObj(peer)) throw new Unexpected(`${where}: not an object`);
  only(peer, ["podSelector", "namespaceSelector", "ipBlock"], where);
  if (peer.ipBlock !== undefined) {
    if (peer.podSelector !== undefined || peer.namespaceSelector !== undefined)
      throw new Unexpected(`${where}: ipBlock with selectors`);
    const b = peer.ipBlock;
    if (!isObj(b) || typeof b.cidr !== "string") throw new Unexpected(`${where}.ipBlock`);
    only(b, ["cidr", "except"], `${where}.ipBlock`);
    const net = parseNet(b.cidr);
    if (!net) throw new Unexpected(`${where}.ipBlock.cidr: ${b.cidr}`);
    if (who.kind !== "ip") return false;
    const except = strings(b.except, `${where}.ipBlock.except`).map((e) => {
      const n = parseNet(e);
      if (!n) throw new Unexpected(`${where}.ipBlock.except: ${e}`);
      return n;
    });
    return netContains(net, who.ip) && !except.some((n) => netContains(n, who.ip));
  }
  if (peer.podSelector === undefined && peer.namespaceSelector === undefined)
    throw new Unexpected(`${where}: empty peer`);
  if (who.kind !== "pod") return false;
  const nsOk =
    peer.namespaceSelector === undefined
      ? who.namespace === policyNamespace
      : namespaceSelectorMatches(peer.namespaceSelector, who.namespace, `${where}.namespaceSelector`);
  const podOk =
    peer.podSelector === undefined || selectorMatches(peer.podSelector, who.labels, `${where}.podSelector`);
  return nsOk && podOk;
}

function portMatches(p: unknown, protocol: Protocol, port: number, where: string): boolean {
  if (!isObj(p)) throw new Unexpected(`${where}: not an object`);
  only(p, ["protocol", "port", "endPort"], where);
  const proto = p.protocol ?? "TCP";
  if (proto !== "TCP" && proto !== "UDP" && proto !== "SCTP") throw new Unexpected(`${where}.protocol`);
  if (proto !== protocol) return false;
  if (p.port === undefined) return true;
  if (typeof p.port !== "number" || !Number.isInteger(p.port))
    throw new Unexpected(`${where}.port: ${String(p.port)}`);
  if (p.endPort !== undefined) {
    if (typeof p.endPort !== "number") throw new Unexpected(`${where}.endPort`);
    return port >= p.port && port <= p.endPort;
  }
  return port === p.port;
}

function networkRuleMatches(
  rule: unknown,
  peersKey: "from" | "to",
  who: Peer,
  protocol: Protocol,
  port: number,
  policyNamespace: string,
  where: string,
): boolean {
  if (!isObj(rule)) throw new Unexpected(`${where}: not an object`);
  only(rule, [peersKey, "ports"], where);
  const peers = list(rule[peersKey], `${where}.${peersKey}`);
  const ports = list(rule.ports, `${where}.ports`);
  const peerOk =
    peers.length === 0 ||
    peers.some((p, i) => peerMatches(p, who, policyNamespace, `${where}.${peersKey}[${i}]`));
  const portOk =
    ports.length === 0 || ports.some((p, i) => portMatches(p, protocol, port, `${where}.ports[${i}]`));
  return peerOk && portOk;
}

function networkPolicyParts(np: unknown): { spec: Obj; namespace: string; types: string[] } {
  if (!isObj(np) || np.kind !== "NetworkPolicy") throw new Unexpected("not a NetworkPolicy");
  const meta = isObj(np.metadata) ? np.metadata : {};
  if (typeof meta.namespace !== "string") throw new Unexpected("NetworkPolicy without namespace");
  const spec = np.spec;
  if (!isObj(spec)) throw new Unexpected("NetworkPolicy without spec");
  only(spec, ["podSelector", "policyTypes", "ingress", "egress"], "spec");
  const types = spec.policyTypes === undefined ? ["Ingress"] : strings(spec.policyTypes, "spec.policyTypes");
  return { spec, namespace: meta.namespace, types };
}

/** Does this NetworkPolicy select the pod (of `namespace`, with `labels`) for that direction? */
export function networkPolicySelects(
  np: unknown,
  namespace: string,
  labels: Labels,
  direction: "Ingress" | "Egress",
): boolean {
  const { spec, namespace: own, types } = networkPolicyParts(np);
  return (
    own === namespace &&
    types.includes(direction) &&
    selectorMatches(spec.podSelector ?? {}, labels, "spec.podSelector")
  );
}

/** What a NetworkPolicy reads of an ingress request: who, to which pod, and how. */
export type L4IngressRequest = Pick<IngressRequest, "source" | "destination" | "protocol" | "port">;

/** Does this NetworkPolicy allow the connection into one of its pods? */
export function networkPolicyAllowsIngress(np: unknown, req: L4IngressRequest): boolean {
  const { spec, namespace, types } = networkPolicyParts(np);
  if (!types.includes("Ingress")) return false;
  if (!selectorMatches(spec.podSelector ?? {}, req.destination, "spec.podSelector")) return false;
  return list(spec.ingress, "spec.ingress").some((r, i) =>
    networkRuleMatches(r, "from", req.source, req.protocol, req.port, namespace, `spec.ingress[${i}]`),
  );
}

/** Does this NetworkPolicy allow the connection out of one of its pods? */
export function networkPolicyAllowsEgress(np: unknown, req: EgressRequest): boolean {
  const { spec, namespace, types } = networkPolicyParts(np);
  if (!types.includes("Egress")) return false;
  if (!selectorMatches(spec.podSelector ?? {}, req.source, "spec.podSelector")) return false;
  return list(spec.egress, "spec.egress").some((r, i) =>
    networkRuleMatches(r, "to", req.destination, req.protocol, req.port, namespace, `spec.egress[${i}]`),
  );
}

// ---------------------------------------------------------------------------------------------
// ClusterNetworkPolicy (policy.networking.k8s.io/v1beta1, sigs.k8s.io/network-policy-api v0.3.1,
// standard channel) and the tiers around the NetworkPolicy tier, for one direction of one pod.
//
// A policy applies to the pods its subject selects (namespaces: a namespace selector; pods: a
// namespace selector AND a pod selector). Tiers are evaluated in order: Admin, then NetworkPolicy,
// then Baseline. Within a tier, policies are checked by ascending priority, and within a policy
// its rules of that direction in the order written; the first rule that matches decides. Accept
// and Deny are final; Pass skips the rest of the tier. The NetworkPolicy tier decides for a pod
// that some NetworkPolicy of its namespace selects for that direction (its allow-list); Baseline
// only sees pods no NetworkPolicy selects. Nothing decided: allowed (Kubernetes' default).
//
// A rule matches when some peer matches (the list is required) and, when it lists protocols, one of
// them matches (tcp/udp/sctp, a destination port number or range). Peers: namespaces (every pod of
// the namespaces selected), pods (namespace selector AND pod selector) and, for egress, networks
// (CIDRs). Two policies of one tier at one priority that both match may apply in either order, so
// the evaluator answers "allowed" when some order allows: it errs towards allowing, the safe side
// for a "never more than asked" check. A namespace's labels are those given plus
// kubernetes.io/metadata.name.
//
// Pods have no address here, so a networks peer never matches a pod. Upstream says a network
// covers pod traffic too: a Deny on networks may deny more in a real cluster than here (again
// erring towards allowing); an Accept or Pass on networks would err the other way, so it is an
// `Unexpected` error, like nodes, domainNames, named ports and any field not listed above.

export type NamespaceLabels = ReadonlyMap<string, Labels>;

/** An egress request from a pod of `namespace` (its labels are `source`). */
export interface ClusterEgressRequest extends EgressRequest {
  namespace: string;
}
/** An ingress request to a pod of `namespace` (its labels are `destination`). */
export interface ClusterIngressRequest extends L4IngressRequest {
  namespace: string;
}

type Action = "Accept" | "Deny" | "Pass";
type Verdict = Action | "none";

function namespaceLabelsOf(namespace: string, known: NamespaceLabels): Labels {
  return { ...known.get(namespace), [NS_NAME]: namespace };
}

/** A full LabelSelector: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist), ANDed. */
function labelSelectorMatches(sel: unknown, labels: Labels, where: string): boolean {
  if (!isObj(sel)) throw new Unexpected(`${where}: not a selector`);
  only(sel, ["matchLabels", "matchExpressions"], where);
  if (!hasLabels(labels, labelMap(sel.matchLabels, `${where}.matchLabels`))) return false;
  return list(sel.matchExpressions, `${where}.matchExpressions`).every((e, i) => {
    const at = `${where}.matchExpressions[${i}]`;
    if (!isObj(e) || typeof e.key !== "string") throw new Unexpected(`${at}: not an expression`);
    only(e, ["key", "operator", "values"], at);
    const values = strings(e.values, `${at}.values`);
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key] ?? "";
    const needsValues = e.operator === "In" || e.operator === "NotIn";
    if (needsValues !== values.length > 0) throw new Unexpected(`${at}: values with ${String(e.operator)}`);
    if (e.operator === "In") return has && values.includes(value);
    if (e.operator === "NotIn") return !has || !values.includes(value);
    if (e.operator === "Exists") return has;
    if (e.operator === "DoesNotExist") return !has;
    throw new Unexpected(`${at}.operator: ${String(e.operator)}`);
  });
}

/** The one field set of an object where exactly one of `allowed` must be set. */
function oneOf(o: unknown, allowed: string[], where: string): [string, unknown] {
  if (!isObj(o)) throw new Unexpected(`${where}: not an object`);
  only(o, allowed, where);
  const set = Object.entries(o).filter(([, v]) => v !== undefined);
  if (set.length !== 1) throw new Unexpected(`${where}: ${set.length} fields set, exactly one expected`);
  return set[0] as [string, unknown];
}

/** NamespacedPod: a namespace selector (omitted: every namespace) AND a pod selector. */
function namespacedPodMatches(v: unknown, pod: Pod, known: NamespaceLabels, where: string): boolean {
  if (!isObj(v)) throw new Unexpected(`${where}: not an object`);
  only(v, ["namespaceSelector", "podSelector"], where);
  if (v.podSelector === undefined) throw new Unexpected(`${where}: no podSelector`);
  return (
    labelSelectorMatches(v.namespaceSelector ?? {}, namespaceLabelsOf(pod.namespace, known), where) &&
    labelSelectorMatches(v.podSelector, pod.labels, `${where}.podSelector`)
  );
}

function subjectSelects(subject: unknown, pod: Pod, known: NamespaceLabels): boolean {
  const [field, sel] = oneOf(subject, ["namespaces", "pods"], "spec.subject");
  return field === "namespaces"
    ? labelSelectorMatches(sel, namespaceLabelsOf(pod.namespace, known), "spec.subject.namespaces")
    : namespacedPodMatches(sel, pod, known, "spec.subject.pods");
}

function clusterPeerMatches(
  peer: unknown,
  who: Peer,
  action: Action,
  fields: string[],
  known: NamespaceLabels,
  where: string,
): boolean {
  const [field, v] = oneOf(peer, fields, where);
  if (field === "namespaces")
    return who.kind === "pod" && labelSelectorMatches(v, namespaceLabelsOf(who.namespace, known), where);
  if (field === "pods") return who.kind === "pod" && namespacedPodMatches(v, who, known, where);
  // networks (egress only: `fields` says which peers the direction has)
  if (action !== "Deny") throw new Unexpected(`${where}: networks in a ${action} rule`);
  const nets = strings(v, `${where}.networks`).map((c) => {
    const n = parseNet(c);
    if (!n) throw new Unexpected(`${where}.networks: ${c}`);
    return n;
  });
  if (nets.length === 0) throw new Unexpected(`${where}.networks: empty`);
  return who.kind === "ip" && nets.some((n) => netContains(n, who.ip));
}

function clusterPortMatches(p: unknown, port: number, where: string): boolean {
  const [field, v] = oneOf(p, ["number", "range"], where);
  if (field === "number") {
    if (typeof v !== "number" || !Number.isInteger(v)) throw new Unexpected(`${where}.number`);
    return port === v;
  }
  if (!isObj(v) || typeof v.start !== "number" || typeof v.end !== "number")
    throw new Unexpected(`${where}.range`);
  only(v, ["start", "end"], `${where}.range`);
  return port >= v.start && port <= v.end;
}

const PROTOCOL_FIELDS: Record<string, Protocol> = { tcp: "TCP", udp: "UDP", sctp: "SCTP" };

function clusterProtocolMatches(p: unknown, protocol: Protocol, port: number, where: string): boolean {
  const [field, v] = oneOf(p, Object.keys(PROTOCOL_FIELDS), where);
  if (!isObj(v)) throw new Unexpected(`${where}.${field}: not an object`);
  only(v, ["destinationPort"], `${where}.${field}`);
  if (v.destinationPort === undefined) throw new Unexpected(`${where}.${field}: no destinationPort`);
  return (
    PROTOCOL_FIELDS[field] === protocol &&
    clusterPortMatches(v.destinationPort, port, `${where}.${field}.destinationPort`)
  );
}

/** The action of the first of these rules (one direction of one policy) that matches, or "none". */
function clusterPolicyVerdict(
  rules: unknown[],
  direction: "ingress" | "egress",
  who: Peer,
  protocol: Protocol,
  port: number,
  known: NamespaceLabels,
): Verdict {
  const peersKey = direction === "ingress" ? "from" : "to";
  const peerFields = direction === "ingress" ? ["namespaces", "pods"] : ["namespaces", "pods", "networks"];
  for (const [i, rule] of rules.entries()) {
    const where = `spec.${direction}[${i}]`;
    if (!isObj(rule)) throw new Unexpected(`${where}: not an object`);
    only(rule, ["name", "action", peersKey, "protocols"], where);
    const action = rule.action;
    if (action !== "Accept" && action !== "Deny" && action !== "Pass")
      throw new Unexpected(`${where}.action: ${String(action)}`);
    const peers = list(rule[peersKey], `${where}.${peersKey}`);
    if (peers.length === 0) throw new Unexpected(`${where}.${peersKey}: empty`);
    const peerOk = peers
      .map((p, j) => clusterPeerMatches(p, who, action, peerFields, known, `${where}.${peersKey}[${j}]`))
      .some(Boolean);
    const protocols = list(rule.protocols, `${where}.protocols`);
    const protocolOk =
      protocols.length === 0 ||
      protocols.some((p, j) => clusterProtocolMatches(p, protocol, port, `${where}.protocols[${j}]`));
    if (peerOk && protocolOk) return action;
  }
  return "none";
}

/**
 * What one tier may decide: the verdicts of the matching policies at the lowest priority where any
 * matches (several when tied policies disagree), or "none".
 */
function tierVerdicts(
  cnps: readonly unknown[],
  tier: "Admin" | "Baseline",
  direction: "ingress" | "egress",
  pod: Pod,
  who: Peer,
  protocol: Protocol,
  port: number,
  known: NamespaceLabels,
): Set<Verdict> {
  const byPriority = new Map<number, Verdict[]>();
  for (const o of cnps) {
    if (!isObj(o) || o.kind !== "ClusterNetworkPolicy") throw new Unexpected("not a ClusterNetworkPolicy");
    only(o, ["apiVersion", "kind", "metadata", "spec"], "ClusterNetworkPolicy");
    const spec = o.spec;
    if (!isObj(spec)) throw new Unexpected("ClusterNetworkPolicy without spec");
    only(spec, ["tier", "priority", "subject", "ingress", "egress"], "spec");
    if (spec.tier !== "Admin" && spec.tier !== "Baseline")
      throw new Unexpected(`spec.tier: ${String(spec.tier)}`);
    const priority = spec.priority;
    if (typeof priority !== "number" || !Number.isInteger(priority) || priority < 0 || priority > 1000)
      throw new Unexpected(`spec.priority: ${String(priority)}`);
    if (spec.tier !== tier || !subjectSelects(spec.subject, pod, known)) continue;
    const v = clusterPolicyVerdict(
      list(spec[direction], `spec.${direction}`),
      direction,
      who,
      protocol,
      port,
      known,
    );
    if (v !== "none") byPriority.set(priority, [...(byPriority.get(priority) ?? []), v]);
  }
  const first = [...byPriority.keys()].sort((a, b) => a - b)[0];
  return new Set(first === undefined ? ["none"] : byPriority.get(first));
}

function tiersAllow(
  cnps: readonly unknown[],
  direction: "ingress" | "egress",
  pod: Pod,
  who: Peer,
  protocol: Protocol,
  port: number,
  known: NamespaceLabels,
  networkPolicy: { selected: boolean; allows: () => boolean },
): boolean {
  const admin = tierVerdicts(cnps, "Admin", direction, pod, who, protocol, port, known);
  if (admin.has("Accept")) return true;
  if (!admin.has("Pass") && !admin.has("none")) return false;
  if (networkPolicy.selected) return networkPolicy.allows();
  const baseline = tierVerdicts(cnps, "Baseline", direction, pod, who, protocol, port, known);
  return baseline.has("Accept") || baseline.has("Pass") || baseline.has("none");
}

/** A pod for the tiers' subjects (the account does not matter to them). */
const tierPod = (namespace: string, labels: Labels): Pod => ({
  kind: "pod",
  namespace,
  labels,
  serviceAccount: "",
});

/**
 * May the pod of `req.namespace` open this connection, with these ClusterNetworkPolicies and these
 * NetworkPolicies (those of other namespaces are ignored) in the cluster?
 */
export function clusterAllowsEgress(
  cnps: readonly unknown[],
  nps: readonly unknown[],
  req: ClusterEgressRequest,
  namespaces: NamespaceLabels = new Map(),
): boolean {
  const own = nps.filter((np) => networkPolicySelects(np, req.namespace, req.source, "Egress"));
  return tiersAllow(
    cnps,
    "egress",
    tierPod(req.namespace, req.source),
    req.destination,
    req.protocol,
    req.port,
    namespaces,
    { selected: own.length > 0, allows: () => own.some((np) => networkPolicyAllowsEgress(np, req)) },
  );
}

/** May this connection reach the pod of `req.namespace`? (See clusterAllowsEgress.) */
export function clusterAllowsIngress(
  cnps: readonly unknown[],
  nps: readonly unknown[],
  req: ClusterIngressRequest,
  namespaces: NamespaceLabels = new Map(),
): boolean {
  const own = nps.filter((np) => networkPolicySelects(np, req.namespace, req.destination, "Ingress"));
  return tiersAllow(
    cnps,
    "ingress",
    tierPod(req.namespace, req.destination),
    req.source,
    req.protocol,
    req.port,
    namespaces,
    { selected: own.length > 0, allows: () => own.some((np) => networkPolicyAllowsIngress(np, req)) },
  );
}

// ---------------------------------------------------------------------------------------------
// What the profile asks for (docs/api.md, ADR 2), read for one request.

export interface Platform {
  trustDomain: string;
  meshMode: "sidecar" | "ambient";
  now: Date;
  maxExceptionDays: number;
  dns: { namespace: string; podSelector: Labels };
  istiod: { namespace: string; podSelector: Labels };
}

/** The link-local address kubelet probes come from in ambient mode (allowed by design). */
export const AMBIENT_PROBE_IP = "169.254.7.127";
export const HBONE = 15008;
export const ISTIOD_XDS = 15012;

/** An exception is honoured while it has not expired and expires at most maxExceptionDays ahead. */
export function exceptionActive(profile: Profile, type: string, p: Platform): boolean {
  const e = (profile.spec.exceptions ?? []).find((x) => x.type === type);
  if (!e) return false;
  const t = Date.parse(e.expires);
  const now = p.now.getTime();
  return Number.isFinite(t) && t > now && t <= now + p.maxExceptionDays * 86_400_000;
}

/** `service: ns/name` or `service: name` (same namespace), looked up among the known profiles. */
function target(ref: string, profile: Profile, profiles: ReadonlyMap<string, Profile>): Profile | undefined {
  const parts = ref.split("/");
  const [ns, name] = parts.length === 1 ? [profile.metadata.namespace, parts[0]] : parts;
  if (parts.length > 2 || !ns || !name) return undefined;
  const t = profiles.get(`${ns}/${name}`);
  return t && t.metadata.namespace === ns && t.metadata.name === name ? t : undefined;
}

function specPathMatches(pattern: string, path: string): boolean {
  if (pattern === "*") return true;
  if (pattern.length > 1 && pattern.endsWith("*")) return path.startsWith(pattern.slice(0, -1));
  if (pattern.length > 1 && pattern.startsWith("*")) return path.endsWith(pattern.slice(1));
  return path === pattern;
}

type Source = NonNullable<Profile["spec"]["ingress"]>[number]["from"][number];

/**
 * L7, what the AuthorizationPolicy may allow. A caller is named by service (the target's service
 * account: its own, or the profile name), by serviceAccount, or by namespace; each needs mTLS. An
 * active AuditOnly exception asks for no enforcement. Under an active PermissiveMtls exception the
 * caller's identity is not checked (ADR 2), but an entry whose callers are all unresolved still
 * allows nothing.
 */
export function specAllowsL7(
  profile: Profile,
  profiles: ReadonlyMap<string, Profile>,
  p: Platform,
  req: IngressRequest,
): boolean {
  const spec = profile.spec;
  if (!hasLabels(req.destination, spec.selector)) return false;
  if (exceptionActive(profile, "AuditOnly", p)) return true;
  const permissive = spec.mtls?.mode === "Permissive" && exceptionActive(profile, "PermissiveMtls", p);
  const ra = spec.requestAuthentication;
  const caller = req.source.kind === "pod" && req.mtls ? req.source : undefined;
  const resolvable = (s: Source) =>
    s.service === undefined || target(s.service, profile, profiles) !== undefined;
  const callerMatches = (s: Source): boolean => {
    if (!resolvable(s)) return false;
    if (permissive) return true;
    if (!caller) return false;
    if (s.service !== undefined) {
      const t = target(s.service, profile, profiles) as Profile;
      const sa = t.spec.serviceAccount?.name ?? t.metadata.name;
      return caller.namespace === t.metadata.namespace && caller.serviceAccount === sa;
    }
    if (s.serviceAccount !== undefined)
      return (
        caller.namespace === s.serviceAccount.namespace && caller.serviceAccount === s.serviceAccount.name
      );
    return caller.namespace === s.namespace;
  };
  return (spec.ingress ?? []).some((e) => {
    if (!e.from.some(callerMatches)) return false;
    // Only a TCP entry asks the proxies for anything; UDP and SCTP entries are the NetworkPolicy's.
    if (req.protocol !== "TCP" || entryProtocol(e) !== "TCP") return false;
    if (e.ports && e.ports.length > 0 && !e.ports.includes(req.port)) return false;
    if (e.http) {
      if (!req.http) return false;
      const { methods = [], paths = [] } = e.http;
      if (methods.length > 0 && !(methods as string[]).includes(req.http.method)) return false;
      const path = req.http.path;
      if (paths.length > 0 && !paths.some((x) => specPathMatches(x, path))) return false;
    }
    // A rule may waive or demand the token itself; omitted, requestAuthentication.requireToken decides.
    if (ra && (e.requireToken ?? ra.requireToken)) {
      if (!req.http || !req.jwt) return false;
      const iss = req.jwt.issuer;
      if (!ra.jwt.some((j) => j.issuer === iss)) return false;
    }
    return true;
  });
}

/** An entry's protocol: docs/api.md says TCP when it names none. */
function entryProtocol(entry: { protocol?: string | undefined }): Protocol {
  const p = entry.protocol ?? "TCP";
  if (p !== "TCP" && p !== "UDP" && p !== "SCTP") throw new Unexpected(`protocol ${p}`);
  return p;
}

/**
 * The entry's protocol on one of `ports`; no ports means every port of that protocol. In ambient
 * mode HBONE is added to TCP entries (ztunnel tunnels TCP only).
 */
function portAllowed(
  entry: { ports?: number[] | undefined; protocol?: string | undefined },
  protocol: Protocol,
  port: number,
  hbone: boolean,
): boolean {
  const asked = entryProtocol(entry);
  if (protocol !== asked) return false;
  if (!entry.ports || entry.ports.length === 0) return true;
  return entry.ports.includes(port) || (hbone && asked === "TCP" && port === HBONE);
}

/**
 * L4, what the NetworkPolicy may allow into the service's pods. A service caller is its target's
 * pods; a serviceAccount caller can only be narrowed to its namespace (documented), which only TCP
 * entries may ask for: the AuthorizationPolicy narrows TCP to the principal, while UDP and SCTP
 * reach the pod past every proxy, so for them the NetworkPolicy is the whole answer and a
 * serviceAccount caller asks for nothing; a namespace caller is every pod there. PermissiveMtls
 * does not widen this. Ambient mode adds HBONE to the listed TCP ports and admits the kubelet
 * probe address.
 */
export function specAllowsL4Ingress(
  profile: Profile,
  profiles: ReadonlyMap<string, Profile>,
  p: Platform,
  req: IngressRequest,
): boolean {
  const spec = profile.spec;
  if (!hasLabels(req.destination, spec.selector)) return false;
  const ambient = p.meshMode === "ambient";
  if (req.source.kind === "ip") return ambient && req.source.ip === AMBIENT_PROBE_IP;
  const pod = req.source;
  const callerMatches = (s: Source): boolean => {
    if (s.service !== undefined) {
      const t = target(s.service, profile, profiles);
      return (
        t !== undefined && pod.namespace === t.metadata.namespace && hasLabels(pod.labels, t.spec.selector)
      );
    }
    if (s.serviceAccount !== undefined) return pod.namespace === s.serviceAccount.namespace;
    return pod.namespace === s.namespace;
  };
  return (spec.ingress ?? []).some(
    (e) =>
      e.from.some(
        (s) => (s.serviceAccount === undefined || entryProtocol(e) === "TCP") && callerMatches(s),
      ) && portAllowed(e, req.protocol, req.port, ambient),
  );
}

/**
 * L4, what the NetworkPolicy may allow out of the service's pods: DNS (unless dns: false), istiod
 * on 15012 in sidecar mode, and each `to` entry: a service's pods (HBONE added to TCP in ambient
 * mode) or an address range minus its exceptions, on the listed ports of the entry's protocol.
 */
export function specAllowsEgress(
  profile: Profile,
  profiles: ReadonlyMap<string, Profile>,
  p: Platform,
  req: EgressRequest,
): boolean {
  const spec = profile.spec;
  if (!hasLabels(req.source, spec.selector)) return false;
  const dest = req.destination;
  const ambient = p.meshMode === "ambient";
  if (dest.kind === "pod") {
    const at = (ns: string, sel: Labels) => dest.namespace === ns && hasLabels(dest.labels, sel);
    if (
      (spec.egress?.dns ?? true) &&
      at(p.dns.namespace, p.dns.podSelector) &&
      req.port === 53 &&
      req.protocol !== "SCTP"
    )
      return true;
    if (
      !ambient &&
      at(p.istiod.namespace, p.istiod.podSelector) &&
      req.protocol === "TCP" &&
      req.port === ISTIOD_XDS
    )
      return true;
  }
  return (spec.egress?.to ?? []).some((t) => {
    if (t.service !== undefined) {
      const tp = target(t.service, profile, profiles);
      return (
        tp !== undefined &&
        dest.kind === "pod" &&
        dest.namespace === tp.metadata.namespace &&
        hasLabels(dest.labels, tp.spec.selector) &&
        portAllowed(t, req.protocol, req.port, ambient)
      );
    }
    if (t.cidr === undefined || dest.kind !== "ip") return false;
    const net = parseNet(t.cidr);
    if (!net || !netContains(net, dest.ip)) return false;
    if (
      (t.except ?? []).some((e) => {
        const n = parseNet(e);
        return n !== undefined && netContains(n, dest.ip);
      })
    )
      return false;
    return portAllowed(t, req.protocol, req.port, false);
  });
}
