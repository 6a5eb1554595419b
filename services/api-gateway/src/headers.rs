//! What headers cross the gateway.
//!
//! Hop-by-hop headers (RFC 9110 §7.6.1: `Connection`, those `Connection` names, `Keep-Alive`,
//! `TE`, `Transfer-Encoding`, `Upgrade`, ...) end at the gateway in both directions. Headers a
//! client could forge to pose as someone or somewhere else never reach a service: forwarding
//! headers (`Forwarded`, `X-Forwarded-*`, `X-Real-IP`, ...) and anything claiming an identity
//! (`X-User-*`, `X-Auth-*`, ...). The gateway then writes the forwarding headers itself:
//! `X-Forwarded-For` is the one client address it determined (services behind it trust exactly
//! one hop), `X-Forwarded-Host` the host the client asked for. Identity travels only as the
//! client's own bearer token, which every service verifies itself.

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};

/// Hop-by-hop headers, always removed.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Exact names of headers a client must not set.
const FORGEABLE: &[&str] = &[
    "forwarded",
    "x-real-ip",
    "x-client-ip",
    "true-client-ip",
    "cf-connecting-ip",
    "x-cluster-client-ip",
    "x-remote-user",
];

/// Prefixes of headers a client must not set.
const FORGEABLE_PREFIXES: &[&str] = &[
    "x-forwarded-",
    "x-user",
    "x-auth",
    "x-envoy-",
    "x-original-",
    "x-internal-",
    "x-b3-",
    "x-istio-",
];

/// Removes the hop-by-hop headers, and those the `Connection` header names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
}

/// Whether a client could use `name` to pose as someone or somewhere else.
pub fn forgeable(name: &HeaderName) -> bool {
    let name = name.as_str();
    FORGEABLE.contains(&name) || FORGEABLE_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The request headers to send upstream: the client's, less hop-by-hop, forgeable and host
/// headers, plus the forwarding headers the gateway vouches for.
pub fn upstream_request(headers: &mut HeaderMap, client_ip: &str) {
    strip_hop_by_hop(headers);
    let host = headers.remove(header::HOST);
    let forged: Vec<HeaderName> = headers.keys().filter(|n| forgeable(n)).cloned().collect();
    for name in forged {
        headers.remove(name);
    }
    if let Ok(ip) = HeaderValue::from_str(client_ip) {
        headers.insert("x-forwarded-for", ip);
    }
    if let Some(host) = host {
        headers.insert("x-forwarded-host", host);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_the_gateway_vouches_for_goes_upstream() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("host", "api.example.com"),
            ("connection", "keep-alive, x-secret"),
            ("x-secret", "1"),
            ("x-forwarded-for", "6.6.6.6"),
            ("forwarded", "for=6.6.6.6"),
            ("x-user-id", "admin"),
            ("x-auth-role", "admin"),
            ("x-real-ip", "6.6.6.6"),
            ("authorization", "Bearer t"),
            ("x-request-id", "r1"),
            ("accept", "application/json"),
        ] {
            headers.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        upstream_request(&mut headers, "203.0.113.7");
        let mut names: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "accept",
                "authorization",
                "x-forwarded-for",
                "x-forwarded-host",
                "x-request-id"
            ]
        );
        assert_eq!(headers["x-forwarded-for"], "203.0.113.7");
        assert_eq!(headers["x-forwarded-host"], "api.example.com");
    }
}
