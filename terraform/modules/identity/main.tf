# One Google service account per workload (for a service `svc-<service>`, the account the rendered
# Kubernetes ServiceAccount names in its Workload Identity annotation), which only that Kubernetes
# service account may act as, and which may read only the secrets listed for it.

resource "google_service_account" "service" {
  for_each = var.services

  project      = var.project_id
  account_id   = each.value.service_account_id
  display_name = "${each.key} (${var.environment})"
  description  = "Workload Identity of ${each.value.namespace}/${each.value.kubernetes_service_account}${each.value.purpose == null ? "" : ": ${each.value.purpose}"}; generated from platform.toml."
}

# Only the Kubernetes service account <namespace>/<name> of the cluster's pool may act as it.
resource "google_service_account_iam_member" "workload_identity" {
  for_each = var.services

  service_account_id = google_service_account.service[each.key].name
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${var.workload_pool}[${each.value.namespace}/${each.value.kubernetes_service_account}]"
}

locals {
  # "<workload>/<secret id>" for every secret a workload may read.
  secret_grants = merge([
    for service, s in var.services : {
      for secret_id in s.secret_ids : "${service}/${secret_id}" => {
        service   = service
        secret_id = secret_id
      }
    }
  ]...)
}

# Access on each secret, never on the project: a workload reads only the secrets listed for it.
resource "google_secret_manager_secret_iam_member" "accessor" {
  for_each = local.secret_grants

  project   = var.project_id
  secret_id = each.value.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.service[each.value.service].member
}

locals {
  cloudsql_client_role        = "roles/cloudsql.client"
  cloudsql_instance_user_role = "roles/cloudsql.instanceUser"
  postgres_services           = { for service, s in var.services : service => s if s.postgres }
}

# Connect through the Cloud SQL Auth Proxy.
resource "google_project_iam_member" "cloudsql_client" {
  for_each = local.postgres_services

  project = var.project_id
  role    = local.cloudsql_client_role
  member  = google_service_account.service[each.key].member
}

# Log in as itself (IAM database authentication).
resource "google_project_iam_member" "cloudsql_instance_user" {
  for_each = local.postgres_services

  project = var.project_id
  role    = local.cloudsql_instance_user_role
  member  = google_service_account.service[each.key].member
}
