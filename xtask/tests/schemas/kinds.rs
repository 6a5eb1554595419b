//! The kinds rendered manifests may contain, each with the Rust type that carries its real
//! schema: k8s-openapi for Kubernetes built-ins (API of Kubernetes 1.34, the `v1_34` feature in
//! the workspace Cargo.toml) and the kopium-generated `kcr_*` crates for custom resources.
//! A document of any other `apiVersion`/`kind` fails the test until its type is added here.

use k8s_openapi::api::{
    apps::v1 as apps, autoscaling::v2 as autoscaling, batch::v1 as batch, core::v1 as core,
    networking::v1 as networking, policy::v1 as policy, rbac::v1 as rbac,
};
use kcr_argoproj_io::v1alpha1 as argocd;
use kcr_cert_manager_io::v1 as cert_manager;
use kcr_external_secrets_io::{v1 as eso, v1beta1 as eso_beta};
use kcr_kafka_strimzi_io::{v1 as strimzi, v1beta2 as strimzi_beta};
use kcr_monitoring_coreos_com::v1 as monitoring;
use kcr_networking_istio_io::v1 as istio_networking;
use kcr_security_istio_io::v1 as istio_security;

use super::validate::Registry;

pub fn registry() -> Registry {
    Registry::default()
        // Kubernetes built-ins
        .core::<core::Namespace>()
        .core::<core::ServiceAccount>()
        .core::<core::ConfigMap>()
        .core::<core::Secret>()
        .core::<core::Service>()
        .core::<core::PersistentVolumeClaim>()
        .core::<apps::Deployment>()
        .core::<apps::StatefulSet>()
        .core::<batch::Job>()
        .core::<batch::CronJob>()
        .core::<autoscaling::HorizontalPodAutoscaler>()
        .core::<policy::PodDisruptionBudget>()
        .core::<networking::NetworkPolicy>()
        .core::<rbac::Role>()
        .core::<rbac::RoleBinding>()
        .core::<rbac::ClusterRole>()
        .core::<rbac::ClusterRoleBinding>()
        // Istio
        .custom::<istio_security::peerauthentications::PeerAuthentication>()
        .custom::<istio_security::authorizationpolicies::AuthorizationPolicy>()
        .custom::<istio_security::requestauthentications::RequestAuthentication>()
        .custom::<istio_networking::gateways::Gateway>()
        .custom::<istio_networking::virtualservices::VirtualService>()
        .custom::<istio_networking::destinationrules::DestinationRule>()
        .custom::<istio_networking::serviceentries::ServiceEntry>()
        .custom::<istio_networking::sidecars::Sidecar>()
        // Argo CD
        .custom::<argocd::applications::Application>()
        .custom::<argocd::appprojects::AppProject>()
        .custom::<argocd::applicationsets::ApplicationSet>()
        // External Secrets Operator (v1 is current; v1beta1 is still served)
        .custom::<eso::externalsecrets::ExternalSecret>()
        .custom::<eso::secretstores::SecretStore>()
        .custom::<eso::clustersecretstores::ClusterSecretStore>()
        .custom::<eso_beta::externalsecrets::ExternalSecret>()
        .custom::<eso_beta::secretstores::SecretStore>()
        .custom::<eso_beta::clustersecretstores::ClusterSecretStore>()
        // Strimzi (v1 is current; v1beta2 is still served)
        .custom::<strimzi::kafkas::Kafka>()
        .custom::<strimzi::kafkanodepools::KafkaNodePool>()
        .custom::<strimzi::kafkatopics::KafkaTopic>()
        .custom::<strimzi::kafkausers::KafkaUser>()
        .custom::<strimzi_beta::kafkas::Kafka>()
        .custom::<strimzi_beta::kafkanodepools::KafkaNodePool>()
        .custom::<strimzi_beta::kafkatopics::KafkaTopic>()
        .custom::<strimzi_beta::kafkausers::KafkaUser>()
        // cert-manager
        .custom::<cert_manager::clusterissuers::ClusterIssuer>()
        .custom::<cert_manager::issuers::Issuer>()
        .custom::<cert_manager::certificates::Certificate>()
        // Prometheus Operator
        .custom::<monitoring::servicemonitors::ServiceMonitor>()
        .custom::<monitoring::podmonitors::PodMonitor>()
        .custom::<monitoring::prometheusrules::PrometheusRule>()
}
