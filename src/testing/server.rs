//! The HTTP side of the mock: routes, handlers and fault injection.
//!
//! Each handler counts the request, lets [`apply_fault`] answer instead if a
//! fault is set, and otherwise serves its document. New endpoints follow the
//! same shape.

use std::convert::Infallible;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::cloudflare::{CF_CERTS_PATH, CF_IDENTITY_PATH};
use super::{DISCOVERY_PATH, Fault, JWKS_PATH, Shared};

/// Serves the mock's routes, and `more` (the provider-shaped endpoints), on `listener` until
/// the mock shuts down.
pub(crate) fn spawn(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    more: Router<Arc<Shared>>,
) {
    let mut shutdown = shared.shutdown.clone();
    let app = router(shared, more);
    tokio::spawn(async move {
        let stopped = async move {
            // Err means every sender is gone: the last handle was dropped.
            let _ = shutdown.wait_for(|stop| *stop).await;
        };
        if let Err(error) = axum::serve(listener, app)
            .with_graceful_shutdown(stopped)
            .await
        {
            tracing::warn!(%error, "mock identity provider server failed");
        }
    });
}

fn router(shared: Arc<Shared>, more: Router<Arc<Shared>>) -> Router {
    Router::new()
        .route(JWKS_PATH, get(jwks))
        .route(DISCOVERY_PATH, get(discovery))
        .route(CF_CERTS_PATH, get(cf_certs))
        .route(CF_IDENTITY_PATH, get(cf_identity))
        .merge(more)
        .with_state(shared)
}

async fn jwks(State(shared): State<Arc<Shared>>, request_headers: http::HeaderMap) -> Response {
    shared.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    if let Some(response) = apply_fault(&shared, Shared::jwks_document).await {
        return response;
    }
    let body = shared.jwks_document().to_string();
    let validators = shared.config().validators;
    // A strong validator derived from the content: the same set always has the same ETag.
    let etag = crate::encoding::etag(body.as_bytes());
    let unchanged = request_headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes());
    let mut response = if validators && unchanged {
        shared.not_modified.fetch_add(1, Ordering::SeqCst);
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        json_response(StatusCode::OK, body)
    };
    if validators {
        if let Ok(value) = HeaderValue::from_str(&etag) {
            response.headers_mut().insert(header::ETAG, value);
        }
        response.headers_mut().insert(
            header::LAST_MODIFIED,
            HeaderValue::from_static("Sat, 01 Nov 2025 00:00:00 GMT"),
        );
    }
    let extra = shared.config().jwks_headers.clone();
    for (name, value) in extra {
        response.headers_mut().insert(name, value);
    }
    let cache_control = shared.config().cache_control.clone();
    if let Some(value) = cache_control {
        match HeaderValue::from_str(&value) {
            Ok(value) => {
                response.headers_mut().insert(header::CACHE_CONTROL, value);
            }
            Err(_) => tracing::warn!(value, "mock: invalid Cache-Control value ignored"),
        }
    }
    response
}

async fn discovery(State(shared): State<Arc<Shared>>) -> Response {
    shared.discovery_fetches.fetch_add(1, Ordering::SeqCst);
    if let Some(response) = apply_fault(&shared, Shared::discovery_document).await {
        return response;
    }
    json_response(StatusCode::OK, shared.discovery_document().to_string())
}

async fn cf_certs(State(shared): State<Arc<Shared>>) -> Response {
    shared.certs_fetches.fetch_add(1, Ordering::SeqCst);
    if let Some(response) = apply_fault(&shared, Shared::certs_document).await {
        return response;
    }
    json_response(StatusCode::OK, shared.certs_document().to_string())
}

/// Requires `Cookie: CF_Authorization=<token signed by this mock>`, like Cloudflare.
async fn cf_identity(
    State(shared): State<Arc<Shared>>,
    request_headers: http::HeaderMap,
) -> Response {
    shared.identity_fetches.fetch_add(1, Ordering::SeqCst);
    let fault = shared.config().identity_fault.clone();
    // Faults that reuse the document get a neutral one: the token has not been checked yet.
    let neutral = |_: &Shared| json!({ "email": "fault@example.test" });
    if let Some(response) = apply_given_fault(&shared, fault, neutral).await {
        return response;
    }
    let token = shared.identity_cookie(&request_headers);
    let Some(token) = token else {
        return json_response(
            StatusCode::UNAUTHORIZED,
            json!({ "err": "no CF_Authorization cookie" }).to_string(),
        );
    };
    match shared.verify_cf_token(&token) {
        Some(claims) => json_response(
            StatusCode::OK,
            shared.identity_document(&claims).to_string(),
        ),
        None => json_response(
            StatusCode::UNAUTHORIZED,
            json!({ "err": "invalid token" }).to_string(),
        ),
    }
}

