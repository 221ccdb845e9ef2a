//! Key sources built from local keys: a whole store ([`StoreKeys`]), and the failover /
//! merged combination of two sources ([`FailoverSource`]).

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};

use super::keyring::KeyRing;
use crate::jwks::{BoxFuture, FetchError, Fetched, KeySource, Validators};

/// A JWKS document answer with a content-derived `ETag`, or `NotModified` when the caller's
/// validators already name this content.
pub(crate) fn answer(
    keys: Vec<Value>,
    max_age: Option<Duration>,
    previous: Option<&Validators>,
) -> Fetched {
    let body = Bytes::from(json!({ "keys": public_only(keys) }).to_string());
    let etag = crate::encoding::etag(&body);
    if previous.and_then(|v| v.etag.as_deref()) == Some(etag.as_str()) {
        return Fetched::NotModified { max_age };
    }
    Fetched::Document {
        body,
        max_age,
        validators: Validators {
            etag: Some(etag),
            last_modified: None,
        },
    }
}

/// Every asymmetric key version of a [`KeyRing`], as a [`KeySource`] for
/// [`JwksVerifier`](crate::JwksVerifier) (HMAC keys are never published).
///
/// This publishes every version the store holds: for a rotating issuer, publish
/// [`RotatingSigner::key_source`](super::RotatingSigner::key_source) instead, which drops
/// versions whose retention window has closed.
#[derive(Clone)]
pub struct StoreKeys {
    keys: KeyRing,
}

impl StoreKeys {
    /// A source over every key of `keys`.
    #[must_use]
    pub fn new(keys: KeyRing) -> Self {
        Self { keys }
    }
}

impl fmt::Debug for StoreKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreKeys")
            .field("keys", &self.keys)
            .finish()
    }
}

impl KeySource for StoreKeys {
    fn fetch<'a>(
        &'a self,
        previous: Option<&'a Validators>,
    ) -> BoxFuture<'a, Result<Fetched, FetchError>> {
        let result = self
            .keys
            .jwks()
            .map_err(|e| FetchError::transient(format!("local key store: {e}")))
            .map(|doc| answer(keys_of(&doc), None, previous));
        Box::pin(async move { result })
    }
}

/// The keys with their public members only, written by the crate's one JWK reader
/// ([`Jwk`](crate::jwk::Jwk), which never keeps a private member's value). A key is served
/// only when it is complete and of a known type: `RSA`, `EC` or `OKP` with every member its
/// RFC 7638 thumbprint requires. A symmetric (`oct`) key, which has no public half, is dropped
/// whole, and so is a key of another type (the reader would write it as a bare stub, such as
/// `{"kid":"pq","kty":"AKP"}`, without its public key), an incomplete key, and anything that
/// is not a JWK. Whatever a source hands over, this is all the issuer serves.
pub(crate) fn public_only(keys: Vec<Value>) -> Vec<Value> {
    keys.into_iter()
        .filter_map(|key| {
            let Ok(jwk) = serde_json::from_value::<crate::jwk::Jwk>(key) else {
                tracing::warn!("jwks-auth: a key that is not a JWK was not published");
                return None;
            };
            let kid = jwk.kid.as_deref().unwrap_or("");
            if jwk.kty == "oct" {
                tracing::warn!(kid, "jwks-auth: a symmetric key was not published");
                return None;
            }
            // The thumbprint needs exactly the required public members of a known type.
            if jwk.thumbprint_sha256().is_none() {
                tracing::warn!(
                    kid,
                    kty = jwk.kty.as_str(),
                    "jwks-auth: a key of an unknown type, or missing public members, was not published"
                );
                return None;
            }
            if let Some(member) = jwk.private_member() {
                tracing::warn!(
                    kid,
                    member,
                    "jwks-auth: private JWK members were removed before publishing"
                );
            }
            serde_json::to_value(&jwk).ok()
        })
        .collect()
}

