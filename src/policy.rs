//! The claims policy: what a token must say (401 when it does not), and what a valid token
//! must be allowed to do (403 when it is not).

use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::authz::Require;
use crate::claims::{self, NumericDate, Rounding};
use crate::error::{AuthError, AuthReason};
use crate::jwt::Compact;
use crate::rules::{ClaimRule, IssuerRule};
use crate::user::User;

/// Claims RFC 9068 requires in a JWT access token.
pub(crate) const ACCESS_TOKEN_CLAIMS: [&str; 7] =
    ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"];

#[derive(Clone, Default)]
pub(crate) struct Policy {
    pub(crate) issuer: Option<IssuerRule>,
    pub(crate) audiences: Vec<String>,
    /// Fixed claim checks after the audience (`azp`, presets' `token_use`, `client_id`, ...).
    pub(crate) claim_rules: Vec<ClaimRule>,
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
        if self.access_token_profile
            && !compact
                .typ
                .as_deref()
                .is_some_and(|typ| is_application_media_type(typ, "at+jwt"))
        {
            return Err(AuthError::new(AuthReason::NotAccessToken));
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
        // Fractions are rounded to the millisecond against the token: exp down, nbf up.
        let exp = claims::numeric_date(claims, "exp", Rounding::Down)?
            .ok_or(AuthError::new(AuthReason::MissingExp))?;
        let nbf = claims::numeric_date(claims, "nbf", Rounding::Up)?;
        claims::numeric_date(claims, "iat", Rounding::Down)?;
        self.check_times(exp, nbf, now)?;
        self.check_identity(claims, self.access_token_profile)?;
        Ok((exp, nbf))
    }

    /// The claims of an active introspection answer (RFC 7662 section 2.2), checked like a
    /// JWT's: `exp` (optional there), `nbf`, `iat`, `iss`, `aud`, the claim rules and required
    /// claims. Not the RFC 9068 profile's claims: that profile is about JWTs.
    pub(crate) fn check_introspected(
        &self,
        claims: &Map<String, Value>,
        now: NumericDate,
    ) -> Result<(Option<NumericDate>, Option<NumericDate>), AuthError> {
        let exp = claims::numeric_date(claims, "exp", Rounding::Down)?;
        let nbf = claims::numeric_date(claims, "nbf", Rounding::Up)?;
        claims::numeric_date(claims, "iat", Rounding::Down)?;
        self.check_times(exp.unwrap_or(NumericDate::from_millis(i64::MAX)), nbf, now)?;
        self.check_identity(claims, false)?;
        Ok((exp, nbf))
    }

