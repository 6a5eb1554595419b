output "ingress_ip" {
  description = "The ingress gateway's address (the gateway takes it by name; the hosts' A records point at it)."
  value       = google_compute_address.ingress.address
}

output "zone_name" {
  description = "Name of the Cloud DNS managed zone."
  value       = data.google_dns_managed_zone.zone.name
}

output "name_servers" {
  description = "Name servers of the zone (terraform/bootstrap delegates to them from the parent zone, or lists them for the registrar)."
  value       = data.google_dns_managed_zone.zone.name_servers
}
