# GitHub Actions authenticates to GCP without keys: a Workload Identity Federation pool and OIDC
# provider that accept tokens of ONE repository only, and a CI service account that only that
# repository's workflows may impersonate. No service account key is ever created.

resource "google_iam_workload_identity_pool" "github" {
  project                   = var.project_id
  workload_identity_pool_id = var.pool_id
  display_name              = "GitHub Actions"
  description               = "Workflows of ${var.repository}"
}

resource "google_iam_workload_identity_pool_provider" "github" {
  #checkov:skip=CKV_GCP_125:The condition pins the exact `repository` claim (owner/name), as GitHub recommends; checkov only accepts one `assertion.sub ==` value, which cannot admit both pull-request plans and main-branch applies.
  project                            = var.project_id
  workload_identity_pool_id          = google_iam_workload_identity_pool.github.workload_identity_pool_id
  workload_identity_pool_provider_id = "github"
  display_name                       = "GitHub OIDC"

  attribute_mapping = {
    "google.subject"       = "assertion.sub"
    "attribute.repository" = "assertion.repository"
    "attribute.ref"        = "assertion.ref"
  }

  # Tokens of any other repository are rejected by the provider itself.
  attribute_condition = "assertion.repository == \"${var.repository}\""

  oidc {
    issuer_uri = "https://token.actions.githubusercontent.com"
  }
}

resource "google_service_account" "ci" {
  project      = var.project_id
  account_id   = var.service_account_id
  display_name = "CI (GitHub Actions, ${var.repository})"
  description  = "Impersonated by workflows of ${var.repository} through Workload Identity Federation; has no keys."
}

resource "google_service_account_iam_member" "ci_workload_identity" {
  service_account_id = google_service_account.ci.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.github.name}/attribute.repository/${var.repository}"
}

resource "google_project_iam_member" "ci" {
  #checkov:skip=CKV_GCP_41:CI applies Terraform, which creates the per-service and node service accounts and attaches them (actAs); it is one keyless account usable only from this repository.
  #checkov:skip=CKV_GCP_49:Same reason: applying the identity and gke modules needs service account admin and user on the project.
  for_each = toset(var.project_roles)

  project = var.project_id
  role    = each.value
  member  = google_service_account.ci.member
}
