//! The XKS client's native transport: HTTPS over rustls (ring), through `ureq`, with
//! the three ways of trusting a proxy that an external key store names: the system's
//! roots, an extra CA, or the SHA-256 fingerprint of the proxy's certificate pinned;
//! and an optional client certificate for mutual TLS.
//!
//! The call blocks its thread for at most the timeout (like the PKCS#11 bridge), so an
//! async service with many concurrent calls runs them on a blocking pool.

use super::{Answer, Exchange, Transport, MAX_ANSWER_BYTES};
use crate::code::{Code, Problem};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// How the client trusts the proxy's certificate.
#[derive(Clone, PartialEq, Eq)]
pub enum Trust {
    /// The system's root certificates.
    SystemRoots,
    /// The CA certificates of a PEM file (instead of the system's).
    Ca(Vec<u8>),
    /// The SHA-256 of the proxy's certificate (DER): that certificate and no other,
    /// whoever issued it and whatever name or dates it carries.
    Fingerprint([u8; 32]),
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Trust::SystemRoots => f.write_str("SystemRoots"),
            Trust::Ca(pem) => write!(f, "Ca(<{} bytes of PEM>)", pem.len()),
            Trust::Fingerprint(fp) => write!(f, "Fingerprint({})", hex::encode(fp)),
        }
    }
}

impl Trust {
    /// A fingerprint as certificates print it: 64 hex digits, colons allowed.
    pub fn fingerprint(text: &str) -> Result<Self, Problem> {
        let digits: String = text.chars().filter(|c| *c != ':').collect();
        let mut fp = [0u8; 32];
        hex::decode_to_slice(&digits, &mut fp)
            .map_err(|_| Problem::new(Code::Keyring, "a certificate fingerprint is the 64 hex digits of a SHA-256"))?;
        Ok(Trust::Fingerprint(fp))
    }
}

/// A client certificate and its private key, both PEM.
pub struct ClientIdentity {
    /// The certificate chain, leaf first.
    pub certificates: Vec<u8>,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: zeroize::Zeroizing<Vec<u8>>,
}

fn tls_problem(message: impl Into<String>) -> Problem {
    Problem::new(Code::BridgeTls, message)
}

/// Trusts exactly one certificate, by its SHA-256; signatures are still checked.
#[derive(Debug)]
struct Pinned {
    fingerprint: [u8; 32],
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let seen = Sha256::digest(end_entity.as_ref());
        if bool::from(seen.as_slice().ct_eq(&self.fingerprint)) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("the proxy's certificate is not the pinned one".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

fn tls_config(trust: &Trust, identity: Option<&ClientIdentity>) -> Result<ClientConfig, Problem> {
    let provider = Arc::new(ring::default_provider());
    let algorithms = provider.signature_verification_algorithms;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_problem(format!("TLS: {e}")))?;
    let builder = match trust {
        Trust::Fingerprint(fingerprint) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Pinned { fingerprint: *fingerprint, algorithms })),
        Trust::SystemRoots | Trust::Ca(_) => {
            let mut roots = RootCertStore::empty();
            let certificates: Vec<CertificateDer<'static>> = match trust {
                Trust::Ca(pem) => CertificateDer::pem_slice_iter(pem)
                    .collect::<Result<_, _>>()
                    .map_err(|e| tls_problem(format!("the CA file is not PEM certificates: {e}")))?,
                _ => rustls_native_certs::load_native_certs().certs,
            };
            let (added, _) = roots.add_parsable_certificates(certificates);
            if added == 0 {
                return Err(tls_problem("no CA certificate to trust the proxy with"));
            }
            builder.with_root_certificates(roots)
        }
    };
    match identity {
        None => Ok(builder.with_no_client_auth()),
        Some(identity) => {
            let chain = CertificateDer::pem_slice_iter(&identity.certificates)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| tls_problem(format!("the client certificate is not PEM: {e}")))?;
            // Not the parser's error: it could quote the key.
            let key = PrivateKeyDer::from_pem_slice(&identity.key)
                .map_err(|_| tls_problem("the client key is not a PEM private key"))?;
            builder.with_client_auth_cert(chain, key).map_err(|e| tls_problem(format!("the client certificate: {e}")))
        }
    }
}

/// HTTPS (or HTTP to a loopback proxy) through a keep-alive connection pool.
pub struct NativeTransport {
    agent: ureq::Agent,
}

impl std::fmt::Debug for NativeTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NativeTransport")
    }
}

impl NativeTransport {
    /// A transport trusting the proxy as `trust` says, with `identity` for mTLS.
    pub fn new(trust: &Trust, identity: Option<&ClientIdentity>) -> Result<Self, Problem> {
        let config = tls_config(trust, identity)?;
        // No redirect is followed: a signed request goes where it was signed for.
        let agent = ureq::AgentBuilder::new().tls_config(Arc::new(config)).redirects(0).build();
        Ok(NativeTransport { agent })
    }
}

/// What a failed exchange says: a timeout, a TLS failure, or a connection that was
/// refused, reset or closed.
fn transport_problem(error: &ureq::Transport) -> Problem {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if matches!(io.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) {
                return Problem::new(Code::BridgeTimeout, "the proxy did not answer in time");
            }
            if let Some(tls) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                return tls_problem(format!("TLS with the proxy failed: {tls}"));
            }
        }
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return tls_problem(format!("TLS with the proxy failed: {tls}"));
        }
        source = e.source();
    }
    let what = match error.kind() {
        ureq::ErrorKind::Dns => "the proxy's host name does not resolve",
        ureq::ErrorKind::ConnectionFailed => "the proxy refused the connection",
        _ => "the connection to the proxy failed",
    };
    Problem::new(Code::BridgeUnavailable, format!("{what}: {}", error.kind()))
}

#[async_trait::async_trait]
impl Transport for NativeTransport {
    async fn post(&self, exchange: Exchange) -> Result<Answer, Problem> {
        let mut request = self.agent.post(&exchange.url).timeout(exchange.timeout);
        for (name, value) in &exchange.headers {
            request = request.set(name, value);
        }
        let response = match request.send_bytes(&exchange.body) {
            Ok(response) | Err(ureq::Error::Status(_, response)) => response,
            Err(ureq::Error::Transport(t)) => return Err(transport_problem(&t)),
        };
        let status = response.status();
        let mut body = Vec::new();
        let limit = u64::try_from(MAX_ANSWER_BYTES).unwrap_or(u64::MAX).saturating_add(1);
        response.into_reader().take(limit).read_to_end(&mut body).map_err(|e| match e.kind() {
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                Problem::new(Code::BridgeTimeout, "the proxy did not finish its answer in time")
            }
            _ => Problem::new(Code::BridgeUnavailable, format!("the proxy's answer broke off: {}", e.kind())),
        })?;
        Ok(Answer { status, body: zeroize::Zeroizing::new(body) })
    }
}
