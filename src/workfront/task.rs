//! A request run as a task of its own ([`Task`]): spawned on the runtime, awaited for its
//! result, and cancelled when dropped, so an export that fails stops the requests it started.

use crate::error::{Error, Result};

/// A spawned request, cancelled when dropped (an export that fails stops its requests).
pub struct Task<T>(tokio::task::JoinHandle<Result<T>>);

impl<T: Send + 'static> Task<T> {
    /// Run `request` on the runtime, on its own.
    pub fn spawn(request: impl Future<Output = Result<T>> + Send + 'static) -> Task<T> {
        Task(tokio::spawn(request))
    }
}

impl<T> Future for Task<T> {
    type Output = Result<T>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<T>> {
        std::pin::Pin::new(&mut self.0).poll(cx).map(|joined| {
            joined.unwrap_or_else(|e| Err(Error::Internal(format!("a request task failed: {e}"))))
        })
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
