// The platform tier (pure builders): ClusterNetworkPolicies (policy.networking.k8s.io/v1beta1, from
// sigs.k8s.io/network-policy-api) that a tenant's NetworkPolicy cannot undo. Admin tier: each
// MeshwardPolicy's denied egress ranges for the namespaces it selects, and the quarantine's
// isolation (DNS accepted first, then everything else denied). Baseline tier: the namespace
// default deny, which a tenant's NetworkPolicy may override as today. Tiers and priorities:
// docs/adr/0015-cluster-network-policy-tiers.md. The operator keeps them where the CRD is served
// (operator/reconcile/cluster-tier.ts).
import { createHash } from "node:crypto";
import { DEFAULT_MESH_ROOT_NAMESPACE, type MeshwardPolicy } from "../api/policy.ts";
import type { Profile } from "../api/schema.ts";
import { byString, MANAGED_BY, MANAGED_BY_LABEL, SCOPE_LABEL } from "../builders/meta.ts";
import {
  QUARANTINE_NAME,
  QUARANTINE_SCOPE,
  type QuarantineContext,
  quarantineTargets,
} from "./quarantine.ts";

export const CLUSTER_NETWORK_POLICY_API_VERSION = "policy.networking.k8s.io/v1beta1";
export const CLUSTER_NETWORK_POLICY_KIND = "ClusterNetworkPolicy";
export const EGRESS_SCOPE = "egress-guardrail";
export const BASELINE_SCOPE = "namespace";
export const EGRESS_NAME_PREFIX = "meshward-egress-";
export const BASELINE_NAME = "meshward-default-deny";

/** Lower is checked first. The quarantine's DNS Accept must come before any egress denial. */
export const PRIORITY = { quarantine: 10, egress: 100, baseline: 100 } as const;

/** The CRD's limits: networks per peer, peers per rule. */
const MAX_NETWORKS = 25;
const MAX_PEERS = 25;
const MAX_NAME = 253;
const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";
const EVERYWHERE = ["0.0.0.0/0", "::/0"];

type Peer = Record<string, unknown>;
export interface ClusterNetworkPolicyRule {
  name: string;
  action: "Accept" | "Deny" | "Pass";
  from?: Peer[];
  to?: Peer[];
  protocols?: object[];
}
type Rule = ClusterNetworkPolicyRule;

/** A cluster-scoped object of the CRD (only the fields meshward sets). */
export interface ClusterNetworkPolicy {
  apiVersion: typeof CLUSTER_NETWORK_POLICY_API_VERSION;
  kind: typeof CLUSTER_NETWORK_POLICY_KIND;
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    tier: "Admin" | "Baseline";
    priority: number;
    subject: Peer;
    ingress?: Rule[];
    egress?: Rule[];
  };
}

/** A cluster-scoped name; one too long keeps a prefix and gets a hash of the whole name. */
export function clusterName(name: string): string {
  if (name.length <= MAX_NAME) return name;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 10);
  return `${name.slice(0, MAX_NAME - hash.length - 1).replace(/[-.]+$/, "")}-${hash}`;
}

function cnp(
  name: string,
  scope: string,
  tier: "Admin" | "Baseline",
  priority: number,
  subject: Peer,
  rules: { ingress?: Rule[]; egress?: Rule[] },
): ClusterNetworkPolicy {
  return {
    apiVersion: CLUSTER_NETWORK_POLICY_API_VERSION,
    kind: CLUSTER_NETWORK_POLICY_KIND,
    metadata: { name: clusterName(name), labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [SCOPE_LABEL]: scope } },
    spec: { tier, priority, subject, ...rules },
  };
}

function chunks<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

/** Rules with `action` to `peers`, split to respect the CRD's 25 peers per rule. */
function rulesTo(name: string, action: Rule["action"], field: "to" | "from", peers: Peer[]): Rule[] {
  const parts = chunks(peers, MAX_PEERS);
  return parts.map((p, i) => ({ name: parts.length > 1 ? `${name}-${i + 1}` : name, action, [field]: p }));
}

/** One peer per 25 networks. */
function networks(cidrs: readonly string[]): Peer[] {
  return chunks(cidrs, MAX_NETWORKS).map((n) => ({ networks: n }));
}

/** Every pod of the cluster and every address outside it. */
const anywhere = (): Peer[] => [{ namespaces: {} }, ...networks(EVERYWHERE)];

function namespacesNamed(names: readonly string[]): Peer {
  return {
    namespaces: { matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: "In", values: [...names] }] },
  };
}

/**
 * Namespaces an egress denial never covers: Kubernetes' own and the mesh root. No profile lives
 * there, so the guardrail never bounded them, and their components may need the denied ranges (a
 * cloud's node agents read the metadata address).
 */
export const TIER_EXEMPT_NAMESPACES = ["kube-node-lease", "kube-public", "kube-system"] as const;

/**
 * Admin tier, one per MeshwardPolicy with denied egress ranges in Enforce mode: the namespaces it
 * selects (all of them when it selects by no label), except Kubernetes' own and the mesh root, may
 * not open those ranges, whatever their NetworkPolicies say. Audit only reports, so it builds
 * nothing here.
 */
