# One state per environment, in a bucket created by terraform/bootstrap.
terraform {
  backend "gcs" {
    bucket = "shop-staging-123-tfstate"
    prefix = "envs/staging"
  }
}
