//! What a token's `iss` may be ([`IssuerRule`]) and the fixed claim checks presets add
//! ([`ClaimRule`]): data, not closures, so that a configuration can be printed, compared and
//! checked at `build()`. Both refuse with 401 `invalid_token` (except where a rule's reason
//! says otherwise).

use serde_json::{Map, Value};

use crate::error::{AuthError, AuthReason, ConfigError};

/// Where a tenant template puts the token's own `tid` (the placeholder Entra ID's `common`
/// and `organizations` discovery documents announce).
pub(crate) const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// The claim a tenant template reads the tenant from.
const TENANT_CLAIM: &str = "tid";

/// The accepted `iss` values: never normalised (a trailing slash or another case is another
/// issuer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IssuerRule {
    /// `iss` equals one of these exactly (one key set, several spellings or versions).
    Exact(Vec<String>),
    /// `iss` equals one of these templates with [`TENANT_PLACEHOLDER`] replaced by the token's
    /// own `tid`, which must be a GUID (Microsoft's multi-tenant rule); with `tenants`, that
    /// `tid` must also be listed (compared ignoring ASCII case, as GUIDs are).
    TenantTemplate {
        /// Each template split around its placeholder: `(before, after)`.
        templates: Vec<(String, String)>,
        tenants: Option<Vec<String>>,
    },
}

impl IssuerRule {
    /// One exact issuer.
    pub(crate) fn exact(issuer: impl Into<String>) -> Self {
        Self::Exact(vec![issuer.into()])
    }

