//! The claims policy: what a token must say (401 when it does not), and what a valid token
//! must be allowed to do (403 when it is not).

use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::authz::Require;
use crate::claims::{self, NumericDate};
use crate::error::{AuthError, AuthReason};
use crate::jwt::Compact;
use crate::user::User;

/// Claims RFC 9068 requires in a JWT access token.
pub(crate) const ACCESS_TOKEN_CLAIMS: [&str; 7] =
    ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"];

#[derive(Clone, Default)]
pub(crate) struct Policy {
    pub(crate) issuer: Option<String>,
    pub(crate) audiences: Vec<String>,
    pub(crate) leeway: Duration,
    pub(crate) required_claims: Vec<String>,
    pub(crate) max_token_len: usize,
    pub(crate) allow_missing_kid: bool,
    /// RFC 9068: the header `typ` must be `at+jwt`.
    pub(crate) access_token_profile: bool,
    /// What every valid token must also grant (`require_scope`, `claims_check`, `require`),
    /// as one `all_of`; `None` when nothing is required.
    pub(crate) requirement: Option<Require>,
}

impl Policy {
    /// Header checks that need no key.
    pub(crate) fn check_header(&self, compact: &Compact<'_>) -> Result<(), AuthError> {
        if self.access_token_profile {
            let typ = compact.typ.as_deref().unwrap_or("");
            let typ = typ.strip_prefix("application/").unwrap_or(typ);
            if !typ.eq_ignore_ascii_case("at+jwt") {
                return Err(AuthError::new(AuthReason::NotAccessToken));
            }
        }
        Ok(())
    }

    /// Registered claims after the signature: exp (required), nbf, iat, iss, aud, required
    /// claims. Returns exp and nbf for the token cache.
    pub(crate) fn check_claims(
        &self,
        claims: &Map<String, Value>,
        now: NumericDate,
    ) -> Result<(NumericDate, Option<NumericDate>), AuthError> {
        let exp =
            claims::numeric_date(claims, "exp")?.ok_or(AuthError::new(AuthReason::MissingExp))?;
        let nbf = claims::numeric_date(claims, "nbf")?;
        claims::numeric_date(claims, "iat")?;
        self.check_times(exp, nbf, now)?;
        if let Some(expected) = &self.issuer {
            match claims.get("iss") {
                Some(Value::String(iss)) if iss == expected => {}
                _ => return Err(AuthError::new(AuthReason::IssuerMismatch)),
            }
        }
        if !self.audiences.is_empty() && !audience_matches(claims.get("aud"), &self.audiences) {
            return Err(AuthError::new(AuthReason::AudienceMismatch));
        }
        let profile_claims = if self.access_token_profile {
            &ACCESS_TOKEN_CLAIMS[..]
        } else {
            &[]
        };
        let required = self
            .required_claims
            .iter()
            .map(String::as_str)
            .chain(profile_claims.iter().copied());
        for name in required {
            if !claims.contains_key(name) {
                return Err(AuthError::new(AuthReason::MissingRequiredClaim));
            }
        }
        Ok((exp, nbf))
    }

    /// `exp` and `nbf` against `now` with leeway: valid while `now <= exp + leeway` and
    /// `nbf - leeway <= now`, with `now` read to the whole second (so a token is valid during
    /// the whole second `exp + leeway`).
    pub(crate) fn check_times(
        &self,
        exp: NumericDate,
        nbf: Option<NumericDate>,
        now: NumericDate,
    ) -> Result<(), AuthError> {
        let now = now.whole_seconds();
        if now > exp.saturating_add(self.leeway) {
            return Err(AuthError::new(AuthReason::Expired));
        }
        if nbf.is_some_and(|nbf| now < nbf.saturating_sub(self.leeway)) {
            return Err(AuthError::new(AuthReason::NotYetValid));
        }
        Ok(())
    }

    /// The verifier-wide requirements on a verified token (403 when refused): the same
    /// [`Require`] a route uses.
    pub(crate) fn authorize(&self, user: &User) -> Result<(), AuthError> {
        match &self.requirement {
            Some(requirement) => requirement.authorize(user),
            None => Ok(()),
        }
    }
}

/// `aud` is a string or a non-empty array of strings; one of them must be expected.
pub(crate) fn audience_matches(aud: Option<&Value>, expected: &[String]) -> bool {
    match aud {
        Some(Value::String(aud)) => expected.iter().any(|e| e == aud),
        Some(Value::Array(list)) if !list.is_empty() => {
            list.iter().all(Value::is_string)
                && list
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|aud| expected.iter().any(|e| e == aud))
        }
        _ => false,
    }
}

