//! `/openapi.json` documents every endpoint of auth and the bearer scheme `/me` needs.

use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn every_endpoint_is_documented() {
    let app = spawn_app().await;
    let doc: Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (path, method) in [
        ("/v1/auth/signup", "post"),
        ("/v1/auth/signin", "post"),
        ("/v1/auth/refresh", "post"),
        ("/v1/auth/signout", "post"),
        ("/v1/auth/me", "get"),
        ("/.well-known/jwks.json", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} missing"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["TokenResponse"].is_object());
    let signup = &doc["paths"]["/v1/auth/signup"]["post"]["responses"];
    for status in [
        "201", "400", "409", "413", "415", "422", "429", "500", "503",
    ] {
        assert!(signup[status].is_object(), "signup {status} undocumented");
    }
    let me = &doc["paths"]["/v1/auth/me"]["get"]["responses"];
    assert!(me["401"]["headers"]["WWW-Authenticate"].is_object());
}
