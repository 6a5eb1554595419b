variable "project_id" {
  type        = string
  description = "GCP project of the pool and the CI service accounts."
}

variable "repository" {
  type        = string
  description = "The only GitHub repository allowed, as `owner/name`."

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.repository))
    error_message = "repository must be `owner/name`."
  }
}

variable "environment" {
  type        = string
  description = "The GitHub environment whose jobs alone may use the apply service account (token subject `repo:<repository>:environment:<environment>`)."

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+$", var.environment))
    error_message = "environment must be a GitHub environment name (letters, digits, `_`, `.`, `-`)."
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

variable "service_account_prefix" {
  type        = string
  description = "Prefix of the CI service account ids (`<prefix>-plan`, `<prefix>-apply`, `<prefix>-images`)."
  default     = "ci-github"

  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{4,21}$", var.service_account_prefix))
    error_message = "service_account_prefix must be 5-22 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "plan_roles" {
  type        = list(string)
  description = "Project roles of the plan service account: read-only roles only. roles/container.clusterViewer lets it reach the cluster's DNS endpoint, to refresh Argo CD's Helm releases (Kubernetes RBAC, from modules/argocd, then lets it read Secrets in argocd only)."
  default     = ["roles/viewer", "roles/iam.securityReviewer", "roles/container.clusterViewer"]

  validation {
    condition     = alltrue([for r in var.plan_roles : !contains(["roles/owner", "roles/editor"], r) && !endswith(r, "Admin") && !endswith(r, ".admin")])
    error_message = "The plan service account gets read-only roles, never owner, editor or an admin role."
  }
}

variable "apply_roles" {
  type        = list(string)
  description = "Project roles of the apply service account (apply of this environment's root). Basic roles are refused."

  validation {
    condition     = alltrue([for r in var.apply_roles : !contains(["roles/owner", "roles/editor"], r)])
    error_message = "Grant CI predefined roles, never roles/owner or roles/editor."
  }
}

variable "apply_grantable_roles" {
  type        = list(string)
  description = "The only project roles the apply account may grant or revoke, besides `plan_roles`: it holds roles/resourcemanager.projectIamAdmin under an IAM condition naming them. Its own roles are outside the list, so CI cannot widen its powers; changing them takes a human project IAM admin."

  validation {
    condition     = alltrue([for r in var.apply_grantable_roles : !contains(["roles/owner", "roles/editor"], r) && !endswith(r, "Admin") && !endswith(r, ".admin")])
    error_message = "The apply account may only be allowed to grant non-admin roles (never owner, editor or an admin role)."
  }
}

variable "images_service_account" {
  type        = bool
  description = "Whether to create the images service account (true in the project holding the image registry)."
  default     = false
}
