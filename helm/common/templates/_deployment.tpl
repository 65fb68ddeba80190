{{- define "common.deployment" -}}
{{- $global := .Values.global | default dict -}}
{{- include "common.requireJwt" . -}}
{{- $jwt := include "common.jwtSecretName" . -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "common.fullname" . }}
  labels:
    {{- include "common.labels" . | nindent 4 }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ .Values.replicaCount }}
  {{- end }}
  {{- if $global.hostNetwork }}
  # Pods on the node's network hold their ports on the node: the old pod must be gone before
  # the new one binds.
  strategy:
    type: Recreate
  {{- end }}
  selector:
    matchLabels:
      {{- include "common.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "common.selectorLabels" . | nindent 8 }}
      annotations:
        checksum/config: {{ toJson .Values.settings | sha256sum }}
        checksum/secrets: {{ toJson .Values.secrets | sha256sum }}
        {{- with $global.auth }}
        checksum/auth: {{ toJson . | sha256sum }}
        {{- end }}
        {{- if .Values.metrics.port }}
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ .Values.metrics.port | quote }}
        prometheus.io/path: /metrics
        {{- end }}
    spec:
      automountServiceAccountToken: false
      # No docker-link variables: a Service named event-producer would set EVENT_PRODUCER_PORT
      # (tcp://…) in every pod of the namespace, which the services read as settings.
      enableServiceLinks: false
      {{- if $global.hostNetwork }}
      hostNetwork: true
      {{- end }}
      securityContext:
        runAsNonRoot: true
        runAsUser: {{ .Values.securityContext.runAsUser }}
        runAsGroup: {{ .Values.securityContext.runAsUser }}
        fsGroup: {{ .Values.securityContext.runAsUser }}
        seccompProfile:
          type: RuntimeDefault
      {{- with .Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ .Chart.Name }}
          image: {{ include "common.image" . | quote }}
          imagePullPolicy: {{ $global.imagePullPolicy | default .Values.image.pullPolicy }}
          {{- with .Values.args }}
          args:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: ["ALL"]
          {{- with .Values.ports }}
          ports:
            {{- range . }}
            - name: {{ .name }}
              containerPort: {{ .port }}
              protocol: TCP
            {{- end }}
          {{- end }}
          envFrom:
            - configMapRef:
                name: {{ include "common.fullname" . }}-settings
          {{- if or .Values.secretsDir.path $global.bindAddress .Values.secretEnv $global.env }}
          env:
            {{- if .Values.secretsDir.path }}
            - name: {{ .Values.secretsDir.env }}
              value: {{ .Values.secretsDir.path | quote }}
            {{- end }}
            {{- with $global.bindAddress }}
            - name: MOCKVIDEO_BIND_ADDRESS
              value: {{ . | quote }}
            {{- end }}
            {{- range $name, $value := $global.env }}
            - name: {{ $name }}
              value: {{ $value | toString | quote }}
            {{- end }}
            {{- /* Secret files as variables, for a kubelet whose Secret volumes the containers cannot see (the `local` values). */}}
            {{- range $name, $file := .Values.secretEnv }}
            - name: {{ $name }}
              valueFrom:
                secretKeyRef:
                  name: {{ include "common.secretName" $ }}
                  key: {{ $file }}
            {{- end }}
          {{- end }}
          {{- with .Values.probes.liveness }}
          livenessProbe:
            {{- include "common.probe" (dict "probe" . "host" $global.probeHost) | nindent 12 }}
          {{- end }}
          {{- with .Values.probes.readiness }}
          readinessProbe:
            {{- include "common.probe" (dict "probe" . "host" $global.probeHost) | nindent 12 }}
          {{- end }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- if .Values.secretsDir.path }}
            - name: secrets
              mountPath: {{ .Values.secretsDir.path }}
              readOnly: true
            {{- end }}
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: {{ .Values.tmpSizeLimit | default "16Mi" }}
        {{- if .Values.secretsDir.path }}
        - name: secrets
          {{- if $jwt }}
          # The service's own secret files plus `jwt-secret` from the shared JWT Secret.
          projected:
            defaultMode: 288  # 0440
            sources:
              - secret:
                  name: {{ include "common.secretName" . }}
              - secret:
                  name: {{ $jwt }}
                  items:
                    - key: jwt-secret
                      path: jwt-secret
          {{- else }}
          secret:
            secretName: {{ include "common.secretName" . }}
            defaultMode: 288  # 0440
          {{- end }}
        {{- end }}
      {{- with .Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}
