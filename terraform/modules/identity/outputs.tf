output "service_account_emails" {
  description = "Email of each workload's Google service account, by workload."
  value       = { for service, sa in google_service_account.service : service => sa.email }
}

output "project_roles" {
  description = "Project roles this module may grant workloads (Cloud SQL client and instance user)."
  value       = [local.cloudsql_client_role, local.cloudsql_instance_user_role]
}
