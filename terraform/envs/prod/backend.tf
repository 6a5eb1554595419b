# One state per environment, in a bucket created by terraform/bootstrap.
terraform {
  backend "gcs" {
    bucket = "shop-prod-123-tfstate"
    prefix = "envs/prod"
  }
}
