{{/* A store container: the image's own user (uid, gid), read-only root, no capabilities. */}}
{{- define "mockvideo.storeSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ index . 0 }}
runAsGroup: {{ index . 1 }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end -}}
