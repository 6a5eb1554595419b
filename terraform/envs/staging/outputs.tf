output "cluster_name" {
  description = "Name of the GKE cluster."
  value       = module.platform.cluster_name
}

output "ingress_ip" {
  description = "The ingress gateway's address (the rendered gateway takes it by name; the hosts' A records point at it)."
  value       = module.platform.ingress_ip
}

output "dns_name_servers" {
  description = "Name servers of the environment's Cloud DNS zone (terraform/bootstrap delegates to them, or lists them for the registrar)."
  value       = module.platform.dns_name_servers
}

output "workload_pool" {
  description = "Workload Identity pool of the cluster."
  value       = module.platform.workload_pool
}

output "service_account_emails" {
  description = "Google service account of each service (must match the rendered Kubernetes annotations)."
  value       = module.platform.service_account_emails
}

output "cloudsql_connection_name" {
  description = "Connection name of the Cloud SQL instance."
  value       = module.platform.cloudsql_connection_name
}

output "node_service_account_email" {
  description = "Email of the GKE nodes' service account (the registry's root grants it artifactregistry.reader)."
  value       = module.platform.node_service_account_email
}

output "ci_workload_identity_provider" {
  description = "Workload Identity provider for GitHub Actions (null when the repository is not on GitHub)."
  value       = module.platform.ci_workload_identity_provider
}

output "ci_plan_service_account_email" {
  description = "Read-only CI service account (pull-request plans; GitHub variable GCP_PLAN_SA_<ENV>). Null when the repository is not on GitHub."
  value       = module.platform.ci_plan_service_account_email
}

output "ci_apply_service_account_email" {
  description = "CI service account that applies this root, only from jobs in the GitHub environment of the same name (GCP_APPLY_SA_<ENV>). Null when the repository is not on GitHub."
  value       = module.platform.ci_apply_service_account_email
}

output "ci_images_service_account_email" {
  description = "CI service account that pushes images, only from refs/heads/main (GCP_IMAGES_SA). Null unless this root holds the registry and the repository is on GitHub."
  value       = module.platform.ci_images_service_account_email
}

output "secrets_to_provide" {
  description = "Secret ids whose value a person must add (`gcloud secrets versions add`); docs/deploy.md checks them."
  value       = module.platform.secrets_to_provide
}

output "cluster_dns_endpoint" {
  description = "The cluster's control plane DNS endpoint (IAM-authorized): `gcloud container clusters get-credentials --dns-endpoint` uses it."
  value       = module.platform.cluster_dns_endpoint
}
