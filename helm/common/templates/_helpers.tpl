{{/* The resource name: fullnameOverride, else the chart's name (one release per namespace). */}}
{{- define "common.fullname" -}}
{{- default .Chart.Name .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "common.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "common.labels" -}}
{{ include "common.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: mockvideo
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/*
The image: `<registry>/<name>` when global.imageRegistry is set (prod), else image.repository
(`local/mockvideo/<name>`); tag = image.tag, else global.imageTag (deploy sets it), else appVersion, then `-<arch>` with arch =
global.imageArch if set (empty: a multi-arch manifest), else image.arch (the naming of xtask's
images::image_ref).
*/}}
{{- define "common.image" -}}
{{- $global := .Values.global | default dict -}}
{{- $repository := .Values.image.repository -}}
{{- if $global.imageRegistry -}}
{{- $repository = printf "%s/%s" $global.imageRegistry .Chart.Name -}}
{{- end -}}
{{- $tag := .Values.image.tag | default $global.imageTag | default .Chart.AppVersion -}}
{{- $arch := .Values.image.arch -}}
{{- if hasKey $global "imageArch" -}}
{{- $arch = $global.imageArch -}}
{{- end -}}
{{- if $arch -}}
{{- printf "%s:%s-%s" $repository $tag $arch -}}
{{- else -}}
{{- printf "%s:%s" $repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "common.secretName" -}}
{{- .Values.existingSecret | default (printf "%s-secrets" (include "common.fullname" .)) -}}
{{- end -}}

{{/* An HTTP probe: `probe` (path, port, timings) and `host` (global.probeHost; empty: the pod IP). */}}
{{- define "common.probe" -}}
httpGet:
  {{- with .host }}
  host: {{ . | quote }}
  {{- end }}
  path: {{ .probe.path }}
  port: {{ .probe.port }}
periodSeconds: {{ .probe.periodSeconds | default 10 }}
timeoutSeconds: {{ .probe.timeoutSeconds | default 2 }}
failureThreshold: {{ .probe.failureThreshold | default 3 }}
{{- end -}}
