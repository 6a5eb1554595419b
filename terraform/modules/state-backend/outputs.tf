output "bucket_name" {
  description = "Name of the state bucket, for `backend \"gcs\" { bucket = ... }`."
  value       = google_storage_bucket.state.name
}

output "bucket_url" {
  description = "gs:// URL of the state bucket."
  value       = google_storage_bucket.state.url
}