export function buildEgressDenials(policies: readonly MeshwardPolicy[]): ClusterNetworkPolicy[] {
  const out: ClusterNetworkPolicy[] = [];
  for (const p of [...policies].sort((a, b) => byString(a.metadata.name, b.metadata.name))) {
    const guardrail = p.spec.guardrails?.egressCidrs;
    if (guardrail?.mode !== "Enforce") continue;
    const denied = [...new Set(guardrail.denied ?? [])].sort(byString);
    if (denied.length === 0) continue;
    const labels = p.spec.namespaceSelector ?? {};
    const excluded = [
      ...new Set([
        ...TIER_EXEMPT_NAMESPACES,
        p.spec.quarantine?.meshRootNamespace ?? DEFAULT_MESH_ROOT_NAMESPACE,
      ]),
    ].sort(byString);
    out.push(
      cnp(
        `${EGRESS_NAME_PREFIX}${p.metadata.name}`,
        EGRESS_SCOPE,
        "Admin",
        PRIORITY.egress,
        {
          namespaces: {
            ...(Object.keys(labels).length > 0 && { matchLabels: { ...labels } }),
            matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: "NotIn", values: excluded }],
          },
        },
        { egress: rulesTo("denied-ranges", "Deny", "to", networks(denied)) },
      ),
    );
  }
  return out;
}

/** Accept DNS to the cluster's resolver, then deny all other egress and all ingress. */
function isolationRules(dns: QuarantineContext["dns"]): { ingress: Rule[]; egress: Rule[] } {
  return {
    ingress: rulesTo("quarantine-ingress", "Deny", "from", [{ namespaces: {} }]),
    egress: [
      {
        name: "quarantine-dns",
        action: "Accept",
        to: [
          {
            pods: {
              namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: dns.namespace } },
              podSelector: { matchLabels: { ...dns.podSelector } },
            },
          },
        ],
        protocols: [
          { udp: { destinationPort: { number: 53 } } },
          { tcp: { destinationPort: { number: 53 } } },
        ],
      },
      ...rulesTo("quarantine-egress", "Deny", "to", anywhere()),
    ],
  };
}

/**
 * Admin tier, the quarantine's isolation: one policy for every quarantined namespace (named
 * meshward-quarantine) and one per isolated profile (meshward-quarantine.<namespace>.<name>: a
 * subject selects pods of one namespace selector and one pod selector, so profiles cannot share).
 * Ingress denial covers pods only: the v1beta1 standard channel has no ingress peer for addresses.
 */
export function buildQuarantineTier(
  policies: readonly MeshwardPolicy[],
  profiles: readonly Profile[],
  ctx: QuarantineContext,
): ClusterNetworkPolicy[] {
  const { namespaces, isolated } = quarantineTargets(policies, profiles, ctx.trustDomain);
  const out: ClusterNetworkPolicy[] = [];
  const quarantined = [...new Set([...namespaces.values()].flatMap((s) => [...s]))].sort(byString);
  if (quarantined.length > 0)
    out.push(
      cnp(
        QUARANTINE_NAME,
        QUARANTINE_SCOPE,
        "Admin",
        PRIORITY.quarantine,
        namespacesNamed(quarantined),
        isolationRules(ctx.dns),
      ),
    );
  for (const p of isolated) {
    const ns = p.metadata.namespace;
    out.push(
      cnp(
        `${QUARANTINE_NAME}.${ns}.${p.metadata.name}`,
        QUARANTINE_SCOPE,
        "Admin",
        PRIORITY.quarantine,
        {
          pods: {
            namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: ns } },
            podSelector: { matchLabels: { ...p.spec.selector } },
          },
        },
        isolationRules(ctx.dns),
      ),
    );
  }
  return out;
}

/**
 * Baseline tier: the namespace default deny (all ingress, all egress) for the namespaces given
 * (those holding profiles). A tenant's NetworkPolicy overrides it for the pods it selects, as the
 * namespaced default deny does today; unlike it, a tenant cannot delete it.
 */
export function buildBaselineDefaultDeny(namespaces: readonly string[]): ClusterNetworkPolicy[] {
  const names = [...new Set(namespaces)].sort(byString);
  if (names.length === 0) return [];
  return [
    cnp(BASELINE_NAME, BASELINE_SCOPE, "Baseline", PRIORITY.baseline, namespacesNamed(names), {
      ingress: rulesTo("default-deny-ingress", "Deny", "from", [{ namespaces: {} }]),
      egress: rulesTo("default-deny-egress", "Deny", "to", anywhere()),
    }),
  ];
}

/** Every platform-tier object: quarantine first, then egress denials, then the baseline. */
export function buildClusterTier(
  policies: readonly MeshwardPolicy[],
  profiles: readonly Profile[],
  ctx: QuarantineContext,
  defaultDenyNamespaces: readonly string[] = [],
): ClusterNetworkPolicy[] {
  return [
    ...buildQuarantineTier(policies, profiles, ctx),
    ...buildEgressDenials(policies),
    ...buildBaselineDefaultDeny(defaultDenyNamespaces),
  ];
}
