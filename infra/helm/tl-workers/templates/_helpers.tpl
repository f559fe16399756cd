{{- define "tl.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tl.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "tl.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}{{ default (include "tl.fullname" .) .Values.serviceAccount.name }}{{- else -}}{{ default "default" .Values.serviceAccount.name }}{{- end -}}
{{- end -}}

{{- define "tl.secretName" -}}
{{- default (printf "%s-secrets" (include "tl.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}
