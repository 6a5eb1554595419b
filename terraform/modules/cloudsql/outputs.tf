output "instance_name" {
  description = "Name of the Cloud SQL instance."
  value       = google_sql_database_instance.postgres.name
}

output "connection_name" {
  description = "`project:region:instance`, for the Cloud SQL connectors."
  value       = google_sql_database_instance.postgres.connection_name
}

output "private_ip_address" {
  description = "Private IP of the instance."
  value       = google_sql_database_instance.postgres.private_ip_address
}

output "iam_users" {
  description = "The PostgreSQL user of each service's Google service account, by service (what the grants job grants to)."
  value       = { for service, user in google_sql_user.service : service => user.name }
}

output "admin_url_secret_id" {
  description = "Secret Manager secret id holding the admin user's URL."
  value       = google_secret_manager_secret.admin_url.secret_id
}
