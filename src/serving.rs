//! The HTTP side of the project's servers (`xks-proxy`, `serve`): TLS (rustls, optional
//! client CA), HTTP/1.1 keep-alive (hyper), and the bounds: open connections, the time
//! to finish the handshake and send a request's headers and body, the body's size. A
//! client past a bound loses its connection, not anyone else's. SIGTERM stops accepting
//! and lets requests in flight finish. What a request means is each server's
//! [`Service`]; the access log is standard output, the operator's details standard error.

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
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use zeroize::Zeroizing;

/// TLS files, read.
pub struct Tls {
    /// The server's certificate chain (PEM).
    pub certificates: Vec<u8>,
    /// Its private key (PEM).
    pub key: Zeroizing<Vec<u8>>,
    /// The CA client certificates must chain to (mTLS), when set.
    pub client_ca: Option<Vec<u8>>,
    /// The DNS names a client certificate must be valid for, one of them (KMS's is
    /// `cks.kms.<region>.amazonaws.com`); any, when empty.
    pub client_subjects: Vec<String>,
}

/// The bounds the HTTP side keeps.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Bytes of a request body.
    pub max_body_bytes: usize,
    /// Time a client has to finish the TLS handshake, and to send its request's headers
    /// and body.
    pub header_timeout_ms: u64,
    /// Open connections; past it, a new one is closed at once.
    pub max_connections: usize,
    /// Time requests in flight get to finish after SIGTERM.
    pub shutdown_grace_ms: u64,
}

/// A request answered: the answer, its access-log line, and what the operator should
/// know of a failure that the caller is not told.
pub struct Handled {
    /// The answer.
    pub answer: Answer,
    /// The access-log line (RULES.md section 9's format).
    pub access: String,
    /// The server's own words of a failure (a token's, a store's), for standard error.
    pub detail: Option<String>,
}

/// An answer: status and JSON body (empty for a 405, which allows POST only).
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

/// A decrypt's body is a plaintext: never shown.
impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answer")
            .field("status", &self.status)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish()
    }
}

/// What one server makes of its requests.
#[async_trait::async_trait]
pub trait Service: Send + Sync + 'static {
    /// The command, as its lines on standard error begin (`xks-proxy`).
    const NAME: &'static str;

    /// TLS, or `None` for plain HTTP.
    fn tls(&self) -> Option<&Tls>;

    /// The HTTP side's bounds.
    fn bounds(&self) -> Bounds;

    /// Answers a request whose body has arrived.
    async fn handle(&self, request: &SignedRequest<'_>) -> Handled;

    /// The answer to a request whose body was not read: too large (`limit` bytes at
    /// most), or too slow to arrive.
    fn unread(&self, path: &str, too_large: Option<usize>) -> Handled;

    /// The one web origin whose pages may call it from a browser (CORS), if any.
    fn cors(&self) -> Option<&str> {
        None
    }
}

/// The headers a page's signed call sends beside the CORS-safe ones (V3's and v1's).
const CORS_HEADERS: &str = "authorization, content-type, x-acs-action, x-acs-version, x-acs-date, x-acs-signature-nonce, x-acs-content-sha256, x-acs-security-token";

/// Binds `listen` and serves `service` until SIGTERM or Ctrl-C, on a runtime of its
/// own. The first line on standard output is `listening on <scheme>://<address>` (the
/// port bound, when port 0 was asked for); then one access-log line per request.
pub fn run<S: Service>(service: S, listen: SocketAddr) -> Result<(), Problem> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Problem::new(Code::BridgeUnavailable, format!("cannot start the runtime: {e}")))?;
    let grace = Duration::from_millis(service.bounds().shutdown_grace_ms);
    let served = runtime.block_on(async move {
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| Problem::new(Code::Request, format!("cannot listen on {listen}: {e}")))?;
        let scheme = if service.tls().is_some() { "https" } else { "http" };
        let address = listener.local_addr().map_or_else(|_| listen.to_string(), |a| a.to_string());
        {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "listening on {scheme}://{address}");
            let _ = out.flush();
        }
        serve(Arc::new(service), listener, stop_signal()).await
    });
    // A call that hangs past the grace time (a token's, say) does not hold the exit.
    runtime.shutdown_timeout(grace);
    served
}

