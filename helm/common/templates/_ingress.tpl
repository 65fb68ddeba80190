{{/*
The Ingress: only the API paths of ingress.paths (never /metrics or the probes), TLS from the
Secret ingress.tls.secretName when set (the prod values set it for every host).
*/}}
{{- define "common.ingress" -}}
{{- if .Values.ingress.enabled }}
{{- range .Values.ingress.paths }}
{{- if has .path (list "/" "/metrics" "/livez" "/readyz" "/healthz" "/healthy") }}
{{- fail (printf "%s: ingress.paths must list API paths only, not %s (metrics and probes stay inside the cluster)" $.Chart.Name .path) }}
{{- end }}
{{- end }}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ include "common.fullname" . }}
  labels:
    {{- include "common.labels" . | nindent 4 }}
spec:
  {{- with .Values.ingress.className }}
  ingressClassName: {{ . }}
  {{- end }}
  {{- with .Values.ingress.tls.secretName }}
  tls:
    - secretName: {{ . }}
      {{- with $.Values.ingress.host }}
      hosts:
        - {{ . | quote }}
      {{- end }}
  {{- end }}
  rules:
    - {{- with .Values.ingress.host }}
      host: {{ . | quote }}
      {{- end }}
      http:
        paths:
          {{- range .Values.ingress.paths }}
          - path: {{ .path }}
            pathType: {{ .pathType | default "Prefix" }}
            backend:
              service:
                name: {{ include "common.fullname" $ }}
                port:
                  name: {{ $.Values.ingress.port }}
          {{- end }}
{{- end }}
{{- end -}}
