# The first apply, by a person allowed to create buckets in each environment's project, before
# any environment root: the state bucket of each environment, `<project>-tfstate` (what each
# root's backend.tf names). The environments and their projects are read from the tfvars files
# rendered from platform.toml, so this root has nothing to keep in step by hand. Its own (tiny)
# state starts local; migrate it once the buckets exist (see README.md).

provider "google" {}

locals {
  environments = {
    for file in fileset("${path.module}/../envs", "*/platform.auto.tfvars.json") :
    dirname(file) => jsondecode(file("${path.module}/../envs/${file}"))
  }
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
