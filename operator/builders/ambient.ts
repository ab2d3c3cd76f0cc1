// The ambient form of one profile (pure, no I/O): what ztunnel and, for L7 rules, a waypoint proxy
// need (docs/ambient.md, docs/adr/0022-ambient-waypoints.md); buildProfile uses it in ambient mode.
//
// ztunnel enforces AuthorizationPolicies with a `selector` at L4 only, and turns one with L7 fields
// into DENY. L7 rules (http methods/paths, end-user tokens) are enforced by a waypoint (a Gateway of
// class istio-waypoint) through policies attached with `targetRefs` to the profile's Service. Behind
// the waypoint ztunnel sees the waypoint's identity, so the selector policy admits the waypoint on
// the ports the waypoint serves, and callers directly only on ports that no L7 rule covers: nobody
// can bypass the waypoint to reach an L7 port.
import { createHash } from "node:crypto";
import type { V1NetworkPolicyPeer, V1NetworkPolicyPort } from "@kubernetes/client-node";
import { type IngressRule, type Profile, protocolOf, type WaypointScope } from "../api/schema.ts";
import type { Problem } from "../api/validate.ts";
import { buildAuthorizationPolicy, buildRequestAuthentication } from "./authorization.ts";
import { type BuildContext, type MeshMode, profileKey } from "./context.ts";
import { evaluateExceptions, type ExceptionState, isPermissive } from "./exceptions.ts";
import { buildServiceAccount } from "./identity.ts";
import { childMeta, type KubeObject, MANAGED_BY, MANAGED_BY_LABEL, principal, SCOPE_LABEL } from "./meta.ts";
import { buildPeerAuthentication } from "./mtls.ts";
import { buildNetworkPolicy, HBONE_PORT, ISTIOD_XDS_PORT, NAMESPACE_NAME_LABEL } from "./network.ts";
import { parseServiceRef } from "./references.ts";
import { buildEgress } from "./egress.ts";
import { buildExternalSecrets } from "./secrets.ts";
import { type BuildResult, USE_WAYPOINT_LABEL, type WaypointBinding } from "./result.ts";

export { USE_WAYPOINT_LABEL, type WaypointBinding };

export const WAYPOINT_CLASS = "istio-waypoint";
/** The namespace's shared waypoint (Gateway, and the Deployment and ServiceAccount Istio makes). */
export const NAMESPACE_WAYPOINT = "meshward-waypoint";
/** Which traffic a waypoint serves: service (Istio's default) is traffic addressed to Services. */
export const WAYPOINT_FOR_LABEL = "istio.io/waypoint-for";
/** The Gateway API label on a Gateway's pods: selects the waypoint pods in NetworkPolicies. */
export const GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name";
/** meshward.io/scope of the shared waypoint (no owner: shared by the namespace's profiles). */
export const WAYPOINT_SCOPE = "waypoint";
/** Prefix of the objects that exist only for the waypoint (a profile name cannot start with it). */
export const L7_PREFIX = "meshward-l7-";

const MAX_GATEWAY_NAME = 63;

export interface Waypoint {
  /** The Gateway's name; Istio names the waypoint's Deployment and ServiceAccount the same. */
  name: string;
  namespace: string;
  scope: WaypointScope;
  /** The Service the L7 policies attach to, which must carry istio.io/use-waypoint=<name>. */
  service: string;
  /** The waypoint's SPIFFE principal: what ztunnel sees behind the waypoint. */
  principal: string;
}

export interface AmbientBuildResult extends BuildResult {
  /** The namespace's shared waypoint, when this profile uses it (shared: no owner reference). */
  shared: KubeObject[];
  /** The Service label the waypoint needs, when the profile needs a waypoint. */
  binding?: WaypointBinding;
}

/** Does this TCP rule need the waypoint (HTTP methods/paths, or an end-user token)? */
export function ruleNeedsWaypoint(rule: IngressRule, profile: Profile): boolean {
  if (protocolOf(rule) !== "TCP") return false;
  const jwt = profile.spec.requestAuthentication;
  return rule.http !== undefined || (jwt !== undefined && (rule.requireToken ?? jwt.requireToken));
}

