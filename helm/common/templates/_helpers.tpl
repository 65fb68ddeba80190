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

{{/*
The Secret whose key `jwt-secret` lands in the secrets directory of a chart with `auth.jwt`:
global.auth.existingSecret, else `mockvideo-jwt` (made by the umbrella) when global.auth.jwtSecret
is set; empty (no JWT file) otherwise or without a secrets directory.
*/}}
{{- define "common.jwtSecretName" -}}
{{- $auth := (.Values.global | default dict).auth | default dict -}}
{{- if and (.Values.auth | default dict).jwt .Values.secretsDir.path -}}
{{- if $auth.existingSecret -}}
{{- $auth.existingSecret -}}
{{- else if $auth.jwtSecret -}}
mockvideo-jwt
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Fails the rendering when global.auth.required (the prod values) is set and a chart with
`auth.jwt` would get no JWT secret: such a service runs with MOCKVIDEO_ENV=prod and refuses to
start without the secret file `jwt-secret`.
*/}}
{{- define "common.requireJwt" -}}
{{- $auth := (.Values.global | default dict).auth | default dict -}}
{{- if and $auth.required (.Values.auth | default dict).jwt -}}
{{- if not (or $auth.existingSecret $auth.jwtSecret) -}}
{{- fail (printf "no JWT secret configured for %s: set global.auth.existingSecret (a Secret with the key jwt-secret, e.g. --set global.auth.existingSecret=mockvideo-jwt) or global.auth.jwtSecret; global.auth.required is on (prod) and %s refuses to start with MOCKVIDEO_ENV=prod and no jwt-secret" .Chart.Name .Chart.Name) -}}
{{- end -}}
{{- if not .Values.secretsDir.path -}}
{{- fail (printf "%s: global.auth.required needs secretsDir.path: the JWT secret is the file jwt-secret in the secrets directory" .Chart.Name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
