# The environment's settings. The roots pass through what platform.auto.tfvars.json sets, plus
# what differs between environments in code: sizes, release channel, deletion protection, labels.

variable "platform_name" {
  type        = string
  description = "The platform's name (`platform.name`); prefixes resource names."

  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{1,14}$", var.platform_name))
    error_message = "platform_name must be 2-15 lowercase letters, digits or dashes."
  }
}

variable "environment" {
  type        = string
  description = "The environment this composition provisions (`[environments.<name>]`); names resources `<platform_name>-<environment>-*`."

  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{0,14}$", var.environment))
    error_message = "environment must be 1-15 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "project_id" {
  type        = string
  description = "GCP project of the environment."
}

variable "region" {
  type        = string
  description = "GCP region of the environment."
}

variable "ha" {
  type        = bool
  description = "High availability (`environments.<env>.ha`): REGIONAL Cloud SQL and STANDARD_HA Memorystore."
}

variable "github_repository" {
  type        = string
  description = "The GitHub repository (`owner/name`, from `platform.repo_url`) whose workflows may act as CI; null when it is not on GitHub."
  default     = null
}

variable "artifact_registry" {
  type = object({
    project       = string
    location      = string
    repository_id = string
  })
  description = "The Artifact Registry Docker repository of `platform.registry`; created by the root whose project holds it. Null when the registry is elsewhere."
  default     = null
}

variable "environment_projects" {
  type        = map(string)
  description = "Every environment of the platform and its GCP project; the root holding the registry lets each environment's nodes pull from it."
}

variable "components" {
  type = map(object({
    description                = string
    namespace                  = string
    kubernetes_service_account = string
    service_account_id         = string
    secrets                    = map(string)
    dns_zone_admin             = bool
    # Set on the component that runs the database grants job: the secret of the admin URL.
    database_admin_url_secret_id = optional(string)
    # Secrets terraform/bootstrap writes (deploy keys), by key: access is granted, nothing made.
    bootstrap_secrets = optional(map(string), {})
    # A database of its own (Airflow's metadata): its name, and the URL its clients use through
    # the component's Cloud SQL Auth Proxy, written into the secret url_secret_id.
    database = optional(object({
      name          = string
      url           = string
      url_secret_id = string
    }))
  }))
  description = "Platform components that act as their own Google service account (Workload Identity), by name: what for, the Kubernetes service account that may act as it, its Google service account id, the secrets only it may read (key => Secret Manager secret id), whether it may change the environment's DNS zone (the ACME DNS-01 solver), for the database grants job the secret of the Cloud SQL admin URL Terraform writes, the secrets terraform/bootstrap writes for it, and its own database."

  validation {
    condition     = alltrue([for c in values(var.components) : can(regex("^[a-z][-a-z0-9]{4,28}[a-z0-9]$", c.service_account_id))])
    error_message = "service_account_id must be 6-30 lowercase letters, digits or dashes, starting with a letter."
  }

  validation {
    condition     = length([for c in values(var.components) : c if c.database_admin_url_secret_id != null]) == 1
    error_message = "Exactly one component runs the database grants job (sets database_admin_url_secret_id); render the tfvars with `cargo xtask render`."
  }
}

variable "domain" {
  type        = string
  description = "The environment's domain (`environments.<env>.domain`): Terraform creates its Cloud DNS zone."
}

variable "ingress_hosts" {
  type        = list(string)
  description = "Public hosts of the environment (the services' `ingress_host`s there): an A record each, to the ingress gateway's address."
}

variable "services" {
  type = map(object({
    namespace           = string
    service_account_id  = string
    postgres            = bool
    redis               = bool
    database            = optional(string)
    redis_url_secret_id = optional(string)
    secrets             = map(string)
  }))
  description = "Every service of platform.toml, by name: namespace, Google service account id, data stores (its database, which it logs in to as its service account; the secret id of its Redis URL) and its secrets (name => Secret Manager secret id)."

  validation {
    condition = alltrue([for s in values(var.services) :
      (s.postgres == (s.database != null) && s.redis == (s.redis_url_secret_id != null))
    ])
    error_message = "A service has a database exactly when postgres is true, and redis_url_secret_id exactly when redis is true."
  }
}

variable "generated_secrets" {
  type        = map(string)
  description = "Secrets whose value Terraform generates, by Secret Manager secret id => kind: platform.toml's `random` and `ed25519-key`, and components' `fernet-key`."
  default     = {}
}

variable "require_ha" {
  type        = bool
  description = "Whether this environment must be highly available (prod): the plan fails unless `ha` is true."
  default     = false

  validation {
    condition     = !var.require_ha || var.ha
    error_message = "This environment must be highly available: set ha = true under [environments.<env>] in platform.toml."
  }
}

variable "sizes" {
  type = object({
    nodes_cidr    = string
    pods_cidr     = string
    services_cidr = string
    master_cidr   = string
    machine_type  = string
    min_nodes     = number
    max_nodes     = number
    spot          = bool
    sql_tier      = string
    sql_disk_gb   = number
    redis_gb      = number
  })
  description = "What differs in size between environments: VPC ranges (nodes, pods, services, the GKE control plane's /28), the node pool (machine type, autoscaling bounds, spot), the Cloud SQL tier and disk, the Redis memory."

  validation {
    condition = alltrue([
      for cidr in [var.sizes.nodes_cidr, var.sizes.pods_cidr, var.sizes.services_cidr, var.sizes.master_cidr] :
      can(cidrhost(cidr, 0))
    ])
    error_message = "nodes_cidr, pods_cidr, services_cidr and master_cidr must be IPv4 CIDR blocks."
  }

  validation {
    condition     = can(cidrhost(var.sizes.master_cidr, 0)) && endswith(var.sizes.master_cidr, "/28")
    error_message = "master_cidr must be a /28 (the GKE control plane's private endpoint range)."
  }

  validation {
    condition     = var.sizes.min_nodes >= 0 && var.sizes.min_nodes <= var.sizes.max_nodes && var.sizes.max_nodes >= 1
    error_message = "The node pool needs 0 <= min_nodes <= max_nodes and max_nodes >= 1."
  }

  validation {
    condition     = can(regex("^db-", var.sizes.sql_tier)) && var.sizes.sql_disk_gb >= 10
    error_message = "sql_tier must be a Cloud SQL tier (db-...) and sql_disk_gb at least 10."
  }

  validation {
    condition     = var.sizes.redis_gb >= 1
    error_message = "redis_gb must be at least 1."
  }
}

variable "release_channel" {
  type        = string
  description = "GKE release channel: RAPID, REGULAR or STABLE."

  validation {
    condition     = contains(["RAPID", "REGULAR", "STABLE"], var.release_channel)
    error_message = "release_channel must be RAPID, REGULAR or STABLE."
  }
}

variable "deletion_protection" {
  type        = bool
  description = "Whether Terraform refuses to destroy the GKE cluster and the Cloud SQL instance."
}

variable "labels" {
  type        = map(string)
  description = "Labels of every resource that takes them (the roots' providers set the same as default_labels)."
}
