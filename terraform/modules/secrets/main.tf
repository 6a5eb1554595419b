# One Secret Manager secret per secret a service declares in platform.toml (and per key of a
# platform component). A value a machine can make (platform.toml `kind = "random"` or
# `"ed25519-key"`, a component's `"fernet-key"`) is generated here, once, and written
# straight into Secret Manager: ephemeral resources and a write-only argument keep it out of the
# plan and the state. A value a person supplies (`kind = "provided"`) is added out of band
# (`gcloud secrets versions add`); `secrets_to_provide` lists those secrets.
# External Secrets copies the values into the service's namespace.

resource "google_secret_manager_secret" "secret" {
  for_each = var.secrets

  project   = var.project_id
  secret_id = each.key
  labels    = merge(var.labels, { service = each.value.service })

  replication {
    auto {}
  }
}

locals {
  random       = { for id, kind in var.generated : id => kind if kind == "random" }
  ed25519_keys = { for id, kind in var.generated : id => kind if kind == "ed25519-key" }
  fernet_keys  = { for id, kind in var.generated : id => kind if kind == "fernet-key" }
}

# 64 characters of [a-z0-9] (about 330 bits): session, cookie and webhook keys.
ephemeral "random_password" "generated" {
  for_each = local.random

  length  = 64
  upper   = false
  special = false
}

# An Ed25519 signing key, PKCS#8 PEM.
ephemeral "tls_private_key" "generated" {
  for_each = local.ed25519_keys

  algorithm = "ED25519"
}

# A Fernet key (Airflow's): 32 bytes, URL-safe base64. 32 characters of [A-Za-z0-9] (about 190
# bits) as the 32 bytes.
ephemeral "random_password" "fernet" {
  for_each = local.fernet_keys

  length  = 32
  special = false
}

resource "google_secret_manager_secret_version" "random" {
  # Keyed by the plain map: a managed resource's for_each may not be ephemeral.
  for_each = local.random

  secret         = google_secret_manager_secret.secret[each.key].id
  secret_data_wo = ephemeral.random_password.generated[each.key].result
  # Written once; raising generation writes a new value (a rotation).
  secret_data_wo_version = var.generation
}

resource "google_secret_manager_secret_version" "ed25519_key" {
  for_each = local.ed25519_keys

  secret                 = google_secret_manager_secret.secret[each.key].id
  secret_data_wo         = ephemeral.tls_private_key.generated[each.key].private_key_pem
  secret_data_wo_version = var.generation
}

resource "google_secret_manager_secret_version" "fernet_key" {
  for_each = local.fernet_keys

  secret                 = google_secret_manager_secret.secret[each.key].id
  secret_data_wo         = replace(replace(base64encode(ephemeral.random_password.fernet[each.key].result), "+", "-"), "/", "_")
  secret_data_wo_version = var.generation
}
