{{/*
The service's NetworkPolicy: default deny in both directions for its pods, then
  ingress  its ports from the pods named in networkPolicy.allowFrom (same namespace); its
           ingress port from the ingress controller (global.networkPolicy.ingressController)
           when ingress.enabled; every port from anywhere when networkPolicy.public; the metrics
           port from Prometheus (global.networkPolicy.prometheus);
  egress   DNS (global.networkPolicy.dns); the named ports of the services in
           networkPolicy.egressTo; networkPolicy.extraEgress as given.
The stores (MySQL, Redis, MongoDB) are allowed by the umbrella chart, which knows where they are.
Pods on the node's network (global.hostNetwork) are not subject to NetworkPolicy at all.
*/}}
{{- define "common.networkpolicy" -}}
{{- $global := .Values.global | default dict -}}
{{- $np := $global.networkPolicy | default dict -}}
{{- $own := .Values.networkPolicy | default dict -}}
{{- if and (ne $np.enabled false) (ne $own.enabled false) }}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "common.fullname" . }}
  labels:
    {{- include "common.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "common.selectorLabels" . | nindent 6 }}
  policyTypes: [Ingress, Egress]
  ingress:
    {{- if .Values.ports }}
    {{- if $own.public }}
    - ports:
        {{- range .Values.ports }}
        - port: {{ .name }}
          protocol: TCP
        {{- end }}
    {{- else }}
    {{- with $own.allowFrom }}
    - from:
        {{- range . }}
        - podSelector:
            matchLabels:
              app.kubernetes.io/name: {{ . }}
        {{- end }}
      ports:
        {{- range $.Values.ports }}
        - port: {{ .name }}
          protocol: TCP
        {{- end }}
    {{- end }}
    {{- if .Values.ingress.enabled }}
    - from:
        - {{- toYaml ($np.ingressController | default (dict "namespaceSelector" (dict "matchLabels" (dict "kubernetes.io/metadata.name" "ingress-nginx")))) | nindent 10 }}
      ports:
        - port: {{ .Values.ingress.port }}
          protocol: TCP
    {{- end }}
    {{- end }}
    {{- end }}
    {{- if .Values.metrics.port }}
    - from:
        - {{- toYaml ($np.prometheus | default (dict "namespaceSelector" (dict "matchLabels" (dict "kubernetes.io/metadata.name" "monitoring")))) | nindent 10 }}
      ports:
        - port: {{ .Values.metrics.port }}
          protocol: TCP
    {{- end }}
  egress:
    - to:
        - {{- toYaml ($np.dns | default (dict "namespaceSelector" (dict) "podSelector" (dict "matchLabels" (dict "k8s-app" "kube-dns")))) | nindent 10 }}
      ports:
        - port: 53
          protocol: UDP
        - port: 53
          protocol: TCP
    {{- range $own.egressTo }}
    - to:
        - podSelector:
            matchLabels:
              app.kubernetes.io/name: {{ .name }}
      ports:
        - port: {{ .port }}
          protocol: TCP
    {{- end }}
    {{- with $own.extraEgress }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}
{{- end -}}
