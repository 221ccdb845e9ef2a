//! [`BearerChallenge`]: the RFC 6750 section 3 `WWW-Authenticate` challenge, built in one place
//! for the layer's rejections, the extractors and custom [`RejectionHandler`]s.
//!
//! [`RejectionHandler`]: crate::RejectionHandler

use http::HeaderValue;

use crate::error::{AuthError, AuthErrorKind};

/// A `Bearer` challenge (RFC 6750 section 3).
///
/// Parameters are written in RFC order (`realm`, `scope`, `error`, `error_description`, then
/// RFC 9728's `resource_metadata`);
/// `error_description` is only written with an `error` (a request without credentials gets no
/// error information, section 3.1), and characters outside the RFC's allowed set
/// (`%x20-21 / %x23-5B / %x5D-7E`) are dropped from every value.
///
/// ```
/// use jwks_auth::{AuthError, AuthReason, BearerChallenge};
/// let expired = AuthError::new(AuthReason::Expired);
/// let value = BearerChallenge::for_error(&expired).description("token expired").to_header_value();
/// assert_eq!(value, r#"Bearer error="invalid_token", error_description="token expired""#);
/// assert_eq!(BearerChallenge::new().realm("api").to_header_value(), r#"Bearer realm="api""#);
/// ```
#[derive(Debug, Clone, Copy, Default)]
#[must_use]
pub struct BearerChallenge<'a> {
    realm: Option<&'a str>,
    scope: Option<&'a str>,
    error: Option<&'static str>,
    description: Option<&'a str>,
    resource_metadata: Option<&'a str>,
}

impl<'a> BearerChallenge<'a> {
    /// A bare `Bearer` challenge: what a request without any token gets.
    pub fn new() -> Self {
        Self::default()
    }

    /// The challenge for `error`: no error code for a missing token, `invalid_token` for an
    /// invalid one, `insufficient_scope` for a policy refusal (403). Unavailable keys (503)
    /// are not an authentication problem; they get no error code either.
    pub fn for_error(error: &AuthError) -> Self {
        let code = match error.kind() {
            AuthErrorKind::InvalidToken => Some("invalid_token"),
            AuthErrorKind::Forbidden => Some("insufficient_scope"),
            _ => None,
        };
        Self {
            error: code,
            ..Self::default()
        }
    }

    /// `realm="..."`.
    pub fn realm(mut self, realm: &'a str) -> Self {
        self.realm = Some(realm);
        self
    }

    /// `scope="..."`: the space-separated scopes that would have been enough (section 3).
    pub fn scope(mut self, scope: &'a str) -> Self {
        self.scope = Some(scope);
        self
    }

    /// `error="..."`: `invalid_request`, `invalid_token` or `insufficient_scope` (section 3.1).
    pub fn error(mut self, code: &'static str) -> Self {
        self.error = Some(code);
        self
    }

    /// `error_description="..."`, written only together with an error code.
    pub fn description(mut self, description: &'a str) -> Self {
        self.description = Some(description);
        self
    }

    /// `resource_metadata="..."`: the URL of the resource's RFC 9728 metadata document
    /// (section 5.1). [`JwksAuthLayer::resource_metadata`](crate::JwksAuthLayer::resource_metadata)
    /// adds it to the layer's own challenges.
    pub fn resource_metadata(mut self, url: &'a str) -> Self {
        self.resource_metadata = Some(url);
        self
    }

    /// The header value.
    #[must_use]
    pub fn to_header_value(&self) -> HeaderValue {
        let mut out = String::from("Bearer");
        let mut params = [
            ("realm", self.realm),
            ("scope", self.scope),
            ("error", self.error),
            ("error_description", self.error.and(self.description)),
            ("resource_metadata", self.resource_metadata),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
        .peekable();
        if params.peek().is_some() {
            out.push(' ');
        }
        let mut first = true;
        for (name, value) in params {
            if !first {
                out.push_str(", ");
            }
            first = false;
            out.push_str(name);
            out.push_str("=\"");
            out.extend(value.chars().filter(|c| allowed(*c)));
            out.push('"');
        }
        // Every character left is visible ASCII or a space.
        HeaderValue::try_from(out).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
    }
}

/// RFC 6750 section 3: `%x20-21 / %x23-5B / %x5D-7E` (no `"` and no `\`).
fn allowed(c: char) -> bool {
    matches!(c, ' '..='~') && c != '"' && c != '\\'
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AuthReason;

    #[test]
    fn missing_token_gets_no_error_information() {
        let missing = AuthError::new(AuthReason::MissingToken);
        let value = BearerChallenge::for_error(&missing)
            .description("missing bearer token")
            .to_header_value();
        assert_eq!(value, "Bearer");
    }

    #[test]
    fn resource_metadata_comes_last_with_or_without_an_error() {
        let url = "https://api.example.com/.well-known/oauth-protected-resource";
        let value = BearerChallenge::new()
            .resource_metadata(url)
            .to_header_value();
        assert_eq!(
            value,
            format!(r#"Bearer resource_metadata="{url}""#).as_str()
        );
        let value = BearerChallenge::for_error(&AuthError::new(AuthReason::Expired))
            .resource_metadata(url)
            .to_header_value();
        assert_eq!(
            value,
            format!(r#"Bearer error="invalid_token", resource_metadata="{url}""#).as_str()
        );
    }

    #[test]
    fn parameters_in_order_and_values_sanitised() {
        let value = BearerChallenge::new()
            .realm("a\"b")
            .scope("orders:read orders:write")
            .error("insufficient_scope")
            .description("line\nbreak \\ and \u{e9}")
            .to_header_value();
        assert_eq!(
            value,
            r#"Bearer realm="ab", scope="orders:read orders:write", error="insufficient_scope", error_description="linebreak  and ""#
        );
    }
}