/// Applies the configured fault. Returns the response to send instead of the
/// normal one, or `None` to answer normally (possibly after a delay).
/// `document` builds the endpoint's normal document, for faults that reuse it.
pub(super) async fn apply_fault(
    shared: &Shared,
    document: fn(&Shared) -> Value,
) -> Option<Response> {
    let fault = shared.config().fault.clone();
    apply_given_fault(shared, fault, document).await
}

/// Applies `fault`, as [`apply_fault`] does with the configured one.
pub(super) async fn apply_given_fault(
    shared: &Shared,
    fault: Fault,
    document: fn(&Shared) -> Value,
) -> Option<Response> {
    match fault {
        Fault::None => None,
        Fault::Delay(delay) => {
            tokio::time::sleep(delay).await;
            None
        }
        Fault::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = json!({ "error": "mock fault", "status": status.as_u16() });
            Some(json_response(status, body.to_string()))
        }
        Fault::Garbage => Some(json_response(
            StatusCode::OK,
            "<html><body>this is not JSON {{{".to_owned(),
        )),
        Fault::Oversized(size) => Some(json_response(
            StatusCode::OK,
            padded(document(shared), size),
        )),
        Fault::Redirect(location) => Some(redirect(&location)),
        Fault::ConnectionReset => {
            let broken = futures_util::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "mock: connection reset",
                ))
            });
            let mut response = Response::new(Body::from_stream(broken));
            set_json_content_type(&mut response);
            Some(response)
        }
        Fault::WithoutKids => {
            let mut doc = document(shared);
            if let Some(keys) = doc.get_mut("keys").and_then(Value::as_array_mut) {
                for key in keys.iter_mut().filter_map(Value::as_object_mut) {
                    key.remove("kid");
                }
            }
            Some(json_response(StatusCode::OK, doc.to_string()))
        }
        Fault::Late(delay) => {
            let doc = document(shared).to_string();
            tokio::time::sleep(delay).await;
            Some(json_response(StatusCode::OK, doc))
        }
        Fault::Gzip => {
            let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
            let gzipped = encoder
                .write_all(document(shared).to_string().as_bytes())
                .and_then(|()| encoder.finish());
            let Ok(gzipped) = gzipped else {
                return Some(json_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "{}".into(),
                ));
            };
            let mut response = Response::new(Body::from(gzipped));
            set_json_content_type(&mut response);
            response
                .headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            Some(response)
        }
        Fault::SlowDrip { chunk_every } => {
            let body = Bytes::from(document(shared).to_string());
            let mut response = Response::new(slow_drip(body, chunk_every, shared.shutdown.clone()));
            set_json_content_type(&mut response);
            Some(response)
        }
    }
}

pub(super) fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    set_json_content_type(&mut response);
    response
}

fn set_json_content_type(response: &mut Response) {
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
}

fn redirect(location: &str) -> Response {
    let Ok(location) = HeaderValue::from_str(location) else {
        tracing::warn!(location, "mock: invalid redirect location");
        return json_response(StatusCode::INTERNAL_SERVER_ERROR, "{}".to_owned());
    };
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::FOUND;
    response.headers_mut().insert(header::LOCATION, location);
    response
}

/// `document` serialized with an extra `"padding"` member so that the result
/// is `size` bytes long (or the document's own size, if that is larger).
fn padded(document: Value, size: usize) -> String {
    let mut object = match document {
        Value::Object(object) => object,
        other => {
            let mut object = serde_json::Map::new();
            object.insert("document".into(), other);
            object
        }
    };
    object.insert("padding".into(), json!(""));
    let bare = Value::Object(object.clone()).to_string().len();
    object.insert(
        "padding".into(),
        json!("x".repeat(size.saturating_sub(bare))),
    );
    Value::Object(object).to_string()
}

/// A body that sends `document` one byte at a time, the first at once and
/// then one every `every`, followed by endless spaces. Ends on shutdown.
fn slow_drip(document: Bytes, every: Duration, shutdown: watch::Receiver<bool>) -> Body {
    let stream = futures_util::stream::unfold((0_usize, shutdown), move |(sent, mut shutdown)| {
        let document = document.clone();
        async move {
            if sent > 0 {
                tokio::select! {
                    () = tokio::time::sleep(every) => {}
                    _ = shutdown.wait_for(|stop| *stop) => return None,
                }
            }
            let byte = document.get(sent).copied().unwrap_or(b' ');
            let chunk = Bytes::copy_from_slice(&[byte]);
            Some((
                Ok::<_, Infallible>(chunk),
                (sent.saturating_add(1), shutdown),
            ))
        }
    });
    Body::from_stream(stream)
}
