output "name" {
  description = "Name of the Cloud DNS managed zone."
  value       = google_dns_managed_zone.zone.name
}

output "name_servers" {
  description = "Name servers of the zone: the NS records its parent publishes."
  value       = google_dns_managed_zone.zone.name_servers
}

output "ds_record" {
  description = "DS record of the zone's key-signing key: what its parent publishes so resolvers trust its signatures."
  value       = data.google_dns_keys.keys.key_signing_keys[0].ds_record
}
