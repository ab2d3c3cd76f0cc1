// Workload baselines at admission, with no webhook: Kubernetes ValidatingAdmissionPolicies (native
// CEL, admissionregistration.k8s.io/v1) and their bindings. Pure builders.
//
// Both policies take the namespace's ServiceSecurityProfiles as parameters: the binding's paramRef
// selects every profile of the request's namespace (paramRef.namespace unset = the request's), so
// - a namespace without profiles has no parameter, and parameterNotFoundAction: Allow lets its
//   workloads through: the baselines apply exactly where profiles exist;
// - the API server evaluates the policy once per profile, so "pods that this profile selects run as
//   this profile's ServiceAccount" is checked against each profile in turn.
// The container baseline does not read the parameter; its message is the same for every profile
// (the API server de-duplicates identical warnings).
import type { AdmissionMode, MeshwardPolicy } from "../api/policy.ts";
import { API_VERSION, KIND } from "../api/schema.ts";
import { byString, MANAGED_BY, MANAGED_BY_LABEL } from "../builders/meta.ts";

/** A cluster-scoped object we generate (no namespace). */
export interface ClusterObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels: Record<string, string> };
  spec: Record<string, unknown>;
}

export const SERVICE_ACCOUNT_POLICY = "meshward-profile-serviceaccount";
export const BASELINE_POLICY = "meshward-workload-baseline";
const API = "admissionregistration.k8s.io/v1";
const LABELS = { [MANAGED_BY_LABEL]: MANAGED_BY };

/** Pods, and every workload kind with a pod template. */
const MATCH = {
  resourceRules: [
    { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["pods"] },
    {
      apiGroups: ["apps"],
      apiVersions: ["v1"],
      operations: ["CREATE", "UPDATE"],
      resources: ["deployments", "statefulsets", "daemonsets", "replicasets"],
    },
    {
      apiGroups: ["batch"],
      apiVersions: ["v1"],
      operations: ["CREATE", "UPDATE"],
      resources: ["jobs", "cronjobs"],
    },
  ],
};

/** The pod template wherever it is: a Pod itself, a CronJob's job template, or spec.template. */
const POD_VARIABLES = [
  {
    name: "template",
    expression:
      "object.kind == 'Pod' ? object : (object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template : object.spec.template)",
  },
  { name: "podSpec", expression: "variables.template.spec" },
  {
    name: "where",
    expression:
      "object.kind == 'Pod' ? 'spec' : (object.kind == 'CronJob' ? 'spec.jobTemplate.spec.template.spec' : 'spec.template.spec')",
  },
];

function policy(name: string, variables: object[], validations: object[]): ClusterObject {
  return {
    apiVersion: API,
    kind: "ValidatingAdmissionPolicy",
    metadata: { name, labels: LABELS },
    spec: {
      failurePolicy: "Fail",
      paramKind: { apiVersion: API_VERSION, kind: KIND },
      matchConstraints: MATCH,
      variables,
      validations,
    },
  };
}

/** (a) Pods a profile selects run as that profile's ServiceAccount. */
export function serviceAccountPolicy(): ClusterObject {
  return policy(
    SERVICE_ACCOUNT_POLICY,
    [
      ...POD_VARIABLES,
      {
        name: "labels",
        expression:
          "has(variables.template.metadata) && has(variables.template.metadata.labels) ? variables.template.metadata.labels : {}",
      },
      {
        name: "selected",
        expression:
          "params.spec.selector.all(k, k in variables.labels && variables.labels[k] == params.spec.selector[k])",
      },
      {
        name: "wanted",
        expression:
          "has(params.spec.serviceAccount) && has(params.spec.serviceAccount.name) ? params.spec.serviceAccount.name : params.metadata.name",
      },
      {
        name: "actual",
        expression:
          "has(variables.podSpec.serviceAccountName) && variables.podSpec.serviceAccountName != '' ? variables.podSpec.serviceAccountName : (has(variables.podSpec.serviceAccount) && variables.podSpec.serviceAccount != '' ? variables.podSpec.serviceAccount : 'default')",
      },
    ],
    [
      {
        expression: "!variables.selected || variables.actual == variables.wanted",
        reason: "Forbidden",
        messageExpression:
          "'pods labelled for ServiceSecurityProfile ' + params.metadata.name + ' (its spec.selector) must run as its ServiceAccount ' + variables.wanted + ', not ' + variables.actual + ' (callers allow only that identity): set ' + variables.where + '.serviceAccountName: ' + variables.wanted + ', or change the pod labels'",
      },
    ],
  );
}

/** A check on every container: offenders by name, and what to set. */
function containerCheck(name: string, offends: string, advice: string) {
  return {
    variable: { name, expression: `variables.containers.filter(c, ${offends}).map(c, c.name)` },
    validation: {
      expression: `variables.${name}.size() == 0`,
      reason: "Forbidden",
      messageExpression: `'container(s) ' + variables.${name}.join(', ') + ' ${advice} (in ' + variables.where + '.containers[] and initContainers[])'`,
    },
  };
}

