# The first apply, by a person who owns the environments' projects and administers the GitHub
# repository, before any environment root. It makes what spans environments, or what CI must not
# be able to change:
# - the state bucket of each environment, `<project>-tfstate` (what each root's backend.tf names);
# - each environment's Cloud DNS zone, and the delegation of a child environment's zone from its
#   parent's (NS and DS records), so only the apex is left to the registrar (dns.tf);
# - the GitHub repository's environments, their branch policies and reviewers, the variables the
#   workflows read and the plan passphrase (github.tf);
# - read-only deploy keys of the repository for Argo CD and Airflow's git-sync, written into each
#   environment's Secret Manager (deploy_keys.tf).
# The environments, projects, names and secret ids are read from the tfvars files rendered from
# platform.toml, so this root has nothing to keep in step by hand. Its state starts local; migrate
# it into the prod state bucket once that exists (README.md): it holds the deploy keys.

provider "google" {}

# The repository's owner; the token comes from GITHUB_TOKEN (`export GITHUB_TOKEN=$(gh auth token)`).
provider "github" {
  owner = local.github_owner
}

locals {
  environments = {
    for file in fileset("${path.module}/../envs", "*/platform.auto.tfvars.json") :
    dirname(file) => jsondecode(file("${path.module}/../envs/${file}"))
  }

  # Every environment names the same repository (platform.toml's repo_url); null when it is not
  # on GitHub, and then nothing here touches GitHub.
  github_repository = one(distinct([for e in values(local.environments) : e.github_repository]))
  github_owner      = local.github_repository == null ? null : split("/", local.github_repository)[0]
  github_name       = local.github_repository == null ? null : split("/", local.github_repository)[1]
}

# Cloud DNS and Secret Manager, which this root uses in each project before its environment root
# runs (the environment root enables them too, and neither disables them on destroy).
resource "google_project_service" "bootstrap" {
  for_each = merge([
    for env, e in local.environments : {
      for api in ["dns.googleapis.com", "secretmanager.googleapis.com"] : "${env}/${api}" => {
        project = e.project_id
        api     = api
      }
    }
  ]...)

  project            = each.value.project
  service            = each.value.api
  disable_on_destroy = false
}

module "state_backend" {
  source   = "../modules/state-backend"
  for_each = local.environments

  project_id  = each.value.project_id
  bucket_name = "${each.value.project_id}-tfstate"
  location    = var.location
  labels = {
    environment = each.key
    managed-by  = "terraform"
  }
}
