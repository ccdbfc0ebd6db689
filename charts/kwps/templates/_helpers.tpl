{{/* The chart's name, for labels. */}}
{{- define "kwps.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The base of every object name: the release name, with the chart name appended unless the release
name already holds it. Kept to 40 characters so that the longest name, the Service
<fullname>-operator-metrics, fits in a DNS label (63).
*/}}
{{- define "kwps.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* The operator's Deployment, ClusterRole and bindings are named this. */}}
{{- define "kwps.operatorName" -}}
{{- include "kwps.fullname" . }}-operator
{{- end }}

{{/* Labels of every object of the release. */}}
{{- define "kwps.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "kwps.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kwps
{{- end }}

{{/* Labels that select the operator pods. */}}
{{- define "kwps.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kwps.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{/* Labels of the operator's own objects. */}}
{{- define "kwps.operatorLabels" -}}
{{ include "kwps.labels" . }}
app.kubernetes.io/component: operator
{{- end }}

{{/* The operator's ServiceAccount. */}}
{{- define "kwps.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- .Values.serviceAccount.name | default (include "kwps.operatorName" .) }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The kwps image: repository@digest, or repository:tag (the chart's appVersion by default). */}}
{{- define "kwps.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* The name of the operator's metrics port: http-metrics, or https-metrics with metrics.secure. */}}
{{- define "kwps.metricsPortName" -}}
{{- if .Values.metrics.secure }}https-metrics{{ else }}http-metrics{{ end }}
{{- end }}

{{/* The namespace of the leader election Lease. */}}
{{- define "kwps.leaderElectionNamespace" -}}
{{- .Values.leaderElection.namespace | default .Release.Namespace }}
{{- end }}