/** A profile needs a waypoint in ambient mode when it has L7 rules or validates end-user tokens. */
export function needsWaypoint(profile: Profile): boolean {
  return (
    profile.spec.requestAuthentication !== undefined ||
    (profile.spec.ingress ?? []).some((r) => ruleNeedsWaypoint(r, profile))
  );
}

function shortHash(s: string): string {
  return createHash("sha256").update(s).digest("hex").slice(0, 8);
}

/** meshward-waypoint-<service>, shortened with a hash to fit a DNS label (a label value too). */
export function serviceWaypointName(service: string): string {
  const name = `${NAMESPACE_WAYPOINT}-${service}`;
  if (name.length <= MAX_GATEWAY_NAME) return name;
  const keep = MAX_GATEWAY_NAME - NAMESPACE_WAYPOINT.length - 2 - 8;
  return `${NAMESPACE_WAYPOINT}-${service.slice(0, keep).replace(/-+$/, "")}-${shortHash(service)}`;
}

/** The waypoint a profile uses (whether or not it needs one). */
export function waypointOf(profile: Profile, trustDomain: string): Waypoint {
  const namespace = profile.metadata.namespace;
  const scope = profile.spec.waypoint?.scope ?? "Namespace";
  const service = profile.spec.waypoint?.service ?? profile.metadata.name;
  const name = scope === "Service" ? serviceWaypointName(service) : NAMESPACE_WAYPOINT;
  return { name, namespace, scope, service, principal: principal(trustDomain, namespace, name) };
}

function waypointGateway(metadata: KubeObject["metadata"]): KubeObject {
  metadata.labels = { ...metadata.labels, [WAYPOINT_FOR_LABEL]: "service" };
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata,
    spec: {
      gatewayClassName: WAYPOINT_CLASS,
      listeners: [{ name: "mesh", port: HBONE_PORT, protocol: "HBONE" }],
    },
  };
}

/** The namespace's shared waypoint: no owner (meshward.io/scope: waypoint); the namespace keeps it. */
export function buildSharedWaypoint(namespace: string): KubeObject {
  return waypointGateway({
    name: NAMESPACE_WAYPOINT,
    namespace,
    labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [SCOPE_LABEL]: WAYPOINT_SCOPE },
  });
}

/** The waypoint: a Gateway API Gateway that Istio deploys as a waypoint proxy. */
export function buildWaypoint(profile: Profile, waypoint: Waypoint): KubeObject {
  return waypoint.scope === "Service"
    ? waypointGateway(childMeta(profile, waypoint.name))
    : buildSharedWaypoint(waypoint.namespace);
}

/** Whether this profile, built for `mode`, needs its namespace's shared waypoint. */
export function needsSharedWaypoint(profile: Profile, mode: MeshMode): boolean {
  return (
    mode === "ambient" &&
    needsWaypoint(profile) &&
    (profile.spec.waypoint?.scope ?? "Namespace") === "Namespace"
  );
}

function targetRefs(waypoint: Waypoint) {
  return [{ group: "", kind: "Service", name: waypoint.service }];
}

/**
 * The L7 AuthorizationPolicy, enforced by the waypoint: every TCP rule of the profile, as a sidecar
 * would enforce it (built with the sidecar's builder), attached to the Service.
 */
export function buildWaypointAuthorizationPolicy(
  profile: Profile,
  ctx: BuildContext,
  exceptions: ExceptionState,
  waypoint: Waypoint,
  problems: Problem[],
): KubeObject {
  // The waypoint is an Envoy like a sidecar: its rules are the sidecar's, so build them as such
  // (in ambient mode the builder would warn that ztunnel cannot enforce HTTP rules).
  const ap = buildAuthorizationPolicy(profile, { ...ctx, meshMode: "sidecar" }, exceptions, problems);
  const { selector: _selector, ...rest } = ap.spec as Record<string, unknown>;
  return {
    ...ap,
    metadata: { ...ap.metadata, name: `${L7_PREFIX}${profile.metadata.name}` },
    spec: { targetRefs: targetRefs(waypoint), ...rest },
  };
}

