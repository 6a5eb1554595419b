# A regional, private GKE Standard cluster: nodes without public IPs, Workload Identity (pods act
# as Google service accounts, nodes never lend theirs), Dataplane V2 (eBPF, enforces
# NetworkPolicy), shielded nodes, a release channel, and autoscaling node pools managed here (the
# default pool is removed at creation).

resource "google_service_account" "nodes" {
  project      = var.project_id
  account_id   = "${var.name}-nodes"
  display_name = "GKE nodes of ${var.name}"
  description  = "Minimal identity of the nodes (logs, metrics, image pulls); workloads use Workload Identity."
}

locals {
  node_roles = [
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
    "roles/artifactregistry.reader",
  ]
}

resource "google_project_iam_member" "nodes" {
  for_each = toset(local.node_roles)

  project = var.project_id
  role    = each.value
  member  = google_service_account.nodes.member
}

resource "google_container_cluster" "cluster" {
  #checkov:skip=CKV_GCP_66:Binary Authorization needs an attestation step in the image pipeline, which does not exist yet; nodes may pull only from registries their service account can read.
  #checkov:skip=CKV_GCP_65:Google Groups for RBAC needs a Workspace domain; RBAC binds IAM users and groups directly.
  #checkov:skip=CKV_GCP_69:The cluster has no node_config of its own (the default pool is removed); every node pool sets workload_metadata_config GKE_METADATA.
  #checkov:skip=CKV_GCP_12:Dataplane V2 (ADVANCED_DATAPATH) enforces NetworkPolicy itself; the legacy network_policy (Calico) add-on checkov looks for cannot be combined with it.
  project  = var.project_id
  name     = var.name
  location = var.region

  network         = var.network_id
  subnetwork      = var.subnetwork_id
  networking_mode = "VPC_NATIVE"

  remove_default_node_pool = true
  initial_node_count       = 1
  deletion_protection      = var.deletion_protection

  # Dataplane V2: eBPF datapath with built-in NetworkPolicy enforcement.
  datapath_provider           = "ADVANCED_DATAPATH"
  enable_shielded_nodes       = true
  enable_legacy_abac          = false
  enable_intranode_visibility = true
  resource_labels             = var.labels

  release_channel {
    channel = var.release_channel
  }

  ip_allocation_policy {
    cluster_secondary_range_name  = var.pods_range_name
    services_secondary_range_name = var.services_range_name
  }

  private_cluster_config {
    enable_private_nodes    = true
    enable_private_endpoint = var.private_endpoint
    master_ipv4_cidr_block  = var.master_cidr

    master_global_access_config {
      enabled = true
    }
  }

  # People and CI reach the API server through its DNS endpoint: every request is authenticated
  # and authorized by IAM (container.clusters.connect, then RBAC), so no network allowlist is
  # needed while the IP endpoints stay closed to the internet (see master_authorized_networks).
  control_plane_endpoints_config {
    dns_endpoint_config {
      allow_external_traffic = true
    }
  }

  master_authorized_networks_config {
    dynamic "cidr_blocks" {
      for_each = var.master_authorized_networks
      content {
        cidr_block   = cidr_blocks.value
        display_name = cidr_blocks.key
      }
    }
  }

  master_auth {
    client_certificate_config {
      issue_client_certificate = false
    }
  }

  workload_identity_config {
    workload_pool = "${var.project_id}.svc.id.goog"
  }

  addons_config {
    http_load_balancing {
      disabled = false
    }
    horizontal_pod_autoscaling {
      disabled = false
    }
    gce_persistent_disk_csi_driver_config {
      enabled = true
    }
  }

  logging_config {
    enable_components = ["SYSTEM_COMPONENTS", "WORKLOADS"]
  }

  monitoring_config {
    enable_components = ["SYSTEM_COMPONENTS"]
    managed_prometheus {
      enabled = false # kube-prometheus-stack runs in the cluster
    }
  }

  maintenance_policy {
    daily_maintenance_window {
      start_time = var.maintenance_start_time
    }
  }

  security_posture_config {
    mode = "BASIC"
  }
}

# A private cluster's control plane reaches nodes on 443 and 10250 only; admission webhooks served
# on other ports (istiod's sidecar injector on 15017, operators on 8443/9443) need this rule.
resource "google_compute_firewall" "control_plane_webhooks" {
  project     = var.project_id
  name        = "${var.name}-control-plane-webhooks"
  network     = var.network_id
  direction   = "INGRESS"
  priority    = 1000
  description = "Admission webhooks called by the GKE control plane of ${var.name}"

  source_ranges = [var.master_cidr]
  target_tags   = [local.node_tag]

  allow {
    protocol = "tcp"
    ports    = var.webhook_ports
  }

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}

locals {
  node_tag = "gke-${var.name}"
}

resource "google_container_node_pool" "pools" {
  for_each = var.node_pools

  project  = var.project_id
  name     = each.key
  cluster  = google_container_cluster.cluster.id
  location = var.region

  autoscaling {
    total_min_node_count = each.value.min_nodes
    total_max_node_count = each.value.max_nodes
    location_policy      = "BALANCED"
  }

  management {
    auto_repair  = true
    auto_upgrade = true
  }

  upgrade_settings {
    max_surge       = 1
    max_unavailable = 0
  }

  node_config {
    machine_type    = each.value.machine_type
    disk_size_gb    = each.value.disk_size_gb
    disk_type       = "pd-balanced"
    image_type      = "COS_CONTAINERD"
    spot            = each.value.spot
    service_account = google_service_account.nodes.email
    oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]
    labels          = merge(var.labels, { pool = each.key })
    tags            = [local.node_tag]

    metadata = {
      disable-legacy-endpoints = "true"
    }

    workload_metadata_config {
      mode = "GKE_METADATA"
    }

    shielded_instance_config {
      enable_secure_boot          = true
      enable_integrity_monitoring = true
    }
  }
}
