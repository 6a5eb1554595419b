# GitHub Actions authenticates to GCP without keys: a Workload Identity Federation pool and OIDC
# provider that accept tokens of ONE repository only, and three service accounts, each usable by
# a narrower set of that repository's jobs. No service account key is ever created.
#
#   plan   read-only (viewer, security reviewer, cluster viewer): any job of the repository, e.g. a pull request's
#          `terraform plan`; it reads state (granted on the bucket by the root) but cannot change
#          anything.
#   apply  the roles in `apply_roles`: ONLY jobs that run in the GitHub environment
#          `environment` (token subject `repo:<owner>/<name>:environment:<env>`), whose protection
#          rules (required reviewers, main only) gate it. Its project IAM admin role carries a
#          condition: it may grant only `apply_grantable_roles` and `plan_roles`.
#   images optional; no project role (the registry grants it writer on its repository): only
#          jobs whose ref is `refs/heads/main`.

locals {
  project_iam_admin = "roles/resourcemanager.projectIamAdmin"
  grantable_roles   = sort(distinct(concat(var.apply_grantable_roles, var.plan_roles)))
}

resource "google_iam_workload_identity_pool" "github" {
  project                   = var.project_id
  workload_identity_pool_id = var.pool_id
  display_name              = "GitHub Actions"
  description               = "Workflows of ${var.repository}"
}

resource "google_iam_workload_identity_pool_provider" "github" {
  #checkov:skip=CKV_GCP_125:The condition pins the exact `repository` claim (owner/name), as GitHub recommends; each service account then narrows further (apply: the `sub` of one environment; images: ref main). checkov only accepts a single `assertion.sub ==` value here.
  project                            = var.project_id
  workload_identity_pool_id          = google_iam_workload_identity_pool.github.workload_identity_pool_id
  workload_identity_pool_provider_id = "github"
  display_name                       = "GitHub OIDC"

  # `sub` is `repo:<owner>/<name>:environment:<env>` for a job in a GitHub environment (the
  # apply account binds that subject); `environment` is not mapped: jobs without one lack it.
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

locals {
  pool = google_iam_workload_identity_pool.github.name

  # The accounts to create: static keys, so for_each is known at plan even on the first apply.
  purposes = toset(concat(["plan", "apply"], var.images_service_account ? ["images"] : []))

  # Who may impersonate each account. The provider admits this repository only, so a principal
  # set by ref or a subject cannot come from another repository.
  principals = {
    plan   = "principalSet://iam.googleapis.com/${local.pool}/attribute.repository/${var.repository}"
    apply  = "principal://iam.googleapis.com/${local.pool}/subject/repo:${var.repository}:environment:${var.environment}"
    images = "principalSet://iam.googleapis.com/${local.pool}/attribute.ref/refs/heads/main"
  }

  accounts = {
    plan   = { id = "${var.service_account_prefix}-plan", what = "read-only plan (any job of the repository)" }
    apply  = { id = "${var.service_account_prefix}-apply", what = "apply (jobs in the GitHub environment ${var.environment} only)" }
    images = { id = "${var.service_account_prefix}-images", what = "image push (jobs on refs/heads/main only)" }
  }
}

resource "google_service_account" "ci" {
  for_each = local.purposes

  project      = var.project_id
  account_id   = local.accounts[each.key].id
  display_name = "CI ${each.key} (GitHub Actions, ${var.repository})"
  description  = "CI ${local.accounts[each.key].what}, impersonated through Workload Identity Federation; has no keys."
}

resource "google_service_account_iam_member" "ci_workload_identity" {
  for_each = local.purposes

  service_account_id = google_service_account.ci[each.key].name
  role               = "roles/iam.workloadIdentityUser"
  member             = local.principals[each.key]
}

resource "google_project_iam_member" "plan" {
  #checkov:skip=CKV_GCP_117:roles/viewer is the read-only basic role: the plan account must refresh every resource type of the root (GKE, Cloud SQL, Redis, IAM, networks...), and the module's validation refuses owner, editor and admin roles here. It grants no write.
  for_each = toset(var.plan_roles)

  project = var.project_id
  role    = each.value
  member  = google_service_account.ci["plan"].member
}

resource "google_project_iam_member" "apply" {
  #checkov:skip=CKV_GCP_41:The apply account applies Terraform, which creates the per-service and node service accounts and attaches them (actAs); it is keyless and usable only by jobs in one protected GitHub environment.
  #checkov:skip=CKV_GCP_49:Same reason: applying the identity and gke modules needs service account admin and user on the project.
  for_each = toset(var.apply_roles)

  project = var.project_id
  role    = each.value
  member  = google_service_account.ci["apply"].member

  # Project IAM admin only for the roles Terraform grants other principals (delegated role
  # grants): the account cannot grant itself, or anyone, an admin role.
  dynamic "condition" {
    for_each = each.value == local.project_iam_admin ? [local.grantable_roles] : []
    content {
      title       = "only-platform-grants"
      description = "May grant or revoke only the roles the Terraform roots grant nodes, workloads and the plan account."
      expression  = "api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly(${jsonencode(condition.value)})"
    }
  }
}
