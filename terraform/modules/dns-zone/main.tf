# The Cloud DNS zone of one environment's domain, DNSSEC-signed. terraform/bootstrap creates every
# environment's zone, so that the parent environment's zone can delegate to its children (NS and
# DS records) in the same apply; each environment root finds its zone by name and adds its records.

resource "google_dns_managed_zone" "zone" {
  project     = var.project_id
  name        = var.name
  dns_name    = "${var.domain}."
  description = "Public zone of ${var.domain} (terraform/bootstrap); its parent delegates to it."
  visibility  = "public"
  labels      = var.labels

  dnssec_config {
    state = "on"

    default_key_specs {
      algorithm  = "ecdsap256sha256"
      key_type   = "keySigning"
      key_length = 256
    }

    default_key_specs {
      algorithm  = "ecdsap256sha256"
      key_type   = "zoneSigning"
      key_length = 256
    }
  }
}

# The key-signing key's DS record, for the parent zone (or the registrar).
data "google_dns_keys" "keys" {
  project      = var.project_id
  managed_zone = google_dns_managed_zone.zone.id
}
