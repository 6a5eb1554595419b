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
  description = "Instance name (not reusable for a week after deletion)."

  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{0,78}[a-z0-9]$", var.name))
    error_message = "name must be lowercase letters, digits and dashes, starting with a letter."
  }
}

variable "private_network_id" {
  type        = string
  description = "VPC with private service access (network module output `private_network_id`)."
}

variable "database_version" {
  type        = string
  description = "PostgreSQL major version, e.g. `POSTGRES_18`."
  default     = "POSTGRES_18"

  validation {
    condition     = can(regex("^POSTGRES_[0-9]+$", var.database_version))
    error_message = "database_version must be POSTGRES_<major>."
  }
}

variable "tier" {
  type        = string
  description = "Machine tier, e.g. `db-custom-2-7680`."
}

variable "high_availability" {
  type        = bool
  description = "REGIONAL (a standby in another zone, automatic failover) when true, ZONAL otherwise."
}

variable "disk_size_gb" {
  type        = number
  description = "Initial disk size in GB (grows automatically)."
  default     = 20

  validation {
    condition     = var.disk_size_gb >= 10
    error_message = "disk_size_gb must be at least 10."
  }
}

variable "backup_start_time" {
  type        = string
  description = "Start of the daily backup window, HH:MM in UTC."
  default     = "02:00"

  validation {
    condition     = can(regex("^([01][0-9]|2[0-3]):[0-5][0-9]$", var.backup_start_time))
    error_message = "backup_start_time must be HH:MM."
  }
}

variable "retained_backups" {
  type        = number
  description = "How many daily backups to keep."
  default     = 14

  validation {
    condition     = var.retained_backups >= 1 && var.retained_backups <= 365
    error_message = "retained_backups must be between 1 and 365."
  }
}

variable "point_in_time_recovery_days" {
  type        = number
  description = "Days of write-ahead log kept for point-in-time recovery (1-7 on Enterprise)."
  default     = 7

  validation {
    condition     = var.point_in_time_recovery_days >= 1 && var.point_in_time_recovery_days <= 7
    error_message = "point_in_time_recovery_days must be between 1 and 7."
  }
}

variable "deletion_protection" {
  type        = bool
  description = "Whether Terraform and the API refuse to delete the instance."
  default     = true
}

variable "databases" {
  type = map(object({
    database              = string
    service_account_email = string
  }))
  description = "Per service that owns a database (keyed by service): database name and the Google service account that logs in to it (IAM database authentication)."

  validation {
    condition     = alltrue([for d in values(var.databases) : can(regex("^[a-z][a-z0-9_]{0,62}$", d.database)) && endswith(d.service_account_email, ".iam.gserviceaccount.com")])
    error_message = "Database names must be lowercase identifiers (letters, digits, underscores); service accounts must be Google service account emails."
  }
}

variable "admin_user" {
  type        = string
  description = "Built-in user the grants job logs in as (a member of cloudsqlsuperuser)."
  default     = "db-grants"
}

variable "admin_url_secret_id" {
  type        = string
  description = "Secret Manager secret id receiving the admin user's URL (read by the grants job only)."
}

variable "labels" {
  type        = map(string)
  description = "Labels applied to the instance and the secrets."
  default     = {}
}
