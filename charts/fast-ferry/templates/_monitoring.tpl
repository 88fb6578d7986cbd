{{/*
fast-ferry.outboxLimit: the outbox limit FerryOutboxNearFull assumes: prometheusRule.outboxLimit,
else config.session.outboxLimit, else the apps' default (10000; the chart tests compare it with
the apps' config schema).
*/}}
{{- define "fast-ferry.outboxLimit" -}}
{{- $session := .Values.config.session | default dict -}}
{{- if not (kindIs "invalid" .Values.prometheusRule.outboxLimit) -}}{{ int .Values.prometheusRule.outboxLimit }}
{{- else if hasKey $session "outboxLimit" -}}{{ int $session.outboxLimit }}
{{- else -}}10000{{- end -}}
{{- end -}}
