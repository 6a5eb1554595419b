# The composition of one environment: APIs, network, GKE, Cloud SQL, Memorystore, secrets,
# per-service identities, CI identities and, where platform.registry lives in this project, the
# image registry. Each root under terraform/envs/ calls it once with its own sizes, release channel
# and deletion protection; per-service identities, secrets and databases come from the root's
# platform.auto.tfvars.json.

locals {
  name = "${var.platform_name}-${var.environment}"

  # Each root's backend.tf names the same bucket (a backend cannot read variables; a test
  # compares them).
  state_bucket = "${var.project_id}-tfstate"

  apis = toset([
    "artifactregistry.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "compute.googleapis.com",
    "container.googleapis.com",
    "dns.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "redis.googleapis.com",
    "secretmanager.googleapis.com",
    "servicenetworking.googleapis.com",
    "sqladmin.googleapis.com",
    "storage.googleapis.com",
    "sts.googleapis.com",
  ])

  postgres_services = { for name, s in var.services : name => s if s.postgres }

  # The secret of the admin URL the database grants job reads (one component sets it).
  database_admin_url_secret_id = one([
    for c in values(var.components) : c.database_admin_url_secret_id
    if c.database_admin_url_secret_id != null
  ])
  redis_services = { for name, s in var.services : name => s if s.redis }

  # Components with a database of their own (Airflow's metadata), reached through their proxy.
  database_components = { for name, c in var.components : name => c if c.database != null }

  # Whether platform.registry lives in this environment's project (this root then creates it).
  holds_registry = try(var.artifact_registry.project, null) == var.project_id

  # Every declared secret: Secret Manager secret id => owning service or component.
  declared_secrets = merge(
    merge([for name, s in var.services : { for secret, id in s.secrets : id => { service = name } }]...),
    merge([for name, c in var.components : { for key, id in c.secrets : id => { service = name } }]...),
  )

  # Roles the CI apply service account needs to apply this root (no basic roles). Only jobs in
  # the GitHub environment of this root can use it; pull-request plans use the read-only one.
  ci_apply_roles = [
    "roles/artifactregistry.admin",
    "roles/cloudsql.admin",
    "roles/compute.networkAdmin",
    "roles/compute.securityAdmin",
    "roles/container.admin",
    "roles/dns.admin",
    "roles/iam.serviceAccountAdmin",
    "roles/iam.serviceAccountUser",
    "roles/iam.workloadIdentityPoolAdmin",
    "roles/redis.admin",
    "roles/resourcemanager.projectIamAdmin",
    "roles/secretmanager.admin",
    "roles/serviceusage.serviceUsageAdmin",
    "roles/servicenetworking.networksAdmin",
  ]
}

