// The chart's admission template, derived from the pure builders in operator/policy/admission.ts
// (`npm run gen` writes it to charts/meshward/templates/admission-policies.yaml): the two
// ValidatingAdmissionPolicies verbatim, and one binding each whose mode and namespaces come from
// values. The bindings are rendered by the builder with sentinel values that are then replaced by
// Helm expressions, so the chart and `meshward admission` cannot drift apart.
import { stringify } from "yaml";
import {
  baselinePolicy,
  bindings,
  type ClusterObject,
  serviceAccountPolicy,
} from "../operator/policy/admission.ts";
import { buildPerimeter } from "../operator/perimeter/admission.ts";

const SENTINEL_KEY = "sentinel.meshward.io/namespace-selector";
const OUR_LABELS = "  labels:\n    app.kubernetes.io/managed-by: meshward\n";
const HELM_LABELS = '  labels:\n    {{- include "meshward.labels" . | nindent 4 }}\n';

function replaceOnce(text: string, from: string, to: string): string {
  if (!text.includes(from))
    throw new Error(`admission chart template: expected text not found: ${JSON.stringify(from)}`);
  return text.replace(from, () => to);
}

function doc(o: ClusterObject): string {
  return replaceOnce(stringify(o, { lineWidth: 0 }), OUR_LABELS, HELM_LABELS);
}

export function admissionChartTemplate(header: string): string {
  const bound = bindings({ mode: "Deny", namespaceSelector: { [SENTINEL_KEY]: "x" } }).map((b) => {
    let y = doc(b);
    y = replaceOnce(
      y,
      "  validationActions:\n    - Deny\n",
      '  validationActions:\n    - {{ include "meshward.admissionMode" . | quote }}\n',
    );
    y = replaceOnce(
      y,
      `  matchResources:\n    namespaceSelector:\n      matchLabels:\n        ${SENTINEL_KEY}: x\n`,
      "  {{- with .Values.admission.namespaceSelector }}\n  matchResources:\n    namespaceSelector:\n      matchLabels:\n        {{- toYaml . | nindent 8 }}\n  {{- end }}\n",
    );
    return y;
  });
  return [
    `# ${header} Source: operator/policy/admission.ts (scripts/admission-chart.ts)`,
    "# Workload baselines at admission (docs/platform.md): in every namespace that holds a",
    "# ServiceSecurityProfile, pods run as their profile's ServiceAccount and meet the container baseline.",
    "{{- if .Values.admission.enabled }}",
    [doc(serviceAccountPolicy()), doc(baselinePolicy()), ...bound].join("---\n").trimEnd(),
    "{{- end }}",
    "",
  ].join("\n");
}

const SENTINEL = {
  namespace: "sentinel-ns",
  name: "sentinel-sa",
  root: "sentinel-root",
  system: "sentinel-system",
};
const SYSTEM_CEL = `['${SENTINEL.namespace}', '${SENTINEL.root}', '${SENTINEL.system}']`;
const SYSTEM_YAML = (indent: string) =>
  [SENTINEL.namespace, SENTINEL.root, SENTINEL.system].map((n) => `${indent}- ${n}\n`).join("");

/** Every sentinel replaced by its Helm expression; a sentinel left over is an error. */
function perimeterDoc(o: ClusterObject): string {
  let y = doc(o);
  y = y.replaceAll(SYSTEM_CEL, "[{{ range $i, $n := $sys }}{{ if $i }}, {{ end }}'{{ $n }}'{{ end }}]");
  const listed = /^( +)values:\n/m.exec(y);
  if (listed) {
    const indent = `${listed[1] ?? ""}  `;
    y = replaceOnce(
      y,
      `values:\n${SYSTEM_YAML(indent)}`,
      `values:\n${indent}{{- toYaml $sys | nindent ${indent.length} }}\n`,
    );
  }
  y = y
    .replaceAll(`system:serviceaccount:${SENTINEL.namespace}:${SENTINEL.name}`, "{{ $operator }}")
    .replaceAll(SENTINEL.root, "{{ .Values.perimeter.meshRootNamespace }}");
  y = y.replace(/validationActions:\n {4}- Deny\n/, (m) =>
    o.metadata.name.startsWith("meshward-perimeter-")
      ? m
      : "validationActions:\n    - {{ .Values.perimeter.lockMode | quote }}\n",
  );
  if (y.includes("sentinel"))
    throw new Error(`perimeter chart template: a sentinel is left in ${o.metadata.name}`);
  return y;
}

export function perimeterChartTemplate(header: string): string {
  const objects = buildPerimeter({
    operator: { namespace: SENTINEL.namespace, name: SENTINEL.name },
    meshRootNamespace: SENTINEL.root,
    systemNamespaces: [SENTINEL.system],
    mode: "Deny",
  });
  return [
    `# ${header} Source: operator/perimeter/admission.ts (scripts/admission-chart.ts)`,
    "# The perimeter around meshward (docs/platform.md): tenants' writes of the locked kinds in the",
    "# namespaces a MeshwardPolicy with spec.perimeter governs, meshward's managed-by label, no profiles",
    "# in system namespaces, and meshward's own ServiceAccount fenced to the objects it made.",
    "{{- if .Values.perimeter.enabled }}",
    '{{- $sys := include "meshward.systemNamespaces" . | fromJsonArray }}',
    '{{- $operator := printf "system:serviceaccount:%s:%s" .Release.Namespace (include "meshward.fullname" .) }}',
    objects.map(perimeterDoc).join("---\n").trimEnd(),
    "{{- end }}",
    "",
  ].join("\n");
}
