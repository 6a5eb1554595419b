# The bucket holding one environment's Terraform state: versioned (a bad apply can be rolled back
# to the previous state object), uniform access (IAM only, no ACLs), never public.
resource "google_storage_bucket" "state" {
  #checkov:skip=CKV_GCP_62:Access logs of the state bucket would go to another bucket that needs its own state; Cloud Audit Logs (data access) record who read or wrote state.
  project                     = var.project_id
  name                        = var.bucket_name
  location                    = var.location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels                      = var.labels

  versioning {
    enabled = true
  }

  # Keep the last few state versions; older ones are deleted.
  lifecycle_rule {
    condition {
      num_newer_versions = var.noncurrent_versions_kept
      with_state         = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  lifecycle {
    prevent_destroy = true
  }
}
