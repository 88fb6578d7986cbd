{{/*
fast-ferry.service: a component's ClusterIP Service. Service ports equal the container
ports (the initiator dials wss://terminator.<namespace>.svc:<ports.session>).
*/}}
{{- define "fast-ferry.service" -}}
{{- $root := .root -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ .component }}
  namespace: {{ include "fast-ferry.namespace" . }}
  labels:
    {{- include "fast-ferry.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "fast-ferry.selectorLabels" . | nindent 4 }}
  ports:
    - name: http
      port: {{ int $root.Values.ports.http }}
      targetPort: http
      protocol: TCP
    {{- if eq .component "terminator" }}
    - name: session
      port: {{ int $root.Values.ports.session }}
      targetPort: session
      protocol: TCP
    {{- else }}
    - name: trigger
      port: {{ int $root.Values.ports.trigger }}
      targetPort: trigger
      protocol: TCP
    {{- end }}
{{- end -}}

{{/* fast-ferry.serviceAccount: a component's ServiceAccount (no API token is mounted). */}}
{{- define "fast-ferry.serviceAccount" -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .component }}
  namespace: {{ include "fast-ferry.namespace" . }}
  labels:
    {{- include "fast-ferry.labels" . | nindent 4 }}
automountServiceAccountToken: false
{{- end -}}

{{/* fast-ferry.configMap: a component's runtime config, mounted as config.yaml. */}}
{{- define "fast-ferry.configMap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .component }}-config
  namespace: {{ include "fast-ferry.namespace" . }}
  labels:
    {{- include "fast-ferry.labels" . | nindent 4 }}
data:
  config.yaml: |
    {{- include "fast-ferry.configYaml" . | nindent 4 }}
{{- end -}}

{{/*
fast-ferry.namespaceObject: a component's Namespace (when namespaces.create), under the Pod
Security Standard `restricted` (enforced, audited and warned), which the chart's pods meet.
*/}}
{{- define "fast-ferry.namespaceObject" -}}
apiVersion: v1
kind: Namespace
metadata:
  name: {{ include "fast-ferry.namespace" . }}
  labels:
    {{- include "fast-ferry.labels" . | nindent 4 }}
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/audit: restricted
    pod-security.kubernetes.io/warn: restricted
{{- end -}}

{{/*
fast-ferry.serviceMonitor: a Prometheus Operator ServiceMonitor scraping a component's
/metrics (only with serviceMonitor.enabled).
*/}}
{{- define "fast-ferry.serviceMonitor" -}}
{{- $root := .root -}}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ .component }}
  namespace: {{ include "fast-ferry.namespace" . }}
  labels:
    {{- include "fast-ferry.labels" . | nindent 4 }}
    {{- with $root.Values.serviceMonitor.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "fast-ferry.selectorLabels" . | nindent 6 }}
  endpoints:
    - port: http
      path: /metrics
      interval: {{ $root.Values.serviceMonitor.interval }}
{{- end -}}
