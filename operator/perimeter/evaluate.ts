// NetworkPolicy semantics for one concrete flow (pure): is this flow to or from this pod allowed by
// these policies? A plain reading of networking.k8s.io/v1, sharing nothing with the set algebra of
// flowspace.ts and space.ts, so each checks the other. Same model as flowspace.ts: a peer is a pod
// or an address outside the pod network, and a named port matches only a rule naming the same port
// or admitting every port of its protocol.
import { type Cidr, containsCidr, parseCidr } from "../api/net.ts";
import { matches } from "./selectors.ts";
import type { Flow, NetworkPeer, NetworkPolicyInput, NetworkPort, NetworkRule, Pod } from "./types.ts";

function host(ip: string): Cidr | undefined {
  return parseCidr(`${ip}/${ip.includes(":") ? 128 : 32}`);
}

/** The address lies in the CIDR (host bits of the CIDR ignored, as the API server's parser does). */
function inCidr(address: Cidr, cidr: string): boolean {
  const c = parseCidr(cidr);
  return c !== undefined && containsCidr(c, address);
}

function peerAdmits(peer: NetworkPeer, policyNamespace: string, flow: Flow): boolean {
  const p = flow.peer;
  if (peer.ipBlock) {
    if (p.kind !== "ip") return false;
    const a = host(p.ip);
    return a !== undefined && inCidr(a, peer.ipBlock.cidr) && !peer.ipBlock.except.some((e) => inCidr(a, e));
  }
  if (!peer.namespaceSelector && !peer.podSelector) return true; // refused by the API server
  if (p.kind !== "pod") return false;
  const namespaceOk = peer.namespaceSelector
    ? matches(peer.namespaceSelector, p.namespaceLabels)
    : p.namespace === policyNamespace;
  return namespaceOk && (!peer.podSelector || matches(peer.podSelector, p.labels));
}

function portAdmits(port: NetworkPort, flow: Flow): boolean {
  if (port.protocol !== flow.protocol) return false;
  if (port.port === undefined) return true;
  if (typeof port.port === "string" || typeof flow.port === "string") return port.port === flow.port;
  const end = port.endPort !== undefined && port.endPort >= port.port ? port.endPort : port.port;
  return flow.port >= port.port && flow.port <= end;
}

function ruleAdmits(rule: NetworkRule, policyNamespace: string, flow: Flow): boolean {
  const peerOk = rule.peers.length === 0 || rule.peers.some((p) => peerAdmits(p, policyNamespace, flow));
  const portOk = rule.ports.length === 0 || rule.ports.some((p) => portAdmits(p, flow));
  return peerOk && portOk;
}

/** Whether `flow` to or from `pod` is allowed by `policies` (any namespace; others are ignored). */
export function allows(policies: readonly NetworkPolicyInput[], pod: Pod, flow: Flow): boolean {
  const type = flow.direction === "ingress" ? "Ingress" : "Egress";
  const applying = policies.filter(
    (p) =>
      p.namespace === pod.namespace && p.policyTypes.includes(type) && matches(p.podSelector, pod.labels),
  );
  if (applying.length === 0) return true;
  return applying.some((p) =>
    (flow.direction === "ingress" ? p.ingress : p.egress).some((r) => ruleAdmits(r, p.namespace, flow)),
  );
}
