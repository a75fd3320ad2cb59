//! Waiting for a future on the calling thread, for the few asynchronous APIs neuvis calls from
//! synchronous code (wgpu's adapter, device and buffer-mapping requests, which native backends
//! complete at once or after a device poll).

use std::sync::Arc;
use std::task::{Context, Poll, Wake};

/// Runs `f` to completion on this thread, parking it while the future is pending.
///
/// ```
/// assert_eq!(neuvis_base::future::block_on(async { 6 * 7 }), 42);
/// ```
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Arc::new(Unpark(std::thread::current())).into();
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        match f.as_mut().poll(&mut cx) {
            Poll::Ready(v) => return v,
            Poll::Pending => std::thread::park(),
        }
    }
}
