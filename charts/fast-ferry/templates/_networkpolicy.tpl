{{/*
fast-ferry.networkPolicy: ingress rules of a component's pods. Both pods: the HTTP port
(health, metrics) from networkPolicy.httpFrom (empty = anyone). The initiator also: its POST
/trigger port only from pods of its own namespace (the `helm test` Pod among them) and
networkPolicy.triggerFrom, since whoever reaches it can put messages into the stream. The
terminator also: the session port only from pods of the initiator namespace. Everything else
is denied.
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
      {{- end }}
    {{- if eq .component "initiator" }}
    - ports:
        - port: trigger
          protocol: TCP
      from:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: {{ $root.Values.namespaces.initiator }}
        {{- with $root.Values.networkPolicy.triggerFrom }}
        {{- toYaml . | nindent 8 }}
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
