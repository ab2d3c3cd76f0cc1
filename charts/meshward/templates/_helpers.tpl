{{/* The chart's name: nameOverride, or "meshward". */}}
{{- define "meshward.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Name of the objects of this release: fullnameOverride; otherwise the release name, with
"-<name>" unless it contains the name already.
*/}}
{{- define "meshward.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "meshward.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "meshward.selectorLabels" -}}
app.kubernetes.io/name: {{ include "meshward.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
commonLabels as YAML (nothing when empty): every object of the chart carries them, the CRDs and
the pods included. The labels the chart sets itself are refused.
*/}}
{{- define "meshward.commonLabels" -}}
{{- $own := list "app.kubernetes.io/name" "app.kubernetes.io/instance" "app.kubernetes.io/version" "app.kubernetes.io/component" "app.kubernetes.io/part-of" "app.kubernetes.io/managed-by" "helm.sh/chart" -}}
{{- range $k, $v := .Values.commonLabels }}
{{- if has $k $own }}
{{- fail (printf "commonLabels.%s: the chart sets this label itself (nameOverride changes app.kubernetes.io/name); use another key" $k) }}
{{- end }}
{{- end }}
{{- with .Values.commonLabels }}
{{- toYaml . }}
{{- end -}}
{{- end -}}

{{- define "meshward.labels" -}}
{{ include "meshward.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: meshward
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- with include "meshward.commonLabels" . }}
{{ . }}
{{- end }}
{{- end -}}

{{/* The Lease the replicas elect a leader with; one per release, in the release namespace. */}}
{{- define "meshward.leaseName" -}}
{{- printf "%s-leader" (include "meshward.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* repository:tag, repository@digest (digest alone), or repository:tag@digest. */}}
{{- define "meshward.image" -}}
{{- $i := .Values.image -}}
{{- if and $i.digest $i.tag -}}
{{- printf "%s:%s@%s" $i.repository $i.tag $i.digest -}}
{{- else if $i.digest -}}
{{- printf "%s@%s" $i.repository $i.digest -}}
{{- else -}}
{{- printf "%s:%s" $i.repository ($i.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/* The job label the ServiceMonitor/PodMonitor give the scraped series, and the alerts select. */}}
{{- define "meshward.job" -}}
{{- printf "%s/%s" .Release.Namespace (include "meshward.fullname" .) -}}
{{- end -}}

{{/* PromQL label matchers of every alert. */}}
{{- define "meshward.alertSelector" -}}
{{- .Values.prometheusRule.selector | default (printf "job=%q" (include "meshward.job" .)) -}}
{{- end -}}

{{/*
Scrape settings both monitors share: the profile series keep their own namespace label. Secure
metrics: HTTPS with a bearer token (Prometheus's own ServiceAccount token, or a Secret's), and the
certificate verified against metrics.scrape.ca when given. `kind`: ServiceMonitor or PodMonitor.
*/}}
{{- define "meshward.scrapeEndpoint" -}}
{{- $m := .root.Values.metrics -}}
path: /metrics
interval: {{ .interval }}
honorLabels: true
relabelings:
  - targetLabel: job
    replacement: {{ include "meshward.job" .root | quote }}
{{- if $m.secure }}
scheme: https
{{- if $m.scrape.tokenSecret }}
authorization:
  type: Bearer
  credentials:
    name: {{ $m.scrape.tokenSecret.name | quote }}
    key: {{ $m.scrape.tokenSecret.key | quote }}
{{- else if eq .kind "ServiceMonitor" }}
bearerTokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token
{{- else }}
{{- fail "podMonitor with metrics.secure: a PodMonitor cannot send Prometheus's own token; set metrics.scrape.tokenSecret (a Secret with a token of a ServiceAccount bound to the metrics-reader role), or use the serviceMonitor" }}
{{- end }}
tlsConfig:
  {{- if $m.scrape.ca }}
  ca:
    {{- toYaml $m.scrape.ca | nindent 4 }}
  serverName: {{ $m.scrape.serverName | default (printf "%s-metrics.%s.svc" (include "meshward.fullname" .root) .root.Release.Namespace) | quote }}
  {{- else }}
  insecureSkipVerify: true
  {{- end }}
{{- end }}
{{- end -}}

{{/* The namespaces no tenant lives in, as JSON: the listed ones, the release's and Istio's root. */}}
{{- define "meshward.systemNamespaces" -}}
{{- concat .Values.perimeter.systemNamespaces (list .Release.Namespace .Values.perimeter.meshRootNamespace) | uniq | sortAlpha | toJson -}}
{{- end -}}

{{/* Modes after the one switch to full enforcement (values.enforce). */}}
{{- define "meshward.guardrailMode" -}}
{{- if .Values.enforce }}Enforce{{ else }}{{ .Values.defaultPolicy.mode }}{{ end -}}
{{- end -}}
{{- define "meshward.admissionMode" -}}
{{- if .Values.enforce }}Deny{{ else }}{{ .Values.admission.mode }}{{ end -}}
{{- end -}}
{{- define "meshward.perimeterMode" -}}
{{- if .Values.enforce }}Deny{{ else }}{{ .Values.perimeter.mode }}{{ end -}}
{{- end -}}

{{/* The default policy's spec, from the values (default-policy.yaml). */}}
{{- define "meshward.defaultPolicySpec" -}}
guardrails:
  {{- with .Values.defaultPolicy.secretStores }}
  secrets:
    mode: {{ include "meshward.guardrailMode" $ | quote }}
    stores:
      {{- range . }}
      - kind: {{ .kind | default "ClusterSecretStore" | quote }}
        name: {{ .name | quote }}
        keys: ["{namespace}/*"]
      {{- end }}
  {{- end }}
  egressCidrs:
    mode: Enforce
    # Link-local (cloud metadata at 169.254.169.254, fd00:ec2::254) and Alibaba's metadata address.
    denied: ["169.254.0.0/16", "100.100.100.200/32", "fe80::/10", "fd00:ec2::254/128"]
  exceptions:
    mode: {{ include "meshward.guardrailMode" . | quote }}
    maxDays: {{ .Values.maxExceptionDays }}
    requireApproval: true
{{- if .Values.perimeter.enabled }}
perimeter:
  mode: {{ include "meshward.perimeterMode" . | quote }}
  {{- with .Values.perimeter.platformIdentities }}
  platformIdentities:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end -}}

{{/*
The live default policy, as YAML, when this install or upgrade adopts it (default-policy.yaml):
an install that finds it in the cluster, or the upgrade right after the install whose hook made
it. Empty otherwise, and always with `helm template` (lookup answers nothing there).
*/}}
{{- define "meshward.defaultPolicyAdopting" -}}
{{- if .Capabilities.APIVersions.Has "meshward.io/v1alpha1/MeshwardPolicy" -}}
{{- $live := lookup "meshward.io/v1alpha1" "MeshwardPolicy" "" (printf "%s-default" (include "meshward.fullname" .)) -}}
{{- if $live -}}
{{- $made := dig "metadata" "annotations" "meshward.io/hook-revision" "" $live -}}
{{- if or .Release.IsInstall (and $made (eq (add (atoi $made) 1) (int .Release.Revision))) -}}
{{- toYaml $live -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
