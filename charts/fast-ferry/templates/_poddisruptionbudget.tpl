{{/*
fast-ferry.podDisruptionBudget: a component's PodDisruptionBudget, rendered only when it has
more than one replica (with one, any budget either blocks node drains forever or allows
nothing). maxUnavailable 1 rather than minAvailable 1: a drain then evicts one pod at a time
however many there are, so with 3 terminators 2 keep serving (minAvailable 1 would let 2 of 3
go at once), and it follows the replica count when someone scales by hand.
*/}}
{{- define "fast-ferry.podDisruptionBudget" -}}
{{- $v := index .root.Values .component -}}
{{- if gt (int $v.replicaCount) 1 -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ .component }}
  namespace: {{ include "fast-ferry.namespace" . }}
  labels:
    {{- include "fast-ferry.labels" . | nindent 4 }}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      {{- include "fast-ferry.selectorLabels" . | nindent 6 }}
{{- end -}}
{{- end -}}