/// SIGTERM or Ctrl-C.
async fn stop_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        Some(()) = async { term.as_mut()?.recv().await } => {}
    }
}

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
pub fn acceptor(tls: Option<&Tls>) -> Result<Option<tokio_rustls::TlsAcceptor>, Problem> {
    let Some(tls) = tls else {
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
    fn start(name: &'static str) -> Arc<Log> {
        let (lines, queued) = std::sync::mpsc::sync_channel::<(bool, String)>(LOG_BACKLOG);
        std::thread::spawn(move || {
            use std::io::Write;
            for (access, line) in queued {
                let _ = if access {
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "{line}").and_then(|()| out.flush())
                } else {
                    writeln!(std::io::stderr(), "kms-instance {name}: {line}")
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

    fn write(&self, handled: Handled) -> Answer {
        self.send(true, handled.access);
        if let Some(detail) = handled.detail {
            self.send(false, detail);
        }
        handled.answer
    }
}

/// Serves `listener` until `shutdown` resolves, then waits (at most the grace time)
/// for the requests in flight.
pub async fn serve<S: Service>(
    proxy: Arc<S>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Problem> {
    let tls = acceptor(proxy.tls())?;
    let limits = proxy.bounds();
    let log = Log::start(S::NAME);
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

async fn connection<S: Service, I: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    proxy: Arc<S>,
    log: Arc<Log>,
    io: I,
    mut stopping: watch::Receiver<bool>,
) {
    let limits = proxy.bounds();
    let service = service_fn(move |request| {
        let (proxy, log) = (Arc::clone(&proxy), Arc::clone(&log));
        async move { Ok::<_, std::convert::Infallible>(respond(&*proxy, &log, request).await) }
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

async fn respond<S: Service>(proxy: &S, log: &Log, request: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let limits = proxy.bounds();
    let (parts, body) = request.into_parts();
    // The configured origin only: any other gets no CORS header, and its browser keeps
    // the answer from the page.
    let origin = parts.headers.get(hyper::header::ORIGIN).and_then(|o| o.to_str().ok());
    let allowed = proxy.cors().filter(|cors| origin == Some(*cors)).map(str::to_string);
    if let (Some(origin), &hyper::Method::OPTIONS) = (&allowed, &parts.method) {
        let mut response = hyper::Response::new(Full::new(Bytes::new()));
        *response.status_mut() = hyper::StatusCode::NO_CONTENT;
        let headers = response.headers_mut();
        let value =
            |v: &str| hyper::header::HeaderValue::from_str(v).unwrap_or(hyper::header::HeaderValue::from_static(""));
        headers.insert(hyper::header::ACCESS_CONTROL_ALLOW_ORIGIN, value(origin));
        headers.insert(hyper::header::ACCESS_CONTROL_ALLOW_METHODS, value("POST, GET"));
        headers.insert(hyper::header::ACCESS_CONTROL_ALLOW_HEADERS, value(CORS_HEADERS));
        headers.insert(hyper::header::ACCESS_CONTROL_MAX_AGE, value("600"));
        headers.insert(hyper::header::VARY, value("Origin"));
        return response;
    }
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
    if let Some(origin) = allowed.and_then(|o| hyper::header::HeaderValue::from_str(&o).ok()) {
        headers.insert(hyper::header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    if proxy.cors().is_some() {
        // The answer depends on the origin: no cache may give one origin's to another.
        headers.insert(hyper::header::VARY, hyper::header::HeaderValue::from_static("Origin"));
    }
    response
}
