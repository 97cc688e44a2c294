{{/* The labels kustomize puts on every object (manifests/base), and Helm's own. */}}
{{- define "nic.labels" -}}
app.kubernetes.io/name: namespace-isolation-controller
app.kubernetes.io/part-of: namespace-isolation-controller
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{/*
The objects of one of the manifests' files, as kustomize renders them: files/ links to manifests/,
so both ways install the same objects. Each object gets the labels above; a namespaced object is
put in the release's namespace; ServiceAccount subjects name the release's namespace.
Called with (list $ "files/base/rbac.yaml") or (list $ "" TEXT) for text given in values.
*/}}
{{- define "nic.objects" -}}
{{- $root := index . 0 -}}
{{- $text := ternary (index . 1 | $root.Files.Get) (last .) (eq (len .) 2) -}}
{{- $namespaced := list "ServiceAccount" "Role" "RoleBinding" "Service" "PodDisruptionBudget" "NetworkPolicy" "ServiceMonitor" "PrometheusRule" "ConfigMap" -}}
{{- range $doc := regexSplit "(?m)^---[ \t]*$" $text -1 }}
{{- $obj := fromYaml $doc }}
{{- if $obj.kind }}
{{- $_ := set $obj "metadata" (mergeOverwrite (dict "labels" dict) $obj.metadata) }}
{{- $_ := set $obj.metadata "labels" (mergeOverwrite (include "nic.labels" $root | fromYaml) $obj.metadata.labels) }}
{{- /* The controller's namespace moves to the release's; one placed elsewhere on purpose (the probe's) stays. */}}
{{- if and (has $obj.kind $namespaced) (has ($obj.metadata.namespace | default "") (list "" "namespace-isolation-controller")) }}
{{- $_ := set $obj.metadata "namespace" $root.Release.Namespace }}
{{- end }}
{{- range $subject := $obj.subjects | default list }}
{{- if eq $subject.kind "ServiceAccount" }}{{ $_ := set $subject "namespace" $root.Release.Namespace }}{{ end }}
{{- end }}
---
{{ toYaml $obj }}
{{- end }}
{{- end }}
{{- end }}
