output "ingress_ip" {
  description = "The ingress gateway's address: write it as `ingress_ip` of the environment in platform.toml."
  value       = google_compute_address.ingress.address
}

output "zone_name" {
  description = "Name of the Cloud DNS managed zone."
  value       = google_dns_managed_zone.zone.name
}

output "name_servers" {
  description = "Name servers of the zone: delegate the domain to them (NS records at the parent)."
  value       = google_dns_managed_zone.zone.name_servers
}
