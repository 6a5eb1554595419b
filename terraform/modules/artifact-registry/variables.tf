variable "project_id" {
  type        = string
  description = "GCP project of the repository."
}

variable "location" {
  type        = string
  description = "Region of the repository, e.g. `us-central1`."
}

variable "repository_id" {
  type        = string
  description = "Repository id, the last segment of the registry path."

  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{0,61}[a-z0-9]$", var.repository_id))
    error_message = "repository_id must be lowercase letters, digits and dashes, starting with a letter."
  }
}

variable "description" {
  type        = string
  description = "Description of the repository."
  default     = "Service images, pushed by CI"
}

variable "immutable_tags" {
  type        = bool
  description = "Whether a pushed tag can never point at another image."
  default     = true
}

variable "cache_repository" {
  type        = bool
  description = "Whether to create `<repository_id>-cache`, a mutable-tag repository for BuildKit's registry cache (writers get writer on it too)."
  default     = true
}

variable "reader_members" {
  type        = map(string)
  description = "IAM members that may pull (e.g. node service accounts), as `serviceAccount:<email>`, under static keys (the members may be unknown until apply; the keys must not be)."
  default     = {}
}

variable "writer_members" {
  type        = map(string)
  description = "IAM members that may push (the CI images service account), as `serviceAccount:<email>`, under static keys (the members may be unknown until apply; the keys must not be)."
  default     = {}
}

variable "labels" {
  type        = map(string)
  description = "Labels applied to the repository."
  default     = {}
}
