output "repository_id" {
  description = "ID of the repository."
  value       = google_artifact_registry_repository.docker.id
}

output "registry_url" {
  description = "Registry path images are pushed to (`<location>-docker.pkg.dev/<project>/<repository>`)."
  value       = "${var.location}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.docker.repository_id}"
}

output "cache_url" {
  description = "Registry path of the build cache repository (`<registry_url>-cache`); null when not created."
  value       = var.cache_repository ? "${var.location}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.cache[0].repository_id}" : null
}
