{{/*
Named templates. Most take a context dict (dict "root" $ "component" "initiator"|"terminator"),
built by the per-component template files, so both pods are rendered by the same code.
*/}}

{{/* fast-ferry.name: the chart name (or nameOverride), truncated to 63 characters. */}}
{{- define "fast-ferry.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* fast-ferry.chart: chart name and version for the helm.sh/chart label. */}}
{{- define "fast-ferry.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* fast-ferry.namespace: the namespace of a component (namespaces.initiator / .terminator). */}}
{{- define "fast-ferry.namespace" -}}
{{- index .root.Values.namespaces .component | trunc 63 -}}
{{- end -}}

{{/* fast-ferry.selectorLabels: the immutable labels a component's Deployment selects its pods by. */}}
{{- define "fast-ferry.selectorLabels" -}}
app.kubernetes.io/name: {{ include "fast-ferry.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* fast-ferry.labels: the common labels of every object of a component. */}}
{{- define "fast-ferry.labels" -}}
{{ include "fast-ferry.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ include "fast-ferry.chart" .root }}
{{- end -}}

{{/* fast-ferry.configDir / tlsDir: where the ConfigMap and the TLS Secret are mounted. */}}
{{- define "fast-ferry.configDir" -}}/etc/fast-ferry/config{{- end -}}
{{- define "fast-ferry.tlsDir" -}}/etc/fast-ferry/tls{{- end -}}
{{/* fast-ferry.triggerTokenDir: where the initiator mounts trigger.auth.existingSecret (its key as file `token`). */}}
{{- define "fast-ferry.triggerTokenDir" -}}/etc/fast-ferry/trigger-token{{- end -}}

{{/* fast-ferry.tlsSecretName: the Secret a component mounts (tls.initiatorSecretName / tls.terminatorSecretName). */}}
{{- define "fast-ferry.tlsSecretName" -}}
{{- index .root.Values.tls (printf "%sSecretName" .component) -}}
{{- end -}}

{{/* fast-ferry.sessionUrl: the terminator Service's wss URL, the initiator's session.url. */}}
{{- define "fast-ferry.sessionUrl" -}}
{{- printf "wss://terminator.%s.svc:%d" .Values.namespaces.terminator (int .Values.ports.session) -}}
{{- end -}}

{{/*
fast-ferry.drainTimeoutMs: config.session.drainTimeoutMs or the apps' default (10000).
*/}}
{{- define "fast-ferry.drainTimeoutMs" -}}
{{- $session := .Values.config.session | default dict -}}
{{- if hasKey $session "drainTimeoutMs" -}}{{ int $session.drainTimeoutMs }}{{- else -}}10000{{- end -}}
{{- end -}}

{{/*
fast-ferry.configYaml: a component's config.yaml: config from values plus the keys the chart
owns (ports, the session URL, the TLS file paths), which values.schema.json keeps out of
`config` so they cannot disagree with the manifests.
*/}}
{{- define "fast-ferry.configYaml" -}}
{{- $root := .root -}}
{{- $tls := include "fast-ferry.tlsDir" . -}}
{{- $owned := dict
      "http" (dict "port" (int $root.Values.ports.http))
      "tls" (dict "caFile" (printf "%s/ca.crt" $tls) "certFile" (printf "%s/tls.crt" $tls) "keyFile" (printf "%s/tls.key" $tls)) -}}
{{- if eq .component "initiator" -}}
{{- $_ := set $owned "session" (dict "url" (include "fast-ferry.sessionUrl" $root)) -}}
{{- $_ := set $owned.http "triggerPort" (int $root.Values.ports.trigger) -}}
{{- $_ := set $owned.http "triggerTokenFile" (ternary (printf "%s/token" (include "fast-ferry.triggerTokenDir" .)) "" (ne $root.Values.trigger.auth.existingSecret "")) -}}
{{- else -}}
{{- $_ := set $owned "session" (dict "listenPort" (int $root.Values.ports.session)) -}}
{{- end -}}
{{- toYaml (mustMergeOverwrite (deepCopy ($root.Values.config | default dict)) $owned) -}}
{{- end -}}

{{/* fast-ferry.validate: fails the render, with a message, on combinations that cannot work. */}}
{{- define "fast-ferry.validate" -}}
{{- $drainMs := int (include "fast-ferry.drainTimeoutMs" .) -}}
{{- if le (mul (int .Values.terminationGracePeriodSeconds) 1000) $drainMs -}}
{{- fail (printf "ERROR: terminationGracePeriodSeconds (%d s) must be longer than config.session.drainTimeoutMs (%d ms), or Kubernetes kills the pods before they drain" (int .Values.terminationGracePeriodSeconds) $drainMs) -}}
{{- end -}}
{{- if eq (int .Values.ports.http) (int .Values.ports.session) -}}
{{- fail (printf "ERROR: ports.http and ports.session are both %d; the terminator needs two ports" (int .Values.ports.http)) -}}
{{- end -}}
{{- if eq (int .Values.ports.http) (int .Values.ports.trigger) -}}
{{- fail (printf "ERROR: ports.http and ports.trigger are both %d; POST /trigger needs a port of its own on the initiator" (int .Values.ports.http)) -}}
{{- end -}}
{{- if eq .Values.namespaces.initiator .Values.namespaces.terminator -}}
{{- fail "ERROR: namespaces.initiator and namespaces.terminator must differ (the NetworkPolicy admits the initiator by namespace)" -}}
{{- end -}}
{{- end -}}