resource "google_project_service" "apis" {
  # Cloud Build only where the images are built (the project holding the registry).
  for_each = local.holds_registry ? setunion(local.apis, ["cloudbuild.googleapis.com"]) : local.apis

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

module "network" {
  source = "../network"

  project_id    = var.project_id
  region        = var.region
  name          = local.name
  nodes_cidr    = var.sizes.nodes_cidr
  pods_cidr     = var.sizes.pods_cidr
  services_cidr = var.sizes.services_cidr

  depends_on = [google_project_service.apis]
}

module "gke" {
  source = "../gke"

  project_id          = var.project_id
  region              = var.region
  name                = local.name
  network_id          = module.network.network_id
  subnetwork_id       = module.network.subnetwork_id
  pods_range_name     = module.network.pods_range_name
  services_range_name = module.network.services_range_name
  master_cidr         = var.sizes.master_cidr
  release_channel     = var.release_channel
  deletion_protection = var.deletion_protection
  labels              = var.labels

  node_pools = {
    general = {
      machine_type = var.sizes.machine_type
      min_nodes    = var.sizes.min_nodes
      max_nodes    = var.sizes.max_nodes
      spot         = var.sizes.spot
    }
  }

  depends_on = [google_project_service.apis]
}

module "cloudsql" {
  source = "../cloudsql"

  project_id          = var.project_id
  region              = var.region
  name                = "${local.name}-postgres"
  private_network_id  = module.network.private_network_id
  tier                = var.sizes.sql_tier
  disk_size_gb        = var.sizes.sql_disk_gb
  high_availability   = var.ha
  deletion_protection = var.deletion_protection
  labels              = var.labels

  databases = merge(
    {
      for name, s in local.postgres_services : name => {
        database              = s.database
        service_account_email = module.identity.service_account_emails[name]
      }
    },
    {
      for name, c in local.database_components : name => {
        database              = c.database.name
        service_account_email = module.identity.service_account_emails[name]
      }
    },
  )
  admin_url_secret_id = local.database_admin_url_secret_id

  depends_on = [google_project_service.apis]
}

module "memorystore" {
  source = "../memorystore"

  project_id         = var.project_id
  region             = var.region
  name               = "${local.name}-redis"
  private_network_id = module.network.private_network_id
  tier               = var.ha ? "STANDARD_HA" : "BASIC"
  memory_size_gb     = var.sizes.redis_gb
  url_secret_ids     = { for name, s in local.redis_services : name => s.redis_url_secret_id }
  labels             = var.labels

  depends_on = [google_project_service.apis]
}

module "secrets" {
  source = "../secrets"

  project_id = var.project_id
  secrets    = local.declared_secrets
  generated  = var.generated_secrets
  labels     = var.labels

  depends_on = [google_project_service.apis]
}

locals {
  service_identities = {
    for name, s in var.services : name => {
      namespace                  = s.namespace
      kubernetes_service_account = name
      service_account_id         = s.service_account_id
      postgres                   = s.postgres
      # Read from the modules' outputs so access is granted after each secret exists.
      secret_ids = concat(
        [for id in values(s.secrets) : module.secrets.secret_ids[id]],
        s.redis ? [module.memorystore.redis_url_secret_ids[name]] : [],
      )
    }
  }
}

# One Google identity per service and per platform component, each reading only its own secrets
# (one grant per secret, never on the project). The External Secrets Operator has none: each
# SecretStore authenticates as the identity of the workload it serves.
module "identity" {
  source = "../identity"

  project_id    = var.project_id
  environment   = var.environment
  workload_pool = module.gke.workload_pool

  services = merge(local.service_identities, {
    for name, c in var.components : name => {
      namespace                  = c.namespace
      kubernetes_service_account = c.kubernetes_service_account
      service_account_id         = c.service_account_id
      postgres                   = c.database != null
      # Its declared secrets, what Terraform writes for it (the grants job's admin URL, its
      # database's URL) and what terraform/bootstrap wrote for it (a deploy key).
      secret_ids = concat(
        [for id in values(c.secrets) : module.secrets.secret_ids[id]],
        c.database_admin_url_secret_id == null ? [] : [module.cloudsql.admin_url_secret_id],
        c.database == null ? [] : [google_secret_manager_secret.database_url[name].secret_id],
        values(c.bootstrap_secrets),
      )
      purpose = c.description
    }
  })

  depends_on = [google_project_service.apis]
}

# A component's database URL for its clients (host: its proxy's Service). It holds no password:
# the proxy logs in as the component's IAM user.
resource "google_secret_manager_secret" "database_url" {
  for_each = local.database_components

  project   = var.project_id
  secret_id = each.value.database.url_secret_id
  labels    = merge(var.labels, { service = each.key })

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_version" "database_url" {
  for_each = local.database_components

  secret      = google_secret_manager_secret.database_url[each.key].id
  secret_data = each.value.database.url
}

# The environment's zone, the ingress address and the public hosts' records; cert-manager may
# answer DNS-01 challenges in that zone only.
module "dns" {
  source = "../dns"

  project_id = var.project_id
  region     = var.region
  name       = local.name
  domain     = var.domain
  hosts      = var.ingress_hosts
  labels     = var.labels
  acme_solver_members = {
    for name, c in var.components : name => "serviceAccount:${module.identity.service_account_emails[name]}" if c.dns_zone_admin
  }

  depends_on = [google_project_service.apis]
}

module "github_oidc" {
  source = "../github-oidc"
  count  = var.github_repository == null ? 0 : 1

  project_id             = var.project_id
  repository             = var.github_repository
  environment            = var.environment
  apply_roles            = local.ci_apply_roles
  apply_grantable_roles  = concat(module.gke.node_roles, module.identity.project_roles)
  images_service_account = local.holds_registry

  depends_on = [google_project_service.apis]
}

# State: the plan account reads it (plans run with -lock=false); the apply account reads, writes
# and locks it, and administers this bucket only so it can refresh and apply these grants.
resource "google_storage_bucket_iam_member" "ci_state" {
  for_each = var.github_repository == null ? {} : {
    plan  = "roles/storage.objectViewer"
    apply = "roles/storage.admin"
  }

  bucket = local.state_bucket
  role   = each.value
  member = module.github_oidc[0].service_account_members[each.key]
}

# Refreshing a secret version reads its payload (secretmanager.versions.access), which viewer
# lacks. The plan account may read the secrets Terraform itself generates (database and Redis
# URLs) and nothing else: their values are in the state it already reads. Secrets people fill in
# (module.secrets) hold no Terraform-managed version and stay unreadable to it.
resource "google_secret_manager_secret_iam_member" "ci_plan_generated" {
  for_each = var.github_repository == null ? {} : merge(
    { "postgres/admin" = module.cloudsql.admin_url_secret_id },
    { for name, c in local.database_components : "database/${name}" => google_secret_manager_secret.database_url[name].secret_id },
    { for name, s in local.redis_services : "redis/${name}" => module.memorystore.redis_url_secret_ids[name] },
  )

  project   = var.project_id
  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = module.github_oidc[0].service_account_members["plan"]
}

# The image registry, when platform.registry lives in this environment's project.
# Cloud Build's identity for `gcloud builds submit --config cloudbuild.yaml` (the image path
# without GitHub; cloudbuild.yaml names it): pushes to the release repository and writes its
# build's logs, nothing else. Whoever submits needs roles/cloudbuild.builds.editor and
# roles/iam.serviceAccountUser on this account.
resource "google_service_account" "cloud_build" {
  count = local.holds_registry ? 1 : 0

  project      = var.project_id
  account_id   = "${var.platform_name}-cloud-build"
  display_name = "Cloud Build: builds and pushes the service images"

  depends_on = [google_project_service.apis]
}

resource "google_project_iam_member" "cloud_build_logs" {
  count = local.holds_registry ? 1 : 0

  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = "serviceAccount:${google_service_account.cloud_build[0].email}"
}

module "artifact_registry" {
  source = "../artifact-registry"
  count  = local.holds_registry ? 1 : 0

  project_id    = var.project_id
  location      = try(var.artifact_registry.location, "")
  repository_id = try(var.artifact_registry.repository_id, "")
  # This environment's nodes, and those of the others (`<platform>-<env>-nodes`, the gke module's
  # naming): apply the other environments first so their node service accounts exist.
  reader_members = merge(
    { "nodes-${var.environment}" = "serviceAccount:${module.gke.node_service_account_email}" },
    {
      for env, project in var.environment_projects :
      "nodes-${env}" => "serviceAccount:${var.platform_name}-${env}-nodes@${project}.iam.gserviceaccount.com" if env != var.environment
    },
  )
  writer_members = merge(
    { for email in google_service_account.cloud_build[*].email : "cloud-build" => "serviceAccount:${email}" },
    var.github_repository == null ? {} : {
      ci-images = module.github_oidc[0].service_account_members["images"]
    },
  )
  labels = var.labels

  depends_on = [google_project_service.apis]
}