/// Checks for an OpenID Connect ID token, beyond the verifier's policy.
///
/// ```
/// use jwks_auth::IdTokenChecks;
/// use std::time::Duration;
/// let checks = IdTokenChecks::new().nonce("n-0S6_WzA2Mj").max_age(Duration::from_secs(3600));
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct IdTokenChecks {
    pub(crate) nonce: Option<String>,
    pub(crate) max_age: Option<Duration>,
}

impl IdTokenChecks {
    /// No extra checks.
    pub fn new() -> Self {
        Self::default()
    }

    /// The `nonce` sent in the authentication request; the token must carry it exactly.
    pub fn nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }

    /// The `max_age` sent in the authentication request: `auth_time` must be present and no
    /// older than this (plus the verifier's leeway).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    pub(crate) fn check(
        &self,
        user: &User,
        now: NumericDate,
        leeway: Duration,
    ) -> Result<(), AuthError> {
        if let Some(nonce) = &self.nonce
            && user.str_claim("nonce") != Some(nonce.as_str())
        {
            return Err(AuthError::new(AuthReason::NonceMismatch));
        }
        if let Some(max_age) = self.max_age {
            let auth_time = claims::numeric_date(user.claims(), "auth_time")?
                .ok_or(AuthError::new(AuthReason::MissingAuthTime))?;
            if now.whole_seconds() > auth_time.saturating_add(max_age).saturating_add(leeway) {
                return Err(AuthError::new(AuthReason::AuthenticationTooOld));
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("leeway", &self.leeway)
            .field("required_claims", &self.required_claims)
            .field("access_token_profile", &self.access_token_profile)
            .field("requirement", &self.requirement)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn audience_is_any_of_and_strict_about_shapes() {
        let expected = vec!["api".to_string(), "other".to_string()];
        assert!(audience_matches(Some(&json!("api")), &expected));
        assert!(audience_matches(Some(&json!(["x", "other"])), &expected));
        assert!(!audience_matches(Some(&json!(["x"])), &expected));
        assert!(!audience_matches(Some(&json!([])), &expected));
        assert!(!audience_matches(Some(&json!([1])), &expected));
        assert!(!audience_matches(Some(&json!(["api", 1])), &expected));
        assert!(!audience_matches(Some(&json!(7)), &expected));
        assert!(!audience_matches(None, &expected));
    }

    #[test]
    fn time_bounds_are_exact_to_the_second() {
        let p = Policy {
            leeway: Duration::from_secs(30),
            ..Policy::default()
        };
        let t = NumericDate::from_secs;
        assert!(p.check_times(t(1000), None, t(1030)).is_ok());
        assert_eq!(
            p.check_times(t(1000), None, t(1031)),
            Err(AuthError::new(AuthReason::Expired))
        );
        assert!(p.check_times(t(5000), Some(t(1000)), t(970)).is_ok());
        assert_eq!(
            p.check_times(t(5000), Some(t(1000)), t(969)),
            Err(AuthError::new(AuthReason::NotYetValid))
        );
    }

    #[test]
    fn scopes_read_scope_and_scp() {
        let p = Policy {
            requirement: Some(Require::scopes(["read", "write"])),
            ..Policy::default()
        };
        assert!(
            p.authorize(&User::from_claims(json!({"scope": "read write admin"})))
                .is_ok()
        );
        assert!(
            p.authorize(&User::from_claims(json!({"scp": ["write", "read"]})))
                .is_ok()
        );
        let refused = p
            .authorize(&User::from_claims(json!({"scope": "read"})))
            .expect_err("write missing");
        assert_eq!(refused.reason(), AuthReason::InsufficientScope);
        assert_eq!(refused.required_scope(), Some("read write"));
        assert!(p.authorize(&User::from_claims(json!({}))).is_err());
        assert!(
            Policy::default()
                .authorize(&User::from_claims(json!({})))
                .is_ok()
        );
    }

    #[test]
    fn id_token_nonce_and_max_age() {
        let user = User::from_claims(json!({"nonce": "abc", "auth_time": 1000}));
        let checks = IdTokenChecks::new()
            .nonce("abc")
            .max_age(Duration::from_secs(100));
        let t = NumericDate::from_secs;
        assert!(checks.check(&user, t(1100), Duration::ZERO).is_ok());
        assert_eq!(
            checks.check(&user, t(1101), Duration::ZERO),
            Err(AuthError::new(AuthReason::AuthenticationTooOld))
        );
        let wrong = IdTokenChecks::new().nonce("xyz");
        assert_eq!(
            wrong.check(&user, t(0), Duration::ZERO),
            Err(AuthError::new(AuthReason::NonceMismatch))
        );
        let no_auth_time = User::from_claims(json!({}));
        assert!(
            IdTokenChecks::new()
                .max_age(Duration::from_secs(1))
                .check(&no_auth_time, t(0), Duration::ZERO)
                .is_err()
        );
    }
}
