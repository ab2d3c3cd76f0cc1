// The perimeter around meshward at admission, with no webhook: ValidatingAdmissionPolicies
// (admissionregistration.k8s.io/v1) evaluated by the API server itself. Pure builders; the chart's
// template (scripts/admission-chart.ts) and `meshward admission` print what these return.
//
// - meshward-perimeter-{deny,warn,audit}: in the namespaces a MeshwardPolicy with spec.perimeter
//   selects, nobody but meshward, Kubernetes' own controllers and the policy's platform identities
//   creates, changes or deletes the locked kinds (NetworkPolicies, External Secrets objects, Istio
//   security and traffic kinds), unless the policy's status lists the object as exempt. The
//   MeshwardPolicies are the parameters (one evaluation per policy), so the namespace selector, the
//   identities and the exemptions are read live; a binding's action cannot depend on the parameter,
//   so there is one policy per mode, each ignoring the MeshwardPolicies of the other modes.
// - meshward-managed-label: only meshward sets or removes app.kubernetes.io/managed-by: meshward on
//   the kinds it caches, in every namespace (a labelled foreign object would enter its caches).
// - meshward-profile-namespaces: no ServiceSecurityProfile in the system and mesh root namespaces.
// - meshward-operator-fence: meshward's own ServiceAccount writes only objects that carry its label,
//   outside the system namespaces (its quarantine policies in the mesh root excepted).
import { ADMISSION_MODES, type AdmissionMode, LOCKED_KINDS, type LockedKind } from "../api/policy.ts";
import { API_VERSION, GROUP, KIND, PLURAL } from "../api/schema.ts";
import { MANAGED_BY, MANAGED_BY_LABEL } from "../builders/meta.ts";
import type { ClusterObject } from "../policy/admission.ts";
import { QUARANTINE_NAME, QUARANTINE_WAYPOINTS_NAME } from "../policy/quarantine.ts";

const API = "admissionregistration.k8s.io/v1";
const LABELS = { [MANAGED_BY_LABEL]: MANAGED_BY };
const NAME_LABEL = "kubernetes.io/metadata.name";

export const PERIMETER_POLICY_PREFIX = "meshward-perimeter";
export const LABEL_POLICY = "meshward-managed-label";
export const PLACEMENT_POLICY = "meshward-profile-namespaces";
export const FENCE_POLICY = "meshward-operator-fence";

/** Namespaces where no tenant lives: no perimeter, no profiles, and meshward writes nothing there. */
export const DEFAULT_SYSTEM_NAMESPACES = ["kube-system", "kube-public", "kube-node-lease"] as const;

export interface PerimeterOptions {
  /** meshward's own ServiceAccount. */
  operator: { namespace: string; name: string };
  /** Istio's root namespace: a policy there applies mesh-wide. */
  meshRootNamespace: string;
  /** kube-system and friends; the operator's own namespace and the mesh root are added. */
  systemNamespaces?: readonly string[];
  /** Actions of the label, placement and fence bindings (default Deny). */
  mode?: AdmissionMode;
}

/** The system namespaces, the operator's and the mesh root included, sorted and unique. */
export function systemNamespaces(opts: PerimeterOptions): string[] {
  const all = [
    ...(opts.systemNamespaces ?? DEFAULT_SYSTEM_NAMESPACES),
    opts.operator.namespace,
    opts.meshRootNamespace,
  ];
  return [...new Set(all)].sort();
}

export function operatorUsername(sa: { namespace: string; name: string }): string {
  return `system:serviceaccount:${sa.namespace}:${sa.name}`;
}

const celString = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
const celList = (xs: readonly string[]) => `[${xs.map(celString).join(", ")}]`;

type Operation = "CREATE" | "UPDATE" | "DELETE";

/** One resource rule per API group of `table`'s kinds, every version. */
function rules(table: Record<string, { group: string; plural: string }>, operations: Operation[]) {
  const groups = new Map<string, string[]>();
  for (const { group, plural } of Object.values(table))
    groups.set(group, [...(groups.get(group) ?? []), plural]);
  return [...groups]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([group, resources]) => ({
      apiGroups: [group],
      apiVersions: ["*"],
      operations: [...operations],
      resources: resources.sort(),
    }));
}

