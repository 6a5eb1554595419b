# Argo CD in the environment's cluster, then the roots, so a new environment needs no hand-run
# Helm or kubectl: Terraform installs the argo-cd chart once, with the very chart, version and
# values of the rendered Application argocd/<env>/independent/argocd.yaml, and from then on Argo
# CD manages itself through that Application (Terraform ignores later changes to the release).
# The roots are the Helm chart argocd/<env>/bootstrap: installed once Argo CD's CRDs exist, and
# upgraded by Terraform when their rendered file changes. Argo CD reads the repository over SSH
# with a read-only deploy key that terraform/bootstrap registered and wrote to Secret Manager.

resource "helm_release" "argocd" {
  name             = "argocd"
  namespace        = var.namespace
  create_namespace = true
  repository       = var.chart.repository
  chart            = var.chart.name
  version          = var.chart.version
  values           = [var.chart.values]
  wait             = true
  timeout          = 900

  lifecycle {
    # Argo CD manages itself after the first install; its Application is the source of truth.
    ignore_changes = all
  }
}

data "google_secret_manager_secret_version" "repository_key" {
  project = var.project_id
  secret  = var.repository.key_secret_id
}

# Argo CD's repository credentials: a Secret it recognises by label. The key is read-only access
# to this one repository; it is in this root's state (readable by the CI accounts and admins only).
resource "kubernetes_secret_v1" "repository" {
  metadata {
    name      = "repository"
    namespace = var.namespace
    labels = {
      "argocd.argoproj.io/secret-type" = "repository"
    }
  }

  data = {
    type          = "git"
    url           = var.repository.url
    sshPrivateKey = data.google_secret_manager_secret_version.repository_key.secret_data
  }

  depends_on = [helm_release.argocd]
}

resource "helm_release" "roots" {
  name      = "roots"
  namespace = var.namespace
  chart     = var.roots_chart
  # The chart's version never moves; a digest of its template makes a changed root an upgrade.
  values = [yamlencode({ rendered = filesha256("${var.roots_chart}/templates/root.yaml") })]
  wait   = false

  depends_on = [helm_release.argocd, kubernetes_secret_v1.repository]
}

# The read-only plan account refreshes the two releases and the repository Secret: it may read
# Secrets in this namespace, nothing else in the cluster beyond what roles/viewer shows.
resource "kubernetes_role_v1" "plan" {
  count = var.plan_member == null ? 0 : 1

  metadata {
    name      = "terraform-plan"
    namespace = var.namespace
  }

  rule {
    api_groups = [""]
    resources  = ["secrets"]
    verbs      = ["get", "list"]
  }

  depends_on = [helm_release.argocd]
}

resource "kubernetes_role_binding_v1" "plan" {
  count = var.plan_member == null ? 0 : 1

  metadata {
    name      = "terraform-plan"
    namespace = var.namespace
  }

  role_ref {
    api_group = "rbac.authorization.k8s.io"
    kind      = "Role"
    name      = kubernetes_role_v1.plan[0].metadata[0].name
  }

  subject {
    api_group = "rbac.authorization.k8s.io"
    kind      = "User"
    name      = var.plan_member
  }
}

# The plan account refreshes the data source above, so it may read that one secret (its value is
# in the state it reads anyway).
resource "google_secret_manager_secret_iam_member" "plan" {
  count = var.plan_member == null ? 0 : 1

  project   = var.project_id
  secret_id = var.repository.key_secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${var.plan_member}"
}
