//! The claims Cloudflare Access puts in its tokens ([`CloudflareClaims`]), and the crate's one
//! definition of a service token.

use crate::user::User;

mod sealed {
    /// Only [`User`](crate::User) carries Cloudflare claims; sealing lets methods be added.
    pub trait Sealed {}
    impl Sealed for crate::user::User {}
}

/// Accessors for the claims of Cloudflare Access tokens, on a verified [`User`].
///
/// Bring it into scope to read them: `use jwks_auth::cloudflare::CloudflareClaims;`. They are
/// plain claim reads: on a token from another issuer they are simply `None` (or `false`).
///
/// ```
/// use jwks_auth::User;
/// use jwks_auth::cloudflare::CloudflareClaims;
/// let person = User::from_claims(serde_json::json!({
///     "type": "app", "sub": "5b0c1f7e", "email": "alice@example.test",
///     "country": "NL", "identity_nonce": "Zq8xN3pLw0aB7cD1",
/// }));
/// assert_eq!(person.country(), Some("NL"));
/// assert_eq!(person.token_type(), Some("app"));
/// assert!(!person.is_service_token());
/// let service = User::from_claims(serde_json::json!({
///     "type": "app", "sub": "", "common_name": "3c5d9e7f0a1b.access",
/// }));
/// assert!(service.is_service_token());
/// assert_eq!(service.common_name(), Some("3c5d9e7f0a1b.access"));
/// ```
pub trait CloudflareClaims: sealed::Sealed {
    /// `country`: where the user authenticated (ISO 3166-1 alpha-2).
    fn country(&self) -> Option<&str>;

    /// `identity_nonce` (user tokens): names the identity behind the session; bound to the
    /// subject, token type and issuer, it keys the identity cache of
    /// [`CloudflareAccess::get_identity`](super::CloudflareAccess::get_identity).
    fn identity_nonce(&self) -> Option<&str>;

    /// `type`: `app` for an application token, `org` for the team-wide session token.
    fn token_type(&self) -> Option<&str>;

    /// `common_name` (service tokens): the service token's Client ID.
    fn common_name(&self) -> Option<&str>;

    /// Whether this is a service token (a machine client) rather than a person.
    ///
    /// Precisely: `common_name` is a non-empty string, **and** there is no `email` (absent,
    /// null or empty), **and** `sub` is absent or empty, as Cloudflare issues them. A token
    /// with an email, or with a subject, is a person's, whatever else it carries.
    /// [`Identity::is_service_token`](super::Identity::is_service_token) applies the same rule
    /// to an identity document.
    fn is_service_token(&self) -> bool;
}

impl CloudflareClaims for User {
    fn country(&self) -> Option<&str> {
        self.str_claim("country")
    }

    fn identity_nonce(&self) -> Option<&str> {
        self.str_claim("identity_nonce")
    }

    fn token_type(&self) -> Option<&str> {
        self.str_claim("type")
    }

    fn common_name(&self) -> Option<&str> {
        self.str_claim("common_name")
    }

    fn is_service_token(&self) -> bool {
        is_service_token(self.common_name(), self.email(), self.sub())
    }
}

/// The one definition of a Cloudflare service token, for tokens and identity documents alike:
/// a non-empty Client ID (`common_name`), no email, no subject. Cloudflare's service tokens
/// carry `sub: ""` and no `email`; a person's token always carries both.
pub(crate) fn is_service_token(
    common_name: Option<&str>,
    email: Option<&str>,
    subject: Option<&str>,
) -> bool {
    common_name.is_some_and(|cn| !cn.is_empty())
        && email.is_none_or(str::is_empty)
        && subject.is_none_or(str::is_empty)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::cloudflare::Identity;

    /// The same facts, as token claims and as an identity document (`user_uuid` is the
    /// document's subject).
    fn both(common_name: Value, email: Value, sub: Value) -> (bool, bool) {
        let user =
            User::from_claims(json!({"common_name": common_name, "email": email, "sub": sub}));
        let identity: Identity = serde_json::from_value(
            json!({"common_name": common_name, "email": email, "user_uuid": sub}),
        )
        .expect("identity");
        (user.is_service_token(), identity.is_service_token())
    }

    #[test]
    fn tokens_and_identities_share_one_definition_of_a_service_token() {
        // As Cloudflare issues them.
        assert_eq!(
            both(json!("ci.access"), Value::Null, json!("")),
            (true, true)
        );
        assert_eq!(
            both(json!(""), json!("alice@example.test"), json!("5b0c")),
            (false, false)
        );
        // Case 1, where the two used to disagree: an empty email is no email. The identity
        // rule (`email.is_none()`) called this a person.
        assert_eq!(both(json!("ci.access"), json!(""), json!("")), (true, true));
        // Case 2: a subject makes it a person's. The identity rule ignored the subject and
        // called this a service token.
        assert_eq!(
            both(json!("ci.access"), Value::Null, json!("5b0c")),
            (false, false)
        );
        // No Client ID, or an empty one: never a service token.
        assert_eq!(both(Value::Null, Value::Null, json!("")), (false, false));
        assert_eq!(both(json!(""), Value::Null, Value::Null), (false, false));
        // Cloudflare's `service_token_status` flag is kept as sent but does not override the
        // rule: a document with an email is a person's.
        let flagged: Identity = serde_json::from_value(json!({
            "email": "alice@example.test", "common_name": "ci.access", "service_token_status": true,
        }))
        .expect("identity");
        assert!(!flagged.is_service_token());
        assert_eq!(flagged.service_token_status, Some(true));
    }
}
