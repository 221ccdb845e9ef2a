//! [`User`]: the verified identity a request carries, and [`VerifiedToken`]: the token it was
//! verified from.

use std::fmt;
use std::sync::{Arc, OnceLock};

use http::HeaderValue;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// The authenticated caller: the verified claims with convenient accessors.
///
/// Cloning is cheap (one `Arc`). The layer puts a `User` into the request extensions; read it
/// with the axum extractor, or `req.extensions().get::<User>()` in plain tower code.
///
/// ```
/// use jwks_auth::User;
/// let user = User::from_claims(serde_json::json!({"sub": "u1", "email": "a@example.test"}));
/// assert_eq!(user.sub(), Some("u1"));
/// assert_eq!(user.email(), Some("a@example.test"));
/// assert!(!user.is_dev_bypass());
/// ```
#[derive(Clone)]
pub struct User {
    inner: Arc<Inner>,
}

struct Inner {
    /// Always a JSON object.
    claims: Value,
    dev_bypass: bool,
    /// The granted scopes, split on first use: the verified-token cache hands out this same
    /// `User` for every request bearing the token, so route requirements split it once.
    scopes: OnceLock<Box<[Box<str>]>>,
}

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

impl User {
    /// A user with these claims (a JSON object; anything else gives a user without claims).
    ///
    /// Meant for tests and for the dev-user bypass; the layer builds users from verified tokens.
    #[must_use]
    pub fn from_claims(claims: Value) -> Self {
        Self::new(claims, false)
    }

    pub(crate) fn new(claims: Value, dev_bypass: bool) -> Self {
        let claims = if claims.is_object() {
            claims
        } else {
            Value::Object(Map::new())
        };
        Self {
            inner: Arc::new(Inner {
                claims,
                dev_bypass,
                scopes: OnceLock::new(),
            }),
        }
    }

    pub(crate) fn into_dev_bypass(self) -> Self {
        Self::new(self.inner.claims.clone(), true)
    }

    /// All verified claims.
    #[must_use]
    pub fn claims(&self) -> &Map<String, Value> {
        self.inner.claims.as_object().unwrap_or(&EMPTY)
    }

    /// One claim.
    #[must_use]
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.claims().get(name)
    }

    /// A string claim (`None` when absent or not a string).
    #[must_use]
    pub fn str_claim(&self, name: &str) -> Option<&str> {
        self.claim(name).and_then(Value::as_str)
    }

    /// The claims deserialized into your own type (no copy of the claims is made).
    ///
    /// # Errors
    /// When the claims do not fit `T`.
    pub fn claims_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.inner.claims)
    }

    /// `sub`. Cloudflare service tokens carry an empty `sub` (see
    /// [`CloudflareClaims`](crate::cloudflare::CloudflareClaims) for Cloudflare's claims).
    #[must_use]
    pub fn sub(&self) -> Option<&str> {
        self.str_claim("sub")
    }

    /// `email`.
    #[must_use]
    pub fn email(&self) -> Option<&str> {
        self.str_claim("email")
    }

    /// `name`.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.str_claim("name")
    }

    /// `iss`.
    #[must_use]
    pub fn issuer(&self) -> Option<&str> {
        self.str_claim("iss")
    }

    /// The granted scopes, split once per verified user (see [`User::scopes`]).
    pub(crate) fn scope_cache(&self) -> &OnceLock<Box<[Box<str>]>> {
        &self.inner.scopes
    }

    /// Whether this user was set by the dev-user bypass rather than a verified token.
    #[must_use]
    pub fn is_dev_bypass(&self) -> bool {
        self.inner.dev_bypass
    }
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("sub", &self.sub())
            .field("email", &self.email())
            .field("issuer", &self.issuer())
            .field("dev_bypass", &self.inner.dev_bypass)
            .finish_non_exhaustive()
    }
}

/// The token the layer verified for this request, exactly as it arrived in its source (without
/// the `Bearer ` scheme).
///
/// The layer puts one in the request extensions, beside the [`User`], on every successful
/// verification; never for an anonymous request of an optional layer, nor for the dev-user
/// bypass (there is no token then). Use it when the caller's own token must travel on:
/// [`CloudflareAccess::get_identity`](crate::cloudflare::CloudflareAccess::get_identity) (the
/// Cloudflare [`Identity`](crate::cloudflare::Identity) extractor sends exactly this token), or
/// token relay to a downstream service that verifies it itself. Read it with
/// `req.extensions().get::<VerifiedToken>()`, or axum's `Extension<VerifiedToken>`.
///
/// Cloning is cheap (one `Arc`). It is a bearer credential: its `Debug` never prints the token,
/// and nor should your logs.
///
/// ```
/// # fn handler(req: http::Request<()>) {
/// use jwks_auth::VerifiedToken;
/// if let Some(token) = req.extensions().get::<VerifiedToken>() {
///     let _authorization = format!("Bearer {}", token.as_str()); // relay downstream
/// }
/// # }
/// ```
#[derive(Clone)]
pub struct VerifiedToken {
    /// The header the token arrived in (`Authorization`, the token header or `Cookie`), shared
    /// with the request rather than copied, and where the token lies in it.
    carrier: HeaderValue,
    start: usize,
    end: usize,
}

impl VerifiedToken {
    /// The token `token`, a slice of the header value `carrier`: kept as a (reference-counted)
    /// clone of the header, so the layer copies no token bytes per request.
    pub(crate) fn new(carrier: &HeaderValue, token: &str) -> Self {
        let base = carrier.as_bytes().as_ptr() as usize;
        let start = (token.as_ptr() as usize).wrapping_sub(base);
        match start.checked_add(token.len()) {
            Some(end)
                if end <= carrier.len() && &carrier.as_bytes()[start..end] == token.as_bytes() =>
            {
                Self {
                    carrier: carrier.clone(),
                    start,
                    end,
                }
            }
            // Not a slice of that header (never the case for the layer's own extraction).
            _ => Self::copied(token),
        }
    }

    fn copied(token: &str) -> Self {
        let carrier = HeaderValue::from_str(token).unwrap_or_else(|_| HeaderValue::from_static(""));
        let end = carrier.len();
        Self {
            carrier,
            start: 0,
            end,
        }
    }

    /// The token, as verified.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Visible ASCII: the layer only extracts tokens from headers that are.
        self.carrier
            .to_str()
            .ok()
            .and_then(|s| s.get(self.start..self.end))
            .unwrap_or("")
    }
}

impl fmt::Debug for VerifiedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only the length: the token is a credential.
        f.debug_struct("VerifiedToken")
            .field("len", &(self.end - self.start))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verified_token_shares_its_header_and_reads_back_exactly() {
        let header = HeaderValue::from_static("Bearer a.b.c");
        let token = &header.to_str().expect("ascii")[7..];
        let verified = VerifiedToken::new(&header, token);
        assert_eq!(verified.as_str(), "a.b.c");
        assert_eq!((verified.start, verified.end), (7, 12));

        let cookie = HeaderValue::from_static("x=1; CF_Authorization=d.e.f; y=2");
        let text = cookie.to_str().expect("ascii");
        let verified = VerifiedToken::new(&cookie, &text[22..27]);
        assert_eq!(verified.as_str(), "d.e.f");

        // A string that is not a slice of the header is copied, never misread.
        let elsewhere = String::from("g.h.i");
        let verified = VerifiedToken::new(&header, &elsewhere);
        assert_eq!(verified.as_str(), "g.h.i");
        assert_eq!(format!("{verified:?}"), "VerifiedToken { len: 5, .. }");
    }
}
