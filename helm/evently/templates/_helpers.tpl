{{/* Name of the release's resources for one component: <release>-<component>. */}}
{{- define "evently.name" -}}
{{- printf "%s-%s" .root.Release.Name .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels every resource carries. */}}
{{- define "evently.labels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/part-of: evently
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{/* Labels a component's pods are selected by. */}}
{{- define "evently.selector" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/* Image reference of a component. */}}
{{- define "evently.image" -}}
{{- $g := .root.Values.global.image -}}
{{- $repo := .c.image.repository | default (printf "%s/%s" $g.registry .name) -}}
{{- $tag := .c.image.tag | default $g.tag | default .root.Chart.AppVersion -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}

{{/* Name of the Secret holding the shared secrets (existing or generated). */}}
{{- define "evently.secretName" -}}
{{- .Values.global.secrets.existingSecret | default (printf "%s-evently-secrets" .Release.Name) -}}
{{- end -}}

{{/* Environment every container of a component gets: ConfigMap plus secret references. */}}
{{- define "evently.env" -}}
envFrom:
  - configMapRef:
      name: {{ include "evently.name" . }}
env:
  # The Go runtime's soft memory ceiling: the container's memory limit (in bytes).
  - name: GOMEMLIMIT
    valueFrom:
      resourceFieldRef:
        resource: limits.memory
        divisor: "1"
  - name: IDENTITY_ASSERTION_SECRET
    valueFrom:
      secretKeyRef:
        name: {{ include "evently.secretName" .root }}
        key: assertion-secret
  {{- if ne .name "gateway" }}
  - name: DATABASE_URL
    valueFrom:
      secretKeyRef:
        name: {{ .root.Values.global.postgres.existingSecret }}
        key: {{ .root.Values.global.postgres.key }}
  {{- end }}
  {{- if .root.Values.global.redis.existingSecret }}
  - name: REDIS_PASSWORD
    valueFrom:
      secretKeyRef:
        name: {{ .root.Values.global.redis.existingSecret }}
        key: {{ .root.Values.global.redis.key }}
  {{- end }}
  {{- if eq .name "identity" }}
  - name: ADMIN_PASSWORD
    valueFrom:
      secretKeyRef:
        name: {{ include "evently.secretName" .root }}
        key: admin-password
  - name: JWT_SIGNING_KEY_FILE
    value: /etc/evently/jwt/jwt-signing-key
  {{- end }}
{{- end -}}

{{/* Pod-level settings shared by Deployments and hook Jobs. */}}
{{- define "evently.podCommon" -}}
serviceAccountName: {{ include "evently.name" . }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
{{- with .root.Values.global.image.pullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- end -}}


{{/* ServiceAccount of the hook Jobs. */}}
{{- define "evently.hookAccount" -}}
{{- printf "%s-evently-hooks" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Environment of a hook Job's container: inline, since hooks run before the ConfigMaps exist. */}}
{{- define "evently.jobEnv" -}}
env:
  - name: LOG_LEVEL
    value: {{ .root.Values.global.logLevel | quote }}
  - name: KAFKA_BROKERS
    value: {{ .root.Values.global.kafka.brokers | quote }}
  - name: KAFKA_TOPIC_PREFIX
    value: {{ .root.Values.global.kafka.topicPrefix | quote }}
  - name: KAFKA_PARTITIONS
    value: {{ .root.Values.global.kafka.partitions | quote }}
  - name: KAFKA_REPLICATION_FACTOR
    value: {{ .root.Values.global.kafka.replicationFactor | quote }}
  - name: IDENTITY_ASSERTION_SECRET
    valueFrom:
      secretKeyRef:
        name: {{ include "evently.secretName" .root }}
        key: assertion-secret
  - name: DATABASE_URL
    valueFrom:
      secretKeyRef:
        name: {{ .root.Values.global.postgres.existingSecret }}
        key: {{ .root.Values.global.postgres.key }}
{{- end -}}
