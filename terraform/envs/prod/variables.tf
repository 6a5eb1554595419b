# Every variable here is set by platform.auto.tfvars.json, rendered by `cargo xtask render` from
# platform.toml: change platform.toml, never the JSON.

variable "generated_by" {
  type        = string
  description = "Provenance note of the rendered tfvars file (JSON cannot carry a comment)."
}

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
  description = "The environment this root provisions (`[environments.<name>]`)."

  validation {
    condition     = var.environment == "prod"
    error_message = "This root provisions prod; render its tfvars from [environments.prod]."
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
}

variable "domain" {
  type        = string
  description = "The environment's domain (`environments.<env>.domain`): Terraform creates its Cloud DNS zone."
}

variable "ingress_hosts" {
  type        = list(string)
  description = "Public hosts of the environment (the services' `ingress_host`s there): an A record each, to the ingress gateway's address."
}

variable "generated_secrets" {
  type        = map(string)
  description = "Declared secrets whose value Terraform generates, by Secret Manager secret id => kind (`random` or `ed25519-key`)."
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

variable "argocd" {
  type = object({
    repository_url           = string
    repository_key_secret_id = string
  })
  description = "How Argo CD reads this repository: its SSH URL (as the Applications name it) and the Secret Manager secret of its read-only deploy key, which terraform/bootstrap writes."
}
