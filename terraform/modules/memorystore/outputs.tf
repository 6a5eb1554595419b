output "host" {
  description = "Private IP of the Redis instance."
  value       = google_redis_instance.cache.host
}

output "port" {
  description = "Port of the Redis instance."
  value       = google_redis_instance.cache.port
}

output "redis_url_secret_ids" {
  description = "Secret Manager secret id holding each service's REDIS_URL, by service."
  value       = { for service, secret in google_secret_manager_secret.redis_url : service => secret.secret_id }
}
