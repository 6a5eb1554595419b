variable "project_id" {
  type        = string
  description = "GCP project of the zone (the environment's)."
}

variable "name" {
  type        = string
  description = "Name of the zone: `<platform>-<env>`, the name the environment root and the rendered ClusterIssuer look it up by."

  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{0,53}[a-z0-9]$", var.name))
    error_message = "name must be a lowercase DNS label of at most 55 characters."
  }
}

variable "domain" {
  type        = string
  description = "The environment's domain, without the trailing dot (`staging.shop.example.com`)."

  validation {
    condition     = can(regex("^([a-z0-9]([-a-z0-9]*[a-z0-9])?\\.)+[a-z][-a-z0-9]*[a-z0-9]$", var.domain))
    error_message = "domain must be a lowercase DNS name without a trailing dot, such as staging.shop.example.com."
  }
}

variable "labels" {
  type        = map(string)
  description = "Labels on the zone."
  default     = {}
}
