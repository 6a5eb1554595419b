output "state_buckets" {
  description = "State bucket of each environment, for its backend.tf."
  value       = { for env, backend in module.state_backend : env => backend.bucket_name }
}

output "registrar_records" {
  description = "For each zone no environment delegates (the apex): the NS and DS records to publish at the domain's registrar."
  value = {
    for env, parent in local.parents : local.environments[env].domain => {
      ns = module.zone[env].name_servers
      ds = module.zone[env].ds_record
    } if parent == null
  }
}

output "github_variables" {
  description = "The repository variables set for the workflows."
  value       = local.github_variables
}
