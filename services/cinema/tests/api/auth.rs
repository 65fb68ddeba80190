//! Auth on writes, through the whole router (`oneshot` over in-memory stores): every `POST` and
//! `DELETE` of the four services needs a valid HS256 bearer token when a secret is configured;
//! reads, health and metrics stay open; without a secret nothing changes. A token opens only the
//! services its audience names.

use std::time::Duration;

use axum::{
    body::Body,
    http::{header, Method, Request, StatusCode},
    Router,
};
use cinema::{audience, router_with_auth, seed, Service};
use platform::{
    auth::{self, Audience, AuthSettings, Claims, DEFAULT_ISSUER},
    health::Readiness,
    http::Limits,
};
use secrecy::SecretString;

use crate::helpers::{call, seeded_repos, Answer};

const SECRET: &str = "test-secret-0123456789abcdef-0123456789";
const SERVICES: [Service; 4] = [
    Service::Movies,
    Service::Showtimes,
    Service::Bookings,
    Service::Users,
];

fn secret() -> SecretString {
    SecretString::from(SECRET)
}

fn app(service: Service, secured: bool) -> Router {
    let verifier = secured
        .then(|| AuthSettings::with_secret(secret()).verifier(audience(service)))
        .flatten();
    router_with_auth(
        service,
        &seeded_repos(),
        Readiness::new(),
        &Limits::default(),
        verifier,
    )
}

/// A token for the four cinema services (what `cargo xtask up` publishes as `CINEMA_TOKEN`).
fn good_token() -> String {
    token_for(&Audience::CINEMA)
}

fn token_for(audiences: &[Audience]) -> String {
    let claims = Claims::new(
        "tester",
        audiences,
        DEFAULT_ISSUER,
        Duration::from_secs(600),
    );
    auth::issue(&secret(), &claims)
}

impl Answer {
    fn assert_unauthorized(&self, context: &str) {
        assert_eq!(
            self.status,
            StatusCode::UNAUTHORIZED,
            "{context}: {}",
            self.text
        );
        assert_eq!(
            self.headers.get(header::CONTENT_TYPE).unwrap(),
            "application/json",
            "{context}"
        );
        let challenge = self
            .headers
            .get(header::WWW_AUTHENTICATE)
            .unwrap()
            .to_str()
            .unwrap();
        assert!(challenge.starts_with("Bearer"), "{context}: {challenge}");
        let body = self.json();
        assert_eq!(body["error"]["code"], "unauthorized", "{context}");
        assert!(body["error"]["message"].is_string(), "{context}");
        assert!(!self.text.contains(SECRET), "{context}");
    }
}

async fn send(
    router: &Router,
    method: Method,
    uri: &str,
    authorization: Option<&str>,
    body: &str,
) -> Answer {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    call(router, request.body(Body::from(body.to_owned())).unwrap()).await
}

fn bad_authorizations() -> Vec<(&'static str, String)> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut claims = Claims::new(
        "tester",
        &Audience::CINEMA,
        DEFAULT_ISSUER,
        Duration::from_secs(600),
    );
    claims.exp = now - 3600;
    claims.iat = Some(now - 7200);
    let expired = auth::issue(&secret(), &claims);
    let other_secret = auth::issue(
        &SecretString::from("a-different-secret-also-32-bytes-long"),
        &Claims::new(
            "tester",
            &Audience::CINEMA,
            DEFAULT_ISSUER,
            Duration::from_secs(600),
        ),
    );
    let accountd_only = token_for(&[Audience::Accountd]);
    let mut tampered = good_token();
    tampered.push('x');
    vec![
        ("token without the Bearer scheme", good_token()),
        ("Basic credentials", "Basic dGVzdGVyOnB3".to_owned()),
        ("not a JWT", "Bearer not-a-jwt".to_owned()),
        ("expired", format!("Bearer {expired}")),
        (
            "signed with another secret",
            format!("Bearer {other_secret}"),
        ),
        ("tampered signature", format!("Bearer {tampered}")),
        ("for another audience", format!("Bearer {accountd_only}")),
    ]
}

#[tokio::test]
async fn writes_without_a_token_are_401_json_with_a_challenge() {
    for service in SERVICES {
        let router = app(service, true);
        let collection = format!("/{}", service.name());
        send(&router, Method::POST, &collection, None, "{}")
            .await
            .assert_unauthorized(&format!("POST {collection}"));
        let one = format!("{collection}/{}", seed::MOVIE_PADRINO);
        let answer = send(&router, Method::DELETE, &one, None, "").await;
        answer.assert_unauthorized(&format!("DELETE {one}"));
        assert_eq!(
            answer.headers.get(header::WWW_AUTHENTICATE).unwrap(),
            "Bearer"
        );
    }
}

