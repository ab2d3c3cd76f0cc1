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
      "  validationActions:\n    - {{ .Values.admission.mode | quote }}\n",
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
