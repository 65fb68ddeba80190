//! Tests of [`super`]: tokens, refusals, guards, settings.

use super::*;

const SECRET: &str = "0123456789abcdef0123456789abcdef";

fn secret() -> SecretString {
    SecretString::from(SECRET)
}

fn settings() -> AuthSettings {
    AuthSettings::with_secret(secret())
}

fn verifier() -> Verifier {
    settings().verifier(Audience::Accountd).unwrap()
}

fn claims() -> Claims {
    Claims::new(
        "alice",
        &[Audience::Accountd],
        DEFAULT_ISSUER,
        Duration::from_secs(3600),
    )
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[test]
fn an_issued_token_verifies_with_its_claims() {
    let token = issue(&secret(), &claims());
    let verified = verifier().verify(&token).unwrap();
    assert_eq!(verified.sub, "alice");
    assert_eq!(verified.aud, ["accountd"]);
    assert_eq!(verified.iss, "mockvideo");
    let iat = verified.iat.unwrap();
    assert!(iat.abs_diff(now_secs()) <= 2);
    assert_eq!(verified.exp, iat + 3600);
    // One audience is written as a string, several as an array; both are read.
    let payload = token.split('.').nth(1).unwrap();
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    assert!(String::from_utf8(json)
        .unwrap()
        .contains(r#""aud":"accountd""#));
}

#[test]
fn a_token_for_several_audiences_opens_each_of_them_only() {
    let token = issue(
        &secret(),
        &Claims::new(
            "ops",
            &Audience::CINEMA,
            DEFAULT_ISSUER,
            Duration::from_secs(600),
        ),
    );
    for audience in Audience::CINEMA {
        assert!(settings()
            .verifier(audience)
            .unwrap()
            .verify(&token)
            .is_ok());
    }
    for audience in [Audience::Accountd, Audience::EventProducer] {
        assert_eq!(
            settings().verifier(audience).unwrap().verify(&token),
            Err(AuthError::WrongAudience(audience))
        );
    }
}

#[test]
fn a_wrong_or_missing_audience_is_refused() {
    let mut other = claims();
    other.aud = vec!["movies".into()];
    assert_eq!(
        verifier().verify(&issue(&secret(), &other)),
        Err(AuthError::WrongAudience(Audience::Accountd))
    );
    other.aud = Vec::new();
    assert_eq!(
        verifier().verify(&issue(&secret(), &other)),
        Err(AuthError::WrongAudience(Audience::Accountd))
    );
}

#[test]
fn a_wrong_or_missing_issuer_is_refused_and_the_issuer_is_configurable() {
    let mut other = claims();
    other.iss = "someone-else".into();
    let token = issue(&secret(), &other);
    assert!(matches!(
        verifier().verify(&token),
        Err(AuthError::WrongIssuer(_))
    ));
    let custom = AuthSettings {
        issuer: "someone-else".into(),
        ..settings()
    };
    assert!(custom
        .verifier(Audience::Accountd)
        .unwrap()
        .verify(&token)
        .is_ok());
    other.iss = String::new();
    assert!(matches!(
        verifier().verify(&issue(&secret(), &other)),
        Err(AuthError::WrongIssuer(_))
    ));
}

#[test]
fn expired_tokens_are_refused_beyond_the_leeway() {
    let now = now_secs();
    let expired = |ago: u64| {
        let mut claims = claims();
        claims.exp = now - ago;
        claims.iat = Some(now - 3600);
        issue(&secret(), &claims)
    };
    assert_eq!(verifier().verify(&expired(120)), Err(AuthError::Expired));
    // Within the 30 s leeway a just-expired token still passes.
    assert!(verifier().verify(&expired(5)).is_ok());
}

#[test]
fn tokens_not_yet_valid_are_refused_beyond_the_leeway() {
    let now = now_secs();
    let not_before = |ahead: u64| {
        let mut claims = claims();
        claims.nbf = Some(now + ahead);
        issue(&secret(), &claims)
    };
    assert_eq!(
        verifier().verify(&not_before(600)),
        Err(AuthError::NotYetValid)
    );
    assert!(verifier().verify(&not_before(5)).is_ok());
}

#[test]
fn lifetimes_beyond_the_maximum_are_refused() {
    let now = now_secs();
    let mut long = claims();
    long.exp = now + 25 * 3600;
    assert!(matches!(
        verifier().verify(&issue(&secret(), &long)),
        Err(AuthError::TooLong { .. })
    ));
    // Without `iat`, counted from now.
    long.iat = None;
    assert!(matches!(
        verifier().verify(&issue(&secret(), &long)),
        Err(AuthError::TooLong { .. })
    ));
    // A future `iat` does not shorten it.
    long.iat = Some(now + 24 * 3600);
    assert!(matches!(
        verifier().verify(&issue(&secret(), &long)),
        Err(AuthError::TooLong { .. })
    ));
    // Exactly the maximum passes.
    let mut day = claims();
    day.exp = day.iat.unwrap() + 24 * 3600;
    assert!(verifier().verify(&issue(&secret(), &day)).is_ok());
}

#[test]
fn a_token_signed_with_another_secret_is_refused() {
    let other = SecretString::from("another-secret-of-at-least-32-bytes!");
    let token = issue(&other, &claims());
    assert_eq!(verifier().verify(&token), Err(AuthError::BadSignature));
}

#[test]
fn alg_none_and_other_algorithms_are_refused_as_such() {
    let body = b64(serde_json::to_string(&claims()).unwrap().as_bytes());
    let none = format!("{}.{body}.", b64(br#"{"alg":"none","typ":"JWT"}"#));
    assert_eq!(
        verifier().verify(&none),
        Err(AuthError::WrongAlgorithm("none".into()))
    );
    // RS256 header over a valid HS256 signature of the same claims: still refused.
    let good = issue(&secret(), &claims());
    let signature = good.rsplit('.').next().unwrap();
    let rs256 = format!(
        "{}.{body}.{signature}",
        b64(br#"{"alg":"RS256","typ":"JWT"}"#)
    );
    assert_eq!(
        verifier().verify(&rs256),
        Err(AuthError::WrongAlgorithm("RS256".into()))
    );
    let key = EncodingKey::from_secret(SECRET.as_bytes());
    let hs512 = jsonwebtoken::encode(&Header::new(Algorithm::HS512), &claims(), &key).unwrap();
    assert_eq!(
        verifier().verify(&hs512),
        Err(AuthError::WrongAlgorithm("HS512".into()))
    );
}

#[test]
fn malformed_tokens_and_missing_claims_are_refused() {
    for token in ["", "abc", "a.b.c", "a.b", "....."] {
        assert!(
            matches!(verifier().verify(token), Err(AuthError::Malformed(_))),
            "{token:?}"
        );
    }
    // A well-signed token without `exp`.
    let key = EncodingKey::from_secret(SECRET.as_bytes());
    let no_exp = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &serde_json::json!({ "sub": "alice", "aud": "accountd", "iss": "mockvideo" }),
        &key,
    )
    .unwrap();
    assert!(matches!(
        verifier().verify(&no_exp),
        Err(AuthError::Malformed(_))
    ));
}

#[test]
fn the_authorization_header_must_be_bearer() {
    let token = issue(&secret(), &claims());
    let headers = |value: &str| {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    };
    assert_eq!(
        verifier().verify_headers(&HeaderMap::new()),
        Err(AuthError::Missing)
    );
    for value in [token.as_str(), "Basic YWxpY2U6cHc=", "Bearer", "Bearer  "] {
        assert_eq!(
            verifier().verify_headers(&headers(value)),
            Err(AuthError::NotBearer),
            "{value:?}"
        );
    }
    assert!(verifier()
        .verify_headers(&headers(&format!("Bearer {token}")))
        .is_ok());
    assert!(verifier()
        .verify_headers(&headers(&format!("bearer {token}")))
        .is_ok());
}

#[test]
fn rejections_are_401_json_with_a_bearer_challenge_naming_the_class() {
    let error = AuthError::Expired.to_api_error();
    assert_eq!(error.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error.code(), "unauthorized");
    let response = AuthError::Missing.to_api_error().into_response();
    assert_eq!(
        response.headers().get(header::WWW_AUTHENTICATE).unwrap(),
        "Bearer"
    );
    for (error, class) in [
        (AuthError::Missing, "no token"),
        (AuthError::Expired, "expired"),
        (AuthError::NotYetValid, "not yet valid"),
        (AuthError::WrongAudience(Audience::Movies), "wrong audience"),
        (AuthError::WrongIssuer("x".into()), "wrong issuer"),
        (
            AuthError::TooLong {
                got_secs: 2,
                max_secs: 1,
            },
            "lifetime too long",
        ),
        (AuthError::WrongAlgorithm("none".into()), "wrong algorithm"),
        (AuthError::BadSignature, "bad signature"),
        (AuthError::Malformed("x".into()), "malformed"),
    ] {
        assert!(error.to_string().starts_with(class), "{error}");
    }
}

#[test]
fn guards_leave_reads_or_open_paths_alone() {
    assert!(!Guard::Writes.needs_token(&Method::GET, "/movies"));
    assert!(Guard::Writes.needs_token(&Method::POST, "/movies"));
    assert!(Guard::Writes.needs_token(&Method::DELETE, "/movies/1"));
    let open = Guard::AllBut(&["/livez", "/metrics"]);
    assert!(!open.needs_token(&Method::GET, "/livez"));
    assert!(open.needs_token(&Method::GET, "/users"));
    assert!(open.needs_token(&Method::GET, "/livez/x"));
}

#[tokio::test]
async fn a_refused_write_reads_its_body_so_the_connection_stays_usable() {
    use tower::ServiceExt as _;
    let router = guarded_users();
    let post = |body: axum::body::Body| {
        axum::http::Request::post("/users")
            .body(body)
            .expect("a request")
    };
    let refused = router
        .clone()
        .oneshot(post(axum::body::Body::from("{\"name\":\"x\"}")))
        .await
        .expect("an answer");
    assert_eq!(refused.status(), axum::http::StatusCode::UNAUTHORIZED);
    assert!(refused.headers().get(header::CONNECTION).is_none());

    // A body longer than the budget is not read whole: the answer closes the connection.
    let chunks = (0..=crate::http::REFUSED_BODY_BUDGET / 65_536)
        .map(|_| Ok::<_, std::io::Error>(vec![b' '; 65_536]));
    let endless = axum::body::Body::from_stream(futures::stream::iter(chunks));
    let refused = router.oneshot(post(endless)).await.expect("an answer");
    assert_eq!(refused.status(), axum::http::StatusCode::UNAUTHORIZED);
    assert_eq!(refused.headers()[header::CONNECTION], "close");
}

#[test]
fn settings_default_and_validate() {
    let defaults = AuthSettings::default();
    assert!(defaults.jwt_secret.is_none());
    assert!(defaults.verifier(Audience::Movies).is_none());
    assert_eq!(defaults.issuer, "mockvideo");
    assert_eq!(defaults.max_lifetime, Duration::from_secs(86_400));
    defaults.validate_for(false).unwrap();
    let error = defaults.validate_for(true).unwrap_err();
    assert_eq!(error.key(), Some("auth.jwt_secret"));
    let message = error.to_string();
    assert!(message.contains("jwt-secret"), "{message}");
    assert!(message.contains("MOCKVIDEO_ENV=prod"), "{message}");
    settings().validate_for(true).unwrap();
    let short = AuthSettings::with_secret(SecretString::from("too-short"));
    let error = short.validate_for(false).unwrap_err();
    assert_eq!(error.key(), Some("auth.jwt_secret"));
    assert!(!error.to_string().contains("too-short"), "{error}");
    let no_issuer = AuthSettings {
        issuer: " ".into(),
        ..settings()
    };
    assert_eq!(
        no_issuer.validate_for(false).unwrap_err().key(),
        Some("auth.issuer")
    );
}

#[test]
fn ttls_parse_with_units() {
    assert_eq!(parse_ttl("12h"), Ok(Duration::from_secs(12 * 3600)));
    assert_eq!(parse_ttl("15m"), Ok(Duration::from_secs(900)));
    assert_eq!(parse_ttl("90s"), Ok(Duration::from_secs(90)));
    assert_eq!(parse_ttl("7d"), Ok(Duration::from_secs(7 * 86_400)));
    assert_eq!(parse_ttl("3600"), Ok(Duration::from_secs(3600)));
    assert!(parse_ttl("0h").is_err());
    assert!(parse_ttl("soon").is_err());
    assert!(parse_ttl("").is_err());
}

#[test]
fn audiences_parse_by_name() {
    for audience in Audience::ALL {
        assert_eq!(audience.as_str().parse::<Audience>(), Ok(audience));
    }
    let error = "cinema".parse::<Audience>().unwrap_err();
    assert!(error.contains("event-producer"), "{error}");
}

#[test]
fn the_verifier_never_shows_the_secret() {
    let text = format!("{:?} {:?}", verifier(), settings());
    assert!(!text.contains("0123456789abcdef"), "{text}");
}

#[test]
fn writes_need_a_token_and_unrouted_methods_reach_the_router() {
    let guard = Guard::Writes;
    for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        assert!(guard.needs_token(&method, "/movies"), "{method}");
    }
    let query = Method::from_bytes(b"QUERY").unwrap();
    for method in [
        Method::GET,
        Method::HEAD,
        Method::OPTIONS,
        Method::TRACE,
        query,
    ] {
        assert!(!guard.needs_token(&method, "/movies"), "{method}");
    }
    let all_but = Guard::AllBut(&["/livez"]);
    assert!(all_but.needs_token(&Method::TRACE, "/users"));
    assert!(!all_but.needs_token(&Method::POST, "/livez"));
}

/// `POST /users` behind [`protect`] with [`Guard::Writes`], and its document.
fn guarded_users() -> Router {
    use utoipa::openapi::{
        path::{HttpMethod, OperationBuilder, PathItem, PathsBuilder},
        OpenApiBuilder,
    };
    let document = OpenApiBuilder::new()
        .paths(PathsBuilder::new().path(
            "/users",
            PathItem::new(HttpMethod::Post, OperationBuilder::new().build()),
        ))
        .build();
    protect(
        Router::new().route("/users", axum::routing::post(|| async { "stored" })),
        Some(verifier()),
        Guard::Writes,
        &document,
    )
}

#[tokio::test]
async fn a_method_the_path_does_not_route_is_a_405_without_a_token() {
    use tower::ServiceExt as _;
    let router = guarded_users();
    let answer = |method: Method| {
        let router = router.clone();
        async move {
            router
                .oneshot(
                    axum::http::Request::builder()
                        .method(method)
                        .uri("/users")
                        .body(axum::body::Body::empty())
                        .expect("a request"),
                )
                .await
                .expect("an answer")
                .status()
        }
    };
    assert_eq!(answer(Method::PUT).await, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer(Method::DELETE).await, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer(Method::POST).await, StatusCode::UNAUTHORIZED);
}
