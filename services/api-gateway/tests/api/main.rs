//! Integration tests of api-gateway: the real gateway on a free port in front of stand-ins for
//! the services it routes to.

mod helpers;
mod proxy;
