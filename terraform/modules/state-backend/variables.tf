variable "project_id" {
  type        = string
  description = "GCP project that owns the bucket."
}

variable "bucket_name" {
  type        = string
  description = "Globally unique bucket name, e.g. `shop-prod-123-tfstate`."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", var.bucket_name)) && !strcontains(var.bucket_name, "google")
    error_message = "bucket_name must be 3-63 lowercase letters, digits, dots, dashes or underscores, start and end alphanumeric, and not contain \"google\"."
  }
}

variable "location" {
  type        = string
  description = "Bucket location: a region (e.g. `us-central1`) or a multi-region (e.g. `US`)."
}

variable "noncurrent_versions_kept" {
  type        = number
  description = "How many superseded state versions to keep before deleting the oldest."
  default     = 20

  validation {
    condition     = var.noncurrent_versions_kept >= 1 && floor(var.noncurrent_versions_kept) == var.noncurrent_versions_kept
    error_message = "noncurrent_versions_kept must be a whole number of at least 1."
  }
}

variable "labels" {
  type        = map(string)
  description = "Labels applied to the bucket."
  default     = {}
}