/** The kinds meshward writes (and caches by its label). */
const OWN_KINDS = {
  ServiceAccount: { group: "", plural: "serviceaccounts" },
  NetworkPolicy: LOCKED_KINDS.NetworkPolicy,
  ExternalSecret: LOCKED_KINDS.ExternalSecret,
  AuthorizationPolicy: LOCKED_KINDS.AuthorizationPolicy,
  PeerAuthentication: LOCKED_KINDS.PeerAuthentication,
  RequestAuthentication: LOCKED_KINDS.RequestAuthentication,
  Telemetry: LOCKED_KINDS.Telemetry,
  Sidecar: LOCKED_KINDS.Sidecar,
  ServiceEntry: LOCKED_KINDS.ServiceEntry,
  ClusterNetworkPolicy: { group: "policy.networking.k8s.io", plural: "clusternetworkpolicies" },
};

/** What to write instead, per locked kind. */
const ADVICE: Record<LockedKind, string> = {
  NetworkPolicy:
    "declare the traffic in your ServiceSecurityProfile (spec.ingress, spec.egress) and meshward writes the NetworkPolicy",
  ExternalSecret:
    "list the secret in your ServiceSecurityProfile's spec.secrets and meshward writes the ExternalSecret",
  SecretStore: "read secrets through the stores the platform team provides, from your profile's spec.secrets",
  PushSecret: "ask the platform team: pushing secrets to a store is not a tenant operation",
  AuthorizationPolicy:
    "declare your callers in your ServiceSecurityProfile's spec.ingress and meshward writes the AuthorizationPolicy",
  PeerAuthentication:
    "mTLS is STRICT for every profile; for a time-limited PermissiveMtls exception use spec.exceptions",
  RequestAuthentication:
    "declare end-user tokens in your ServiceSecurityProfile's spec.requestAuthentication",
  Telemetry: "turn on access logs with your ServiceSecurityProfile's spec.audit.accessLogs",
  Sidecar: "declare your egress in your ServiceSecurityProfile's spec.egress",
  ServiceEntry:
    "name the external host in your ServiceSecurityProfile's spec.egress.to[].host and meshward writes the ServiceEntry",
  EnvoyFilter: "ask the platform team: EnvoyFilters change the mesh for every service",
};

const IS_OURS = (o: string) =>
  `has(${o}.metadata.labels) && '${MANAGED_BY_LABEL}' in ${o}.metadata.labels && ${o}.metadata.labels['${MANAGED_BY_LABEL}'] == '${MANAGED_BY}'`;

/** Kubernetes' own controllers (garbage collector, namespace deletion) and meshward itself. */
function trustedRequester(opts: PerimeterOptions): string {
  return `request.userInfo.username in ${celList([operatorUsername(opts.operator), "system:kube-controller-manager"])} || request.userInfo.username.startsWith('system:serviceaccount:kube-system:')`;
}

function vap(name: string, spec: Record<string, unknown>): ClusterObject {
  return { apiVersion: API, kind: "ValidatingAdmissionPolicy", metadata: { name, labels: LABELS }, spec };
}

function binding(name: string, spec: Record<string, unknown>): ClusterObject {
  return {
    apiVersion: API,
    kind: "ValidatingAdmissionPolicyBinding",
    metadata: { name, labels: LABELS },
    spec: { policyName: name, ...spec },
  };
}

export function perimeterPolicyName(mode: AdmissionMode): string {
  return `${PERIMETER_POLICY_PREFIX}-${mode.toLowerCase()}`;
}

