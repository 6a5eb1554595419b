//! Integration tests of storefront on its own: its pages when the API is away, the stylesheet,
//! the headers every page carries, and forms that are refused without the session's CSRF token.
//! The shopping journey, with the real services behind it, is in the `e2e` crate.

mod helpers;

use helpers::spawn_app;

#[tokio::test]
async fn pages_say_so_when_the_shop_api_is_down() {
    let app = spawn_app().await;
    let response = app.get("/").send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = response.text().await.unwrap();
    assert!(html.contains("The shop is having trouble"), "{html}");
    assert!(
        html.contains("<main id=\"main\""),
        "the page keeps its landmarks"
    );
}

#[tokio::test]
async fn every_page_carries_a_strict_content_security_policy() {
    let app = spawn_app().await;
    let response = app.get("/static/style.css").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
}

#[tokio::test]
async fn forms_without_the_sessions_token_are_refused() {
    let app = spawn_app().await;
    for path in ["/cart/add", "/cart/update", "/signin", "/signout"] {
        let response = app
            .post(path)
            .form(&[
                ("csrf", "forged"),
                ("slug", "x"),
                ("variant_id", "0190f5f0-0000-7000-8000-000000000000"),
                ("email", "a@b.c"),
                ("password", "p"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{path}");
    }
    let first = app.get("/cart").send().await.unwrap();
    let cookie = first.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let unknown = app.get("/no/such/page").send().await.unwrap();
    assert_eq!(unknown.status(), 404);
}
