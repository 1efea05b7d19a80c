//! The HTTP side: TLS (rustls, optional client CA), HTTP/1.1 keep-alive (hyper), and
//! the bounds: open connections, the time to finish the handshake and send a request's
//! headers and body, the body's size. A client past a bound loses its connection, not
//! anyone else's. SIGTERM stops accepting and lets requests in flight finish.

use super::handler::Proxy;
use crate::code::{Code, Problem};
use crate::xks::sigv4::SignedRequest;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

fn problem(message: impl Into<String>) -> Problem {
    Problem::new(Code::Request, message)
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
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| problem(format!("tls: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))))
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
        let (proxy, tls, stopping) = (Arc::clone(&proxy), tls.clone(), stopping.clone());
        let handshake = Duration::from_millis(limits.header_timeout_ms);
        tokio::spawn(async move {
            let _permit = permit;
            match tls {
                None => connection(proxy, stream, stopping).await,
                Some(tls) => {
                    if let Ok(Ok(stream)) = tokio::time::timeout(handshake, tls.accept(stream)).await {
                        connection(proxy, stream, stopping).await;
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
    io: I,
    mut stopping: watch::Receiver<bool>,
) {
    let limits = proxy.config().limits.clone();
    let service = service_fn(move |request| {
        let proxy = Arc::clone(&proxy);
        async move { Ok::<_, std::convert::Infallible>(respond(&proxy, request).await) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(limits.header_timeout_ms))
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

async fn respond(proxy: &Proxy, request: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let limits = &proxy.config().limits;
    let (parts, body) = request.into_parts();
    let read = tokio::time::timeout(
        Duration::from_millis(limits.header_timeout_ms),
        Limited::new(body, limits.max_body_bytes).collect(),
    )
    .await;
    let body = match read {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            return plain(413, format!("the body is larger than {} bytes", limits.max_body_bytes));
        }
        _ => return plain(408, "the body did not arrive in time".into()),
    };
    let headers: Vec<(&str, &str)> =
        parts.headers.iter().map(|(n, v)| (n.as_str(), v.to_str().unwrap_or_default())).collect();
    let request = SignedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or_default(),
        headers: &headers,
        payload: &body,
    };
    let mut line = Vec::new();
    let answer = proxy.handle(&request, &mut line).await;
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(&line);
        let _ = out.flush();
    }
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

/// An answer outside the API's (a body too large or too slow to arrive).
fn plain(status: u16, message: String) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from(message)));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::BAD_REQUEST);
    response
}