/** The lockdown of the security kinds for the MeshwardPolicies in `mode`. */
export function perimeterPolicy(mode: AdmissionMode, opts: PerimeterOptions): ClusterObject {
  const perimeter = "params.spec.perimeter";
  const advice = `{${Object.entries(ADVICE)
    .map(([k, v]) => `${celString(k)}: ${celString(v)}`)
    .join(", ")}}`;
  return vap(perimeterPolicyName(mode), {
    failurePolicy: "Fail",
    paramKind: { apiVersion: API_VERSION, kind: "MeshwardPolicy" },
    matchConstraints: { resourceRules: rules(LOCKED_KINDS, ["CREATE", "UPDATE", "DELETE"]) },
    matchConditions: [{ name: "not-trusted", expression: `!(${trustedRequester(opts)})` }],
    variables: [
      {
        name: "governs",
        expression: `has(${perimeter}) && ${perimeter}.mode == '${mode}' && (!has(params.spec.namespaceSelector) || params.spec.namespaceSelector.all(k, has(namespaceObject.metadata.labels) && k in namespaceObject.metadata.labels && namespaceObject.metadata.labels[k] == params.spec.namespaceSelector[k]))`,
      },
      {
        name: "platform",
        expression: `has(${perimeter}.platformIdentities) && ${perimeter}.platformIdentities.exists(i, (has(i.user) && i.user == request.userInfo.username) || (has(i.group) && has(request.userInfo.groups) && i.group in request.userInfo.groups) || (has(i.serviceAccount) && 'system:serviceaccount:' + i.serviceAccount.namespace + ':' + i.serviceAccount.name == request.userInfo.username))`,
      },
      {
        name: "name",
        expression: "request.operation == 'DELETE' ? oldObject.metadata.name : object.metadata.name",
      },
      {
        name: "key",
        expression: "request.kind.kind + '/' + request.namespace + '/' + variables.name",
      },
      {
        name: "exempt",
        expression:
          "has(params.status) && has(params.status.perimeter) && has(params.status.perimeter.active) && variables.key in params.status.perimeter.active",
      },
      {
        // Finalizers, status and annotations are left to the controllers that keep them.
        name: "changes",
        expression:
          "request.operation != 'UPDATE' || (has(object.spec) != has(oldObject.spec)) || (has(object.spec) && object.spec != oldObject.spec) || (has(object.metadata.labels) ? object.metadata.labels : {}) != (has(oldObject.metadata.labels) ? oldObject.metadata.labels : {})",
      },
      { name: "advice", expression: advice },
    ],
    validations: [
      {
        expression: "!variables.governs || !variables.changes || variables.platform || variables.exempt",
        reason: "Forbidden",
        messageExpression: `'MeshwardPolicy ' + params.metadata.name + ' locks ' + request.kind.kind + ' objects in namespace ' + request.namespace + ' (meshward writes them from ServiceSecurityProfiles): ' + (request.kind.kind in variables.advice ? variables.advice[request.kind.kind] : 'declare it in your ServiceSecurityProfile') + '; for an exception ask the platform team for an exemption {namespace: ' + request.namespace + ', kind: ' + request.kind.kind + ', name: ' + variables.name + '} in spec.perimeter.exemptions'`,
      },
    ],
  });
}

/** One binding per mode, every MeshwardPolicy a parameter, the system namespaces left out. */
export function perimeterBinding(mode: AdmissionMode, opts: PerimeterOptions): ClusterObject {
  return binding(perimeterPolicyName(mode), {
    validationActions: [mode],
    paramRef: { selector: {}, parameterNotFoundAction: "Allow" },
    matchResources: {
      namespaceSelector: {
        matchExpressions: [{ key: NAME_LABEL, operator: "NotIn", values: systemNamespaces(opts) }],
      },
    },
  });
}

/** Only meshward sets or removes its managed-by label on the kinds it caches. */
export function labelPolicy(opts: PerimeterOptions): ClusterObject {
  return vap(LABEL_POLICY, {
    failurePolicy: "Fail",
    matchConstraints: { resourceRules: rules(OWN_KINDS, ["CREATE", "UPDATE"]) },
    matchConditions: [
      {
        name: "not-meshward",
        expression: `request.userInfo.username != '${operatorUsername(opts.operator)}'`,
      },
    ],
    variables: [
      { name: "ours", expression: IS_OURS("object") },
      {
        name: "wasOurs",
        expression: `request.operation == 'UPDATE' && ${IS_OURS("oldObject")}`,
      },
    ],
    validations: [
      {
        expression: "variables.ours == variables.wasOurs",
        reason: "Forbidden",
        messageExpression: `(variables.ours ? 'the label ${MANAGED_BY_LABEL}: ${MANAGED_BY} marks objects meshward created; only meshward sets it: remove it from ' : 'only meshward removes the label ${MANAGED_BY_LABEL}: ${MANAGED_BY}; keep it on ') + request.kind.kind + ' ' + request.namespace + '/' + object.metadata.name + ' (declare what you need in a ServiceSecurityProfile)'`,
      },
    ],
  });
}

