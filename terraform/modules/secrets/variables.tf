variable "project_id" {
  type        = string
  description = "GCP project holding the secrets."
}

variable "secrets" {
  type = map(object({
    service = string
  }))
  description = "Secrets to create, by Secret Manager secret id, each with the service that owns it."

  validation {
    condition     = alltrue([for id in keys(var.secrets) : can(regex("^[a-zA-Z0-9_-]{1,255}$", id))])
    error_message = "Secret ids may contain only letters, digits, dashes and underscores (at most 255)."
  }
}

variable "labels" {
  type        = map(string)
  description = "Labels applied to every secret."
  default     = {}
}
