//! The introspection request (RFC 7662 section 2.1): where it goes (configured, or the
//! discovered `introspection_endpoint`), how the client authenticates, and what a refusal
//! means for the operator.

use std::sync::{Mutex, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use reqwest::Url;
use serde::Deserialize;
use url::form_urlencoded;

use super::ClientAuth;
use super::assertion::ASSERTION_TYPE;
use crate::clock::SharedClock;
use crate::fetch::{FetchError, HttpFetcher, check_url, redacted};

/// Where the endpoint is.
#[derive(Debug)]
pub(crate) enum Endpoint {
    Fixed(Url),
    /// From the issuer's discovery document; remembered once found.
    Discovered {
        issuer: String,
        discovery_url: Url,
        found: Mutex<Option<Url>>,
    },
}

/// Posts tokens to the endpoint.
#[derive(Debug)]
pub(crate) struct Client {
    pub(crate) endpoint: Endpoint,
    pub(crate) auth: ClientAuth,
    /// For the discovery GET.
    pub(crate) http: HttpFetcher,
    /// For the POSTs, which carry the token: the default client follows no redirect.
    pub(crate) post_http: HttpFetcher,
    pub(crate) allow_http: bool,
    /// For the client assertion's `iat` and `exp`.
    pub(crate) clock: SharedClock,
    /// Ask for signed answers (RFC 9701) only.
    pub(crate) jwt_response: bool,
}

/// The discovery document's members this module reads.
#[derive(Deserialize)]
struct Metadata {
    issuer: String,
    introspection_endpoint: Option<String>,
}

impl Client {
    /// Asks the endpoint about `token`; the answer's body (200 only). Errors are for the
    /// operator: they name the endpoint and the cause, never the token.
    pub(crate) async fn introspect(&self, token: &str) -> Result<Bytes, FetchError> {
        let url = self.endpoint().await?;
        let (form, headers) = self.request(token, &url)?;
        let answer = self.post_http.post_form(&url, &form, &headers).await;
        answer.map_err(|failure| match failure.status {
            Some(StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
                FetchError::permanent(format!(
                    "introspection endpoint {} refused the client credentials (HTTP {}): \
                         check the client id `{}` and its secret, and that the client may \
                         introspect tokens",
                    redacted(&url),
                    failure.status.map_or(0, |s| s.as_u16()),
                    self.auth.client_id(),
                ))
            }
            _ => failure
                .error
                .map_message(|m| format!("token introspection failed: {m}")),
        })
    }

    /// The form and headers: the token, its hint, and the client authentication. Built apart
    /// from the await: the form serializer is not `Send`.
    fn request(&self, token: &str, url: &Url) -> Result<(String, HeaderMap), FetchError> {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("token", token)
            .append_pair("token_type_hint", "access_token");
        let mut headers = HeaderMap::new();
        let accept = if self.jwt_response {
            super::signed::MEDIA_TYPE
        } else {
            "application/json"
        };
        headers.insert(header::ACCEPT, HeaderValue::from_static(accept));
        match &self.auth {
            ClientAuth::ClientSecretBasic {
                client_id,
                client_secret,
            } => {
                // RFC 6749 section 2.3.1: each part form-urlencoded, then joined and base64'd.
                let encode =
                    |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
                let pair: String = [encode(client_id), encode(client_secret)].join(":");
                let value = format!("Basic {}", STANDARD.encode(pair));
                let mut value = HeaderValue::try_from(value).map_err(|_| {
                    FetchError::permanent("introspection: client credentials are not header-safe")
                })?;
                value.set_sensitive(true);
                headers.insert(header::AUTHORIZATION, value);
            }
            ClientAuth::ClientSecretPost {
                client_id,
                client_secret,
            } => {
                form.append_pair("client_id", client_id)
                    .append_pair("client_secret", client_secret);
            }
            ClientAuth::PrivateKeyJwt(assertion) => {
                let signed = assertion
                    .sign(url.as_str(), self.clock.now())
                    .map_err(|e| {
                        FetchError::permanent(format!(
                            "introspection: cannot sign the client assertion: {e}"
                        ))
                    })?;
                form.append_pair("client_id", &assertion.client_id)
                    .append_pair("client_assertion_type", ASSERTION_TYPE)
                    .append_pair("client_assertion", &signed);
            }
        }
        Ok((form.finish(), headers))
    }

    /// The endpoint URL: configured, or discovered once from the issuer's metadata (the
    /// document's `issuer` must equal the configured one exactly, RFC 8414 section 3.3).
    async fn endpoint(&self) -> Result<Url, FetchError> {
        let (issuer, discovery_url, found) = match &self.endpoint {
            Endpoint::Fixed(url) => return Ok(url.clone()),
            Endpoint::Discovered {
                issuer,
                discovery_url,
                found,
            } => (issuer, discovery_url, found),
        };
        if let Some(url) = found.lock().unwrap_or_else(PoisonError::into_inner).clone() {
            return Ok(url);
        }
        let body = self.http.get_body(discovery_url).await?;
        let metadata: Metadata = serde_json::from_slice(&body).map_err(|e| {
            FetchError::permanent(format!("discovery document for {issuer} is malformed: {e}"))
        })?;
        if metadata.issuer != *issuer {
            return Err(FetchError::permanent(format!(
                "discovery document announces issuer `{}`, but `{issuer}` is configured",
                metadata.issuer
            )));
        }
        let Some(endpoint) = metadata.introspection_endpoint else {
            return Err(FetchError::permanent(format!(
                "the discovery document of {issuer} has no introspection_endpoint: configure \
                 one with Introspection::builder().endpoint(..)"
            )));
        };
        let url = check_url(
            &endpoint,
            self.allow_http,
            "discovered introspection_endpoint",
        )
        .map_err(|e| FetchError::permanent(e.to_string()))?;
        without_user_info(&url, "discovered introspection_endpoint")
            .map_err(FetchError::permanent)?;
        *found.lock().unwrap_or_else(PoisonError::into_inner) = Some(url.clone());
        Ok(url)
    }
}

/// Refuses an endpoint URL with user information. The HTTP client moves it into an
/// `Authorization` header of its own (beside the client authentication's) and out of the URL,
/// so every answer looked redirected and was refused: an outage for every opaque token. The
/// message shows the URL redacted (no user, password or query).
pub(super) fn without_user_info(url: &Url, what: &str) -> Result<(), String> {
    if url.username().is_empty() && url.password().is_none() {
        return Ok(());
    }
    Err(format!(
        "{what}: `{}` with user information; remove it and authenticate with \
         .client_auth(ClientAuth::client_secret_basic(..)) or another ClientAuth",
        crate::fetch::redacted(url)
    ))
}