/**
 * RequestAuthentication is enforced by the waypoint only: attached to the Service. Named like the
 * L7 policy, not like the sidecar's: Istio's CRD refuses targetRefs beside a selector, and a
 * server-side apply does not remove the selector of an object first written by a create, so a
 * namespace switching modes gets a new object and the other one is pruned.
 */
export function buildWaypointRequestAuthentication(
  profile: Profile,
  waypoint: Waypoint,
): KubeObject | undefined {
  const ra = buildRequestAuthentication(profile);
  if (!ra) return undefined;
  const { selector: _selector, ...rest } = ra.spec as Record<string, unknown>;
  return {
    ...ra,
    metadata: { ...ra.metadata, name: `${L7_PREFIX}${profile.metadata.name}` },
    spec: { targetRefs: targetRefs(waypoint), ...rest },
  };
}

/** Ports as numbers; undefined means "every port" (a rule without ports). */
function portsOf(rules: IngressRule[]): Set<number> | undefined {
  const all = new Set<number>();
  for (const r of rules) {
    if (!r.ports || r.ports.length === 0) return undefined;
    for (const p of r.ports) all.add(p);
  }
  return all;
}

/**
 * The ztunnel (selector) AuthorizationPolicy in front of a waypoint: the waypoint's principal on
 * every port a TCP rule admits (all traffic to the Service passes the waypoint, which enforces the
 * whole policy), and callers directly only by rules that need no waypoint, on ports that no L7 rule
 * covers. A direct rule without ports beside L7 rules cannot be narrowed (ALLOW rules cannot say
 * "every port but"), so it is left out: its callers reach the pods through the Service and the
 * waypoint only. Built with the sidecar's builder from those direct rules alone.
 */
export function buildZtunnelAuthorizationPolicy(
  profile: Profile,
  ctx: BuildContext,
  exceptions: ExceptionState,
  waypoint: Waypoint,
): KubeObject {
  const tcp = (profile.spec.ingress ?? []).filter((r) => protocolOf(r) === "TCP");
  const l7 = tcp.filter((r) => ruleNeedsWaypoint(r, profile));
  const l7Ports = portsOf(l7);
  const direct: IngressRule[] = [];
  if (l7Ports !== undefined) {
    for (const r of tcp) {
      if (ruleNeedsWaypoint(r, profile) || !r.ports || r.ports.length === 0) continue;
      const ports = r.ports.filter((p) => !l7Ports.has(p));
      if (ports.length > 0) direct.push({ ...r, ports });
    }
  }
  // Unresolved references are reported by the waypoint policy, which holds every rule.
  const ap = buildAuthorizationPolicy(
    { ...profile, spec: { ...profile.spec, ingress: direct } },
    ctx,
    exceptions,
    [],
  );
  const spec = ap.spec as { rules?: unknown[] };
  const via: { from: unknown[]; to?: unknown[] } = {
    from: [{ source: { principals: [waypoint.principal] } }],
  };
  const served = portsOf(tcp);
  if (served !== undefined) via.to = [{ operation: { ports: [...served].map(String) } }];
  // No TCP rule at all: nobody may call, the waypoint neither.
  spec.rules = tcp.length > 0 ? [via, ...(spec.rules ?? [])] : spec.rules;
  if (spec.rules === undefined) delete spec.rules;
  return ap;
}

function waypointPeer(namespace: string, name: string): V1NetworkPolicyPeer {
  return {
    namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: namespace } },
    podSelector: { matchLabels: { [GATEWAY_NAME_LABEL]: name } },
  };
}

/** A fresh list each time: shared objects would come out as YAML anchors. */
const hbone = (): V1NetworkPolicyPort[] => [{ protocol: "TCP", port: HBONE_PORT }];

type NetworkPolicySpec = {
  ingress?: { from?: V1NetworkPolicyPeer[]; ports?: V1NetworkPolicyPort[] }[];
  egress?: { to?: V1NetworkPolicyPeer[]; ports?: V1NetworkPolicyPort[] }[];
};

