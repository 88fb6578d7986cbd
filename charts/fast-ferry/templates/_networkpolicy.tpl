{{/*
fast-ferry.networkPolicy: ingress rules of a component's pods. Both pods: the HTTP port
(health, metrics, /trigger) from networkPolicy.httpFrom (empty = anyone; the initiator also
admits its `helm test` Pod when httpFrom is set). The terminator
also: the session port only from pods of the initiator namespace. Everything else is denied.
*/}}
{{- define "fast-ferry.networkPolicy" -}}
{{- $root := .root -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ .component }}
  namespace: {{ include "fast-ferry.namespace" . }}
  labels:
    {{- include "fast-ferry.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "fast-ferry.selectorLabels" . | nindent 6 }}
  policyTypes: ["Ingress"]
  ingress:
    - ports:
        - port: http
          protocol: TCP
      {{- with $root.Values.networkPolicy.httpFrom }}
      from:
        {{- toYaml . | nindent 8 }}
        {{- if and (eq $.component "initiator") $root.Values.helmTest.enabled }}
        # The `helm test` Pod (templates/tests/), which POSTs to /trigger.
        - podSelector:
            matchLabels:
              {{- include "fast-ferry.selectorLabels" (dict "root" $root "component" "helm-test") | nindent 14 }}
        {{- end }}
      {{- end }}
    {{- if eq .component "terminator" }}
    - ports:
        - port: session
          protocol: TCP
      from:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: {{ $root.Values.namespaces.initiator }}
    {{- end }}
{{- end -}}
