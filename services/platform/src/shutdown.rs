//! The process's stop signal: Ctrl-C (SIGINT) or SIGTERM, whichever comes first.
//!
//! Every service runs as PID 1 in a `FROM scratch` image, where the kernel gives no default
//! handler for SIGTERM; without this future `docker stop` and Kubernetes would have to SIGKILL.

/// Resolves once the process receives Ctrl-C (SIGINT) or SIGTERM.
///
/// If a signal handler cannot be installed, the corresponding branch never resolves (and an
/// error is logged), so the other signal still works.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };

    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => tracing::info!("received Ctrl-C, shutting down"),
        () = terminate => tracing::info!("received SIGTERM, shutting down"),
    }
}