#[tokio::test]
async fn writes_with_a_bad_token_are_401() {
    let router = app(Service::Movies, true);
    for (case, authorization) in bad_authorizations() {
        send(&router, Method::POST, "/movies", Some(&authorization), "{}")
            .await
            .assert_unauthorized(case);
        let uri = format!("/movies/{}", seed::MOVIE_PADRINO);
        send(&router, Method::DELETE, &uri, Some(&authorization), "")
            .await
            .assert_unauthorized(case);
    }
    // Nothing was written or deleted.
    let list = send(&router, Method::GET, "/movies", None, "").await.json();
    assert_eq!(list["data"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn an_expired_token_says_so() {
    let router = app(Service::Users, true);
    let (_, expired) = bad_authorizations()
        .into_iter()
        .find(|(case, _)| *case == "expired")
        .unwrap();
    let answer = send(&router, Method::POST, "/users", Some(&expired), "{}").await;
    answer.assert_unauthorized("expired");
    assert!(
        answer.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{}",
        answer.text
    );
}

#[tokio::test]
async fn writes_with_a_good_token_succeed_on_every_service() {
    let authorization = format!("Bearer {}", good_token());
    for service in SERVICES {
        let router = app(service, true);
        let collection = format!("/{}", service.name());
        let created = send(
            &router,
            Method::POST,
            &collection,
            Some(&authorization),
            "{}",
        )
        .await;
        assert_eq!(
            created.status,
            StatusCode::OK,
            "{collection}: {}",
            created.text
        );
        let id = created.json()["data"]["id"].as_str().unwrap().to_owned();
        let one = format!("{collection}/{id}");
        send(&router, Method::DELETE, &one, None, "")
            .await
            .assert_unauthorized(&one);
        let deleted = send(&router, Method::DELETE, &one, Some(&authorization), "").await;
        assert_eq!(
            deleted.status,
            StatusCode::NO_CONTENT,
            "{one}: {}",
            deleted.text
        );
    }
}

#[tokio::test]
async fn a_token_opens_only_the_services_its_audience_names() {
    let authorization = format!("Bearer {}", token_for(&[Audience::Movies]));
    let movies = app(Service::Movies, true);
    let created = send(&movies, Method::POST, "/movies", Some(&authorization), "{}").await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    for service in [Service::Showtimes, Service::Bookings, Service::Users] {
        let collection = format!("/{}", service.name());
        let answer = send(
            &app(service, true),
            Method::POST,
            &collection,
            Some(&authorization),
            "{}",
        )
        .await;
        answer.assert_unauthorized(&collection);
        let message = answer.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(message.contains("audience"), "{message}");
    }
}

#[tokio::test]
async fn reads_health_and_metrics_stay_open() {
    for service in SERVICES {
        let router = app(service, true);
        let collection = format!("/{}", service.name());
        for uri in [collection.as_str(), "/healthz", "/healthy", "/livez"] {
            let answer = send(&router, Method::GET, uri, None, "").await;
            assert_eq!(answer.status, StatusCode::OK, "{uri}: {}", answer.text);
        }
        let metrics = send(&router, Method::GET, "/metrics", None, "").await;
        assert_ne!(metrics.status, StatusCode::UNAUTHORIZED);
    }
    let router = app(Service::Movies, true);
    let uri = format!("/movies/{}", seed::MOVIE_ZOOTOPIA);
    let answer = send(&router, Method::GET, &uri, None, "").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    // A bad token on a read is ignored, not refused.
    let answer = send(&router, Method::GET, &uri, Some("Bearer junk"), "").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
}

#[tokio::test]
async fn auth_is_off_without_a_secret() {
    let router = app(Service::Movies, false);
    let created = send(&router, Method::POST, "/movies", None, "{}").await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let uri = format!("/movies/{}", seed::MOVIE_PADRINO);
    let deleted = send(&router, Method::DELETE, &uri, None, "").await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
}

#[tokio::test]
async fn the_app_turns_auth_on_from_its_settings_and_refuses_a_short_secret() {
    use cinema::{App, Settings};
    let settings = |secret: &str| Settings {
        port: 0,
        auth: AuthSettings {
            jwt_secret: Some(SecretString::from(secret)),
            ..AuthSettings::default()
        },
        ..Settings::default()
    };
    let app = App::build(Service::Movies, settings(SECRET)).await.unwrap();
    send(&app.router(), Method::POST, "/movies", None, "{}")
        .await
        .assert_unauthorized("App::router with a secret");

    let error = App::build(Service::Movies, settings("short"))
        .await
        .unwrap_err();
    let text = format!("{error:#}");
    assert!(text.contains("auth.jwt_secret"), "{text}");
    assert!(!text.contains("short\""), "{text}");
}
