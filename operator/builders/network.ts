// NetworkPolicies: a namespace-wide default deny, and per profile the ingress and egress it asks for.
// Namespaces are selected by kubernetes.io/metadata.name, which the API server sets and users cannot spoof.
import type {
  V1NetworkPolicy,
  V1NetworkPolicyEgressRule,
  V1NetworkPolicyIngressRule as ClientIngressRule,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
} from "@kubernetes/client-node";
import { type HostProtocol, type Profile, type Protocol, protocolOf } from "../api/schema.ts";
import type { Problem } from "../api/validate.ts";
import type { BuildContext } from "./context.ts";
import { hostEgressRules } from "./egress.ts";
import {
  childMeta,
  type KubeObject,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  NAMESPACE_DEFAULT_DENY,
  SCOPE_LABEL,
} from "./meta.ts";
import { resolveService } from "./references.ts";

export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";
/** Ambient mode: ztunnel carries mesh traffic as HBONE on this port. */
export const HBONE_PORT = 15008;
/** Sidecars fetch config and certificates from istiod on this port. */
export const ISTIOD_XDS_PORT = 15012;
/** Ambient mode: kubelet probes arrive from this link-local address (SNAT by istio-cni). */
export const AMBIENT_PROBE_CIDR = "169.254.7.127/32";

/** client-node names the field `_from` in its model class; on the wire (and here) it is `from`. */
type V1NetworkPolicyIngressRule = Omit<ClientIngressRule, "_from"> & { from?: V1NetworkPolicyPeer[] };
type NetworkPolicy = Omit<V1NetworkPolicy, "spec"> & {
  spec: Omit<NonNullable<V1NetworkPolicy["spec"]>, "ingress"> & { ingress?: V1NetworkPolicyIngressRule[] };
};

function inNamespace(namespace: string, podSelector?: Record<string, string>): V1NetworkPolicyPeer {
  const peer: V1NetworkPolicyPeer = {
    namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: namespace } },
  };
  if (podSelector) peer.podSelector = { matchLabels: { ...podSelector } };
  return peer;
}

/**
 * The ports of a rule or target, always with their protocol: a NetworkPolicy rule without `ports`
 * would admit every protocol, and the API's entries name one (TCP when omitted). Without port
 * numbers, every port of that protocol. In ambient mode ztunnel tunnels TCP on HBONE, so HBONE is
 * added to TCP entries when `hbone` is set; UDP and SCTP bypass ztunnel and the sidecars alike.
 */
function entryPorts(
  entry: { ports?: number[] | undefined; protocol?: Protocol | HostProtocol | undefined },
  hbone: boolean,
): V1NetworkPolicyPort[] {
  const protocol = protocolOf(entry);
  if (!entry.ports || entry.ports.length === 0) return [{ protocol }];
  const all = [...new Set(entry.ports)];
  if (hbone && protocol === "TCP" && !all.includes(HBONE_PORT)) all.push(HBONE_PORT);
  return all.map((port) => ({ protocol, port }));
}

function ingressRules(profile: Profile, ctx: BuildContext): V1NetworkPolicyIngressRule[] {
  const rules: V1NetworkPolicyIngressRule[] = [];
  (profile.spec.ingress ?? []).forEach((rule, i) => {
    const from: V1NetworkPolicyPeer[] = [];
    rule.from.forEach((s, j) => {
      if (s.service !== undefined) {
        // Problems for unresolved references are reported once, by the AuthorizationPolicy builder.
        const r = resolveService(s.service, profile, ctx, `spec.ingress[${i}].from[${j}].service`, []);
        if (r) from.push(inNamespace(r.namespace, r.selector));
      } else if (s.serviceAccount !== undefined) {
        // L4 cannot tell service accounts apart: the namespace is the narrowest peer. The
        // AuthorizationPolicy admits only the principal.
        from.push(inNamespace(s.serviceAccount.namespace));
      } else if (s.namespace !== undefined) {
        from.push(inNamespace(s.namespace));
      }
    });
    if (from.length === 0) return; // fail closed
    rules.push({ from, ports: entryPorts(rule, ctx.meshMode === "ambient") });
  });
  if (ctx.meshMode === "ambient" && rules.length > 0) {
    rules.push({ from: [{ ipBlock: { cidr: AMBIENT_PROBE_CIDR } }] });
  }
  return rules;
}

function egressRules(profile: Profile, ctx: BuildContext, problems: Problem[]): V1NetworkPolicyEgressRule[] {
  const rules: V1NetworkPolicyEgressRule[] = [];
  const egress = profile.spec.egress;
  if (egress?.dns ?? true) {
    rules.push({
      to: [inNamespace(ctx.defaults.dns.namespace, ctx.defaults.dns.podSelector)],
      ports: [
        { protocol: "UDP", port: 53 },
        { protocol: "TCP", port: 53 },
      ],
    });
  }
  if (ctx.meshMode === "sidecar") {
    rules.push({
      to: [inNamespace(ctx.defaults.istiod.namespace, ctx.defaults.istiod.podSelector)],
      ports: [{ protocol: "TCP", port: ISTIOD_XDS_PORT }],
    });
  }
  (egress?.to ?? []).forEach((t, i) => {
    let peer: V1NetworkPolicyPeer | undefined;
    if (t.service !== undefined) {
      const r = resolveService(t.service, profile, ctx, `spec.egress.to[${i}].service`, problems);
      if (r) peer = inNamespace(r.namespace, r.selector);
    } else if (t.cidr !== undefined) {
      peer = {
        ipBlock: t.except && t.except.length > 0 ? { cidr: t.cidr, except: [...t.except] } : { cidr: t.cidr },
      };
    }
    if (!peer) return; // fail closed (host entries: below)
    // Traffic to addresses outside the mesh is not tunnelled, so HBONE is added for services only.
    rules.push({ to: [peer], ports: entryPorts(t, ctx.meshMode === "ambient" && t.service !== undefined) });
  });
  rules.push(...hostEgressRules(profile, ctx));
  return rules;
}

export function buildNetworkPolicy(
  profile: Profile,
  ctx: BuildContext,
  problems: Problem[],
): KubeObject & NetworkPolicy {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: childMeta(profile, profile.metadata.name),
    spec: {
      podSelector: { matchLabels: { ...profile.spec.selector } },
      policyTypes: ["Ingress", "Egress"],
      ingress: ingressRules(profile, ctx),
      egress: egressRules(profile, ctx, problems),
    },
  };
}

/**
 * The namespace-wide default deny (ingress and egress for every pod of the namespace). One per
 * namespace that holds at least one profile, shared by all of them: it has no owner reference, so
 * adding the 200th profile writes nothing, and the operator deletes it when the last profile goes
 * (docs/adr/0003-namespace-default-deny.md).
 */
export function buildNamespaceDefaultDeny(namespace: string): KubeObject & NetworkPolicy {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: {
      name: NAMESPACE_DEFAULT_DENY,
      namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [SCOPE_LABEL]: "namespace" },
    },
    spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
  };
}
