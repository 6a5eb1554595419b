# The staging environment: smaller and cheaper than prod (spot nodes, zonal Cloud SQL and BASIC
# Redis unless platform.toml says `ha = true`, no deletion protection). Per-service identities,
# secrets and databases come from platform.auto.tfvars.json.

# The composition lives in terraform/modules/platform; this root sets what differs.

locals {
  # The providers' default_labels and the module's labels.
  labels = {
    platform    = var.platform_name
    environment = var.environment
    managed-by  = "terraform"
  }
}

module "platform" {
  source = "../../modules/platform"

  platform_name        = var.platform_name
  environment          = var.environment
  project_id           = var.project_id
  region               = var.region
  ha                   = var.ha
  require_ha           = false
  github_repository    = var.github_repository
  artifact_registry    = var.artifact_registry
  environment_projects = var.environment_projects
  components           = var.components
  services             = var.services
  generated_secrets    = var.generated_secrets
  domain               = var.domain
  ingress_hosts        = var.ingress_hosts

  sizes = {
    nodes_cidr    = "10.10.0.0/20"
    pods_cidr     = "10.20.0.0/14"
    services_cidr = "10.24.0.0/20"
    master_cidr   = "172.16.0.0/28"
    machine_type  = "e2-standard-4"
    min_nodes     = 1
    max_nodes     = 6
    spot          = true
    sql_tier      = "db-custom-1-3840"
    sql_disk_gb   = 20
    redis_gb      = 1
  }
  release_channel     = "REGULAR"
  deletion_protection = false
  labels              = local.labels
}

# Argo CD, its repository credentials and the roots, from the rendered files: the Application
# argocd/<env>/independent/argocd.yaml (chart, version and values Argo CD then manages itself
# with) and the roots chart argocd/<env>/bootstrap.
locals {
  argocd_application = yamldecode(file("${path.module}/../../../argocd/${var.environment}/independent/argocd.yaml"))
}

module "argocd" {
  source = "../../modules/argocd"

  project_id = var.project_id
  namespace  = local.argocd_application.spec.destination.namespace
  chart = {
    repository = local.argocd_application.spec.source.repoURL
    name       = local.argocd_application.spec.source.chart
    version    = local.argocd_application.spec.source.targetRevision
    values     = yamlencode(local.argocd_application.spec.source.helm.valuesObject)
  }
  roots_chart = "${path.module}/../../../argocd/${var.environment}/bootstrap"
  repository = {
    url           = var.argocd.repository_url
    key_secret_id = var.argocd.repository_key_secret_id
  }
  plan_member = module.platform.ci_plan_service_account_email

  depends_on = [module.platform]
}

