variable "project_id" {
  type        = string
  description = "GCP project holding the repository key's secret."
}

variable "namespace" {
  type        = string
  description = "Namespace of Argo CD (the rendered Applications live there)."
  default     = "argocd"
}

variable "chart" {
  type = object({
    repository = string
    name       = string
    version    = string
    values     = string
  })
  description = "The argo-cd chart to install once: repository, chart, pinned version and YAML values, read from the rendered Application argocd/<env>/independent/argocd.yaml."

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.chart.version))
    error_message = "chart.version must be an exact chart version (x.y.z), never a range."
  }
}

variable "roots_chart" {
  type        = string
  description = "Path of the rendered roots chart (argocd/<env>/bootstrap)."
}

variable "repository" {
  type = object({
    url           = string
    key_secret_id = string
  })
  description = "This repository's SSH URL as the Applications name it, and the Secret Manager secret holding its read-only deploy key (terraform/bootstrap writes it)."
}

variable "plan_member" {
  type        = string
  description = "Email of the read-only CI plan account, which may read Secrets in the namespace to refresh the releases (null: none)."
  default     = null
}
