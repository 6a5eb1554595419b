# The public face of an environment: a static address for the ingress gateway's load balancer
# (which the rendered gateway names), an A record per public host in the environment's Cloud DNS
# zone (terraform/bootstrap creates the zone), and the right to answer ACME DNS-01 challenges in
# that zone (and nowhere else) for the certificate issuer.

resource "google_compute_address" "ingress" {
  project      = var.project_id
  region       = var.region
  name         = "${var.name}-ingress"
  description  = "Load balancer address of the Istio ingress gateway, which names it (networking.gke.io/load-balancer-ip-addresses)."
  address_type = "EXTERNAL"
  network_tier = "PREMIUM"
  labels       = var.labels
}

# The zone itself is terraform/bootstrap's (modules/dns-zone), which also delegates to it from the
# parent: this root finds it by name.
data "google_dns_managed_zone" "zone" {
  project = var.project_id
  name    = var.name
}

resource "google_dns_record_set" "host" {
  for_each = toset(var.hosts)

  project      = var.project_id
  managed_zone = data.google_dns_managed_zone.zone.name
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
  managed_zone = data.google_dns_managed_zone.zone.name
  role         = "roles/dns.admin"
  member       = each.value
}
