{{- define "common.configmap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "common.fullname" . }}-settings
  labels:
    {{- include "common.labels" . | nindent 4 }}
data:
  {{- range $key, $value := .Values.settings }}
  {{ $key }}: {{ $value | toString | quote }}
  {{- end }}
{{- end -}}

{{- define "common.secret" -}}
{{- if and (or .Values.secretsDir.path .Values.secretEnv) (not .Values.existingSecret) }}
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "common.secretName" . }}
  labels:
    {{- include "common.labels" . | nindent 4 }}
type: Opaque
stringData:
  {{- range $file, $value := .Values.secrets }}
  {{- if $value }}
  {{ $file }}: {{ $value | toString | quote }}
  {{- end }}
  {{- end }}
{{- end }}
{{- end -}}
