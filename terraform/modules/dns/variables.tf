variable "project_id" {
  type        = string
  description = "GCP project of the zone and the address."
}

variable "region" {
  type        = string
  description = "Region of the ingress address (the cluster's: a regional load balancer takes it)."
}

variable "name" {
  type        = string
  description = "Name of the zone terraform/bootstrap created, and prefix of the address (`<name>-ingress`, the name the rendered gateway asks for); the rendered ClusterIssuer names the same zone."

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

variable "hosts" {
  type        = list(string)
  description = "Public hosts under `domain`, each given an A record to the ingress address."

  validation {
    condition     = alltrue([for h in var.hosts : h == var.domain || endswith(h, ".${var.domain}")])
    error_message = "Every host must be the domain or a name under it."
  }
}

variable "acme_solver_members" {
  type        = map(string)
  description = "IAM members (by a static label) that may change the zone's records to answer ACME DNS-01 challenges."
  default     = {}
}

variable "labels" {
  type        = map(string)
  description = "Labels on the address."
  default     = {}
}
