//! Each service's `services/<name>/src/platform.rs`: what platform.toml declares about it, as
//! Rust the service compiles against.
//!
//! The file holds the service's `MANIFEST` (stores, topics, calls, its part in tokens), its
//! migrations when it has a database, and a `Platform` struct with one field per declaration
//! (database pool, Redis, producer or subscription, token verifier, a client per `calls`
//! target), assembled by the kit. The gateway's file also holds the routing table. A service's
//! needs are therefore never copied by hand: change platform.toml, re-render, and the compiler
//! shows what the code must change.

use askama::Template;

use crate::codegen::{Files, RUST_HEADER};
use crate::model::{Platform, Service};

/// Where a service's rendered declaration lives.
pub fn platform_rs_path(service: &Service) -> String {
    format!("services/{}/src/platform.rs", service.name)
}

pub(super) fn render(platform: &Platform, files: &mut Files) -> anyhow::Result<()> {
    for s in platform.services.values() {
        let signs = platform.token_signer().is_some_and(|t| t.name == s.name);
        let tokens = if signs {
            "Sign"
        } else if s.verify_tokens {
            "Verify"
        } else {
            "None"
        };
        let clients = s
            .calls
            .iter()
            .map(|name| {
                let target = &platform.services[name];
                ClientField {
                    name: name.clone(),
                    field: target.crate_ident(),
                    description: target.description.clone(),
                }
            })
            .collect();
        let routes = if platform.gateway == s.name {
            platform
                .routes()
                .into_iter()
                .map(|(prefix, service)| (prefix.to_owned(), service.name.clone()))
                .collect()
        } else {
            Vec::new()
        };
        let body = PlatformRs {
            s,
            produces: str_array(&s.produces),
            consumes: str_array(&s.consumes),
            calls: str_array(&s.calls),
            tokens,
            direct_producer: !s.produces.is_empty() && !s.postgres,
            clients,
            routes,
        }
        .render()?;
        files.add(
            platform_rs_path(s),
            format!("{}{body}", RUST_HEADER.replace("{service}", &s.name)),
        );
    }
    Ok(())
}

struct ClientField {
    name: String,
    field: String,
    description: String,
}

#[derive(Template)]
#[template(path = "rust/platform.rs", escape = "none")]
struct PlatformRs<'a> {
    s: &'a Service,
    /// `&[...]` literals, laid out as rustfmt lays them out (the file is committed and checked by
    /// `cargo fmt --check`).
    produces: String,
    consumes: String,
    calls: String,
    tokens: &'static str,
    /// Publishes without an outbox (no database).
    direct_producer: bool,
    clients: Vec<ClientField>,
    /// The gateway's routing table (prefix, service), longest first; empty for other services.
    routes: Vec<(String, String)>,
}

/// `items` as a `&[&str]` literal in a struct field at one level of indentation, laid out as
/// rustfmt does: on one line when the array is at most 60 characters wide, otherwise one item
/// per line, or as many per line as fit when every item is short (10 characters or less).
pub fn str_array(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("\"{i}\"")).collect();
    let inline = format!("[{}]", quoted.join(", "));
    if inline.len() <= 60 {
        return format!("&{inline}");
    }
    const INDENT: &str = "        ";
    let mut lines: Vec<String> = Vec::new();
    if quoted.iter().all(|q| q.len() <= 10) {
        let mut line = String::new();
        for q in &quoted {
            let item = format!("{q},");
            if !line.is_empty() && INDENT.len() + line.len() + 1 + item.len() > 100 {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&item);
        }
        lines.push(line);
    } else {
        lines = quoted.iter().map(|q| format!("{q},")).collect();
    }
    let body: Vec<String> = lines.iter().map(|l| format!("{INDENT}{l}")).collect();
    format!("&[\n{}\n    ]", body.join("\n"))
}
