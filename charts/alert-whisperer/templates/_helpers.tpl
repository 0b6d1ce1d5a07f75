{{/*
Names, labels and shared snippets. Every helper is namespaced "alert-whisperer.".
*/}}

{{/* The chart's name (app.kubernetes.io/name). */}}
{{- define "alert-whisperer.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every object's name: the release name, or release-chart when the release
name does not contain the chart's name. The default release `alert-whisperer` gives
`alert-whisperer-operator`, `alert-whisperer-webhook`, ...
*/}}
{{- define "alert-whisperer.fullname" -}}
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

{{/* name-version, for the helm.sh/chart label. */}}
{{- define "alert-whisperer.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The platform namespace. The operator and the shim look for credentials, the runbook
library and platform-wide silences in `alert-whisperer` (operator/services/tenancy.py), so
the chart refuses any other release namespace instead of installing something that cannot
work.
*/}}
{{- define "alert-whisperer.namespace" -}}
{{- if ne .Release.Namespace "alert-whisperer" }}
{{- fail (printf "install into the platform namespace alert-whisperer (helm install ... -n alert-whisperer --create-namespace), not %q: the operator and the webhook look for credentials there" .Release.Namespace) }}
{{- end }}
{{- .Release.Namespace }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "alert-whisperer.labels" -}}
helm.sh/chart: {{ include "alert-whisperer.chart" . }}
{{ include "alert-whisperer.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: alert-whisperer
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels (never change across upgrades). */}}
{{- define "alert-whisperer.selectorLabels" -}}
app.kubernetes.io/name: {{ include "alert-whisperer.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of one component: (dict "ctx" $ "component" "operator"). */}}
{{- define "alert-whisperer.componentLabels" -}}
{{ include "alert-whisperer.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Selector labels of one component: (dict "ctx" $ "component" "webhook"). */}}
{{- define "alert-whisperer.componentSelectorLabels" -}}
{{ include "alert-whisperer.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
metadata.annotations (commonAnnotations and extra ones), or nothing: (dict "ctx" $ "extra" map).
Call it as {{- include ... }} at the end of metadata; it brings its own newline and indent.
*/}}
{{- define "alert-whisperer.annotations" -}}
{{- $all := merge (deepCopy (default dict .extra)) (deepCopy .ctx.Values.commonAnnotations) }}
{{- with $all }}
{{- printf "\n  annotations:\n%s" (toYaml . | indent 4) }}
{{- end }}
{{- end }}

{{/* Object names of the two components. */}}
{{- define "alert-whisperer.operator.fullname" -}}
{{- printf "%s-operator" (include "alert-whisperer.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- define "alert-whisperer.webhook.fullname" -}}
{{- printf "%s-webhook" (include "alert-whisperer.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The ServiceAccount each component runs as. */}}
{{- define "alert-whisperer.operator.serviceAccountName" -}}
{{- if .Values.operator.serviceAccount.create }}
{{- default (include "alert-whisperer.operator.fullname" .) .Values.operator.serviceAccount.name }}
{{- else }}
{{- required "operator.serviceAccount.name is required when operator.serviceAccount.create is false" .Values.operator.serviceAccount.name }}
{{- end }}
{{- end }}
{{- define "alert-whisperer.webhook.serviceAccountName" -}}
{{- if .Values.webhook.serviceAccount.create }}
{{- default (include "alert-whisperer.webhook.fullname" .) .Values.webhook.serviceAccount.name }}
{{- else }}
{{- required "webhook.serviceAccount.name is required when webhook.serviceAccount.create is false" .Values.webhook.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Lease the operator replicas elect their leader with. */}}
{{- define "alert-whisperer.operator.leaseName" -}}
{{- default (include "alert-whisperer.operator.fullname" .) .Values.operator.leaderElection.leaseName }}
{{- end }}

{{/* The image reference: repository@digest, or repository:tag (the chart's appVersion by default). */}}
{{- define "alert-whisperer.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The URL monitoring tools post to, written into every Company's status.webhookUrl:
operator.webhookUrl, else the first Ingress host, else the Service's in-cluster address.
*/}}
{{- define "alert-whisperer.webhookUrl" -}}
{{- if .Values.operator.webhookUrl }}
{{- .Values.operator.webhookUrl }}
{{- else if and .Values.webhook.ingress.enabled .Values.webhook.ingress.hosts }}
{{- $host := (first .Values.webhook.ingress.hosts).host }}
{{- printf "%s://%s" (ternary "https" "http" (gt (len .Values.webhook.ingress.tls) 0)) $host }}
{{- else }}
{{- printf "http://%s.%s.svc:%v" (include "alert-whisperer.webhook.fullname" .) (include "alert-whisperer.namespace" .) .Values.webhook.service.port }}
{{- end }}
{{- end }}

{{/* The subjects the human role bindings name for MSP admins. */}}
{{- define "alert-whisperer.mspAdminSubjects" -}}
{{- range .Values.rbac.humanRoles.mspAdminGroups }}
- kind: Group
  apiGroup: rbac.authorization.k8s.io
  name: {{ . | quote }}
{{- end }}
{{- end }}
