# The GitHub side of CI: one deployment environment per platform environment, admitting jobs of
# main only, the gated ones with required reviewers; the variables the workflows read (Workload
# Identity provider and CI service accounts: names the github-oidc module gives them, which a test
# holds equal); and the passphrase the prod plan travels under. Needs a token that administers the
# repository (GITHUB_TOKEN).

locals {
  github = local.github_repository == null ? {} : local.environments

  # github-oidc's names (xtask/tests/terraform.rs compares them with the module's defaults).
  oidc_pool         = "github"
  oidc_provider     = "github"
  ci_account_prefix = "ci-github"
  registry_project  = one(distinct([for e in values(local.environments) : try(e.artifact_registry.project, null)]))
  github_variables = merge(
    merge([
      for env, e in local.github : {
        "GCP_WIF_PROVIDER_${upper(env)}" = "projects/${data.google_project.environment[env].number}/locations/global/workloadIdentityPools/${local.oidc_pool}/providers/${local.oidc_provider}"
        "GCP_PLAN_SA_${upper(env)}"      = "${local.ci_account_prefix}-plan@${e.project_id}.iam.gserviceaccount.com"
        "GCP_APPLY_SA_${upper(env)}"     = "${local.ci_account_prefix}-apply@${e.project_id}.iam.gserviceaccount.com"
      }
    ]...),
    local.github_repository == null || local.registry_project == null ? {} : {
      GCP_IMAGES_SA = "${local.ci_account_prefix}-images@${local.registry_project}.iam.gserviceaccount.com"
    },
  )
}

data "google_project" "environment" {
  for_each = local.github

  project_id = each.value.project_id
}

# Whoever applies is a reviewer of the gated environments, with anyone in var.reviewers.
data "github_user" "applier" {
  count = local.github_repository == null ? 0 : 1

  username = ""
}

data "github_user" "reviewer" {
  for_each = local.github_repository == null ? toset([]) : toset(var.reviewers)

  username = each.key
}

resource "github_repository_environment" "environment" {
  for_each = local.github

  repository  = local.github_name
  environment = each.key

  dynamic "reviewers" {
    for_each = contains(var.gated_environments, each.key) ? [1] : []
    content {
      users = distinct(concat(
        [data.github_user.applier[0].id],
        [for user in data.github_user.reviewer : user.id],
      ))
    }
  }

  # Jobs of the branches named below only (main): never of another branch or a pull request.
  deployment_branch_policy {
    protected_branches     = false
    custom_branch_policies = true
  }
}

resource "github_repository_environment_deployment_policy" "main" {
  for_each = local.github

  repository     = local.github_name
  environment    = github_repository_environment.environment[each.key].environment
  branch_pattern = "main"
}

resource "github_actions_variable" "ci" {
  for_each = local.github_variables

  repository    = local.github_name
  variable_name = each.key
  value         = each.value
}

# The prod plan travels from plan-prod to the approved apply-prod encrypted under this passphrase
# (the plan holds sensitive values). It is in this root's state, like the deploy keys.
resource "random_password" "plan_passphrase" {
  count = local.github_repository == null ? 0 : 1

  length  = 44
  special = false
}

resource "github_actions_secret" "plan_passphrase" {
  #checkov:skip=CKV_GIT_4:The value is generated in this root, so it is in its state whichever argument carries it; GitHub encrypts it on receipt with the repository key. encrypted_value would need a libsodium sealed box made outside Terraform.
  count = local.github_repository == null ? 0 : 1

  repository      = local.github_name
  secret_name     = "TF_PLAN_PASSPHRASE"
  plaintext_value = random_password.plan_passphrase[0].result
}

# The branches Argo CD follows (each root's targetRevision, such as prod's `prod`), made from main
# when missing; promotion fast-forwards them afterwards (docs/deploy.md).
locals {
  tracked_branches = local.github_repository == null ? toset([]) : toset(flatten([
    for env in keys(local.environments) : [
      for doc in split("\n---\n", file("${path.module}/../../argocd/${env}/bootstrap/templates/root.yaml")) :
      try(yamldecode(doc).spec.source.targetRevision, [])
    ]
  ]))
}

resource "github_branch" "tracked" {
  for_each = setsubtract(local.tracked_branches, ["main"])

  repository    = local.github_name
  branch        = each.key
  source_branch = "main"

  lifecycle {
    # What Argo CD deploys: never deleted by a destroy of this root.
    prevent_destroy = true
  }
}