/**
 * The profile's NetworkPolicy in ambient mode: as today, plus HBONE from its waypoint (when it has
 * one) and HBONE to the waypoints of the services it calls that need one.
 */
export function buildAmbientNetworkPolicy(
  profile: Profile,
  ctx: BuildContext,
  waypoint: Waypoint | undefined,
  problems: Problem[],
): KubeObject {
  const np = buildNetworkPolicy(profile, ctx, problems);
  const spec = np.spec as NetworkPolicySpec;
  if (waypoint) {
    spec.ingress = [
      ...(spec.ingress ?? []),
      { from: [waypointPeer(waypoint.namespace, waypoint.name)], ports: hbone() },
    ];
  }
  const seen = new Set<string>();
  for (const t of profile.spec.egress?.to ?? []) {
    if (t.service === undefined || protocolOf(t) !== "TCP") continue;
    const ref = parseServiceRef(t.service, profile.metadata.namespace);
    const target = ctx.profiles.get(profileKey(ref.namespace, ref.name));
    if (!target || !needsWaypoint(target)) continue;
    const wp = waypointOf(target, ctx.trustDomain);
    const key = `${wp.namespace}/${wp.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    spec.egress = [...(spec.egress ?? []), { to: [waypointPeer(wp.namespace, wp.name)], ports: hbone() }];
  }
  return np;
}

/**
 * The waypoint pods' NetworkPolicy for this profile (the namespace's default deny selects them
 * too): HBONE in from this profile's TCP callers, HBONE out to this profile's pods, xDS to istiod
 * and DNS. NetworkPolicies add up, so profiles sharing a waypoint each bring their own.
 */
export function buildWaypointNetworkPolicy(
  profile: Profile,
  ctx: BuildContext,
  waypoint: Waypoint,
): KubeObject {
  const own = buildNetworkPolicy(profile, ctx, []).spec as NetworkPolicySpec;
  const callers: V1NetworkPolicyPeer[] = [];
  const keys = new Set<string>();
  for (const rule of own.ingress ?? []) {
    if (!(rule.ports ?? []).some((p) => p.protocol === "TCP")) continue;
    for (const peer of rule.from ?? []) {
      if (peer.ipBlock) continue; // the probe address: probes go to the pods, not the waypoint
      const k = JSON.stringify(peer);
      if (!keys.has(k)) {
        keys.add(k);
        callers.push(peer);
      }
    }
  }
  const ns = (n: string, sel: Record<string, string>): V1NetworkPolicyPeer => ({
    namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: n } },
    podSelector: { matchLabels: { ...sel } },
  });
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: childMeta(profile, `${L7_PREFIX}${profile.metadata.name}`),
    spec: {
      podSelector: { matchLabels: { [GATEWAY_NAME_LABEL]: waypoint.name } },
      policyTypes: ["Ingress", "Egress"],
      ingress: callers.length > 0 ? [{ from: callers, ports: hbone() }] : [],
      egress: [
        { to: [{ podSelector: { matchLabels: { ...profile.spec.selector } } }], ports: hbone() },
        {
          to: [ns(ctx.defaults.istiod.namespace, ctx.defaults.istiod.podSelector)],
          ports: [{ protocol: "TCP", port: ISTIOD_XDS_PORT }],
        },
        {
          to: [ns(ctx.defaults.dns.namespace, ctx.defaults.dns.podSelector)],
          ports: [
            { protocol: "UDP", port: 53 },
            { protocol: "TCP", port: 53 },
          ],
        },
      ],
    },
  };
}

/** PeerAuthentication as ambient applies it: STRICT holds; PERMISSIVE is reported with its meaning. */
function ambientMtlsProblems(profile: Profile, exceptions: ExceptionState, waypoint: boolean): Problem[] {
  if (!isPermissive(profile, exceptions)) return [];
  return [
    {
      path: "spec.mtls.mode",
      severity: "warning",
      message: waypoint
        ? "Permissive in ambient mode: ztunnel accepts plain text on every port of the pods, but plain-text callers cannot pass the waypoint, so they reach only ports that no http rule or token requirement covers (the other ports deny them)"
        : "Permissive in ambient mode: ztunnel accepts plain text on every port of the pods, and the AuthorizationPolicy cannot tell plain-text callers apart (no principal); the NetworkPolicy still admits only the listed callers",
    },
  ];
}

/**
 * Every object of one profile in an ambient namespace. Profiles without L7 rules get today's
 * selector policies (they work in both modes); profiles with L7 rules also get a waypoint, the
 * targetRefs policies and the anti-bypass ztunnel policy.
 */
export function buildAmbientProfile(profile: Profile, namespaceCtx: BuildContext): AmbientBuildResult {
  const ctx: BuildContext = { ...namespaceCtx, meshMode: "ambient" };
  const problems: Problem[] = [];
  const exceptions = evaluateExceptions(profile, ctx, problems);
  const objects: KubeObject[] = [buildServiceAccount(profile), buildPeerAuthentication(profile, exceptions)];
  const shared: KubeObject[] = [];
  const l7 = needsWaypoint(profile);
  problems.push(...ambientMtlsProblems(profile, exceptions, l7));
  let waypoint: Waypoint | undefined;
  if (!l7) {
    objects.push(buildAuthorizationPolicy(profile, ctx, exceptions, problems));
  } else {
    waypoint = waypointOf(profile, ctx.trustDomain);
    objects.push(buildZtunnelAuthorizationPolicy(profile, ctx, exceptions, waypoint));
    objects.push(buildWaypointAuthorizationPolicy(profile, ctx, exceptions, waypoint, problems));
    const ra = buildWaypointRequestAuthentication(profile, waypoint);
    if (ra) objects.push(ra);
  }
  objects.push(buildAmbientNetworkPolicy(profile, ctx, waypoint, problems));
  if (waypoint) {
    objects.push(buildWaypointNetworkPolicy(profile, ctx, waypoint));
    const gw = buildWaypoint(profile, waypoint);
    if (waypoint.scope === "Service") objects.push(gw);
    else shared.push(gw);
  }
  objects.push(...buildExternalSecrets(profile, ctx, problems));
  objects.push(...buildEgress(profile, ctx, problems));
  const result: AmbientBuildResult = { objects, problems, exceptions: exceptions.status, shared };
  if (waypoint) {
    result.binding = {
      namespace: waypoint.namespace,
      service: waypoint.service,
      label: USE_WAYPOINT_LABEL,
      value: waypoint.name,
    };
  }
  if (exceptions.nextExpiry) result.nextChange = exceptions.nextExpiry;
  return result;
}

/** The command that binds the Service to its waypoint (meshward reports it; it does not run it). */
export function bindingCommand(b: WaypointBinding, overwrite = false): string {
  return `kubectl label service --namespace ${b.namespace} ${b.service} ${b.label}=${b.value}${overwrite ? " --overwrite" : ""}`;
}

/**
 * Whether the Service carries the binding (pure: the caller reads the Service). `serviceLabels`
 * undefined means the Service does not exist. Undefined result: bound.
 */
export function checkBinding(
  b: WaypointBinding,
  serviceLabels: Readonly<Record<string, string>> | undefined,
): Problem | undefined {
  const path = "spec.waypoint.service";
  if (serviceLabels === undefined)
    return {
      path,
      severity: "warning",
      message: `no Service ${b.namespace}/${b.service} exists for the waypoint's L7 policies: create it, or set spec.waypoint.service to the name of the Service that selects these pods (until then http rules and token checks apply to nobody, and ztunnel admits only the waypoint on those ports)`,
    };
  const current = serviceLabels[b.label];
  if (current === b.value) return undefined;
  if (current === undefined)
    return {
      path,
      severity: "warning",
      message: `Service ${b.namespace}/${b.service} is not bound to its waypoint, so requests to it are denied on the L7 ports; meshward does not modify Services it did not create: run ${bindingCommand(b)}`,
    };
  return {
    path,
    severity: "warning",
    message: `Service ${b.namespace}/${b.service} uses waypoint ${current.slice(0, 63)}, not ${b.value}, which holds its L7 policies: run ${bindingCommand(b, true)}, or remove the label if that waypoint is not meant for it`,
  };
}
