{{/* The K8ssandraCluster name (default: the release's); every other name derives from it. */}}
{{- define "cqltest-cluster.name" -}}
{{- .Values.clusterName | default .Release.Name -}}
{{- end }}

{{/* Labels of every object in the release. */}}
{{- define "cqltest-cluster.labels" -}}
app.kubernetes.io/name: cqltest-cluster
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/part-of: cqltest
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | quote }}
{{- with .Values.testRun }}
cqltest.dev/testrun: {{ . | quote }}
{{- end }}
{{- with .Values.pool }}
cqltest.dev/pool: {{ . | quote }}
{{- end }}
{{- with .Values.labels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* metadata.ownerReferences when an owner is given. */}}
{{- define "cqltest-cluster.ownerReferences" -}}
{{- with .Values.owner -}}
ownerReferences:
  - apiVersion: {{ .apiVersion | quote }}
    kind: {{ .kind | quote }}
    name: {{ .name | quote }}
    uid: {{ .uid | quote }}
{{- end -}}
{{- end }}

{{/* The superuser Secret's name, or "" to let K8ssandra generate <cluster>-superuser. */}}
{{- define "cqltest-cluster.superuserSecret" -}}
{{- if .Values.superuser.secretName -}}
{{ .Values.superuser.secretName }}
{{- else if .Values.superuser.create -}}
{{ include "cqltest-cluster.name" . }}-superuser
{{- end }}
{{- end }}

{{/* An encryption-store reference: all four keys of one Secret, at K8ssandra's default keys. */}}
{{- define "cqltest-cluster.stores" -}}
{{- $secret := required (printf "encryption.%s.storesSecret is required when encryption.%s.enabled" .kind .kind) .store.storesSecret -}}
keystoreSecretRef: {name: {{ $secret | quote }}}
truststoreSecretRef: {name: {{ $secret | quote }}}
{{- end }}
