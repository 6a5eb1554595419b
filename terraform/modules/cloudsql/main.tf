# One Cloud SQL for PostgreSQL instance on a private IP with IAM database authentication, and per
# service that owns a database: the database and an IAM user for the service's Google service
# account (no password). One built-in admin user, whose URL goes to Secret Manager, lets the
# in-cluster grants job give each IAM user its own database and nothing else.

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

    database_flags {
      name  = "cloudsql.iam_authentication"
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

# Services log in as their own Google service account (IAM database authentication, through the
# Cloud SQL Auth Proxy beside each pod): no password exists. An IAM user is not a member of
# cloudsqlsuperuser and holds no privilege until the grants job gives it its own database.
resource "google_sql_user" "service" {
  for_each = var.databases

  project  = var.project_id
  instance = google_sql_database_instance.postgres.name
  name     = trimsuffix(each.value.service_account_email, ".gserviceaccount.com")
  type     = "CLOUD_IAM_SERVICE_ACCOUNT"
}

# The one password: the built-in user the in-cluster grants job (gitops/<env>/platform/database)
# logs in as. Created through the API, it is a member of cloudsqlsuperuser, which owns every
# database, so it may grant and revoke on them. It lives in the state and in one Secret Manager
# secret that only the grants job's account may read.
resource "random_password" "admin" {
  length  = 40
  special = false
}

resource "google_sql_user" "admin" {
  project  = var.project_id
  instance = google_sql_database_instance.postgres.name
  name     = var.admin_user
  password = random_password.admin.result
}

resource "google_secret_manager_secret" "admin_url" {
  project   = var.project_id
  secret_id = var.admin_url_secret_id
  labels    = var.labels

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "admin_url" {
  secret      = google_secret_manager_secret.admin_url.id
  secret_data = "postgres://${google_sql_user.admin.name}:${random_password.admin.result}@${google_sql_database_instance.postgres.private_ip_address}:5432/postgres?sslmode=require"
}
