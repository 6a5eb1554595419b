output "network_id" {
  description = "ID of the VPC (`projects/<p>/global/networks/<name>`)."
  value       = google_compute_network.vpc.id
}

output "network_name" {
  description = "Name of the VPC."
  value       = google_compute_network.vpc.name
}

output "subnetwork_id" {
  description = "ID of the node subnet."
  value       = google_compute_subnetwork.nodes.id
}

output "pods_range_name" {
  description = "Name of the subnet's secondary range for pods."
  value       = local.pods_range_name
}

output "services_range_name" {
  description = "Name of the subnet's secondary range for Kubernetes Services."
  value       = local.services_range_name
}

output "private_network_id" {
  description = "The VPC ID, read from the private service access connection: pass this (not network_id) to Cloud SQL and Memorystore so they are created after the peering exists."
  value       = google_service_networking_connection.private_services.network
}
