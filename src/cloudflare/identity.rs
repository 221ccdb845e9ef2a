//! The Cloudflare Access identity document: [`Identity`] and its parts, as
//! `/cdn-cgi/access/get-identity` serves it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[cfg(feature = "axum")]
use super::claims::CloudflareClaims;
#[cfg(feature = "axum")]
use crate::user::User;

/// Members of a JSON object that no typed field claims, kept as they came.
pub type Extras = BTreeMap<String, Value>;

/// A user's (or service token's) identity as Cloudflare Access describes it at
/// `/cdn-cgi/access/get-identity`.
///
/// Every documented field is optional, because which ones are present depends on the identity
/// provider, on WARP and on the kind of token; fields this type does not know are kept in
/// [`extra`](Self::extra). It serializes back to the same shape (absent fields stay absent),
/// so `Json(identity)` returns what Cloudflare said.
///
/// ```
/// use jwks_auth::cloudflare::Identity;
/// let identity: Identity = serde_json::from_value(serde_json::json!({
///     "email": "alice@example.test", "idp": {"id": "7d2c", "type": "okta"},
///     "geo": {"country": "NL"}, "groups": ["finance"], "amr": ["pwd", "mfa"],
///     "device_sessions": {"s1": {"last_authenticated": 1760000000}},
///     "devicePosture": {"r1": {"id": "r1", "rule_name": "disk", "success": true}},
///     "something_new": 42,
/// }))?;
/// assert_eq!(identity.email.as_deref(), Some("alice@example.test"));
/// assert_eq!(identity.idp.as_ref().and_then(|i| i.kind.as_deref()), Some("okta"));
/// assert_eq!(identity.group_names(), ["finance"]);
/// assert_eq!(identity.device_sessions.as_ref().map(|s| s.len()), Some(1));
/// assert_eq!(identity.device_posture.as_ref().map(|p| p["r1"].success), Some(Some(true)));
/// assert_eq!(identity.extra["something_new"], 42);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Identity {
    /// The user's email (absent for service tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The user's display name, as the identity provider gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The identity provider the user logged in with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<IdentityProvider>,
    /// Where the user was when they authenticated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geo: Option<Geo>,
    /// The user's id in Cloudflare (the `sub` of their tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_uuid: Option<String>,
    /// The Cloudflare account id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// When the identity was issued (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// The IP address the user authenticated from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Status of the authentication (e.g. `NONE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_status: Option<String>,
    /// For service tokens: the Client ID (the API key is `common_name`, not `cn`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_name: Option<String>,
    /// For service tokens: the service token's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_token_id: Option<String>,
    /// Whether the request was authenticated with a service token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_token_status: Option<bool>,
    /// Whether the user was connected through WARP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_warp: Option<bool>,
    /// Whether the request went through Cloudflare Gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_gateway: Option<bool>,
    /// The Gateway account id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_account_id: Option<String>,
    /// The WARP device id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// The identity document's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// Device posture results, keyed by rule id (the API key is `devicePosture`).
    #[serde(
        default,
        rename = "devicePosture",
        skip_serializing_if = "Option::is_none"
    )]
    pub device_posture: Option<BTreeMap<String, DevicePostureCheck>>,
    /// WARP device sessions, keyed by session id (a map, not a list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_sessions: Option<BTreeMap<String, DeviceSession>>,
    /// Mutual TLS authentication details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtls_auth: Option<MtlsAuth>,
    /// Groups from the identity provider: strings, or objects (`{id, name, ...}`) depending on
    /// the provider; see [`group_names`](Self::group_names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<Value>>,
    /// Authentication methods references (e.g. `["pwd", "mfa"]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    /// Custom SAML/OIDC attributes configured on the identity provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<Value>,
    /// OIDC claims passed through by the identity provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc_fields: Option<Value>,
    /// SAML attributes passed through by the identity provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saml_attributes: Option<Value>,
    /// Every member not listed above.
    #[serde(flatten)]
    pub extra: Extras,
}

impl Identity {
    /// Group names: string entries of [`groups`](Self::groups) as they are, object entries by
    /// their `name` (else their `id`).
    #[must_use]
    pub fn group_names(&self) -> Vec<&str> {
        self.groups
            .iter()
            .flatten()
            .filter_map(|group| match group {
                Value::String(name) => Some(name.as_str()),
                Value::Object(object) => object
                    .get("name")
                    .or_else(|| object.get("id"))
                    .and_then(Value::as_str),
                _ => None,
            })
            .collect()
    }