/** No profile in the system or mesh root namespaces. */
export function placementPolicy(opts: PerimeterOptions): ClusterObject {
  const root = celString(opts.meshRootNamespace);
  return vap(PLACEMENT_POLICY, {
    failurePolicy: "Fail",
    matchConstraints: {
      resourceRules: [
        {
          apiGroups: [GROUP],
          apiVersions: ["*"],
          operations: ["CREATE", "UPDATE"],
          resources: [PLURAL],
        },
      ],
    },
    validations: [
      {
        expression: `!(request.namespace in ${celList(systemNamespaces(opts))})`,
        reason: "Forbidden",
        messageExpression: `'${KIND}s are not accepted in namespace ' + request.namespace + (request.namespace == ${root} ? ' (Istio\\'s root namespace: an ALLOW policy there applies to the whole mesh, a default deny there cuts sidecars off istiod)' : ' (a system namespace)') + ': put the profile in its service\\'s own namespace'`,
      },
    ],
  });
}

/** meshward's ServiceAccount writes only its own objects, outside the system namespaces. */
export function fencePolicy(opts: PerimeterOptions): ClusterObject {
  const root = celString(opts.meshRootNamespace);
  return vap(FENCE_POLICY, {
    failurePolicy: "Fail",
    matchConstraints: { resourceRules: rules(OWN_KINDS, ["CREATE", "UPDATE", "DELETE"]) },
    matchConditions: [
      { name: "meshward", expression: `request.userInfo.username == '${operatorUsername(opts.operator)}'` },
    ],
    variables: [
      { name: "subject", expression: "request.operation == 'DELETE' ? oldObject : object" },
      {
        name: "ours",
        expression: `${IS_OURS("variables.subject")} && (request.operation != 'UPDATE' || (${IS_OURS("oldObject")}))`,
      },
      {
        name: "quarantine",
        expression: `request.namespace == ${root} && request.kind.kind == 'AuthorizationPolicy' && variables.subject.metadata.name in ['${QUARANTINE_NAME}', '${QUARANTINE_WAYPOINTS_NAME}']`,
      },
    ],
    validations: [
      {
        expression: "variables.ours",
        reason: "Forbidden",
        messageExpression: `'meshward writes only objects labelled ${MANAGED_BY_LABEL}: ${MANAGED_BY}; ' + request.kind.kind + ' ' + request.namespace + '/' + variables.subject.metadata.name + ' is not one of them'`,
      },
      {
        expression: `variables.quarantine || !(request.namespace in ${celList(systemNamespaces(opts))})`,
        reason: "Forbidden",
        messageExpression:
          "'meshward writes nothing in the system namespace ' + request.namespace + ' (only its quarantine AuthorizationPolicies in the mesh root)'",
      },
    ],
  });
}

function plainBinding(name: string, mode: AdmissionMode): ClusterObject {
  return binding(name, { validationActions: [mode] });
}

/** Everything the perimeter needs, policies and bindings, in apply order. */
export function buildPerimeter(opts: PerimeterOptions): ClusterObject[] {
  const mode = opts.mode ?? "Deny";
  return [
    ...ADMISSION_MODES.map((m) => perimeterPolicy(m, opts)),
    labelPolicy(opts),
    placementPolicy(opts),
    fencePolicy(opts),
    ...ADMISSION_MODES.map((m) => perimeterBinding(m, opts)),
    plainBinding(LABEL_POLICY, mode),
    plainBinding(PLACEMENT_POLICY, mode),
    plainBinding(FENCE_POLICY, mode),
  ];
}
