//! No code: this crate only pins dependency features so that `cargo run --release` and
//! `cargo test --workspace --release` compile every dependency once (see `Cargo.toml`).
