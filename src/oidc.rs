//! OpenID Connect discovery: from an issuer URL to its `jwks_uri`, trusting nothing the
//! discovery document says about itself that we did not configure.
//!
//! The document's `issuer` must equal the configured issuer exactly (RFC 8414 section 3.3,
//! OpenID Connect Discovery section 4.3), and its `jwks_uri` must be https (or loopback, or
//! explicitly allowed http). The discovered URI is kept for `discovery_ttl` and discovered
//! again after that, or at once when the JWKS fetch fails with a client error (the URI may
//! have moved).

use std::sync::Mutex;
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

use crate::clock::{SharedClock, millis};
use crate::fetch::{FetchError, HttpFetcher, check_url};
use crate::jwks::source::{FetchFuture, KeySource, Validators};

/// Where an OpenID Connect issuer publishes its discovery document (OpenID Connect Discovery
/// section 4), relative to the issuer. The one definition in the crate: the issuer's publisher
/// and the mock IdP serve at this path.
pub(crate) const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

/// The discovery document's members we use.
#[derive(Debug, Deserialize)]
pub(crate) struct DiscoveryDocument {
    pub(crate) issuer: String,
    pub(crate) jwks_uri: String,
}

/// Parses a discovery document and checks it against the configured issuer.
pub(crate) fn check_document(
    body: &[u8],
    expected_issuer: &str,
    allow_http: bool,
) -> Result<Url, FetchError> {
    let doc: DiscoveryDocument = serde_json::from_slice(body).map_err(|e| {
        FetchError::permanent(format!(
            "discovery document for {expected_issuer} is malformed: {e}"
        ))
    })?;
    if doc.issuer != expected_issuer {
        let message = match near_miss(expected_issuer, &doc.issuer) {
            // Say exactly what to fix when the two differ only in spelling.
            Some(how) => format!(
                "configured issuer {expected_issuer} differs from the announced {} by {how}: \
                 configure exactly {} (issuers must match exactly, RFC 8414 section 3.3)",
                doc.issuer, doc.issuer
            ),
            None => format!(
                "discovery document announces issuer `{}`, but `{expected_issuer}` is \
                 configured (they must match exactly)",
                doc.issuer
            ),
        };
        tracing::error!(
            configured = expected_issuer,
            announced = doc.issuer,
            "OIDC discovery issuer mismatch: refusing the provider's keys: {message}"
        );
        return Err(FetchError::permanent(message));
    }
    check_url(&doc.jwks_uri, allow_http, "discovered jwks_uri")
        .map_err(|e| FetchError::permanent(e.to_string()))
}

/// How two issuers that are not equal differ, when the difference is only one of spelling a
/// person makes (and the fix is to copy the announced one): a trailing slash, letter case, or
/// `localhost` against a loopback address.
fn near_miss(configured: &str, announced: &str) -> Option<&'static str> {
    let trimmed = |s: &str| s.trim_end_matches('/').to_owned();
    if trimmed(configured) == trimmed(announced) {
        return Some("a trailing slash");
    }
    if configured.eq_ignore_ascii_case(announced) {
        return Some("letter case");
    }
    let loopback = |s: &str| {
        ["localhost", "127.0.0.1", "[::1]"]
            .iter()
            .fold(s.to_ascii_lowercase(), |s, host| {
                s.replace(host, "loopback")
            })
    };
    if loopback(configured).trim_end_matches('/') == loopback(announced).trim_end_matches('/') {
        return Some("the loopback host name (localhost vs 127.0.0.1 or [::1])");
    }
    None
}

/// The discovery URL for an issuer: `<issuer>/.well-known/openid-configuration`.
pub(crate) fn discovery_url(issuer: &str) -> String {
    format!("{}{DISCOVERY_PATH}", issuer.trim_end_matches('/'))
}

/// A key source that discovers its JWKS URL from an OIDC issuer.
#[derive(Debug)]
pub(crate) struct OidcDiscovery {
    issuer: String,
    discovery_url: Url,
    allow_http: bool,
    discovery_ttl: Duration,
    http: HttpFetcher,
    clock: SharedClock,
    // Held only while copying the small value in or out, never across an await.
    discovered: Mutex<Option<(Url, i64)>>,
}

