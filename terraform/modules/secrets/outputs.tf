output "secret_ids" {
  description = "Secret id of every secret created, by secret id (depend on this to grant access after creation)."
  value       = { for id, secret in google_secret_manager_secret.secret : id => secret.secret_id }
}

output "secret_names" {
  description = "Full resource name (`projects/<number>/secrets/<id>`) of every secret, by secret id."
  value       = { for id, secret in google_secret_manager_secret.secret : id => secret.name }
}

output "secrets_to_provide" {
  description = "Secret ids whose value a person adds (not generated), sorted: each needs a version before its service can start."
  value       = sort([for id in keys(var.secrets) : id if !contains(keys(var.generated), id)])
}
