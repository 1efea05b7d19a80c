//! The HTTP side: TLS (rustls, optional client CA), HTTP/1.1 keep-alive (hyper), and
//! the bounds: open connections, the time to finish the handshake and send a request's
//! headers and body, the body's size. A client past a bound loses its connection, not
//! anyone else's. SIGTERM stops accepting and lets requests in flight finish.

use super::handler::{Handled, Proxy};
use crate::code::{Code, Problem};
use crate::xks::sigv4::SignedRequest;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

fn problem(message: impl Into<String>) -> Problem {
    Problem::new(Code::Request, message)
}

/// A client certificate that chains to the client CA and is valid for one of the
/// configured names (the specification: an operator sets both the root and the subject).
#[derive(Debug)]
struct Subjects {
    chain: Arc<dyn ClientCertVerifier>,
    names: Vec<ServerName<'static>>,
}

impl ClientCertVerifier for Subjects {
    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        self.chain.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self.chain.verify_client_cert(end_entity, intermediates, now)?;
        let cert = webpki::EndEntityCert::try_from(end_entity)
            .map_err(|_| rustls::Error::General("the client certificate cannot be read".into()))?;
        if self.names.iter().any(|name| cert.verify_is_valid_for_subject_name(name).is_ok()) {
            Ok(verified)
        } else {
            Err(rustls::Error::General("the client certificate is not for a configured subject".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.chain.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.chain.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.chain.supported_verify_schemes()
    }
}

/// The TLS acceptor of the configuration, or `None` for plain HTTP.
pub fn acceptor(proxy: &Proxy) -> Result<Option<tokio_rustls::TlsAcceptor>, Problem> {
    let Some(tls) = &proxy.config().tls else {
        return Ok(None);
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = CertificateDer::pem_slice_iter(&tls.certificates)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| problem(format!("tls.certificateFile: {e}")))?;
    let key = PrivateKeyDer::from_pem_slice(&tls.key).map_err(|_| problem("tls.keyFile is not a PEM private key"))?;
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| problem(format!("TLS: {e}")))?;
    let builder = match &tls.client_ca {
        None => builder.with_no_client_auth(),
        Some(pem) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem) {
                roots
                    .add(cert.map_err(|e| problem(format!("tls.clientCaFile: {e}")))?)
                    .map_err(|e| problem(format!("tls.clientCaFile: {e}")))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| problem(format!("tls.clientCaFile: {e}")))?;
            if tls.client_subjects.is_empty() {
                builder.with_client_cert_verifier(verifier)
            } else {
                let names = tls
                    .client_subjects
                    .iter()
                    .map(|n| {
                        ServerName::try_from(n.clone())
                            .map_err(|_| problem(format!("tls.clientSubjects: {n:?} is not a DNS name")))
                    })
                    .collect::<Result<_, _>>()?;
                builder.with_client_cert_verifier(Arc::new(Subjects { chain: verifier, names }))
            }
        }
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| problem(format!("tls: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))))
}

/// Lines a slow reader of the logs may fall behind by before lines are dropped.
const LOG_BACKLOG: usize = 4096;

/// The access log (standard output) and the operator's details (standard error),
/// written by a thread of their own: a reader that stops reading costs log lines
/// (counted, and said on standard error when it reads again), never a request.
struct Log {
    lines: std::sync::mpsc::SyncSender<(bool, String)>,
    dropped: std::sync::atomic::AtomicU64,
}

impl Log {
    fn start() -> Arc<Log> {
        let (lines, queued) = std::sync::mpsc::sync_channel::<(bool, String)>(LOG_BACKLOG);
        std::thread::spawn(move || {
            use std::io::Write;
            for (access, line) in queued {
                let _ = if access {
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "{line}").and_then(|()| out.flush())
                } else {
                    writeln!(std::io::stderr(), "kms-instance xks-proxy: {line}")
                };
            }
        });
        Arc::new(Log { lines, dropped: std::sync::atomic::AtomicU64::new(0) })
    }

    fn send(&self, access: bool, line: String) {
        use std::sync::atomic::Ordering::Relaxed;
        let dropped = self.dropped.swap(0, Relaxed);
        if dropped > 0 {
            let said = format!("{dropped} log lines dropped: the logs were not read fast enough");
            if self.lines.try_send((false, said)).is_err() {
                self.dropped.fetch_add(dropped, Relaxed);
            }
        }
        if self.lines.try_send((access, line)).is_err() {
            self.dropped.fetch_add(1, Relaxed);
        }
    }

    fn write(&self, handled: Handled) -> super::handler::Answer {
        self.send(true, handled.access);
        if let Some(detail) = handled.detail {
            self.send(false, detail);
        }
        handled.answer
    }
}

/// Serves `listener` until `shutdown` resolves, then waits (at most the grace time)
/// for the requests in flight.
pub async fn serve(
    proxy: Arc<Proxy>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Problem> {
    let tls = acceptor(&proxy)?;
    let limits = proxy.config().limits.clone();
    let log = Log::start();
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            // Out of descriptors, say: wait a little rather than spin.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        // Past the bound, the new connection is closed at once.
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (proxy, tls, stopping, log) = (Arc::clone(&proxy), tls.clone(), stopping.clone(), Arc::clone(&log));
        let handshake = Duration::from_millis(limits.header_timeout_ms);
        tokio::spawn(async move {
            let _permit = permit;
            match tls {
                None => connection(proxy, log, stream, stopping).await,
                Some(tls) => {
                    if let Ok(Ok(stream)) = tokio::time::timeout(handshake, tls.accept(stream)).await {
                        connection(proxy, log, stream, stopping).await;
                    }
                }
            }
        });
    }
    let _ = stop.send(true);
    drop(listener);
    // Every connection holds a permit until it is done.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(Duration::from_millis(limits.shutdown_grace_ms), connections.acquire_many(all)).await;
    Ok(())
}

async fn connection<I: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    proxy: Arc<Proxy>,
    log: Arc<Log>,
    io: I,
    mut stopping: watch::Receiver<bool>,
) {
    let limits = proxy.config().limits.clone();
    let service = service_fn(move |request| {
        let (proxy, log) = (Arc::clone(&proxy), Arc::clone(&log));
        async move { Ok::<_, std::convert::Infallible>(respond(&proxy, &log, request).await) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(limits.header_timeout_ms))
        // The read buffer (headers, and the body as it arrives) of a connection that
        // has not yet shown it may be here: the API's headers are small.
        .max_buf_size(16 << 10)
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = async { stopping.wait_for(|s| *s).await.is_ok() } => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

async fn respond(proxy: &Proxy, log: &Log, request: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let limits = &proxy.config().limits;
    let (parts, body) = request.into_parts();
    let read = tokio::time::timeout(
        Duration::from_millis(limits.header_timeout_ms),
        Limited::new(body, limits.max_body_bytes).collect(),
    )
    .await;
    let answer = match read {
        Ok(Ok(collected)) => {
            let body = collected.to_bytes();
            let headers: Vec<(&str, &str)> =
                parts.headers.iter().map(|(n, v)| (n.as_str(), v.to_str().unwrap_or_default())).collect();
            let request = SignedRequest {
                method: parts.method.as_str(),
                path: parts.uri.path(),
                query: parts.uri.query().unwrap_or_default(),
                headers: &headers,
                payload: &body,
            };
            log.write(proxy.handle(&request).await)
        }
        Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            log.write(proxy.unread(parts.uri.path(), Some(limits.max_body_bytes)))
        }
        _ => log.write(proxy.unread(parts.uri.path(), None)),
    };
    let mut response = hyper::Response::new(Full::new(Bytes::from(answer.body)));
    *response.status_mut() =
        hyper::StatusCode::from_u16(answer.status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    if answer.status == 405 {
        headers.insert(hyper::header::ALLOW, hyper::header::HeaderValue::from_static("POST"));
    } else {
        headers.insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
    }
    response
}
