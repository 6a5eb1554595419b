output "workload_identity_provider" {
  description = "Full provider name for google-github-actions/auth `workload_identity_provider`."
  value       = google_iam_workload_identity_pool_provider.github.name
}

output "service_account_emails" {
  description = "CI service accounts by purpose (`plan`, `apply`, and `images` when created), for google-github-actions/auth `service_account`."
  value       = { for purpose, sa in google_service_account.ci : purpose => sa.email }
}

output "service_account_members" {
  description = "IAM member strings of the CI service accounts by purpose (`serviceAccount:<email>`)."
  value       = { for purpose, sa in google_service_account.ci : purpose => sa.member }
}
