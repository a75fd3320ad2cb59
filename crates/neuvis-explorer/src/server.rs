//! The one server start-up of both pages (`neuvis serve`, `neuvis raycast serve`): hyper's
//! header-read timeout, a connection cap, a connection lifetime, the `Host` check against DNS
//! rebinding, Ctrl-C.

use crate::api::router;
use crate::cache::{ApiError, Explorer};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Serves `state` on `listener` until Ctrl-C.
pub async fn serve(listener: tokio::net::TcpListener, state: Arc<Explorer>) -> std::io::Result<()> {
    serve_router(listener, router(state), &ServerLimits::default()).await
}

/// What one client may hold of the server: the answer to half-sent requests (slowloris), to
/// thousands of idle connections and to DNS rebinding.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// A request's headers must arrive within this time, or its connection is closed (10 s). hyper
    /// starts this timer whenever a connection waits for a request, so it also closes keep-alive
    /// connections left idle that long.
    pub header_timeout: std::time::Duration,
    /// A connection is closed after this long whatever it does (10 min); browsers reconnect.
    pub connection_lifetime: std::time::Duration,
    /// Connections served at once; more are closed as soon as they are accepted (256).
    pub max_connections: usize,
    /// Accepted `Host` header names (without port); empty accepts any. Default: the loopback names
    /// `localhost`, `127.0.0.1` and `[::1]`; [`serve_blocking`] adds the name it was bound to.
    pub allowed_hosts: Vec<String>,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_timeout: std::time::Duration::from_secs(10),
            connection_lifetime: std::time::Duration::from_secs(600),
            max_connections: 256,
            allowed_hosts: ["localhost", "127.0.0.1", "[::1]"].map(String::from).to_vec(),
        }
    }
}

/// The host name of a `Host` header value, without the port (`[::1]:8080` → `[::1]`).
fn host_name(v: &str) -> &str {
    if v.starts_with('[') {
        return v.split_once(']').map_or(v, |(h, _)| &v[..h.len() + 1]);
    }
    v.rsplit_once(':').map_or(v, |(h, _)| h)
}

/// Refuses requests whose `Host` is not one the server was bound to (a page on another site
/// reaching the server through DNS rebinding sends its own name).
async fn check_host(
    State(allowed): State<Arc<Vec<String>>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(h) = req.headers().get(header::HOST) {
        let name = h.to_str().map(host_name).unwrap_or("");
        if !allowed.is_empty() && !allowed.iter().any(|a| a.eq_ignore_ascii_case(name)) {
            return ApiError(
                StatusCode::FORBIDDEN,
                format!("host '{name}' is not served here (start the server with --host {name} to allow it)"),
            )
            .into_response();
        }
    }
    next.run(req).await
}

/// Serves `app` on `listener` until Ctrl-C (the one start-up of both pages), within `limits`:
/// HTTP/1.1 connections from hyper's connection builder with a header-read timeout, at most
/// `max_connections` at once, each closed after `connection_lifetime`, and only the allowed
/// `Host` names.
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: &ServerLimits,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let app = app.layer(axum::middleware::from_fn_with_state(
        Arc::new(limits.allowed_hosts.clone()),
        check_host,
    ));
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let shutdown = tokio::signal::ctrl_c();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            a = listener.accept() => a,
        };
        let stream = match accepted {
            Ok((s, _)) => s,
            // out of file descriptors or a connection reset before accept: wait, go on
            Err(_) => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let (header_timeout, lifetime) = (limits.header_timeout, limits.connection_lifetime);
        tokio::spawn(async move {
            let _slot = slot;
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .max_buf_size(64 << 10)
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(lifetime, conn).await;
        });
    }
}

/// Why a server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The async runtime could not start.
    #[error("starting the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The address could not be bound.
    #[error("binding {host}:{port}: {source}")]
    Bind {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("serving: {0}")]
    Serve(#[source] std::io::Error),
}

/// Binds `host:port` on a new multi-threaded runtime, calls `announce` with the bound address
/// (after warning on standard error when it is reachable from the network), and serves `app`
/// until Ctrl-C.
pub fn serve_blocking(
    host: &str,
    port: u16,
    app: Router,
    announce: impl FnOnce(std::net::SocketAddr),
) -> Result<(), ServeError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind((host, port))
            .await
            .map_err(|source| ServeError::Bind {
                host: host.to_string(),
                port,
                source,
            })?;
        let addr = listener.local_addr().map_err(ServeError::Serve)?;
        if !addr.ip().is_loopback() {
            eprintln!("warning: listening on {addr}, reachable from the network");
        }
        announce(addr);
        let mut limits = ServerLimits::default();
        if !limits.allowed_hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
            // bound to a name or an address of its own: accept requests naming it (and the
            // address itself, e.g. 0.0.0.0 serving 192.168.1.5, when bound to every interface)
            limits.allowed_hosts.push(host_name(host).to_string());
            if addr.ip().is_unspecified() {
                limits.allowed_hosts.clear();
                eprintln!("warning: bound to every interface, so any Host header is accepted");
            }
        }
        serve_router(listener, app, &limits).await.map_err(ServeError::Serve)
    })
}
