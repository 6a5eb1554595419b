output "cluster_name" {
  description = "Name of the GKE cluster."
  value       = module.gke.cluster_name
}

output "ingress_ip" {
  description = "The ingress gateway's static address (the gateway takes it by name)."
  value       = module.dns.ingress_ip
}

output "dns_name_servers" {
  description = "Name servers of the environment's Cloud DNS zone."
  value       = module.dns.name_servers
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
  description = "Email of the GKE nodes' service account (the registry's root grants it artifactregistry.reader)."
  value       = module.gke.node_service_account_email
}

output "ci_workload_identity_provider" {
  description = "Workload Identity provider for GitHub Actions (null when the repository is not on GitHub)."
  value       = one(module.github_oidc[*].workload_identity_provider)
}

output "ci_plan_service_account_email" {
  description = "Read-only CI service account (pull-request plans; GitHub variable GCP_PLAN_SA_<ENV>). Null when the repository is not on GitHub."
  value       = try(module.github_oidc[0].service_account_emails["plan"], null)
}

output "ci_apply_service_account_email" {
  description = "CI service account that applies the calling root, only from jobs in the GitHub environment of the same name (GCP_APPLY_SA_<ENV>). Null when the repository is not on GitHub."
  value       = try(module.github_oidc[0].service_account_emails["apply"], null)
}

output "ci_images_service_account_email" {
  description = "CI service account that pushes images, only from refs/heads/main (GCP_IMAGES_SA). Null unless this root holds the registry and the repository is on GitHub."
  value       = try(module.github_oidc[0].service_account_emails["images"], null)
}

output "secrets_to_provide" {
  description = "Secret ids whose value a person must add (kind `provided`): a service reading one does not start until it has a version."
  value       = module.secrets.secrets_to_provide
}

output "cluster_dns_endpoint" {
  description = "The cluster's control plane DNS endpoint (the Kubernetes and Helm providers of the root use it)."
  value       = module.gke.dns_endpoint
}
