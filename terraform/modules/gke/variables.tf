variable "project_id" {
  type        = string
  description = "GCP project of the cluster; its Workload Identity pool is `<project_id>.svc.id.goog`."
}

variable "region" {
  type        = string
  description = "Region of the (regional) cluster and its node pools."
}

variable "name" {
  type        = string
  description = "Cluster name; the node service account is `<name>-nodes`."

  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{4,23}[a-z0-9]$", var.name))
    error_message = "name must be 6-25 lowercase letters, digits or dashes (the node service account id `<name>-nodes` may have 30 characters)."
  }
}

variable "network_id" {
  type        = string
  description = "ID of the VPC (network module output `network_id`)."
}

variable "subnetwork_id" {
  type        = string
  description = "ID of the node subnet (network module output `subnetwork_id`)."
}

variable "pods_range_name" {
  type        = string
  description = "Secondary range of the subnet for pods."
}

variable "services_range_name" {
  type        = string
  description = "Secondary range of the subnet for Services."
}

variable "master_cidr" {
  type        = string
  description = "A /28 for the control plane's private endpoint, unused elsewhere in the VPC."

  validation {
    condition     = can(cidrhost(var.master_cidr, 0)) && endswith(var.master_cidr, "/28")
    error_message = "master_cidr must be an IPv4 /28 block."
  }
}

variable "private_endpoint" {
  type        = bool
  description = "Whether the control plane is reachable on its private endpoint only (then CI needs a path into the VPC)."
  default     = false
}

variable "master_authorized_networks" {
  type        = map(string)
  description = "Networks allowed to reach the control plane: display name => CIDR. Empty allows none but the VPC."
  default     = {}

  validation {
    condition     = alltrue([for cidr in values(var.master_authorized_networks) : can(cidrhost(cidr, 0))])
    error_message = "Every master_authorized_networks value must be a CIDR block."
  }
}

variable "webhook_ports" {
  type        = list(string)
  description = "TCP ports of admission webhooks the control plane must reach on the nodes (besides 443 and 10250, which GKE opens)."
  default     = ["8443", "9443", "15017"]

  validation {
    condition     = alltrue([for p in var.webhook_ports : can(regex("^[0-9]{1,5}$", p)) && tonumber(p) <= 65535])
    error_message = "webhook_ports must be port numbers as strings, e.g. \"15017\"."
  }
}

variable "release_channel" {
  type        = string
  description = "GKE release channel: RAPID, REGULAR or STABLE."
  default     = "REGULAR"

  validation {
    condition     = contains(["RAPID", "REGULAR", "STABLE"], var.release_channel)
    error_message = "release_channel must be RAPID, REGULAR or STABLE."
  }
}

variable "node_pools" {
  type = map(object({
    machine_type = string
    min_nodes    = number
    max_nodes    = number
    disk_size_gb = optional(number, 100)
    spot         = optional(bool, false)
  }))
  description = "Autoscaling node pools by name; min_nodes and max_nodes count nodes across all zones of the region."

  validation {
    condition     = length(var.node_pools) > 0 && alltrue([for p in values(var.node_pools) : p.min_nodes >= 0 && p.max_nodes >= p.min_nodes && p.max_nodes > 0])
    error_message = "Declare at least one node pool, each with 0 <= min_nodes <= max_nodes and max_nodes > 0."
  }
}

variable "maintenance_start_time" {
  type        = string
  description = "Start of the daily maintenance window, HH:MM in UTC."
  default     = "03:00"

  validation {
    condition     = can(regex("^([01][0-9]|2[0-3]):[0-5][0-9]$", var.maintenance_start_time))
    error_message = "maintenance_start_time must be HH:MM."
  }
}

variable "deletion_protection" {
  type        = bool
  description = "Whether Terraform refuses to destroy the cluster."
  default     = true
}

variable "labels" {
  type        = map(string)
  description = "Labels applied to the cluster and its nodes."
  default     = {}
}
