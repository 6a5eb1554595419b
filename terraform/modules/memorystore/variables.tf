variable "project_id" {
  type        = string
  description = "GCP project of the instance."
}

variable "region" {
  type        = string
  description = "Region of the instance."
}

variable "name" {
  type        = string
  description = "Instance name."

  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{0,38}[a-z0-9]$", var.name))
    error_message = "name must be 2-40 lowercase letters, digits and dashes, starting with a letter."
  }
}

variable "private_network_id" {
  type        = string
  description = "VPC with private service access (network module output `private_network_id`)."
}

variable "tier" {
  type        = string
  description = "BASIC (one node, no replica) or STANDARD_HA (replica in another zone, automatic failover)."

  validation {
    condition     = contains(["BASIC", "STANDARD_HA"], var.tier)
    error_message = "tier must be BASIC or STANDARD_HA."
  }
}

variable "memory_size_gb" {
  type        = number
  description = "Memory in GB (at least 1; STANDARD_HA needs at least 5 for read replicas)."
  default     = 1

  validation {
    condition     = var.memory_size_gb >= 1 && var.memory_size_gb <= 300
    error_message = "memory_size_gb must be between 1 and 300."
  }
}

variable "redis_version" {
  type        = string
  description = "Redis version, e.g. `REDIS_7_2`."
  default     = "REDIS_7_2"

  validation {
    condition     = can(regex("^REDIS_[0-9]+(_[0-9]+)?$", var.redis_version))
    error_message = "redis_version must look like REDIS_7_2."
  }
}

variable "transit_encryption" {
  type        = bool
  description = "TLS between clients and Redis (`rediss://`; clients must trust the instance CA)."
  default     = false
}

variable "url_secret_ids" {
  type        = map(string)
  description = "Per service that uses Redis (keyed by service): the Secret Manager secret id receiving its REDIS_URL."
}

variable "labels" {
  type        = map(string)
  description = "Labels applied to the instance and the secrets."
  default     = {}
}
