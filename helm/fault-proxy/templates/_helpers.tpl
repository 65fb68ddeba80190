{{/*
Renders a template of the common library (`template`) with this chart's values completed
(`root` is the chart's context):
  ports     the admin port (values.yaml `ports`), then one port per proxy, named after it, on its
            listenPort: the container ports, the Service's ports and the NOTES;
  settings  + FAULT_PROXY_HOST (global.bindAddress, else 0.0.0.0: every interface of the pod),
            FAULT_PROXY_PORT (the port named admin) and FAULT_PROXY_PROXIES (the proxies as the
            binary's JSON list, `{name, listen: <host>:<listenPort>, upstream}`).
With `proxyPortsOnly` the ports are the proxies' alone: the NetworkPolicy opens those to the
services (networkPolicy.allowFrom) and never the admin API, which can cut every link (reach it
with `kubectl port-forward`, to which NetworkPolicies do not apply).
*/}}
{{- define "fault-proxy.include" -}}
{{- $root := .root -}}
{{- $values := deepCopy $root.Values -}}
{{- $global := $values.global | default dict -}}
{{- $host := $global.bindAddress | default "0.0.0.0" -}}
{{- $admin := 0 -}}
{{- range $values.ports -}}
{{- if eq .name "admin" -}}
{{- $admin = .port -}}
{{- end -}}
{{- end -}}
{{- if not $admin -}}
{{- fail "fault-proxy: ports needs the admin API's port, named admin" -}}
{{- end -}}
{{- $names := list "admin" -}}
{{- $numbers := list (int $admin) -}}
{{- $proxyPorts := list -}}
{{- $proxies := list -}}
{{- range $values.proxies -}}
{{- if has .name $names -}}
{{- fail (printf "fault-proxy: the proxy name %s is taken (admin, or another proxy): each proxy names a container port" .name) -}}
{{- end -}}
{{- if has (int .listenPort) $numbers -}}
{{- fail (printf "fault-proxy: proxy %s: port %d is taken (the admin API or another proxy)" .name (int .listenPort)) -}}
{{- end -}}
{{- $names = append $names .name -}}
{{- $numbers = append $numbers (int .listenPort) -}}
{{- $proxyPorts = append $proxyPorts (dict "name" .name "port" .listenPort) -}}
{{- $proxies = append $proxies (dict "name" .name "listen" (printf "%s:%d" $host (int .listenPort)) "upstream" .upstream) -}}
{{- end -}}
{{- if .proxyPortsOnly -}}
{{- $_ := set $values "ports" $proxyPorts -}}
{{- else -}}
{{- $_ := set $values "ports" (concat $values.ports $proxyPorts) -}}
{{- end -}}
{{- $settings := $values.settings | default dict -}}
{{- $_ := set $settings "FAULT_PROXY_HOST" $host -}}
{{- $_ := set $settings "FAULT_PROXY_PORT" (toString (int $admin)) -}}
{{- $_ := set $settings "FAULT_PROXY_PROXIES" (toJson $proxies) -}}
{{- $_ := set $values "settings" $settings -}}
{{- include .template (dict "Values" $values "Chart" $root.Chart "Release" $root.Release "Capabilities" $root.Capabilities "Template" $root.Template "Files" $root.Files) -}}
{{- end -}}