    /// Whether this identity belongs to a service token: by the same rule as
    /// [`CloudflareClaims::is_service_token`](super::CloudflareClaims::is_service_token) for
    /// tokens, with `user_uuid` as the subject (a non-empty `common_name`, no email, no
    /// `user_uuid`). [`service_token_status`](Self::service_token_status) is Cloudflare's own
    /// flag, kept as sent; it does not override the rule.
    #[must_use]
    pub fn is_service_token(&self) -> bool {
        super::claims::is_service_token(
            self.common_name.as_deref(),
            self.email.as_deref(),
            self.user_uuid.as_deref(),
        )
    }

    /// A minimal identity built from a user's claims, for the dev-user bypass (no token, so
    /// nothing to ask Cloudflare).
    #[cfg(feature = "axum")]
    pub(crate) fn from_user(user: &User) -> Self {
        Self {
            email: user.email().map(str::to_owned),
            name: user.name().map(str::to_owned),
            user_uuid: user.sub().filter(|s| !s.is_empty()).map(str::to_owned),
            common_name: user.common_name().map(str::to_owned),
            geo: user.country().map(|country| Geo {
                country: Some(country.to_owned()),
                extra: Extras::new(),
            }),
            ..Self::default()
        }
    }
}

/// The identity provider of an [`Identity`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IdentityProvider {
    /// The provider's id in Cloudflare.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The provider's type (`okta`, `azureAD`, `onetimepin`, ...; the API key is `type`).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Every other member.
    #[serde(flatten)]
    pub extra: Extras,
}

/// The location of an [`Identity`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Geo {
    /// ISO 3166-1 alpha-2 country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Every other member.
    #[serde(flatten)]
    pub extra: Extras,
}

/// One device posture rule's result in [`Identity::device_posture`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DevicePostureCheck {
    /// The rule id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The rule's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_name: Option<String>,
    /// The kind of check (`file`, `disk_encryption`, ...; the API key is `type`).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Whether the device passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    /// When the check ran (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// The rule's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Why the check failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The check's configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<Value>,
    /// Data reported by the device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    /// Every other member.
    #[serde(flatten)]
    pub extra: Extras,
}

/// One WARP session in [`Identity::device_sessions`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeviceSession {
    /// When the session last authenticated (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_authenticated: Option<i64>,
    /// Every other member.
    #[serde(flatten)]
    pub extra: Extras,
}

/// Mutual TLS details in [`Identity::mtls_auth`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MtlsAuth {
    /// Status of the certificate check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_status: Option<String>,
    /// The client certificate issuer's distinguished name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_issuer_dn: Option<String>,
    /// The client certificate issuer's subject key identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_issuer_ski: Option<String>,
    /// Whether a client certificate was presented.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_presented: Option<bool>,
    /// The client certificate's serial number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_serial: Option<String>,
    /// Every other member.
    #[serde(flatten)]
    pub extra: Extras,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documented_fields_unknown_fields_and_round_trip() {
        let document = json!({
            "email": "alice@example.test", "name": "Alice", "idp": {"id": "7d2c", "type": "okta"},
            "geo": {"country": "NL"}, "user_uuid": "5b0c", "account_id": "1234abcd",
            "iat": 1_760_000_000, "ip": "203.0.113.7", "amr": ["pwd", "mfa"],
            "groups": ["finance", {"id": "g2", "name": "ops"}], "auth_status": "NONE",
            "common_name": "", "service_token_id": "", "service_token_status": false,
            "is_warp": false, "is_gateway": false, "gateway_account_id": "gw", "device_id": "d1",
            "version": 2,
            "devicePosture": {"r1": {"id": "r1", "rule_name": "disk", "type": "disk_encryption",
                "success": true, "timestamp": "2025-10-09T08:00:00Z", "description": "",
                "error": "", "check": {"drive": "C"}, "data": {}}},
            "device_sessions": {"s1": {"last_authenticated": 1_760_000_000}},
            "mtls_auth": {"auth_status": "NONE", "cert_issuer_dn": "", "cert_issuer_ski": "",
                "cert_presented": false, "cert_serial": ""},
            "custom": {"department": "finance"}, "future_field": [1, 2],
        });
        let identity: Identity = serde_json::from_value(document.clone()).expect("parses");
        assert_eq!(identity.group_names(), ["finance", "ops"]);
        assert_eq!(identity.version, Some(2));
        let posture = &identity.device_posture.as_ref().expect("posture")["r1"];
        assert_eq!(posture.kind.as_deref(), Some("disk_encryption"));
        assert_eq!(identity.extra.keys().collect::<Vec<_>>(), ["future_field"]);
        assert!(!identity.is_service_token());
        assert_eq!(
            serde_json::to_value(&identity).expect("serializes"),
            document
        );
    }

    #[test]
    fn empty_document_is_an_empty_identity_and_wrong_types_are_errors() {
        let identity: Identity = serde_json::from_value(json!({})).expect("parses");
        assert_eq!(identity, Identity::default());
        assert!(serde_json::from_value::<Identity>(json!({"device_sessions": []})).is_err());
    }
}