    /// Templates holding [`TENANT_PLACEHOLDER`] once each, and an optional allow-list.
    pub(crate) fn tenant_template(
        templates: &[String],
        tenants: Option<Vec<String>>,
    ) -> Result<Self, ConfigError> {
        let split = templates
            .iter()
            .map(|t| match t.split_once(TENANT_PLACEHOLDER) {
                Some((before, after)) if !after.contains(TENANT_PLACEHOLDER) => {
                    Ok((before.to_owned(), after.to_owned()))
                }
                _ => Err(ConfigError::new(format!(
                    "issuer template `{t}` must hold `{TENANT_PLACEHOLDER}` exactly once"
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::TenantTemplate {
            templates: split,
            tenants,
        })
    }

    /// The single exact issuer, if that is all this rule accepts (what `multi_issuer` routes
    /// by).
    pub(crate) fn single(&self) -> Option<&str> {
        match self {
            Self::Exact(list) if list.len() == 1 => Some(&list[0]),
            _ => None,
        }
    }

    /// Whether `issuer` is one of the exact issuers.
    pub(crate) fn lists(&self, issuer: &str) -> bool {
        matches!(self, Self::Exact(list) if list.iter().any(|e| e == issuer))
    }

    /// Configuration checks, run by `build()`.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        match self {
            Self::Exact(list) if list.is_empty() => Err(ConfigError::new(
                "issuers: the list is empty; give at least one exact issuer",
            )),
            Self::Exact(list) if list.iter().any(String::is_empty) => {
                Err(ConfigError::new("issuer is empty"))
            }
            Self::TenantTemplate { templates, .. } if templates.is_empty() => {
                Err(ConfigError::new("issuer templates: the list is empty"))
            }
            Self::TenantTemplate {
                tenants: Some(tenants),
                ..
            } => match tenants.iter().find(|t| !is_guid(t)) {
                Some(bad) => Err(ConfigError::new(format!(
                    "allowed tenant `{bad}` is not a tenant id: give the directory (tenant) \
                     GUID, e.g. 72f988bf-86f1-41af-91ab-2d7cd011db47"
                ))),
                None if tenants.is_empty() => Err(ConfigError::new(
                    "allowed tenants: the list is empty (leave it out to accept any tenant)",
                )),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// Checks the token's `iss` (and `tid`, for a template).
    pub(crate) fn check(&self, claims: &Map<String, Value>) -> Result<(), AuthError> {
        let Some(Value::String(iss)) = claims.get("iss") else {
            return Err(AuthError::new(AuthReason::IssuerMismatch));
        };
        match self {
            Self::Exact(list) => {
                if list.iter().any(|e| e == iss) {
                    Ok(())
                } else {
                    Err(AuthError::new(AuthReason::IssuerMismatch))
                }
            }
            Self::TenantTemplate { templates, tenants } => {
                let tid = match claims.get(TENANT_CLAIM) {
                    Some(Value::String(tid)) if is_guid(tid) => tid.as_str(),
                    _ => return Err(AuthError::new(AuthReason::InvalidTenantId)),
                };
                let filled = |(before, after): &(String, String)| {
                    iss.strip_prefix(before.as_str())
                        .and_then(|rest| rest.strip_suffix(after.as_str()))
                        == Some(tid)
                };
                if !templates.iter().any(filled) {
                    return Err(AuthError::new(AuthReason::IssuerMismatch));
                }
                match tenants {
                    Some(allowed) if !allowed.iter().any(|a| a.eq_ignore_ascii_case(tid)) => {
                        Err(AuthError::new(AuthReason::TenantNotAllowed))
                    }
                    _ => Ok(()),
                }
            }
        }
    }
}

/// A GUID in its usual text form: 8-4-4-4-12 hexadecimal digits.
pub(crate) fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A claim that must be a string equal to one of `allowed`, else `reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClaimRule {
    pub(crate) claim: String,
    pub(crate) allowed: Vec<String>,
    pub(crate) reason: AuthReason,
    /// The claim names the client the token was issued to (`azp`, `client_id`): the rule may
    /// stand in for the audience check.
    pub(crate) names_client: bool,
}

impl ClaimRule {
    /// `claim` must be one of `allowed`; refused with `reason` otherwise.
    pub(crate) fn one_of(
        claim: impl Into<String>,
        allowed: impl IntoIterator<Item = impl Into<String>>,
        reason: AuthReason,
    ) -> Self {
        Self {
            claim: claim.into(),
            allowed: allowed.into_iter().map(Into::into).collect(),
            reason,
            names_client: false,
        }
    }

    /// Marks the rule as a client check (it may replace the audience).
    pub(crate) fn naming_client(self) -> Self {
        Self {
            names_client: true,
            ..self
        }
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.allowed.is_empty() || self.allowed.iter().any(String::is_empty) {
            return Err(ConfigError::new(format!(
                "`{}`: give at least one non-empty accepted value",
                self.claim
            )));
        }
        Ok(())
    }

    pub(crate) fn check(&self, claims: &Map<String, Value>) -> Result<(), AuthError> {
        match claims.get(&self.claim) {
            Some(Value::String(v)) if self.allowed.iter().any(|a| a == v) => Ok(()),
            _ => Err(AuthError::new(self.reason)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!("object literal"),
        }
    }

    const TID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    #[test]
    fn exact_list_is_exact() {
        let rule = IssuerRule::Exact(vec![
            "https://accounts.google.com".into(),
            "accounts.google.com".into(),
        ]);
        for ok in ["https://accounts.google.com", "accounts.google.com"] {
            assert!(rule.check(&claims(json!({ "iss": ok }))).is_ok(), "{ok}");
        }
        for bad in [
            json!({ "iss": "https://accounts.google.com/" }),
            json!({ "iss": "HTTPS://accounts.google.com" }),
            json!({ "iss": ["accounts.google.com"] }),
            json!({}),
        ] {
            assert_eq!(
                rule.check(&claims(bad)),
                Err(AuthError::new(AuthReason::IssuerMismatch))
            );
        }
        assert_eq!(rule.single(), None);
        assert_eq!(IssuerRule::exact("a").single(), Some("a"));
    }

    #[test]
    fn tenant_template_takes_the_tokens_own_tid() {
        let rule = IssuerRule::tenant_template(
            &["https://login.microsoftonline.com/{tenantid}/v2.0".into()],
            None,
        )
        .unwrap();
        let iss = format!("https://login.microsoftonline.com/{TID}/v2.0");
        assert!(
            rule.check(&claims(json!({ "iss": iss, "tid": TID })))
                .is_ok()
        );
        // Another tenant's tid under this issuer, or this tid under another tenant's issuer.
        let other = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
        assert_eq!(
            rule.check(&claims(json!({ "iss": iss, "tid": other }))),
            Err(AuthError::new(AuthReason::IssuerMismatch))
        );
        for tid in [
            json!("common"),
            json!(null),
            json!(7),
            json!(format!("{TID}x")),
        ] {
            assert_eq!(
                rule.check(&claims(json!({ "iss": iss, "tid": tid }))),
                Err(AuthError::new(AuthReason::InvalidTenantId))
            );
        }
        assert_eq!(
            rule.check(&claims(json!({ "iss": iss }))),
            Err(AuthError::new(AuthReason::InvalidTenantId))
        );
        let closed = IssuerRule::tenant_template(
            &["https://login.microsoftonline.com/{tenantid}/v2.0".into()],
            Some(vec![other.into()]),
        )
        .unwrap();
        assert_eq!(
            closed.check(&claims(json!({ "iss": iss, "tid": TID }))),
            Err(AuthError::new(AuthReason::TenantNotAllowed))
        );
    }

    #[test]
    fn configuration_mistakes_are_named() {
        assert!(IssuerRule::tenant_template(&["https://x/v2.0".into()], None).is_err());
        assert!(IssuerRule::Exact(vec![]).validate().is_err());
        assert!(IssuerRule::Exact(vec![String::new()]).validate().is_err());
        let bad_tenant = IssuerRule::tenant_template(
            &["https://x/{tenantid}".into()],
            Some(vec!["contoso.com".into()]),
        )
        .unwrap();
        let err = bad_tenant.validate().unwrap_err().to_string();
        assert!(err.contains("GUID"), "{err}");
        assert!(is_guid(TID) && !is_guid("72f988bf86f141af91ab2d7cd011db47"));
    }

    #[test]
    fn claim_rule_wants_one_of_the_strings() {
        let rule = ClaimRule::one_of("azp", ["web"], AuthReason::AuthorizedPartyMismatch);
        assert!(rule.check(&claims(json!({ "azp": "web" }))).is_ok());
        for bad in [
            json!({ "azp": "other" }),
            json!({ "azp": ["web"] }),
            json!({}),
        ] {
            assert_eq!(
                rule.check(&claims(bad)),
                Err(AuthError::new(AuthReason::AuthorizedPartyMismatch))
            );
        }
    }
}
