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

variable "generated" {
  type        = map(string)
  description = "Secrets whose value Terraform generates, by secret id: `random` (64 random characters), `ed25519-key` (a PKCS#8 PEM Ed25519 private key) or `fernet-key` (32 bytes, URL-safe base64). Each must be in `secrets`."
  default     = {}

  validation {
    condition     = alltrue([for kind in values(var.generated) : contains(["random", "ed25519-key", "fernet-key"], kind)])
    error_message = "A generated secret's kind is `random`, `ed25519-key` or `fernet-key`; a `provided` one is added by a person, not generated."
  }
}

variable "generation" {
  type        = number
  description = "Version of the generated values: raise it to write a fresh value into every generated secret (a rotation)."
  default     = 1

  validation {
    condition     = var.generation >= 1 && floor(var.generation) == var.generation
    error_message = "generation is a whole number from 1."
  }
}

variable "labels" {
  type        = map(string)
  description = "Labels applied to every secret."
  default     = {}
}
