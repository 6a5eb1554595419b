# One Memorystore for Redis instance on private service access, AUTH enabled, shared by the
# services that use Redis (each prefixes its keys with its name). Each of them gets a Secret
# Manager secret holding its REDIS_URL (with the AUTH string), so a service can read only its own.

resource "google_redis_instance" "cache" {
  #checkov:skip=CKV_GCP_97:Off by default until the kit trusts the instance CA (see transit_encryption); traffic stays on the private service access peering and AUTH is on.
  project            = var.project_id
  name               = var.name
  region             = var.region
  tier               = var.tier
  memory_size_gb     = var.memory_size_gb
  redis_version      = var.redis_version
  authorized_network = var.private_network_id
  connect_mode       = "PRIVATE_SERVICE_ACCESS"
  auth_enabled       = true
  # In-transit encryption needs every client to trust the instance's CA; until the kit
  # distributes it, traffic stays on the private service access peering.
  transit_encryption_mode = var.transit_encryption ? "SERVER_AUTHENTICATION" : "DISABLED"
  labels                  = var.labels

  maintenance_policy {
    weekly_maintenance_window {
      day = "SUNDAY"
      start_time {
        hours   = 3
        minutes = 0
        seconds = 0
        nanos   = 0
      }
    }
  }
}

locals {
  scheme = var.transit_encryption ? "rediss" : "redis"
}

resource "google_secret_manager_secret" "redis_url" {
  for_each = var.url_secret_ids

  project   = var.project_id
  secret_id = each.value
  labels    = merge(var.labels, { service = each.key })

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "redis_url" {
  for_each = var.url_secret_ids

  secret      = google_secret_manager_secret.redis_url[each.key].id
  secret_data = "${local.scheme}://:${google_redis_instance.cache.auth_string}@${google_redis_instance.cache.host}:${google_redis_instance.cache.port}/0"
}
