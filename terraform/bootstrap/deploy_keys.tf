# Read-only deploy keys of the repository, one per reader and environment: Argo CD's
# (`argocd.repository_key_secret_id` of each environment's tfvars) and each platform component's
# (`components.<name>.bootstrap_secrets`: Airflow's git-sync). Each private key goes into the
# environment's Secret Manager, where only its reader (and the environment root, for Argo CD's)
# may read it; the public half is registered with the repository, read-only.

locals {
  deploy_keys = local.github_repository == null ? {} : merge(
    {
      for env, e in local.environments : "${env}/argocd" => {
        project   = e.project_id
        secret_id = e.argocd.repository_key_secret_id
        title     = "Argo CD (${env})"
      }
    },
    merge([
      for env, e in local.environments : merge([
        for component, c in e.components : {
          for key, id in try(c.bootstrap_secrets, {}) : "${env}/${component}/${key}" => {
            project   = e.project_id
            secret_id = id
            title     = "${component} ${key} (${env})"
          }
        }
      ]...)
    ]...),
  )
}

resource "tls_private_key" "deploy" {
  for_each = local.deploy_keys

  algorithm = "ED25519"
}

resource "github_repository_deploy_key" "deploy" {
  for_each = local.deploy_keys

  repository = local.github_name
  title      = "${each.value.title}, read-only (terraform/bootstrap)"
  key        = tls_private_key.deploy[each.key].public_key_openssh
  read_only  = true
}

resource "google_secret_manager_secret" "deploy_key" {
  for_each = local.deploy_keys

  project   = each.value.project
  secret_id = each.value.secret_id
  labels = {
    managed-by = "terraform-bootstrap"
  }

  replication {
    auto {}
  }

  depends_on = [google_project_service.bootstrap]
}

resource "google_secret_manager_secret_version" "deploy_key" {
  for_each = local.deploy_keys

  secret      = google_secret_manager_secret.deploy_key[each.key].id
  secret_data = tls_private_key.deploy[each.key].private_key_openssh
}
