variable "project_id" {
  type        = string
  description = "GCP project of the service accounts and secrets."
}

variable "environment" {
  type        = string
  description = "Environment name, shown in display names."
}

variable "workload_pool" {
  type        = string
  description = "Workload Identity pool of the cluster (gke module output `workload_pool`)."

  validation {
    condition     = endswith(var.workload_pool, ".svc.id.goog")
    error_message = "workload_pool must be `<project>.svc.id.goog`."
  }
}

variable "services" {
  type = map(object({
    namespace                  = string
    kubernetes_service_account = string
    service_account_id         = string
    postgres                   = bool
    secret_ids                 = list(string)
    purpose                    = optional(string)
  }))
  description = "Per workload (keyed by name): the Kubernetes service account (namespace and name) that may act as it, its Google service account id, whether it connects to Cloud SQL, the Secret Manager secret ids it may read, and what it is for (the account's description)."

  validation {
    condition     = alltrue([for s in values(var.services) : can(regex("^[a-z][-a-z0-9]{4,28}[a-z0-9]$", s.service_account_id))])
    error_message = "service_account_id must be 6-30 lowercase letters, digits or dashes, starting with a letter."
  }
}
