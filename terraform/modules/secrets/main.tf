# One Secret Manager secret per secret a service declares in platform.toml. Only the containers:
# values are added out of band (`gcloud secrets versions add`), never written in code or state.
# External Secrets copies them into the service's namespace.

resource "google_secret_manager_secret" "secret" {
  for_each = var.secrets

  project   = var.project_id
  secret_id = each.key
  labels    = merge(var.labels, { service = each.value.service })

  replication {
    auto {}
  }
}
