# Each environment's Cloud DNS zone, named `<platform>-<env>` as its root and the rendered
# ClusterIssuer look it up. An environment whose domain lies under another's (staging.shop.example.com
# under shop.example.com) is delegated from that parent's zone here, NS and DS, in one apply and
# with no permission across projects for CI; a zone with no parent environment (the apex) is
# delegated at the registrar: `terraform output registrar_records`.

locals {
  # Each environment's parent: the environment whose domain is the longest proper suffix of its
  # own, or null.
  parents = {
    for env, e in local.environments : env => try(
      split(" ", reverse(sort([
        for p, pe in local.environments :
        format("%04d %s", length(pe.domain), p) if p != env && endswith(e.domain, ".${pe.domain}")
      ]))[0])[1],
      null,
    )
  }
}

module "zone" {
  source   = "../modules/dns-zone"
  for_each = local.environments

  project_id = each.value.project_id
  name       = "${each.value.platform_name}-${each.key}"
  domain     = each.value.domain
  labels = {
    environment = each.key
    managed-by  = "terraform"
  }

  depends_on = [google_project_service.bootstrap]
}

resource "google_dns_record_set" "delegation_ns" {
  for_each = { for env, parent in local.parents : env => parent if parent != null }

  project      = local.environments[each.value].project_id
  managed_zone = module.zone[each.value].name
  name         = "${local.environments[each.key].domain}."
  type         = "NS"
  ttl          = 3600
  rrdatas      = module.zone[each.key].name_servers
}

resource "google_dns_record_set" "delegation_ds" {
  for_each = { for env, parent in local.parents : env => parent if parent != null }

  project      = local.environments[each.value].project_id
  managed_zone = module.zone[each.value].name
  name         = "${local.environments[each.key].domain}."
  type         = "DS"
  ttl          = 3600
  rrdatas      = [module.zone[each.key].ds_record]
}
