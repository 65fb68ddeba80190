{{/* policy/v1 where the cluster has it (1.21+), else policy/v1beta1 (1.20). */}}
{{- define "common.pdb" -}}
{{- if .Values.podDisruptionBudget.enabled }}
{{- if .Capabilities.APIVersions.Has "policy/v1" }}
apiVersion: policy/v1
{{- else }}
apiVersion: policy/v1beta1
{{- end }}
kind: PodDisruptionBudget
metadata:
  name: {{ include "common.fullname" . }}
  labels:
    {{- include "common.labels" . | nindent 4 }}
spec:
  maxUnavailable: {{ .Values.podDisruptionBudget.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "common.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end -}}

{{/* autoscaling/v2 where the cluster has it (1.23+), else autoscaling/v2beta2 (1.20). */}}
{{- define "common.hpa" -}}
{{- if .Values.autoscaling.enabled }}
{{- if .Capabilities.APIVersions.Has "autoscaling/v2" }}
apiVersion: autoscaling/v2
{{- else }}
apiVersion: autoscaling/v2beta2
{{- end }}
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "common.fullname" . }}
  labels:
    {{- include "common.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "common.fullname" . }}
  minReplicas: {{ .Values.autoscaling.minReplicas }}
  maxReplicas: {{ .Values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .Values.autoscaling.targetCPUUtilizationPercentage }}
{{- end }}
{{- end -}}

{{- define "common.notes" -}}
{{ .Chart.Name }} {{ .Chart.AppVersion }} is deployed as {{ include "common.fullname" . }} (image {{ include "common.image" . }}).
{{- if .Values.probes.liveness }}

Check it:
  kubectl -n {{ .Release.Namespace }} rollout status deployment/{{ include "common.fullname" . }}
  kubectl -n {{ .Release.Namespace }} port-forward deployment/{{ include "common.fullname" . }} 127.0.0.1:{{ (index .Values.ports 0).port }}:{{ (index .Values.ports 0).port }}
  curl http://127.0.0.1:{{ (index .Values.ports 0).port }}{{ .Values.probes.liveness.path }}
{{- else }}

It is a load tool without a server: kubectl -n {{ .Release.Namespace }} logs deployment/{{ include "common.fullname" . }}
{{- end }}
{{- end -}}
