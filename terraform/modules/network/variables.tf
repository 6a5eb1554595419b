variable "project_id" {
  type        = string
  description = "GCP project that owns the network."
}

variable "region" {
  type        = string
  description = "Region of the subnet, router and NAT, e.g. `us-central1`."
}

variable "name" {
  type        = string
  description = "Name of the VPC; subnet, router, NAT and ranges are named after it."

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,40}[a-z0-9])?$", var.name))
    error_message = "name must be a lowercase RFC 1035 label of at most 42 characters (suffixes are added)."
  }
}

variable "nodes_cidr" {
  type        = string
  description = "Primary range of the node subnet, e.g. `10.10.0.0/20`."

  validation {
    condition     = can(cidrhost(var.nodes_cidr, 0))
    error_message = "nodes_cidr must be an IPv4 CIDR block."
  }
}

variable "pods_cidr" {
  type        = string
  description = "Secondary range for pod IPs (VPC-native GKE), e.g. `10.20.0.0/14`."

  validation {
    condition     = can(cidrhost(var.pods_cidr, 0))
    error_message = "pods_cidr must be an IPv4 CIDR block."
  }
}

variable "services_cidr" {
  type        = string
  description = "Secondary range for Kubernetes Service IPs, e.g. `10.24.0.0/20`."

  validation {
    condition     = can(cidrhost(var.services_cidr, 0))
    error_message = "services_cidr must be an IPv4 CIDR block."
  }
}

variable "private_services_prefix_length" {
  type        = number
  description = "Prefix length of the private service access range reserved for Cloud SQL and Memorystore."
  default     = 20

  validation {
    condition     = var.private_services_prefix_length >= 16 && var.private_services_prefix_length <= 24
    error_message = "private_services_prefix_length must be between 16 and 24."
  }
}

variable "flow_log_sampling" {
  type        = number
  description = "Fraction of VPC flow logs kept (0 < x <= 1)."
  default     = 0.5

  validation {
    condition     = var.flow_log_sampling > 0 && var.flow_log_sampling <= 1
    error_message = "flow_log_sampling must be in (0, 1]."
  }
}
