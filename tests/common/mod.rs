//! Shared helpers for the integration tests: a protected axum app in front of a mock IdP.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use jwks_auth::testing::MockIdp;
use jwks_auth::{JwksAuthLayer, JwksVerifier, JwksVerifierBuilder, User};
use tower::ServiceExt;

/// A builder pointed at the mock, with the mock's issuer and audience, and no cooldown so
/// that tests of rotation are not slowed down (tests of the cooldown set their own).
pub fn builder(idp: &MockIdp) -> JwksVerifierBuilder {
    JwksVerifier::builder()
        .jwks_url(idp.jwks_url())
        .issuer(idp.issuer())
        .audience(idp.audience())
        .unknown_kid_cooldown(Duration::ZERO)
        .failure_backoff(Duration::ZERO)
        .http_retries(0)
        .http_timeout(Duration::from_secs(2))
}

/// `/me` answers the user's sub; `/open` does not look at the user.
pub fn app(layer: JwksAuthLayer) -> Router {
    Router::new()
        .route(
            "/me",
            get(|user: User| async move { user.sub().unwrap_or("").to_owned() }),
        )
        .route(
            "/maybe",
            get(|user: Option<User>| async move {
                user.map_or("anonymous".to_owned(), |u| u.sub().unwrap_or("").to_owned())
            }),
        )
        .layer(layer)
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn challenge(&self) -> Option<&str> {
        self.headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
    }

    /// Asserts the exact status, body and challenge of a refusal.
    #[track_caller]
    pub fn assert_refused(&self, status: StatusCode, body: &str, challenge: Option<&str>) {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(self.body, body);
        assert_eq!(self.challenge(), challenge);
    }

    /// Asserts a 200 with exactly this body.
    #[track_caller]
    pub fn assert_ok(&self, body: &str) {
        assert_eq!((self.status, self.body.as_str()), (StatusCode::OK, body));
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }

    /// Asserts a 401 invalid_token refusal with its challenge.
    #[track_caller]
    pub fn assert_invalid(&self) {
        assert_eq!(self.status, StatusCode::UNAUTHORIZED, "body: {}", self.body);
        let challenge = self.challenge().expect("WWW-Authenticate header");
        assert!(
            challenge.starts_with("Bearer") && challenge.contains(r#"error="invalid_token""#),
            "challenge: {challenge}"
        );
    }
}

pub async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub fn get_with(path: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut request = Request::get(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(Body::empty()).expect("request")
}

pub fn bearer(token: &str) -> Request<Body> {
    get_with("/me", &[("authorization", &format!("Bearer {token}"))])
}

pub async fn send_token(app: &Router, token: &str) -> Reply {
    send(app, bearer(token)).await
}