impl OidcDiscovery {
    pub(crate) fn new(
        issuer: String,
        discovery_url: Url,
        allow_http: bool,
        discovery_ttl: Duration,
        http: HttpFetcher,
        clock: SharedClock,
    ) -> Self {
        Self {
            issuer,
            discovery_url,
            allow_http,
            discovery_ttl,
            http,
            clock,
            discovered: Mutex::new(None),
        }
    }

    async fn jwks_uri(&self) -> Result<Url, FetchError> {
        // Monotonic: a wall-clock jump neither keeps nor drops the discovered URI.
        let now = self.clock.monotonic_millis();
        let cached = self
            .discovered
            .lock()
            .ok()
            .and_then(|d| d.clone())
            .filter(|(_, at)| now.saturating_sub(*at) < millis(self.discovery_ttl));
        if let Some((url, _)) = cached {
            return Ok(url);
        }
        let body = self.http.get_body(&self.discovery_url).await?;
        let url = check_document(&body, &self.issuer, self.allow_http)?;
        if let Ok(mut d) = self.discovered.lock() {
            *d = Some((url.clone(), now));
        }
        Ok(url)
    }

    fn forget(&self) {
        if let Ok(mut d) = self.discovered.lock() {
            *d = None;
        }
    }
}

impl KeySource for OidcDiscovery {
    fn fetch<'a>(&'a self, previous: Option<&'a Validators>) -> FetchFuture<'a> {
        Box::pin(async move {
            let url = self.jwks_uri().await?;
            let result = self.http.get(&url, previous, &self.clock).await;
            if result.as_ref().is_err_and(|e| !e.is_retryable()) {
                // The provider may have moved its keys: discover again next time.
                self.forget();
            }
            result
        })
    }

    /// The discovery URL: what names this source in metrics and in key-set errors (the
    /// `jwks_uri` it leads to can change).
    fn url(&self) -> Option<&Url> {
        Some(&self.discovery_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_issuer_must_match_exactly() {
        let doc = br#"{"issuer":"https://idp.example/","jwks_uri":"https://idp.example/keys"}"#;
        let err = check_document(doc, "https://idp.example", false).expect_err("trailing slash");
        assert!(err.to_string().contains("must match exactly"), "{err}");
        assert!(
            err.to_string().starts_with(
                "configured issuer https://idp.example differs from the announced \
                 https://idp.example/ by a trailing slash"
            ),
            "{err}"
        );
        let url = check_document(doc, "https://idp.example/", false).expect("exact");
        assert_eq!(url.as_str(), "https://idp.example/keys");
    }

    #[test]
    fn near_misses_name_the_difference() {
        assert_eq!(
            near_miss("https://x.auth0.com", "https://x.auth0.com/"),
            Some("a trailing slash")
        );
        assert_eq!(
            near_miss(
                "https://IDP.example/realms/A",
                "https://idp.example/realms/a"
            ),
            Some("letter case")
        );
        assert_eq!(
            near_miss(
                "http://localhost:8080/realms/a",
                "http://127.0.0.1:8080/realms/a"
            ),
            Some("the loopback host name (localhost vs 127.0.0.1 or [::1])")
        );
        assert_eq!(near_miss("https://a.example", "https://b.example"), None);
    }

    #[test]
    fn discovered_jwks_uri_must_be_https_unless_loopback() {
        let doc = br#"{"issuer":"https://idp.example","jwks_uri":"http://idp.example/keys"}"#;
        assert!(check_document(doc, "https://idp.example", false).is_err());
        assert!(check_document(doc, "https://idp.example", true).is_ok());
        let local = br#"{"issuer":"https://idp.example","jwks_uri":"http://127.0.0.1:8080/k"}"#;
        assert!(check_document(local, "https://idp.example", false).is_ok());
        assert!(check_document(b"{}", "https://idp.example", false).is_err());
    }

    #[test]
    fn discovery_url_joins_without_double_slash() {
        assert_eq!(
            discovery_url("https://idp.example/realms/x/"),
            "https://idp.example/realms/x/.well-known/openid-configuration"
        );
    }
}
