provider "google" {
  project        = var.project_id
  region         = var.region
  default_labels = local.labels
}

provider "google-beta" {
  project        = var.project_id
  region         = var.region
  default_labels = local.labels
}

# Argo CD's install (module.argocd) talks to the cluster through its DNS endpoint, as whoever runs
# Terraform (IAM-authorized; the apply account holds roles/container.admin).
data "google_client_config" "current" {}

provider "helm" {
  kubernetes = {
    host  = "https://${module.platform.cluster_dns_endpoint}"
    token = data.google_client_config.current.access_token
  }
}

provider "kubernetes" {
  host  = "https://${module.platform.cluster_dns_endpoint}"
  token = data.google_client_config.current.access_token
}
