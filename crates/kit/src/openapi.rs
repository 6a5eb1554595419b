//! The parts of every service's OpenAPI document that the kit, not the service, decides.
//!
//! Add [`Conventions`] to a service's `#[openapi(modifiers(...))]`. It registers the `Problem`
//! and `FieldError` schemas and the `bearer` security scheme, and completes every operation with
//! the problem responses the kit itself can send, so a handler documents only its own answers
//! and the document stays true to what clients see:
//!
//! - every operation: 500 and 503 (a dependency down, `Retry-After`);
//! - with path or query parameters: 400 (a parameter that does not parse);
//! - with a request body: 400 (not JSON), 413 (too large), 415 (not `application/json`) and 422
//!   (JSON of the wrong shape, invalid fields);
//! - with `security(("bearer" = []))`: 401 (`WWW-Authenticate`).
//!
//! A response the handler documents itself (a 422 with its own description, say) is kept.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder,
};
use utoipa::{Modify, PartialSchema as _, ToSchema};

use crate::problem::{FieldError, PROBLEM_JSON, Problem};

/// The kit's additions to a service's OpenAPI document (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct Conventions;

impl Modify for Conventions {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .schemas
            .insert(Problem::name().into_owned(), Problem::schema());
        components
            .schemas
            .insert(FieldError::name().into_owned(), FieldError::schema());
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.bearer_format = Some("JWT".to_owned());
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
                &mut item.head,
            ]
            .into_iter()
            .flatten()
            {
                complete(operation);
            }
        }
    }
}

/// The `$ref`s of `document` that name no component: a type used in a `#[utoipa::path]` but
/// not listed in `components(schemas(...))`. Clients and contract tests cannot read such a
/// document; debug builds of every service refuse to start with one.
pub fn unresolved_refs(document: &OpenApi) -> Vec<String> {
    fn walk(value: &serde_json::Value, refs: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::String(target)) = map.get("$ref") {
                    refs.push(target.clone());
                }
                map.values().for_each(|v| walk(v, refs));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, refs)),
            _ => {}
        }
    }
    let Ok(json) = serde_json::to_value(document) else {
        return Vec::new();
    };
    let mut refs = Vec::new();
    walk(&json, &mut refs);
    refs.sort();
    refs.dedup();
    refs.retain(|target| {
        let Some(pointer) = target.strip_prefix('#') else {
            return false; // another document's: not ours to check
        };
        json.pointer(pointer).is_none()
    });
    refs
}

fn complete(operation: &mut Operation) {
    let has_parameters = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let has_body = operation.request_body.is_some();
    let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    let mut add = |status: &str, description: &str| {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| problem_response(status, description));
    };
    add("500", "An unexpected error; the cause is logged, not shown");
    add(
        "503",
        "A dependency is unavailable; retry after `Retry-After` seconds",
    );
    if has_parameters || has_body {
        add("400", "A parameter or the body could not be read");
    }
    if has_body {
        add("413", "The body is larger than this resource accepts");
        add("415", "The body is not `application/json`");
        add(
            "422",
            "The body has the wrong shape, or some fields are invalid",
        );
    }
    if secured {
        add(
            "401",
            "Missing, expired or invalid access token; see `WWW-Authenticate`",
        );
    }
}

fn problem_response(status: &str, description: &str) -> RefOr<Response> {
    let mut response = ResponseBuilder::new().description(description).content(
        PROBLEM_JSON,
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name(Problem::name())))
            .build(),
    );
    match status {
        "503" | "429" => {
            response = response.header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(u64::schema())
                    .description(Some("Seconds to wait before retrying"))
                    .build(),
            );
        }
        "401" => {
            response = response.header(
                "WWW-Authenticate",
                HeaderBuilder::new()
                    .schema(String::schema())
                    .description(Some("Bearer challenge (RFC 6750)"))
                    .build(),
            );
        }
        _ => {}
    }
    RefOr::T(response.build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::OpenApi as _;

    #[derive(serde::Deserialize, ToSchema)]
    #[allow(dead_code)]
    struct Body {
        name: String,
    }

    #[utoipa::path(post, path = "/v1/things/{id}", request_body = Body,
        params(("id" = String, Path)), security(("bearer" = [])),
        responses((status = 201, description = "Created"),
                  (status = 422, description = "Mine", body = Problem)))]
    #[allow(dead_code)]
    async fn create() {}

    #[derive(utoipa::OpenApi)]
    #[openapi(paths(create), modifiers(&Conventions))]
    struct Doc;

    #[test]
    fn completes_operations_with_the_kits_problems() {
        let doc = serde_json::to_value(Doc::openapi()).unwrap();
        let responses = &doc["paths"]["/v1/things/{id}"]["post"]["responses"];
        for status in ["201", "400", "401", "413", "415", "422", "500", "503"] {
            assert!(responses.get(status).is_some(), "{status}: {responses}");
        }
        assert_eq!(responses["422"]["description"], "Mine", "kept");
        assert!(responses["503"]["headers"].get("Retry-After").is_some());
        assert!(doc["components"]["schemas"].get("Problem").is_some());
        assert!(doc["components"]["securitySchemes"].get("bearer").is_some());
        assert!(unresolved_refs(&Doc::openapi()).is_empty());
    }

    #[derive(ToSchema)]
    #[allow(dead_code)]
    struct Unlisted {
        name: String,
    }

    #[utoipa::path(get, path = "/v1/unlisted", responses((status = 200, body = Unlisted)))]
    #[allow(dead_code)]
    async fn unlisted() {}

    #[derive(utoipa::OpenApi)]
    #[openapi(paths(unlisted))]
    struct Incomplete;

    #[test]
    fn finds_references_to_unlisted_schemas() {
        // utoipa 5 collects schemas of `body = ...` itself; a parameter's type it does not.
        let mut doc = Incomplete::openapi();
        doc.components
            .get_or_insert_with(Default::default)
            .schemas
            .clear();
        assert_eq!(unresolved_refs(&doc), ["#/components/schemas/Unlisted"]);
    }
}
