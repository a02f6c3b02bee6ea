{{/* Chart name, overridable. */}}
{{- define "warren.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Prefix of object names: the release name, plus the chart name when the release name does not contain it. */}}
{{- define "warren.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels that select the operator pods; never change them between releases (Deployment selectors are immutable). */}}
{{- define "warren.selectorLabels" -}}
app.kubernetes.io/name: {{ include "warren.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels on every object of the chart. */}}
{{- define "warren.labels" -}}
{{ include "warren.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: warren
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{- define "warren.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "warren.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name must name an existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "warren.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The operator's settings (src/settings.ts reads each field from its environment variable) from the chart values. */}}
{{/* Values reused from a release older than the setting lack it: the operator's default. */}}
{{- define "warren.gracefulShutdownTimeoutSeconds" -}}
{{- if hasKey .Values "gracefulShutdownTimeoutSeconds" }}{{ int .Values.gracefulShutdownTimeoutSeconds }}{{ else }}30{{ end }}
{{- end }}

{{- define "warren.env" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: WATCH_NAMESPACES
  value: {{ join "," .Values.watchNamespaces | quote }}
- name: LEADER_ELECT
  value: {{ .Values.leaderElection.enabled | quote }}
- name: MAX_CONCURRENT_RECONCILES
  value: {{ .Values.maxConcurrentReconciles | quote }}
- name: RECONCILE_TIMEOUT
  value: {{ .Values.reconcileTimeout | quote }}
- name: MANAGEMENT_REQUEST_TIMEOUT
  value: {{ .Values.broker.requestTimeout | quote }}
- name: MANAGEMENT_EXPORT_TIMEOUT
  value: {{ .Values.broker.exportTimeout | quote }}
- name: MANAGEMENT_MAX_RESPONSE_SIZE
  value: {{ .Values.broker.maxResponseSize | quote }}
- name: MAX_RECONCILES_PER_BROKER
  value: {{ .Values.broker.maxReconciles | quote }}
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: GRACEFUL_SHUTDOWN_TIMEOUT
  value: {{ printf "%vs" (include "warren.gracefulShutdownTimeoutSeconds" .) | quote }}
- name: METRICS_BIND_ADDRESS
  value: {{ printf ":%v" .Values.metrics.port | quote }}
- name: HEALTH_PROBE_BIND_ADDRESS
  value: {{ printf ":%v" .Values.probes.port | quote }}
{{- end }}

{{- /* The user name of the operator's requests, as the API server sees its ServiceAccount. */}}
{{- define "warren.operatorUsername" -}}
{{- printf "system:serviceaccount:%s:%s" .Release.Namespace (include "warren.serviceAccountName" .) }}
{{- end }}
