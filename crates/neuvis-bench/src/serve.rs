//! `neuvis bench serve`: the explorer over real HTTP on loopback.

use anyhow::{bail, Context, Result};
use clap::Args;
use neuvis_codec::codec::Decoder;
use neuvis_explorer::{Explorer, Model, Options};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

/// Options of `neuvis bench serve`.
#[derive(Args, Debug)]
pub struct ServeBenchArgs {
    /// Image edge length.
    #[arg(long, default_value_t = 256)]
    pub size: usize,
    /// Frames per measurement.
    #[arg(long, default_value_t = 80)]
    pub frames: usize,
}

/// A minimal keep-alive HTTP/1.1 GET client (the benchmark's own, so that nothing but the
/// server is measured).
struct Client {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Client {
    fn connect(addr: std::net::SocketAddr) -> Result<Client> {
        let s = TcpStream::connect(addr)?;
        s.set_nodelay(true)?;
        Ok(Client {
            r: BufReader::new(s.try_clone()?),
            w: s,
        })
    }

    /// (status, cache header, body length).
    fn get(&mut self, path: &str) -> Result<(u16, String, usize)> {
        write!(self.w, "GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n")?;
        let mut line = String::new();
        self.r.read_line(&mut line)?;
        let status: u16 = line.split_whitespace().nth(1).unwrap_or("0").parse().unwrap_or(0);
        let (mut len, mut cache) = (0usize, String::new());
        loop {
            line.clear();
            self.r.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let (k, v) = l.split_once(':').unwrap_or((l, ""));
            match k.to_ascii_lowercase().as_str() {
                "content-length" => len = v.trim().parse().unwrap_or(0),
                "x-neuvis-cache" => cache = v.trim().to_string(),
                _ => {}
            }
        }
        let mut body = vec![0; len];
        self.r.read_exact(&mut body)?;
        Ok((status, cache, len))
    }
}

fn server(opts: Options, size: usize) -> Result<(std::net::SocketAddr, Vec<[f64; 3]>)> {
    let (header, net, grid) = crate::decode::synthetic_model(size, None, 9)?;
    let dec = Decoder::from_net(header, net, &burn::prelude::Device::flex())?;
    let state = Explorer::new(vec![Model::from_decoder("bench", "IR", 0, dec)], opts)?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || rt.block_on(async move { axum_serve(listener, state).await }));
    Ok((addr, grid))
}

async fn axum_serve(listener: tokio::net::TcpListener, state: std::sync::Arc<Explorer>) {
    if let Err(e) = neuvis_explorer::serve(listener, state).await {
        eprintln!("bench server: {e}");
    }
}

/// Runs the benchmark and prints the table.
pub fn run(a: &ServeBenchArgs) -> Result<()> {
    let q = |p: [f64; 3], anim: bool| {
        format!(
            "/api/frame?model=0&t={}&theta={}&phi={}{}",
            p[0],
            p[1],
            p[2],
            if anim { "&anim=phi&dir=1" } else { "" }
        )
    };
    let mut rows = Vec::new();
    // cold and cached: no prefetch, distinct views spread over the grid
    let (addr, grid) = server(
        Options {
            prefetch: false,
            ..Default::default()
        },
        a.size,
    )?;
    let mut c = Client::connect(addr).context("connecting to the bench server")?;
    let views: Vec<[f64; 3]> = (0..a.frames).map(|i| grid[(i * 97) % grid.len()]).collect();
    for (name, want) in [("cold (decode + PNG)", "miss"), ("cached", "hit")] {
        let mut ms = Vec::new();
        for &p in &views {
            let t0 = Instant::now();
            let (status, cache, _) = c.get(&q(p, false))?;
            ms.push(t0.elapsed().as_secs_f64() * 1e3);
            if status != 200 || cache != want {
                bail!("unexpected reply {status} {cache} for {name}");
            }
        }
        rows.push((name.to_string(), ms));
    }
    // animating φ with prefetch, as the page does at full speed
    let (addr, _) = server(Options::default(), a.size)?;
    let mut c = Client::connect(addr)?;
    let mut ms = Vec::new();
    let mut hits = 0;
    let t_all = Instant::now();
    for i in 0..a.frames {
        let p = [0.0, 90.0, ((i * 9) % 360) as f64];
        let t0 = Instant::now();
        let (status, cache, _) = c.get(&q(p, true))?;
        ms.push(t0.elapsed().as_secs_f64() * 1e3);
        if status != 200 {
            bail!("animation frame {i}: status {status}");
        }
        hits += (cache == "hit") as usize;
    }
    let fps = a.frames as f64 / t_all.elapsed().as_secs_f64();
    rows.push((
        format!("animating φ with prefetch ({hits}/{} cache hits)", a.frames),
        ms,
    ));
    let mut table = crate::table::Table::new(
        "serve",
        format!(
            "explorer benchmark: {}² NeRVI frames (width of --ratio 500 for 800 views), {} frames each, HTTP/1.1 keep-alive on loopback, {} decode slots",
            a.size,
            a.frames,
            Options::default().max_decodes
        ),
        &["measurement", "median ms", "p95 ms", "frames/s"],
    );
    for (i, (name, v)) in rows.iter().enumerate() {
        let rate = if i == 2 {
            fps
        } else {
            1e3 * v.len() as f64 / v.iter().sum::<f64>()
        };
        table.row(vec![
            name.clone(),
            format!("{:.2}", neuvis_base::stats::median(v)),
            format!("{:.2}", neuvis_base::stats::quantile(v, 0.95)),
            format!("{rate:.1}"),
        ]);
    }
    table.print();
    Ok(())
}
