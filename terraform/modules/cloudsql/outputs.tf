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

output "database_url_secret_ids" {
  description = "Secret Manager secret id holding each service's DATABASE_URL, by service."
  value       = { for service, secret in google_secret_manager_secret.database_url : service => secret.secret_id }
}
