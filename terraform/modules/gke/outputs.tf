output "cluster_name" {
  description = "Name of the cluster."
  value       = google_container_cluster.cluster.name
}

output "cluster_id" {
  description = "ID of the cluster."
  value       = google_container_cluster.cluster.id
}

output "endpoint" {
  description = "Control plane endpoint."
  value       = google_container_cluster.cluster.endpoint
  sensitive   = true
}

output "ca_certificate" {
  description = "Base64 CA certificate of the control plane."
  value       = google_container_cluster.cluster.master_auth[0].cluster_ca_certificate
  sensitive   = true
}

output "workload_pool" {
  description = "Workload Identity pool of the cluster (`<project>.svc.id.goog`)."
  value       = google_container_cluster.cluster.workload_identity_config[0].workload_pool
}

output "node_service_account_email" {
  description = "Email of the nodes' service account (grant it reads on registries in other projects)."
  value       = google_service_account.nodes.email
}

output "node_roles" {
  description = "Project roles granted to the nodes' service account."
  value       = local.node_roles
}

output "dns_endpoint" {
  description = "The control plane's DNS endpoint (IAM-authorized, reachable from anywhere, a publicly trusted certificate): what Terraform's Kubernetes and Helm providers talk to."
  value       = google_container_cluster.cluster.control_plane_endpoints_config[0].dns_endpoint_config[0].endpoint
}
