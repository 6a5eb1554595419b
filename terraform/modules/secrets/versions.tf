terraform {
  # Ephemeral resources (1.10) and write-only arguments (1.11) keep generated values out of state.
  required_version = ">= 1.11"

  required_providers {
    google = {
      source = "hashicorp/google"
      # secret_data_wo of google_secret_manager_secret_version.
      version = ">= 6.30, < 7.0"
    }
    random = {
      source = "hashicorp/random"
      # ephemeral random_password.
      version = ">= 3.7.1, < 4.0"
    }
    tls = {
      source = "hashicorp/tls"
      # ephemeral tls_private_key.
      version = ">= 4.1, < 5.0"
    }
  }
}
