variable "project_id" {
  type        = string
  description = "GCP project of the pool and the CI service account."
}

variable "repository" {
  type        = string
  description = "The only GitHub repository allowed, as `owner/name`."

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.repository))
    error_message = "repository must be `owner/name`."
  }
}

variable "pool_id" {
  type        = string
  description = "Workload Identity pool id (4-32 characters; a deleted id stays reserved for 30 days)."
  default     = "github"

  validation {
    condition     = can(regex("^[a-z0-9-]{4,32}$", var.pool_id)) && !startswith(var.pool_id, "gcp-")
    error_message = "pool_id must be 4-32 lowercase letters, digits or dashes, not starting with gcp-."
  }
}

variable "service_account_id" {
  type        = string
  description = "Account id of the CI service account."
  default     = "ci-github"

  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{4,28}[a-z0-9]$", var.service_account_id))
    error_message = "service_account_id must be 6-30 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "project_roles" {
  type        = list(string)
  description = "Project roles CI needs (plan and apply of this environment's root). Basic roles are refused."

  validation {
    condition     = alltrue([for r in var.project_roles : !contains(["roles/owner", "roles/editor"], r)])
    error_message = "Grant CI predefined roles, never roles/owner or roles/editor."
  }
}
