# The Docker repository service images are pushed to (`<location>-docker.pkg.dev/<project>/<id>`),
# with release tags immutable and untagged images cleaned up.

resource "google_artifact_registry_repository" "docker" {
  #checkov:skip=CKV_GCP_84:Images are encrypted with Google-managed keys; CMEK is not required for this platform yet.
  project       = var.project_id
  location      = var.location
  repository_id = var.repository_id
  description   = var.description
  format        = "DOCKER"
  labels        = var.labels

  docker_config {
    immutable_tags = var.immutable_tags
  }

  cleanup_policies {
    id     = "delete-untagged"
    action = "DELETE"
    condition {
      tag_state  = "UNTAGGED"
      older_than = "1209600s" # 14 days
    }
  }
}

# BuildKit's layer cache (`<repository_id>-cache`): its tag is re-pointed on every build, which
# the immutable release repository refuses. Holds no release image; stale caches are deleted.
resource "google_artifact_registry_repository" "cache" {
  #checkov:skip=CKV_GCP_84:Build cache only, encrypted with Google-managed keys like the release repository.
  count = var.cache_repository ? 1 : 0

  project       = var.project_id
  location      = var.location
  repository_id = "${var.repository_id}-cache"
  description   = "BuildKit layer cache of ${var.repository_id} (mutable tags; not for deployment)"
  format        = "DOCKER"
  labels        = var.labels

  docker_config {
    immutable_tags = false
  }

  cleanup_policies {
    id     = "delete-stale"
    action = "DELETE"
    condition {
      tag_state  = "ANY"
      older_than = "2592000s" # 30 days
    }
  }
}

resource "google_artifact_registry_repository_iam_member" "readers" {
  for_each = var.reader_members

  project    = var.project_id
  location   = google_artifact_registry_repository.docker.location
  repository = google_artifact_registry_repository.docker.name
  role       = "roles/artifactregistry.reader"
  member     = each.value
}

resource "google_artifact_registry_repository_iam_member" "writers" {
  for_each = var.writer_members

  project    = var.project_id
  location   = google_artifact_registry_repository.docker.location
  repository = google_artifact_registry_repository.docker.name
  role       = "roles/artifactregistry.writer"
  member     = each.value
}

resource "google_artifact_registry_repository_iam_member" "cache_writers" {
  for_each = var.cache_repository ? var.writer_members : {}

  project    = var.project_id
  location   = google_artifact_registry_repository.cache[0].location
  repository = google_artifact_registry_repository.cache[0].name
  role       = "roles/artifactregistry.writer"
  member     = each.value
}
