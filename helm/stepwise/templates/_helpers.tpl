{{/* Chart name, shortened to the 63 characters a label value allows. */}}
{{- define "stepwise.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Name of the objects this release creates: "<release>-<chart>", or the release name alone when it
already contains the chart name. */}}
{{- define "stepwise.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels that never change for the life of a release: the Deployment's selector uses only these. */}}
{{- define "stepwise.selectorLabels" -}}
app.kubernetes.io/name: {{ include "stepwise.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{/* Labels on every object of the chart. */}}
{{- define "stepwise.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "stepwise.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: stepwise
{{- end }}

{{/* The operator's ServiceAccount. */}}
{{- define "stepwise.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "stepwise.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Operator image reference; the tag defaults to the chart's appVersion. */}}
{{- define "stepwise.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Name of the leader-election Lease. */}}
{{- define "stepwise.leaseName" -}}
{{- default (printf "%s-leader" (include "stepwise.fullname" .)) .Values.leaderElection.leaseName }}
{{- end }}

{{/* The watched namespaces as the operator reads them (QUARKUS_OPERATOR_SDK_NAMESPACES). */}}
{{- define "stepwise.watchNamespacesEnv" -}}
{{- if .Values.watchNamespaces }}
{{- join "," (uniq .Values.watchNamespaces) }}
{{- else }}
{{- "JOSDK_ALL_NAMESPACES" }}
{{- end }}
{{- end }}

{{/* Checks across values that values.schema.json cannot express; each failure names the value. */}}
{{- define "stepwise.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) }}
{{- fail (printf "replicaCount is %d but leaderElection.enabled is false: several operators would reconcile the same runs at once; enable leaderElection or set replicaCount to 1" (int .Values.replicaCount)) }}
{{- end }}
{{- end }}

{{/* What the operator does in each namespace it watches: exactly the API calls of its reconcilers
and dependent resources (helm/src/test checks this list against the operator's own). */}}
{{- define "stepwise.operatorRules" -}}
# The primary resources: read, add/remove finalizers, write status. Never created or deleted.
- apiGroups: ["stepwise.dev"]
  resources: ["trainingruns", "trainingruns/status", "trainingruns/finalizers"]
  verbs: ["get", "list", "watch", "patch", "update"]
# Checkpoints: reconciled like runs (finalizer, phase label, status) and deleted by retention.
# "create" is never called by the operator: the per-run Role of the training pods grants it, and
# Kubernetes lets the operator create that Role only while holding what it grants.
- apiGroups: ["stepwise.dev"]
  resources: ["checkpoints/status", "checkpoints/finalizers"]
  verbs: ["get", "list", "watch", "patch", "update"]
- apiGroups: ["stepwise.dev"]
  resources: ["checkpoints"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
# The objects of one TrainingRun, each owned by it; serviceaccounts for the per-run training identity.
- apiGroups: [""]
  resources: ["configmaps", "services", "serviceaccounts"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
# The run volume is created once and never updated (a claim's spec is mostly immutable).
- apiGroups: [""]
  resources: ["persistentvolumeclaims"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["apps"]
  resources: ["statefulsets", "deployments"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
# Jobs that delete a Checkpoint's data from the run volume: started, watched, removed once done.
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["list", "watch", "create", "delete"]
# The per-run Role and RoleBinding of the training pods (checkpoints of their own run only); Kubernetes
# lets the operator grant only what it holds itself, so no "bind" or "escalate".
- apiGroups: ["rbac.authorization.k8s.io"]
  resources: ["roles", "rolebindings"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
# Restarts of training pods are watched; after a resume, trainer pods still on the old template are
# deleted so that all ranks restart together.
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list", "watch", "delete"]
# Events on runs and Checkpoints: a repeated event is read and its count patched, not created again.
- apiGroups: [""]
  resources: ["events"]
  verbs: ["get", "create", "patch"]
{{- end }}