    /// Who issued the claims and for whom: iss, aud, the claim rules, required claims (and
    /// the RFC 9068 profile's when `profile`).
    fn check_identity(&self, claims: &Map<String, Value>, profile: bool) -> Result<(), AuthError> {
        if let Some(rule) = &self.issuer {
            rule.check(claims)?;
        }
        if !self.audiences.is_empty() && !audience_matches(claims.get("aud"), &self.audiences) {
            return Err(AuthError::new(AuthReason::AudienceMismatch));
        }
        for rule in &self.claim_rules {
            rule.check(claims)?;
        }
        let profile_claims = if profile {
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
        Ok(())
    }

    /// `exp` and `nbf` against `now` with leeway: valid while `now < exp + leeway` (`exp` is
    /// exclusive: RFC 7519 section 4.1.4, "on or after" is expired) and `nbf - leeway <= now`
    /// (`nbf` inclusive, section 4.1.5), all in milliseconds: the clock is not rounded, and
    /// fractional claims were rounded against the token when read.
    pub(crate) fn check_times(
        &self,
        exp: NumericDate,
        nbf: Option<NumericDate>,
        now: NumericDate,
    ) -> Result<(), AuthError> {
        if now >= exp.saturating_add(self.leeway) {
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

/// Whether a JOSE `typ` (or `cty`) value names the media type `application/<subtype>`.
///
/// RFC 7515 section 4.1.9: a value without `/` means `application/` + the value. RFC 2045
/// section 5.1 and RFC 6838 section 4.2: type and subtype names are case-insensitive. Nothing
/// else is lenient: no parameters, no whitespace, no nested prefix. The one place the crate
/// compares a media type.
pub(crate) fn is_application_media_type(typ: &str, subtype: &str) -> bool {
    match typ.split_once('/') {
        None => typ.eq_ignore_ascii_case(subtype),
        Some((top, sub)) => {
            top.eq_ignore_ascii_case("application") && sub.eq_ignore_ascii_case(subtype)
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
            let auth_time = claims::numeric_date(user.claims(), "auth_time", Rounding::Down)?
                .ok_or(AuthError::new(AuthReason::MissingAuthTime))?;
            if now > auth_time.saturating_add(max_age).saturating_add(leeway) {
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
            .field("claim_rules", &self.claim_rules)
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
    fn media_types_compare_case_insensitively_and_nothing_else() {
        for typ in [
            "at+jwt",
            "AT+JWT",
            "At+Jwt",
            "application/at+jwt",
            "Application/at+jwt",
            "APPLICATION/AT+JWT",
        ] {
            assert!(is_application_media_type(typ, "at+jwt"), "{typ}");
        }
        for typ in [
            "",
            "jwt",
            "at+jwt ",
            " at+jwt",
            "application/",
            "application/jwt",
            "text/at+jwt",
            "application/application/at+jwt",
            "application/at+jwt;v=1",
            "applicationat+jwt",
            "/at+jwt",
        ] {
            assert!(!is_application_media_type(typ, "at+jwt"), "{typ:?}");
        }
    }

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
    fn time_bounds_are_exact_to_the_millisecond() {
        let p = Policy {
            leeway: Duration::from_secs(30),
            ..Policy::default()
        };
        let t = NumericDate::from_secs;
        let ms = NumericDate::from_millis;
        assert!(p.check_times(t(1000), None, ms(1_029_999)).is_ok());
        // exp is exclusive (RFC 7519 section 4.1.4): at exp + leeway the token is expired.
        assert_eq!(
            p.check_times(t(1000), None, t(1030)),
            Err(AuthError::new(AuthReason::Expired))
        );
        assert_eq!(
            p.check_times(t(1000), None, t(1031)),
            Err(AuthError::new(AuthReason::Expired))
        );
        let no_leeway = Policy::default();
        assert_eq!(
            no_leeway.check_times(t(1000), None, t(1000)),
            Err(AuthError::new(AuthReason::Expired))
        );
        // nbf is inclusive.
        assert!(
            no_leeway
                .check_times(t(5000), Some(t(1000)), t(1000))
                .is_ok()
        );
        assert!(p.check_times(t(5000), Some(t(1000)), t(970)).is_ok());
        assert_eq!(
            p.check_times(t(5000), Some(t(1000)), t(969)),
            Err(AuthError::new(AuthReason::NotYetValid))
        );
        // The clock is not read to the second: one millisecond past exp + leeway is expired,
        // one millisecond before nbf - leeway is not yet valid.
        assert_eq!(
            p.check_times(t(1000), None, ms(1_030_001)),
            Err(AuthError::new(AuthReason::Expired))
        );
        assert_eq!(
            p.check_times(t(5000), Some(t(1000)), ms(969_999)),
            Err(AuthError::new(AuthReason::NotYetValid))
        );
        // Fractional claims (read in milliseconds) compare exactly too.
        assert!(p.check_times(ms(1_000_250), None, ms(1_030_249)).is_ok());
        assert!(p.check_times(ms(1_000_250), None, ms(1_030_250)).is_err());
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
            checks.check(&user, NumericDate::from_millis(1_100_001), Duration::ZERO),
            Err(AuthError::new(AuthReason::AuthenticationTooOld)),
            "exact to the millisecond"
        );
        let fractional = User::from_claims(json!({"nonce": "abc", "auth_time": 1000.5}));
        assert!(
            checks
                .check(
                    &fractional,
                    NumericDate::from_millis(1_100_500),
                    Duration::ZERO
                )
                .is_ok()
        );
        assert!(
            checks
                .check(
                    &fractional,
                    NumericDate::from_millis(1_100_501),
                    Duration::ZERO
                )
                .is_err()
        );
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