const SC = "has(c.securityContext)";
const CHECKS = [
  containerCheck(
    "privileged",
    `${SC} && has(c.securityContext.privileged) && c.securityContext.privileged`,
    "run privileged: remove securityContext.privileged or set it to false",
  ),
  containerCheck(
    "escalating",
    `!(${SC} && has(c.securityContext.allowPrivilegeEscalation) && c.securityContext.allowPrivilegeEscalation == false)`,
    "may escalate privileges: set securityContext.allowPrivilegeEscalation: false",
  ),
  containerCheck(
    "root",
    `!((${SC} && has(c.securityContext.runAsNonRoot)) ? c.securityContext.runAsNonRoot : variables.podNonRoot) || ((${SC} && has(c.securityContext.runAsUser)) ? c.securityContext.runAsUser == 0 : variables.podRootUser)`,
    "may run as root: set securityContext.runAsNonRoot: true (and a runAsUser other than 0)",
  ),
  containerCheck(
    "capabilities",
    `!(${SC} && has(c.securityContext.capabilities) && has(c.securityContext.capabilities.drop) && c.securityContext.capabilities.drop.exists(d, d == 'ALL'))`,
    "keep Linux capabilities: set securityContext.capabilities.drop: [ALL]",
  ),
];

/** (b) The container baseline: non-root, no escalation, not privileged, no host namespaces, drop ALL. */
export function baselinePolicy(): ClusterObject {
  const hostField = (f: string) => `(has(variables.podSpec.${f}) && variables.podSpec.${f})`;
  return policy(
    BASELINE_POLICY,
    [
      ...POD_VARIABLES,
      {
        name: "containers",
        expression:
          "variables.podSpec.containers + (has(variables.podSpec.initContainers) ? variables.podSpec.initContainers : [])",
      },
      {
        name: "podNonRoot",
        expression:
          "has(variables.podSpec.securityContext) && has(variables.podSpec.securityContext.runAsNonRoot) && variables.podSpec.securityContext.runAsNonRoot",
      },
      {
        name: "podRootUser",
        expression:
          "has(variables.podSpec.securityContext) && has(variables.podSpec.securityContext.runAsUser) && variables.podSpec.securityContext.runAsUser == 0",
      },
      ...CHECKS.map((c) => c.variable),
    ],
    [
      {
        expression: `!${hostField("hostNetwork")} && !${hostField("hostPID")} && !${hostField("hostIPC")}`,
        reason: "Forbidden",
        messageExpression:
          "'the pod shares a host namespace: remove ' + variables.where + '.hostNetwork, hostPID and hostIPC (or set them to false)'",
      },
      ...CHECKS.map((c) => c.validation),
    ],
  );
}

export interface BindingOptions {
  mode: AdmissionMode;
  /** Namespaces the binding applies to (matchLabels); empty: every namespace that holds profiles. */
  namespaceSelector?: Readonly<Record<string, string>>;
  /** Suffix of the binding names, e.g. the MeshwardPolicy's name. */
  suffix?: string;
}

export function bindings(opts: BindingOptions): ClusterObject[] {
  return [SERVICE_ACCOUNT_POLICY, BASELINE_POLICY].map((policyName) => ({
    apiVersion: API,
    kind: "ValidatingAdmissionPolicyBinding",
    metadata: { name: opts.suffix ? `${policyName}-${opts.suffix}` : policyName, labels: LABELS },
    spec: {
      policyName,
      validationActions: [opts.mode],
      paramRef: { selector: {}, parameterNotFoundAction: "Allow" },
      ...(opts.namespaceSelector &&
        Object.keys(opts.namespaceSelector).length > 0 && {
          matchResources: { namespaceSelector: { matchLabels: { ...opts.namespaceSelector } } },
        }),
    },
  }));
}

/** The two policies with one pair of bindings (what the chart installs; `meshward admission`). */
export function buildAdmission(opts: BindingOptions): ClusterObject[] {
  return [serviceAccountPolicy(), baselinePolicy(), ...bindings(opts)];
}

/**
 * The bindings the MeshwardPolicies ask for: per MeshwardPolicy with `admission`, a pair limited to
 * its namespaceSelector (the two policies themselves come from the chart or `meshward admission`).
 * Where several select a namespace, each binding is evaluated, so the strictest mode wins (Deny over
 * Warn over Audit).
 */
export function buildAdmissionForPolicies(policies: readonly MeshwardPolicy[]): ClusterObject[] {
  return [...policies]
    .filter((p) => p.spec.admission !== undefined)
    .sort((a, b) => byString(a.metadata.name, b.metadata.name))
    .flatMap((p) =>
      bindings({
        mode: p.spec.admission?.mode ?? "Deny",
        namespaceSelector: p.spec.namespaceSelector ?? {},
        suffix: p.metadata.name,
      }),
    );
}