pub(crate) fn keys_of(doc: &Value) -> Vec<Value> {
    doc.get("keys")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Two key sources, a primary and a secondary, read as one.
///
/// - [`FailoverSource::new`]: the primary's set; the secondary's when the primary fails.
/// - [`FailoverSource::merged`]: the union of both sets, the primary's key winning when both
///   have the same `kid` (e.g. local keys merged with a remote JWKS). If one side fails, the
///   other side's set is served.
///
/// Falling back to the secondary when the primary fails is on by default
/// ([`fail_open_reads`](Self::fail_open_reads)); switched off, a primary failure is the
/// fetch's failure (the verifier then keeps its last good set for `max_stale`).
///
/// The document is rebuilt on each fetch; its `ETag` is derived from its content, so an
/// unchanged union answers `NotModified`. The announced `max_age` is the smaller of the
/// sides'.
#[derive(Clone)]
pub struct FailoverSource {
    primary: Arc<dyn KeySource>,
    secondary: Arc<dyn KeySource>,
    merge: bool,
    fail_open: bool,
}

impl fmt::Debug for FailoverSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FailoverSource")
            .field("primary", &self.primary)
            .field("secondary", &self.secondary)
            .field("merge", &self.merge)
            .field("fail_open_reads", &self.fail_open)
            .finish()
    }
}

impl FailoverSource {
    /// The primary's set, falling back to the secondary's when the primary fails.
    #[must_use]
    pub fn new(primary: impl KeySource, secondary: impl KeySource) -> Self {
        Self {
            primary: Arc::new(primary),
            secondary: Arc::new(secondary),
            merge: false,
            fail_open: true,
        }
    }

    /// The union of both sets, the primary winning on `kid`.
    #[must_use]
    pub fn merged(primary: impl KeySource, secondary: impl KeySource) -> Self {
        Self {
            merge: true,
            ..Self::new(primary, secondary)
        }
    }

    /// Whether a failing primary is replaced by the secondary (default `true`).
    #[must_use]
    pub fn fail_open_reads(mut self, fail_open: bool) -> Self {
        self.fail_open = fail_open;
        self
    }

    async fn build(&self, previous: Option<&Validators>) -> Result<Fetched, FetchError> {
        let (primary, secondary) = if self.merge {
            let (p, s) =
                futures_util::future::join(read_keys(&*self.primary), read_keys(&*self.secondary))
                    .await;
            (p, Some(s))
        } else {
            (read_keys(&*self.primary).await, None)
        };
        let (keys, max_age) = match (primary, secondary) {
            (Ok(p), Some(Ok(s))) => (union(p.0, s.0), min_age(p.1, s.1)),
            (Ok(p), Some(Err(e))) => {
                tracing::warn!(error = %e, "jwks-auth: secondary key source failed; serving the primary's keys");
                p
            }
            (Ok(p), None) => p,
            (Err(e), secondary) if self.fail_open => {
                tracing::warn!(error = %e, "jwks-auth: primary key source failed; serving the secondary's keys");
                match secondary {
                    Some(s) => s?,
                    None => read_keys(&*self.secondary).await?,
                }
            }
            (Err(e), _) => return Err(e),
        };
        Ok(answer(keys, max_age, previous))
    }
}

impl KeySource for FailoverSource {
    fn fetch<'a>(
        &'a self,
        previous: Option<&'a Validators>,
    ) -> BoxFuture<'a, Result<Fetched, FetchError>> {
        Box::pin(self.build(previous))
    }
}

/// One side's keys (an unconditional fetch: the combination has its own validators).
async fn read_keys(source: &dyn KeySource) -> Result<(Vec<Value>, Option<Duration>), FetchError> {
    match source.fetch(None).await? {
        Fetched::Document { body, max_age, .. } => {
            let doc: Value = serde_json::from_slice(&body)
                .map_err(|e| FetchError::permanent(format!("malformed JWKS document: {e}")))?;
            if !doc.get("keys").is_some_and(Value::is_array) {
                return Err(FetchError::permanent("JWKS document has no `keys` array"));
            }
            Ok((keys_of(&doc), max_age))
        }
        _ => Err(FetchError::permanent(
            "key source answered `not modified` to an unconditional fetch",
        )),
    }
}

/// The primary's keys, then the secondary's whose kid the primary does not have.
pub(crate) fn union(primary: Vec<Value>, secondary: Vec<Value>) -> Vec<Value> {
    let kids: HashSet<String> = primary
        .iter()
        .filter_map(|k| k.get("kid").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let mut keys = primary;
    keys.extend(secondary.into_iter().filter(|k| {
        k.get("kid")
            .and_then(Value::as_str)
            .is_none_or(|kid| !kids.contains(kid))
    }));
    keys
}

fn min_age(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
