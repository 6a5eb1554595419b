//! platform.toml validation: every kind of mistake is reported with file, line, column, what is
//! wrong and what to write instead. Each case edits a valid platform and snapshots the report.

use xtask::model::Platform;

const VALID: &str = r#"
[platform]
name = "shop"
gcp_project = "shop-test"
region = "us-central1"
domain = "shop.example.com"
registry = "registry.example.com/shop"
repo_url = "https://example.com/shop.git"
gateway = "gateway"

[tiers.public]
namespace = "apps-public"
description = "edge"

[tiers.core]
namespace = "apps-core"
description = "core"

[environments.prod]
domain = "shop.example.com"
target_revision = "prod"
ha = true

[topics."order.v1"]
partitions = 3
retention = "7d"
events = ["order.placed"]

[services.gateway]
description = "gateway"
tier = "public"
port = 8080
ingress_host = "api.shop.example.com"
calls = ["order"]

[services.order]
description = "orders"
tier = "core"
port = 8081
routes = ["/v1/orders"]
postgres = true
produces = ["order.v1"]
calls = ["product"]

[services.product]
description = "catalog"
tier = "core"
port = 8082
consumes = ["order.v1"]
"#;

fn report(from: &str, to: &str) -> String {
    report_all(&[(from, to)])
}

fn report_all(edits: &[(&str, &str)]) -> String {
    let mut broken = VALID.to_owned();
    for (from, to) in edits {
        assert!(
            broken.contains(from),
            "the case must change the valid platform: {from}"
        );
        broken = broken.replacen(from, to, 1);
    }
    let to = edits.last().map_or("", |e| e.1);
    match Platform::parse("platform.toml", &broken) {
        Ok(_) => panic!("{to:?} should be rejected"),
        Err(report) => report.to_string(),
    }
}

#[test]
fn the_valid_platform_parses() {
    let platform = Platform::parse("platform.toml", VALID).unwrap();
    assert_eq!(platform.services.len(), 3);
    assert_eq!(platform.callers("product")[0].name, "order");
    assert_eq!(platform.services["order"].namespace, "apps-core");
}

#[test]
fn unknown_service_in_calls() {
    insta::assert_snapshot!(report(r#"calls = ["product"]"#, r#"calls = ["prodcut"]"#));
}

#[test]
fn consumed_topic_nobody_produces() {
    insta::assert_snapshot!(report(r#"produces = ["order.v1"]"#, ""));
}

#[test]
fn undeclared_topic() {
    insta::assert_snapshot!(report(
        r#"consumes = ["order.v1"]"#,
        r#"consumes = ["orders.v1"]"#
    ));
}

#[test]
fn duplicate_port() {
    insta::assert_snapshot!(report("port = 8082", "port = 8081"));
}

#[test]
fn duplicate_route() {
    insta::assert_snapshot!(report_all(&[
        (r#"calls = ["order"]"#, r#"calls = ["order", "product"]"#),
        ("port = 8082\n", "port = 8082\nroutes = [\"/v1/orders\"]\n"),
    ]));
}

#[test]
fn unknown_key() {
    insta::assert_snapshot!(report("postgres = true", "postgress = true"));
}

#[test]
fn unknown_tier() {
    insta::assert_snapshot!(report(
        r#"tier = "core"
port = 8082"#,
        r#"tier = "cor"
port = 8082"#
    ));
}

#[test]
fn wrong_type() {
    insta::assert_snapshot!(report("port = 8082", r#"port = "8082""#));
}

#[test]
fn routed_service_the_gateway_cannot_call() {
    insta::assert_snapshot!(report(r#"calls = ["order"]"#, "calls = []"));
}

#[test]
fn ingress_on_a_core_service() {
    insta::assert_snapshot!(report(
        "port = 8082\n",
        "port = 8082\ningress_host = \"x.shop.example.com\"\n"
    ));
}

#[test]
fn a_retired_ingress_ip_says_to_remove_it() {
    insta::assert_snapshot!(report(
        "target_revision = \"prod\"",
        "target_revision = \"prod\"\ningress_ip = \"203.0.113.10\"",
    ));
}

#[test]
fn every_error_is_reported_at_once() {
    let broken = VALID
        .replacen(r#"calls = ["product"]"#, r#"calls = ["nope"]"#, 1)
        .replacen("port = 8082", "port = 8081", 1);
    let report = Platform::parse("platform.toml", &broken).unwrap_err();
    assert_eq!(report.diagnostics.len(), 2, "{report}");
}

#[test]
fn the_repository_platform_is_valid() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../platform.toml");
    let platform = Platform::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        platform.services.len(),
        18,
        "the catalogue in DESIGN.md has 18 services"
    );
}

#[test]
fn undeclared_secret() {
    insta::assert_snapshot!(report(
        "consumes = [\"order.v1\"]",
        "consumes = [\"order.v1\"]\nsecrets = [\"api-key\"]"
    ));
}

#[test]
fn unknown_secret_kind() {
    insta::assert_snapshot!(report(
        "consumes = [\"order.v1\"]",
        "consumes = [\"order.v1\"]\nsecrets = [\"api-key\"]\n\n[secrets.api-key]\nkind = \"randm\"\ndescription = \"A key\""
    ));
}

#[test]
fn verifying_tokens_nobody_signs() {
    insta::assert_snapshot!(report(
        "consumes = [\"order.v1\"]",
        "consumes = [\"order.v1\"]\nverify_tokens = true"
    ));
}

#[test]
fn a_token_signer_that_serves_no_keys() {
    insta::assert_snapshot!(report(
        "[environments.prod]",
        "[tokens]\nsigner = \"order\"\nissuer = \"shop-auth\"\naudience = \"shop\"\n\n[environments.prod]"
    ));
}

#[test]
fn a_storefront_nobody_can_open() {
    insta::assert_snapshot!(report(
        "gateway = \"gateway\"",
        "gateway = \"gateway\"\nstorefront = \"product\""
    ));
}
