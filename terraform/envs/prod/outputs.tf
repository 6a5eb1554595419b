output "cluster_name" {
  description = "Name of the GKE cluster."
  value       = module.gke.cluster_name
}

output "workload_pool" {
  description = "Workload Identity pool of the cluster."
  value       = module.gke.workload_pool
}

output "service_account_emails" {
  description = "Google service account of each service (must match the rendered Kubernetes annotations)."
  value       = module.identity.service_account_emails
}

output "cloudsql_connection_name" {
  description = "Connection name of the Cloud SQL instance."
  value       = module.cloudsql.connection_name
}

output "node_service_account_email" {
  description = "Email of the GKE nodes' service account; grant it artifactregistry.reader where the registry lives."
  value       = module.gke.node_service_account_email
}

output "ci_workload_identity_provider" {
  description = "Workload Identity provider for GitHub Actions (null when the repository is not on GitHub)."
  value       = one(module.github_oidc[*].workload_identity_provider)
}

output "ci_service_account_email" {
  description = "CI service account for GitHub Actions (null when the repository is not on GitHub)."
  value       = one(module.github_oidc[*].service_account_email)
}
