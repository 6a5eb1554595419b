# One Cloud SQL for PostgreSQL instance on a private IP, and per service that owns a database: the
# database, its own user with a generated password, and a Secret Manager secret holding its
# DATABASE_URL. The password lives in Terraform state (encrypted at rest in the state bucket) and
# in that secret; it is never an output.

resource "google_sql_database_instance" "postgres" {
  #checkov:skip=CKV_GCP_6:ssl_mode ENCRYPTED_ONLY refuses every unencrypted connection; client certificates (the mode checkov wants) would have to be distributed to every pod.
  project             = var.project_id
  name                = var.name
  region              = var.region
  database_version    = var.database_version
  deletion_protection = var.deletion_protection

  settings {
    tier                        = var.tier
    edition                     = "ENTERPRISE"
    availability_type           = var.high_availability ? "REGIONAL" : "ZONAL"
    disk_type                   = "PD_SSD"
    disk_size                   = var.disk_size_gb
    disk_autoresize             = true
    deletion_protection_enabled = var.deletion_protection
    user_labels                 = var.labels

    ip_configuration {
      ipv4_enabled                                  = false
      private_network                               = var.private_network_id
      ssl_mode                                      = "ENCRYPTED_ONLY"
      enable_private_path_for_google_cloud_services = true
    }

    backup_configuration {
      enabled                        = true
      point_in_time_recovery_enabled = true
      start_time                     = var.backup_start_time
      transaction_log_retention_days = var.point_in_time_recovery_days

      backup_retention_settings {
        retained_backups = var.retained_backups
        retention_unit   = "COUNT"
      }
    }

    maintenance_window {
      day          = 7
      hour         = 3
      update_track = "stable"
    }

    insights_config {
      query_insights_enabled  = true
      record_application_tags = false
      record_client_address   = false
    }

    # What the CIS PostgreSQL benchmark asks Cloud SQL to log (DDL only: data stays out of logs).
    database_flags {
      name  = "log_checkpoints"
      value = "on"
    }

    database_flags {
      name  = "log_connections"
      value = "on"
    }

    database_flags {
      name  = "log_disconnections"
      value = "on"
    }

    database_flags {
      name  = "log_duration"
      value = "on"
    }

    database_flags {
      name  = "log_lock_waits"
      value = "on"
    }

    database_flags {
      name  = "log_hostname"
      value = "on"
    }

    database_flags {
      name  = "log_min_messages"
      value = "error"
    }

    database_flags {
      name  = "log_min_error_statement"
      value = "error"
    }

    database_flags {
      name  = "log_temp_files"
      value = "0"
    }

    database_flags {
      name  = "log_min_duration_statement"
      value = "-1"
    }

    database_flags {
      name  = "log_statement"
      value = "ddl"
    }

    database_flags {
      name  = "cloudsql.enable_pgaudit"
      value = "on"
    }
  }
}

resource "google_sql_database" "service" {
  for_each = var.databases

  project  = var.project_id
  instance = google_sql_database_instance.postgres.name
  name     = each.value.database
}

# No special characters: the password goes into a URL unescaped.
resource "random_password" "service" {
  for_each = var.databases

  length  = 40
  special = false
}

resource "google_sql_user" "service" {
  for_each = var.databases

  project  = var.project_id
  instance = google_sql_database_instance.postgres.name
  name     = each.value.user
  password = random_password.service[each.key].result
}

resource "google_secret_manager_secret" "database_url" {
  for_each = var.databases

  project   = var.project_id
  secret_id = each.value.url_secret_id
  labels    = merge(var.labels, { service = each.key })

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "database_url" {
  for_each = var.databases

  secret      = google_secret_manager_secret.database_url[each.key].id
  secret_data = "postgres://${google_sql_user.service[each.key].name}:${random_password.service[each.key].result}@${google_sql_database_instance.postgres.private_ip_address}:5432/${google_sql_database.service[each.key].name}?sslmode=require"
}
