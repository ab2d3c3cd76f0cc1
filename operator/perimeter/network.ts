// Does a foreign NetworkPolicy give a profile's pods access that meshward's NetworkPolicies for the
// profile do not? L4 semantics of networking.k8s.io/v1 (pure):
// - a policy applies to the pods of its namespace its podSelector selects, for the directions of
//   its policyTypes; a pod no policy of a direction applies to is open in that direction;
// - the policies that apply add up: a flow is allowed when any rule of any of them admits it, so a
//   foreign policy can only add flows to pods meshward's policies already isolate.
// A foreign policy widens the profile when it selects at least one pod of the profile and admits,
// in a direction, a flow (peer × protocol × port) that no rule of meshward's policies admits. The
// difference is computed exactly over the model of flowspace.ts (see there for where the model and
// a cluster differ) and one flow of it is given as the example.
import { NAMESPACE_NAME_LABEL } from "../builders/network.ts";
import { FlowSpace } from "./flowspace.ts";
import { fromMatchLabels, matches, selectorKeys } from "./selectors.ts";
import { allAtoms, type Budget, EXHAUSTED, firstOutside, isEmpty, LabelSpace } from "./space.ts";
import type {
  Direction,
  Flow,
  Labels,
  LabelSelector,
  NetworkPolicyInput,
  NetworkRule,
  Pod,
  PolicyType,
} from "./types.ts";

/** The profile's side: where its pods are and what their namespace is labelled. */
export interface ProfileScope {
  namespace: string;
  /** The profile's spec.selector (matchLabels). */
  selector: Labels;
  /** Labels of the namespace (kubernetes.io/metadata.name is added when missing). */
  namespaceLabels: Labels;
}

export type NetworkVerdict =
  /** A pod of the profile the foreign policy selects, and one flow to or from it only it allows. */
  | { pod: Pod; flow: Flow; example: string }
  /** Too large to compare within the budget: counted as widening (fail closed). */
  | { tooLarge: true; example: string };

/** Cube splits one foreign policy may cost; far beyond what meshward's own policies need. */
export const NETWORK_BUDGET = 50_000;
/**
 * Rules, peers, excepts, selector terms and ports of a foreign policy above which it is not
 * compared (it is counted as widening): the comparison's cost grows with them, and a tenant writes
 * them.
 */
export const MAX_FOREIGN_ENTRIES = 4096;

const DIRECTIONS: readonly { direction: Direction; type: PolicyType }[] = [
  { direction: "ingress", type: "Ingress" },
  { direction: "egress", type: "Egress" },
];

/** A pod of the profile that `selector` selects, or undefined when it selects none of them. */
export function selectedProfilePod(
  policy: Pick<NetworkPolicyInput, "namespace" | "podSelector">,
  scope: Pick<ProfileScope, "namespace" | "selector">,
): Pod | undefined {
  if (policy.namespace !== scope.namespace) return undefined;
  const profileSelector = fromMatchLabels(scope.selector);
  const values = new Map<string, string[]>();
  for (const s of [policy.podSelector, profileSelector]) {
    for (const k of selectorKeys(s)) if (!values.has(k)) values.set(k, []);
    for (const [k, v] of Object.entries(s.matchLabels)) values.get(k)?.push(v);
    for (const r of s.matchExpressions) values.get(r.key)?.push(...r.values);
  }
  const space = new LabelSpace(0, values);
  const cube = space.dims.map((d) => allAtoms(d.size));
  space.constrain(cube, policy.podSelector);
  space.constrain(cube, profileSelector);
  if (isEmpty(cube)) return undefined;
  return { namespace: scope.namespace, labels: space.pick(cube) };
}

function selectorSize(s: LabelSelector | undefined): number {
  if (!s) return 0;
  return Object.keys(s.matchLabels).length + s.matchExpressions.reduce((n, r) => n + 1 + r.values.length, 0);
}

/** How much there is to compare: rules, peers, excepts, selector terms and ports. */
function entries(p: NetworkPolicyInput): number {
  return [...p.ingress, ...p.egress].reduce(
    (n, r) =>
      n +
      1 +
      r.ports.length +
      r.peers.reduce(
        (m, peer) =>
          m +
          1 +
          (peer.ipBlock?.except.length ?? 0) +
          selectorSize(peer.podSelector) +
          selectorSize(peer.namespaceSelector),
        0,
      ),
    selectorSize(p.podSelector),
  );
}

/**
 * What `foreign` adds to what `declared` (meshward's policies for the profile) allow, or undefined
 * when it adds nothing. Exact for the model of flowspace.ts; `budget` bounds the work.
 *
 * The comparison is made for one pod of the profile that `foreign` selects (the first found). That
 * is exact when each of `declared` selects all of the profile's pods or none, as meshward's own
 * policies do (the profile's policy selects spec.selector, the default deny every pod); a declared
 * policy that selects only some of them is counted for that one pod only.
 */
export function networkWidening(
  foreign: NetworkPolicyInput,
  declared: readonly NetworkPolicyInput[],
  scope: ProfileScope,
  budget: Budget = { steps: NETWORK_BUDGET },
): NetworkVerdict | undefined {
  const pod = selectedProfilePod(foreign, scope);
  if (!pod) return undefined;
  if (entries(foreign) > MAX_FOREIGN_ENTRIES)
    return {
      tooLarge: true,
      example: `selects this profile's pods and has more than ${MAX_FOREIGN_ENTRIES} peers and ports; not compared rule by rule, counted as widening`,
    };
  const namespaceLabels = { ...scope.namespaceLabels, [NAMESPACE_NAME_LABEL]: scope.namespace };
  for (const { direction, type } of DIRECTIONS) {
    if (!foreign.policyTypes.includes(type)) continue;
    const added = direction === "ingress" ? foreign.ingress : foreign.egress;
    if (added.length === 0) continue;
    // meshward's policies that isolate this pod in this direction; none: the pod is open already.
    const isolating = declared.filter(
      (d) =>
        d.namespace === scope.namespace && d.policyTypes.includes(type) && matches(d.podSelector, pod.labels),
    );
    if (isolating.length === 0) continue;
    const allowed: NetworkRule[] = isolating.flatMap((d) => (direction === "ingress" ? d.ingress : d.egress));
    const space = new FlowSpace(scope.namespace, namespaceLabels, [...added, ...allowed]);
    const minus = allowed.flatMap((r) => space.ruleCubes(r));
    for (const rule of added)
      for (const cube of space.ruleCubes(rule).flatMap((c) => space.byKind(c))) {
        const found = firstOutside(cube, minus, space.refine, budget);
        if (found === EXHAUSTED)
          return {
            tooLarge: true,
            example: `selects this profile's pods and is too complex to compare with meshward's policies within ${NETWORK_BUDGET} steps; counted as widening`,
          };
        if (found === undefined) continue;
        const point = space.point(found);
        return { pod, flow: { direction, ...point }, example: space.describe(direction, found) };
      }
  }
  return undefined;
}
