//! The introspection response (RFC 7662 section 2.2): what it says, and what it means for the
//! request once checked against the verifier's policy.

use serde_json::{Map, Value};

use crate::claims::NumericDate;
use crate::error::{AuthError, AuthReason};
use crate::fetch::FetchError;
use crate::policy::Policy;
use crate::user::User;

/// A checked answer, as cached.
#[derive(Debug, Clone)]
pub(crate) enum Verdict {
    /// Active, and its claims pass the policy's claim checks (the requirements, 403, are
    /// applied on every use).
    Active {
        user: User,
        exp: Option<NumericDate>,
        nbf: Option<NumericDate>,
    },
    /// Inactive, or active but refused by the claim checks (401).
    Refused(AuthReason),
}

/// Parses the endpoint's answer. Not a JSON object with a boolean `active`: the server's
/// fault, an error for the operator (the client gets 503).
pub(crate) fn parse(body: &[u8]) -> Result<Option<Map<String, Value>>, FetchError> {
    let malformed = |why: &str| {
        FetchError::permanent(format!(
            "token introspection failed: the answer is not an RFC 7662 response ({why})"
        ))
    };
    let value: Value = serde_json::from_slice(body).map_err(|_| malformed("not JSON"))?;
    let Value::Object(claims) = value else {
        return Err(malformed("not a JSON object"));
    };
    answer(claims)
}

/// The answer in a JSON object (the body, or a signed answer's `token_introspection`):
/// `None` when inactive, the claims when active.
pub(crate) fn answer(
    mut claims: Map<String, Value>,
) -> Result<Option<Map<String, Value>>, FetchError> {
    let malformed = |why: &str| {
        FetchError::permanent(format!(
            "token introspection failed: the answer is not an RFC 7662 response ({why})"
        ))
    };
    match claims.get("active") {
        Some(Value::Bool(true)) => {}
        Some(Value::Bool(false)) => return Ok(None),
        _ => return Err(malformed("no boolean `active` member")),
    }
    // The claims are kept as they are, `active` aside: it says nothing about the user.
    claims.remove("active");
    Ok(Some(claims))
}

/// Checks an active answer's claims like a JWT's (`exp`, `nbf`, `iat`, `iss`, `aud`, rules).
pub(crate) fn check(
    policy: &Policy,
    answer: Option<Map<String, Value>>,
    now: NumericDate,
) -> Verdict {
    let Some(claims) = answer else {
        return Verdict::Refused(AuthReason::InactiveToken);
    };
    if names_another_kind(&claims) {
        return Verdict::Refused(AuthReason::TokenUseMismatch);
    }
    match policy.check_introspected(&claims, now) {
        Ok((exp, nbf)) => Verdict::Active {
            user: User::new(Value::Object(claims), false),
            exp,
            nbf,
        },
        Err(e) => Verdict::Refused(e.reason()),
    }
}

/// The values of `token_use`, `typ` and `token_type` that name a token other than an access
/// token, lowercase.
const OTHER_KINDS: [&str; 6] = [
    "refresh_token",
    "refresh",
    "offline",
    "id_token",
    "id",
    "logout",
];

/// Whether an active answer says the token is not an access token. The endpoint may answer for
/// refresh tokens too (`token_type_hint` is only a hint, RFC 7662 section 2.1), and a refresh
/// token presented as a bearer token must not open the API for its long lifetime. Read as the
/// servers write it: Ory Hydra's `token_use`, Keycloak's `typ` (`Refresh`, `Offline`, `ID`),
/// IdentityServer's `token_type`.
fn names_another_kind(claims: &Map<String, Value>) -> bool {
    ["token_use", "typ", "token_type"].into_iter().any(|name| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .is_some_and(|kind| {
                OTHER_KINDS
                    .iter()
                    .any(|other| kind.eq_ignore_ascii_case(other))
            })
    })
}

impl Verdict {
    /// What the verdict means now: times re-checked (a cached answer ages), then the
    /// verifier-wide requirements.
    pub(crate) fn result(&self, policy: &Policy, now: NumericDate) -> Result<User, AuthError> {
        match self {
            Self::Active { user, exp, nbf } => {
                let exp = exp.unwrap_or(NumericDate::from_millis(i64::MAX));
                policy.check_times(exp, *nbf, now)?;
                policy.authorize(user)?;
                Ok(user.clone())
            }
            Self::Refused(reason) => Err(AuthError::new(*reason)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_json_object_with_a_boolean_active_is_an_answer() {
        assert!(parse(br#"{"active": false}"#).expect("answer").is_none());
        let claims = parse(br#"{"active": true, "sub": "u"}"#)
            .expect("answer")
            .expect("active");
        assert_eq!(claims.get("sub"), Some(&Value::from("u")));
        assert!(!claims.contains_key("active"));
        for bad in [
            &b"<html>"[..],
            b"[]",
            b"{}",
            br#"{"active": "true"}"#,
            br#"{"active": 1}"#,
        ] {
            let err = parse(bad).expect_err("malformed");
            assert!(err.to_string().contains("RFC 7662"), "{err}");
        }
    }

    #[test]
    fn answers_for_refresh_or_id_tokens_are_not_access() {
        let claims = |name: &str, value: &str| {
            let mut claims = Map::new();
            claims.insert(name.to_owned(), Value::from(value));
            claims
        };
        for (name, value) in [
            ("token_use", "refresh_token"),
            ("typ", "Refresh"),
            ("typ", "Offline"),
            ("typ", "ID"),
            ("token_type", "refresh_token"),
        ] {
            assert!(names_another_kind(&claims(name, value)), "{name}: {value}");
        }
        for (name, value) in [
            ("token_use", "access_token"),
            ("typ", "Bearer"),
            ("token_type", "Bearer"),
            ("token_type", "DPoP"),
            ("token_type", "access_token"),
        ] {
            assert!(!names_another_kind(&claims(name, value)), "{name}: {value}");
        }
    }
}
