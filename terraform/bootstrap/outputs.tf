output "state_buckets" {
  description = "State bucket of each environment, for its backend.tf."
  value       = { for env, backend in module.state_backend : env => backend.bucket_name }
}
