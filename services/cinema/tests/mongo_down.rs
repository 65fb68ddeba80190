//! A cinema service whose MongoDB is unreachable still starts and serves: liveness 200,
//! readiness 503, and every data request a 503 within the timeouts, never a hang.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use axum::{
    body::Body,
    http::{header, Request, StatusCode},
};
use cinema::{App, Service, Settings};
use http_body_util::BodyExt as _;
use platform::config::vars;
use tower::ServiceExt as _;

async fn unreachable_app(service: Service) -> App {
    // Port 1 on loopback: nothing listens, connections are refused at once.
    let prefix = service.env_prefix();
    let settings = Settings::load_with_env(
        service,
        None,
        None,
        vars(&[
            (
                "MONGODB_URL",
                "mongodb://127.0.0.1:1/?directConnection=true",
            ),
            (&format!("{prefix}__PORT"), "0"),
            (
                &format!("{prefix}__MONGO__SERVER_SELECTION_TIMEOUT"),
                "300ms",
            ),
            (&format!("{prefix}__MONGO__CONNECT_TIMEOUT"), "300ms"),
            (&format!("{prefix}__MONGO__OPERATION_TIMEOUT"), "2s"),
        ]),
    )
    .unwrap();
    App::build(service, settings).await.unwrap()
}

async fn call(
    app: &App,
    method: &str,
    uri: &str,
    body: &'static str,
) -> (StatusCode, String, Option<String>) {
    let response = app
        .router()
        .oneshot(
            Request::builder()
                .method(method)
                .uri(uri)
                .body(Body::from(body))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .map(|value| value.to_str().unwrap().to_owned());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        String::from_utf8(bytes.to_vec()).unwrap(),
        retry_after,
    )
}

#[tokio::test]
async fn starts_unready_and_answers_503_quickly() {
    let app = unreachable_app(Service::Movies).await;
    assert_ne!(app.local_addr().port(), 0);

    let (status, body, _) = call(&app, "GET", "/healthz", "").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));
    let (status, body, _) = call(&app, "GET", "/healthy", "").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("not_ready"), "{body}");
    assert!(app.readiness().check().await.is_err());

    for (method, uri, body) in [
        ("GET", "/movies", ""),
        ("GET", "/movies/57b37b7c377dd100054f9f91", ""),
        ("POST", "/movies", r#"{"data":{"title":"Zootopia"}}"#),
        ("DELETE", "/movies/57b37b7c377dd100054f9f91", ""),
    ] {
        let started = Instant::now();
        let (status, text, retry_after) = call(&app, method, uri, body).await;
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{method} {uri}: {text}"
        );
        assert!(text.contains("service_unavailable"), "{text}");
        assert_eq!(retry_after.as_deref(), Some("1"));
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{method} {uri} took {:?}",
            started.elapsed()
        );
    }
    // While the background checks find MongoDB unreachable every request of the collection is
    // refused at once, before its input is read: bad input too (it gets its 400 once MongoDB is
    // back).
    let started = Instant::now();
    let (status, text, retry_after) = call(&app, "GET", "/movies/nope", "").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{text}");
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn every_service_builds_without_mongo() {
    for service in Service::ALL {
        let app = unreachable_app(service).await;
        let (status, _, _) = call(&app, "GET", &format!("/{}", service.name()), "").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{service}");
    }
}

#[tokio::test]
async fn serves_over_tcp_until_stopped() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let app = unreachable_app(Service::Users).await;
    let port = app.local_addr().port();
    let readiness = app.readiness();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("ok"), "{response}");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    assert!(readiness.is_draining());
}
