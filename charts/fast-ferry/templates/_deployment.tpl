{{/*
fast-ferry.deployment: a component's Deployment; one container named web-app (the verify
command `kubectl logs ... deployment/initiator -c web-app` relies on that name).
*/}}
{{- define "fast-ferry.deployment" -}}
{{- $root := .root -}}
{{- $v := index $root.Values .component -}}
{{- include "fast-ferry.validate" $root -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .component }}
  namespace: {{ include "fast-ferry.namespace" . }}
  labels:
    {{- include "fast-ferry.labels" . | nindent 4 }}
spec:
  replicas: {{ int $v.replicaCount }}
  revisionHistoryLimit: 3
  # Surge before unavailable: a new pod must be Ready (the terminator: listening and not
  # draining) before an old one gets SIGTERM, so the initiators always have a terminator to
  # dial and a rollout never drops below replicaCount ready pods. One extra pod at a time keeps
  # the extra requests small on a one-node k3d.
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  selector:
    matchLabels:
      {{- include "fast-ferry.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "fast-ferry.labels" . | nindent 8 }}
      annotations:
        checksum/config: {{ include "fast-ferry.configYaml" . | sha256sum }}
        fast-ferry.io/tls-checksum: {{ $root.Values.tls.checksum | quote }}
        {{- with $v.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ .component }}
      # The apps never call the Kubernetes API.
      automountServiceAccountToken: false
      enableServiceLinks: false
      # Longer than session.drainTimeoutMs (checked by fast-ferry.validate).
      terminationGracePeriodSeconds: {{ int $root.Values.terminationGracePeriodSeconds }}
      securityContext:
        runAsNonRoot: true
        runAsUser: {{ int $root.Values.securityContext.runAsUser }}
        runAsGroup: {{ int $root.Values.securityContext.runAsGroup }}
        fsGroup: {{ int $root.Values.securityContext.fsGroup }}
        seccompProfile:
          type: RuntimeDefault
      {{- with $v.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.topologySpread }}
      {{- if .enabled }}
      topologySpreadConstraints:
        - maxSkew: {{ int .maxSkew }}
          topologyKey: {{ .topologyKey }}
          whenUnsatisfiable: {{ .whenUnsatisfiable }}
          labelSelector:
            matchLabels:
              {{- include "fast-ferry.selectorLabels" $ | nindent 14 }}
      {{- end }}
      {{- end }}
      containers:
        - name: web-app
          image: "{{ $v.image.repository }}:{{ $v.image.tag | default $root.Chart.AppVersion }}"
          imagePullPolicy: {{ $v.image.pullPolicy }}
          env:
            - name: FERRY_CONFIG_FILE
              value: {{ include "fast-ferry.configDir" . }}/config.yaml
            {{- if not (kindIs "invalid" $v.nodeOptions) }}
            # Replaces the image's NODE_OPTIONS.
            - name: NODE_OPTIONS
              value: {{ $v.nodeOptions | quote }}
            {{- end }}
            {{- with $v.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          ports:
            - name: http
              containerPort: {{ int $root.Values.ports.http }}
              protocol: TCP
            {{- if eq .component "terminator" }}
            - name: session
              containerPort: {{ int $root.Values.ports.session }}
              protocol: TCP
            {{- else }}
            - name: trigger
              containerPort: {{ int $root.Values.ports.trigger }}
              protocol: TCP
            {{- end }}
          livenessProbe:
            httpGet:
              path: /healthz
              port: http
            periodSeconds: {{ int $root.Values.probes.periodSeconds }}
            timeoutSeconds: {{ int $root.Values.probes.timeoutSeconds }}
            failureThreshold: {{ int $root.Values.probes.livenessFailureThreshold }}
          readinessProbe:
            httpGet:
              path: /readyz
              port: http
            periodSeconds: {{ int $root.Values.probes.periodSeconds }}
            timeoutSeconds: {{ int $root.Values.probes.timeoutSeconds }}
            failureThreshold: {{ int $root.Values.probes.readinessFailureThreshold }}
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          securityContext:
            runAsNonRoot: true
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: ["ALL"]
          volumeMounts:
            - name: config
              mountPath: {{ include "fast-ferry.configDir" . }}
              readOnly: true
            - name: tls
              mountPath: {{ include "fast-ferry.tlsDir" . }}
              readOnly: true
            - name: tmp
              mountPath: /tmp
            {{- if and (eq .component "initiator") $root.Values.trigger.auth.existingSecret }}
            - name: trigger-token
              mountPath: {{ include "fast-ferry.triggerTokenDir" . }}
              readOnly: true
            {{- end }}
      volumes:
        - name: config
          configMap:
            name: {{ .component }}-config
        - name: tls
          secret:
            secretName: {{ include "fast-ferry.tlsSecretName" . }}
            # 0440: readable by the fsGroup only.
            defaultMode: 288
        - name: tmp
          emptyDir:
            sizeLimit: 16Mi
        {{- if and (eq .component "initiator") $root.Values.trigger.auth.existingSecret }}
        - name: trigger-token
          secret:
            secretName: {{ $root.Values.trigger.auth.existingSecret }}
            items:
              - key: {{ $root.Values.trigger.auth.key }}
                path: token
            # 0440: readable by the fsGroup only.
            defaultMode: 288
        {{- end }}
{{- end -}}
