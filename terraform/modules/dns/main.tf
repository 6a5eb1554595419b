# The public face of an environment: a static address for the ingress gateway's load balancer, the
# Cloud DNS zone of the environment's domain with an A record per public host, and the right to
# answer ACME DNS-01 challenges in that zone (and nowhere else) for the certificate issuer.

resource "google_compute_address" "ingress" {
  project      = var.project_id
  region       = var.region
  name         = "${var.name}-ingress"
  description  = "Load balancer address of the Istio ingress gateway (environments.<env>.ingress_ip in platform.toml)."
  address_type = "EXTERNAL"
  network_tier = "PREMIUM"
  labels       = var.labels
}

resource "google_dns_managed_zone" "zone" {
  project     = var.project_id
  name        = var.name
  dns_name    = "${var.domain}."
  description = "Public zone of ${var.domain}; delegate it from the parent domain (docs/deploy.md)."
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

resource "google_dns_record_set" "host" {
  for_each = toset(var.hosts)

  project      = var.project_id
  managed_zone = google_dns_managed_zone.zone.name
  name         = "${each.value}."
  type         = "A"
  ttl          = 300
  rrdatas      = [google_compute_address.ingress.address]
}

# Zone-level, not project-level: the issuer can change records of this zone only (it names the
# zone, so it never needs to list the project's zones).
resource "google_dns_managed_zone_iam_member" "acme_solver" {
  for_each = var.acme_solver_members

  project      = var.project_id
  managed_zone = google_dns_managed_zone.zone.name
  role         = "roles/dns.admin"
  member       = each.value
}
