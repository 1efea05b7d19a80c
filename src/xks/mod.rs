//! The External Key Store (XKS) Proxy API v1, both ends of it: the wire format
//! ([`wire`]) and its authentication ([`sigv4`]). The client is
//! [`crate::key_providers::xks::XksBridge`]; the server, natively, is `xks_proxy`.

pub mod sigv4;
pub mod wire;
