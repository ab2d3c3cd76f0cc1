{{/* Name of the objects of this release: the release name, with "-meshward" unless it has it. */}}
{{- define "meshward.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "meshward.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "meshward.labels" -}}
{{ include "meshward.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: meshward
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
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
