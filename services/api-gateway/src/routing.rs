//! Which service a path goes to: the routing table rendered from platform.toml (every service's
//! `routes`, in `platform::ROUTES`), matched by longest prefix on whole path segments, so
//! `/v1/carts/42` goes to cart and `/v1/cartsy` to nobody.

use kit::client::Client;

use crate::platform::{Clients, ROUTES};

/// A route: a path prefix and the upstream it goes to.
#[derive(Debug, Clone)]
pub struct Route {
    pub prefix: &'static str,
    pub service: &'static str,
    /// The upstream's base URL, without a trailing slash.
    pub base: String,
}

/// The routing table, longest prefix first.
#[derive(Debug, Clone)]
pub struct Routes {
    routes: Vec<Route>,
}

impl Routes {
    /// The table of `ROUTES`, each with the base URL of the client the gateway has for its
    /// service (every routed service is in the gateway's `calls`; platform.toml says so).
    pub fn new(clients: &Clients) -> anyhow::Result<Self> {
        let routes = ROUTES
            .iter()
            .map(|(prefix, service)| {
                let client: &Client = clients
                    .get(service)
                    .ok_or_else(|| anyhow::anyhow!("route {prefix}: no client for {service}"))?;
                Ok(Route {
                    prefix,
                    service,
                    base: client.base_url().to_owned(),
                })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self { routes })
    }

    /// The route of `path`: the longest prefix that is the path or ends where a segment does.
    pub fn find(&self, path: &str) -> Option<&Route> {
        self.routes.iter().find(|r| {
            path.strip_prefix(r.prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = &Route> {
        self.routes.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Routes {
        let route = |prefix, service| Route {
            prefix,
            service,
            base: format!("http://{service}"),
        };
        Routes {
            routes: vec![
                route("/v1/carts/admin", "admin"),
                route("/v1/carts", "cart"),
            ],
        }
    }

    #[test]
    fn longest_prefix_on_whole_segments() {
        let routes = table();
        let service = |path| routes.find(path).map(|r| r.service);
        assert_eq!(service("/v1/carts"), Some("cart"));
        assert_eq!(service("/v1/carts/mine"), Some("cart"));
        assert_eq!(service("/v1/carts/admin/x"), Some("admin"));
        assert_eq!(service("/v1/cartsy"), None);
        assert_eq!(service("/v1"), None);
    }
}
