//! The server under hostile clients: half-sent requests (slowloris), more connections than the
//! cap, and a foreign `Host` (DNS rebinding), on a real socket with hyper's connection handling.

mod common;

use neuvis_explorer::{router, serve_router, Explorer, Options, ServerLimits};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Sends `req` on a new connection and returns the status line of the answer.
fn status_line(addr: std::net::SocketAddr, req: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).lines().next().unwrap_or("").to_string()
}

/// Whether the server closed `s` (a read returns end-of-file or a reset) within `wait`.
fn closed_within(s: &mut TcpStream, wait: Duration) -> bool {
    s.set_read_timeout(Some(wait)).unwrap();
    let mut b = [0u8; 256];
    loop {
        match s.read(&mut b) {
            Ok(0) => return true,
            Ok(_) => continue, // e.g. a 408 before the close
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {
                return false
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn slow_clients_foreign_hosts_and_connection_floods_are_bounded() {
    let d = tempfile::tempdir().unwrap();
    let (model, _) = common::model(d.path());
    let state = Explorer::open(&[model], &[], Options::default()).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let limits = ServerLimits {
        header_timeout: Duration::from_millis(500),
        max_connections: 8,
        ..Default::default()
    };
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(state);
    rt.spawn(async move { serve_router(listener, app, &limits).await });

    let get = |host: &str| {
        status_line(
            addr,
            &format!("GET /api/models HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        )
    };
    assert!(get(&format!("127.0.0.1:{}", addr.port())).contains("200"));
    assert!(get(&format!("localhost:{}", addr.port())).contains("200"));
    // DNS rebinding: a page on another site reaches 127.0.0.1 under its own name
    let foreign = get(&format!("attacker.example:{}", addr.port()));
    assert!(foreign.contains("403"), "{foreign}");

    // slowloris: eight connections that never finish their headers fill the cap ...
    let mut slow: Vec<TcpStream> = (0..8)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"GET /api/models HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                .unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(100));
    // ... so a ninth is closed at once instead of queueing behind them
    let mut ninth = TcpStream::connect(addr).unwrap();
    assert!(
        closed_within(&mut ninth, Duration::from_secs(3)),
        "a connection over the cap stays open"
    );
    // and the header timeout (0.5 s) closes every half-sent request; 10 s leave room for a busy machine
    for s in &mut slow {
        assert!(
            closed_within(s, Duration::from_secs(10)),
            "a half-sent request held its connection"
        );
    }
    // after which the server answers again
    assert!(get("127.0.0.1").contains("200"));
}
