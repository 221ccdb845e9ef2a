//! Errors: [`ConfigError`] when building, [`AuthError`] when a request is refused.
//!
//! Every refusal has one typed [`AuthReason`]; its `Display` is the client-safe description and
//! [`AuthReason::code`] a stable snake_case name for logs and metrics. Callers match on the
//! enum, never on the text.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A configuration mistake, reported by a builder's `build()` (never at request time).
///
/// The message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigError {
    message: String,
}

impl ConfigError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "jwks-auth configuration error: {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// What kind of refusal an [`AuthError`] is; decides the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthErrorKind {
    /// No token in any configured source (401, challenge without error code).
    MissingToken,
    /// The token is malformed, forged, expired, for another issuer or audience, or signed by
    /// an unknown key (401 `invalid_token`).
    InvalidToken,
    /// The token is valid but a policy refuses it (403 `insufficient_scope`).
    Forbidden,
    /// No usable key set could be obtained, or the DPoP replay cache is full (503 with
    /// `Retry-After`): the server cannot decide now, the client may retry.
    KeysUnavailable,
}

impl AuthErrorKind {
    /// The HTTP status this kind maps to.
    #[must_use]
    pub fn status(self) -> http::StatusCode {
        match self {
            Self::MissingToken | Self::InvalidToken => http::StatusCode::UNAUTHORIZED,
            Self::Forbidden => http::StatusCode::FORBIDDEN,
            Self::KeysUnavailable => http::StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// Defines [`AuthReason`] once: variant, kind, stable code and description side by side.
macro_rules! reasons {
    ($( $(#[$doc:meta])* $variant:ident => $kind:ident, $code:literal, $text:literal; )*) => {
        /// Why a request was refused: one variant per reason, each with a fixed
        /// [`AuthErrorKind`], a stable [`code`](Self::code) and a client-safe description
        /// (its `Display`). Never contains token data.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum AuthReason {
            $( $(#[$doc])* $variant, )*
            /// A custom authorization check refused the token (403); the text is the check's.
            Policy(&'static str),
        }

        impl AuthReason {
            /// The kind of refusal (and so the HTTP status) this reason maps to.
            #[must_use]
            pub const fn kind(self) -> AuthErrorKind {
                match self {
                    $( Self::$variant => AuthErrorKind::$kind, )*
                    Self::Policy(_) => AuthErrorKind::Forbidden,
                }
            }

            /// A stable snake_case name, for logs and metrics labels.
            #[must_use]
            pub const fn code(self) -> &'static str {
                match self {
                    $( Self::$variant => $code, )*
                    Self::Policy(_) => "policy",
                }
            }

            /// The client-safe description (also the `Display`).
            #[must_use]
            pub const fn description(self) -> &'static str {
                match self {
                    $( Self::$variant => $text, )*
                    Self::Policy(text) => text,
                }
            }
        }
    };
}

reasons! {
    /// No token in any configured source.
    MissingToken => MissingToken, "missing_token", "missing bearer token";
    /// Two `Authorization` (or other token) headers.
    SeveralTokens => InvalidToken, "several_tokens", "several token headers";
    /// `Authorization: Bearer` with nothing after it.
    EmptyBearerToken => InvalidToken, "empty_bearer_token", "empty bearer token";
    /// A bearer credential that is not RFC 6750 section 2.1 syntax (`Bearer` SP token), or a
    /// bare JWT without its scheme.
    MalformedBearerToken => InvalidToken, "malformed_bearer_token", "malformed bearer token";
    /// A header a token is read from is not visible ASCII.
    InvalidHeaderValue => InvalidToken, "invalid_header_value", "token header value is not visible ASCII";
    /// Two cookies carry the token (RFC 6265 gives them no precedence: cookie tossing).
    SeveralTokenCookies => InvalidToken, "several_token_cookies", "several token cookies";
    /// A `Cookie` header holding the token cookie is not visible ASCII.
    MalformedCookie => InvalidToken, "malformed_cookie", "malformed cookie header";
    /// The token cookie comes after more than `MAX_COOKIES` other cookies.
    TooManyCookies => InvalidToken, "too_many_cookies", "too many cookies";
    /// A `Sec-WebSocket-Protocol` token entry that is empty, not a token, or not decodable.
    MalformedWebSocketProtocol => InvalidToken, "malformed_websocket_protocol", "malformed token in sec-websocket-protocol";
    /// Longer than the configured token size cap.
    TokenTooLarge => InvalidToken, "token_too_large", "token too large";
    /// Not three non-empty base64url segments.
    MalformedToken => InvalidToken, "malformed_token", "malformed token";
    /// The JOSE header (or a token header value) is not what RFC 7515 allows.
    MalformedHeader => InvalidToken, "malformed_header", "malformed token header";
    /// The payload is not a JSON object with unique members.
    MalformedPayload => InvalidToken, "malformed_payload", "malformed token payload";
    /// A `crit` or `b64` header member (RFC 7515 section 4.1.11, RFC 7797).
    UnsupportedCriticalHeader => InvalidToken, "unsupported_critical_header", "unsupported critical header";
    /// `alg` missing, not a string, empty, or `none` in any case: an unsecured JWS (RFC 7515
    /// section 4.1.1, RFC 7518 section 3.6), never accepted.
    UnsupportedAlgorithm => InvalidToken, "unsupported_algorithm", "unsupported algorithm (none or missing)";
    /// `alg` names an algorithm this crate does not implement (`ES999`, `ES256K`, `rs256`,
    /// ...). The name itself is not echoed: it is untrusted header text.
    UnknownAlgorithm => InvalidToken, "unknown_algorithm", "unsupported algorithm (not implemented by this verifier)";
    /// `kid` that is not a string of at most 256 bytes (`""` is a valid kid).
    InvalidKeyId => InvalidToken, "invalid_key_id", "invalid key id";
    /// `iss` matches none of a multi-issuer verifier's issuers.
    UnknownIssuer => InvalidToken, "unknown_issuer", "unknown issuer";
    /// No key in the current set has the token's `kid`.
    UnknownKeyId => InvalidToken, "unknown_key_id", "unknown key id";
    /// The token has no `kid` and the verifier requires one.
    MissingKeyId => InvalidToken, "missing_key_id", "token has no key id";
    /// The token has no `kid` (allowed by `allow_missing_kid`) and several keys fit its `alg`.
    /// Keys *sharing* a kid are not ambiguous: they are tried in order (see
    /// [`MAX_KEYS_PER_KID`](crate::jwks::MAX_KEYS_PER_KID)).
    AmbiguousKeyId => InvalidToken, "ambiguous_key_id", "ambiguous key id";
    /// The token's `alg` is not in the verifier's allow-list (or HS* without a secret).
    AlgorithmNotAllowed => InvalidToken, "algorithm_not_allowed", "algorithm not allowed";
    /// The token's `alg` does not fit the key its `kid` names.
    AlgorithmNotAllowedForKey => InvalidToken, "algorithm_not_allowed_for_key", "algorithm not allowed for this key";
    /// The signature does not verify.
    InvalidSignature => InvalidToken, "invalid_signature", "invalid signature";
    /// `exp`, `nbf`, `iat` or `auth_time` is not a NumericDate (RFC 7519 section 2).
    InvalidTimeClaim => InvalidToken, "invalid_time_claim", "invalid time claim";
    /// No `exp` claim.
    MissingExp => InvalidToken, "missing_exp", "missing exp claim";
    /// Past `exp` plus leeway (RFC 7519 section 4.1.4).
    Expired => InvalidToken, "expired", "token expired";
    /// Before `nbf` minus leeway (RFC 7519 section 4.1.5).
    NotYetValid => InvalidToken, "not_yet_valid", "token not yet valid";
    /// `iss` differs from the configured issuer.
    IssuerMismatch => InvalidToken, "issuer_mismatch", "issuer mismatch";
    /// No `aud` value is a configured audience.
    AudienceMismatch => InvalidToken, "audience_mismatch", "audience mismatch";
    /// A required claim is absent.
    MissingRequiredClaim => InvalidToken, "missing_required_claim", "missing required claim";
    /// `tid` is absent or not a GUID where the issuer is a tenant template (Entra ID
    /// multi-tenant), so `iss` cannot be checked.
    InvalidTenantId => InvalidToken, "invalid_tenant_id", "missing or malformed tenant id (tid)";
    /// `tid` is not in the tenant allow-list of a multi-tenant verifier.
    TenantNotAllowed => InvalidToken, "tenant_not_allowed", "tenant not allowed";
    /// `azp` is absent or not a configured authorized party (OpenID Connect Core 3.1.3.7).
    AuthorizedPartyMismatch => InvalidToken, "authorized_party_mismatch", "authorized party (azp) mismatch";
    /// The token is of another kind than the one accepted (Cognito `token_use`, Keycloak
    /// body `typ`): an ID token sent to an API, or the reverse.
    TokenUseMismatch => InvalidToken, "token_use_mismatch", "wrong kind of token (token_use or typ)";
    /// The client the token was issued to (Cognito `client_id`) is not a configured one.
    ClientMismatch => InvalidToken, "client_mismatch", "token issued to another client";
    /// RFC 9068 profile on and the header `typ` is not `at+jwt`.
    NotAccessToken => InvalidToken, "not_access_token", "not an access token (typ must be at+jwt)";
    /// ID token `nonce` differs from the expected one.
    NonceMismatch => InvalidToken, "nonce_mismatch", "nonce mismatch";
    /// ID token `max_age` check without an `auth_time` claim.
    MissingAuthTime => InvalidToken, "missing_auth_time", "missing auth_time claim";
    /// ID token `auth_time` older than `max_age` plus leeway.
    AuthenticationTooOld => InvalidToken, "authentication_too_old", "authentication too old (max_age)";
    /// The verified claims do not deserialize into the type a handler asked for.
    ClaimsMismatch => InvalidToken, "claims_mismatch", "token claims do not have the expected shape";
    /// Cloudflare Access's identity endpoint refused a token this crate verified.
    IdentityRejected => InvalidToken, "identity_rejected", "the identity endpoint refused the token";
    /// A Google ID token whose hosted domain (`hd`) is absent or not an allowed one (403: a
    /// valid token of a user outside the allowed Workspace domains).
    HostedDomainNotAllowed => Forbidden, "hosted_domain_not_allowed", "hosted domain (hd) not allowed";
    /// A required scope is not granted (403 `insufficient_scope`; the challenge's `scope`
    /// names the required scopes, see [`AuthError::required_scope`]).
    InsufficientScope => Forbidden, "insufficient_scope", "insufficient scope";
    /// A route's role requirement is not met ([`Require::role`](crate::Require::role)). The
    /// description never names the user's roles.
    MissingRole => Forbidden, "missing_role", "missing required role";
    /// Microsoft Entra ID left `groups` out of the token (over 200 groups: `_claim_names` /
    /// `_claim_sources`, or `hasgroups`), so a group requirement cannot be decided from the
    /// token ([`entra_groups`](crate::authz::entra_groups)). Read the membership from
    /// Microsoft Graph, or use app roles.
    GroupsOverage => Forbidden, "groups_overage", "group membership not in token (groups overage)";
    /// A route's claim requirement is not met ([`Require::claim`](crate::Require::claim)).
    ClaimNotAllowed => Forbidden, "claim_not_allowed", "required claim value missing";
    /// A requirement predicate refused ([`Require::predicate`](crate::Require::predicate)), or
    /// an empty [`Require::all_of`](crate::Require::all_of) / [`any_of`](crate::Require::any_of).
    RequirementNotMet => Forbidden, "requirement_not_met", "access denied";
    /// No usable key set (never fetched, or stale past `max_stale`).
    KeysUnavailable => KeysUnavailable, "keys_unavailable", "signing keys unavailable";
    /// The introspection endpoint (RFC 7662) says the token is not active: unknown, revoked
    /// or expired.
    InactiveToken => InvalidToken, "inactive_token", "token is not active";
    /// The introspection endpoint could not be asked, refused this server's client
    /// credentials, or gave an answer that is not an RFC 7662 response (503 with
    /// `Retry-After`: the client did nothing wrong).
    IntrospectionUnavailable => KeysUnavailable, "introspection_unavailable", "token introspection unavailable";
    // Sender-constrained tokens (`jwks_auth::sender`): DPoP (RFC 9449) and mTLS (RFC 8705).
    /// A token sent with the `DPoP` scheme and no `DPoP` proof header.
    DpopProofMissing => InvalidToken, "dpop_proof_missing", "missing DPoP proof";
    /// Two `DPoP` headers (RFC 9449 section 4.3 point 1: exactly one).
    SeveralDpopProofs => InvalidToken, "several_dpop_proofs", "several DPoP proofs";
    /// The proof is not a well-formed JWT with the members RFC 9449 section 4.2 requires.
    MalformedDpopProof => InvalidToken, "malformed_dpop_proof", "malformed DPoP proof";
    /// The proof's header `typ` is not `dpop+jwt`.
    DpopProofType => InvalidToken, "dpop_proof_type", "DPoP proof typ must be dpop+jwt";
    /// The proof's `alg` is `none`, symmetric (HS*), or not in the configured list.
    DpopAlgorithmNotAllowed => InvalidToken, "dpop_algorithm_not_allowed", "DPoP proof algorithm not allowed";
    /// The proof's `jwk` is missing, carries private members, or is not a usable public key
    /// for its `alg`.
    DpopProofKey => InvalidToken, "dpop_proof_key", "DPoP proof key missing, private or unusable";
    /// The proof's signature does not verify with its own `jwk`.
    DpopProofSignature => InvalidToken, "dpop_proof_signature", "invalid DPoP proof signature";
    /// The proof's `htm` is not the request's method.
    DpopMethodMismatch => InvalidToken, "dpop_method_mismatch", "DPoP proof htm does not match the request method";
    /// The proof's `htu` is not the request's URL (compared without query and fragment).
    DpopUrlMismatch => InvalidToken, "dpop_url_mismatch", "DPoP proof htu does not match the request URL";
    /// The proof's `iat` is too old or too far in the future.
    DpopProofTime => InvalidToken, "dpop_proof_time", "DPoP proof iat outside the accepted window";
    /// The proof's `jti` was seen before (a replayed proof).
    DpopProofReplayed => InvalidToken, "dpop_proof_replayed", "DPoP proof replayed";
    /// The proof's `ath` is absent or not the hash of the access token.
    DpopAccessTokenHash => InvalidToken, "dpop_ath_mismatch", "DPoP proof ath does not match the access token";
    /// The proof's key is not the one the token is bound to (`cnf.jkt`).
    DpopKeyMismatch => InvalidToken, "dpop_key_mismatch", "DPoP proof key does not match the token binding";
    /// A server nonce is required and the proof has none, or a stale one (`use_dpop_nonce`,
    /// RFC 9449 section 9; the refusal carries a fresh `DPoP-Nonce`).
    DpopNonceRequired => InvalidToken, "use_dpop_nonce", "DPoP nonce required";
    /// A DPoP-bound token (`cnf.jkt`) sent without DPoP: as `Bearer`, from another source,
    /// or to a layer where DPoP is not enabled.
    DpopBoundTokenAsBearer => InvalidToken, "dpop_bound_token_as_bearer", "DPoP-bound token presented without DPoP";
    /// A token sent with the `DPoP` scheme carries no `cnf.jkt` binding.
    DpopTokenNotBound => InvalidToken, "dpop_token_not_bound", "token sent with DPoP is not DPoP-bound";
    /// The layer requires DPoP and the token was not sent with the `DPoP` scheme.
    DpopRequired => InvalidToken, "dpop_required", "DPoP required";
    /// The replay cache is full of proofs still inside their acceptance window: new proofs
    /// are refused (503 with `Retry-After`) rather than risk letting a replay through.
    DpopReplayCacheFull => KeysUnavailable, "dpop_replay_cache_full", "DPoP replay cache full, retry later";
    /// A certificate-bound token (`cnf.x5t#S256`, RFC 8705) on a request without a client
    /// certificate.
    ClientCertificateMissing => InvalidToken, "client_certificate_missing", "certificate-bound token without a client certificate";
    /// The client certificate is not the one the token is bound to.
    ClientCertificateMismatch => InvalidToken, "client_certificate_mismatch", "client certificate does not match the token binding";
    /// The `cnf` claim is not an object of string members.
    MalformedConfirmation => InvalidToken, "malformed_confirmation", "malformed cnf claim";
    /// The `cnf` claim binds the token only by methods this crate cannot check (e.g. RFC 7800
    /// `jwk`, `jwe`, `kid`, or the SHA-1 `x5t`): accepting it would make it a bearer token
    /// again.
    UnsupportedConfirmation => InvalidToken, "unsupported_confirmation", "token bound by an unsupported cnf method";
}

impl fmt::Display for AuthReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// Why a request (or a direct `verify` call) was refused.
///
/// The description never contains the token. The rejection response carries a clone of this
/// error in its extensions, so outer layers (logging, metrics) can inspect
/// [`AuthError::reason`] and [`AuthError::kind`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthError {
    reason: AuthReason,
    retry_after: Option<Duration>,
    /// For a scope refusal: the scopes required (space-separated).
    scope: Option<Arc<str>>,
}

impl AuthError {
    /// An error for `reason` (its kind follows from the reason).
    #[must_use]
    pub const fn new(reason: AuthReason) -> Self {
        Self {
            reason,
            retry_after: None,
            scope: None,
        }
    }

    /// A scope refusal naming the required scopes (space-separated).
    pub(crate) fn insufficient_scope(scope: Arc<str>) -> Self {
        Self {
            scope: Some(scope),
            ..Self::new(AuthReason::InsufficientScope)
        }
    }

    pub(crate) const fn missing() -> Self {
        Self::new(AuthReason::MissingToken)
    }

    /// A custom check's refusal (403).
    pub(crate) const fn forbidden(description: &'static str) -> Self {
        Self::new(AuthReason::Policy(description))
    }

    pub(crate) fn unavailable(retry_after: Duration) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(AuthReason::KeysUnavailable)
        }
    }

    /// 503: the introspection endpoint could not give an answer.
    pub(crate) fn introspection_unavailable(retry_after: Duration) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(AuthReason::IntrospectionUnavailable)
        }
    }

    /// A 503 for `reason` (of kind [`AuthErrorKind::KeysUnavailable`]) with `Retry-After`.
    pub(crate) fn unavailable_for(reason: AuthReason, retry_after: Duration) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(reason)
        }
    }

    /// Why the request was refused.
    #[must_use]
    pub fn reason(&self) -> AuthReason {
        self.reason
    }

    /// The kind of refusal.
    #[must_use]
    pub fn kind(&self) -> AuthErrorKind {
        self.reason.kind()
    }

    /// A short, fixed description safe to show to clients (it never contains token data).
    #[must_use]
    pub fn description(&self) -> &'static str {
        self.reason.description()
    }

    /// For [`AuthErrorKind::KeysUnavailable`]: when a retry may succeed.
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// For an [`InsufficientScope`](AuthReason::InsufficientScope) refusal: the scopes the
    /// requirement needs, space-separated (the challenge's `scope`, RFC 6750 section 3).
    /// Names only what was required, never what the token granted.
    #[must_use]
    pub fn required_scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// The HTTP status for this error.
    #[must_use]
    pub fn status(&self) -> http::StatusCode {
        self.kind().status()
    }
}

impl From<AuthReason> for AuthError {
    fn from(reason: AuthReason) -> Self {
        Self::new(reason)
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl std::error::Error for AuthError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_carry_their_kind_code_and_text() {
        let e = AuthError::new(AuthReason::Expired);
        assert_eq!(e.kind(), AuthErrorKind::InvalidToken);
        assert_eq!(e.reason().code(), "expired");
        assert_eq!(e.to_string(), "token expired");
        assert_eq!(
            AuthError::forbidden("not staff").kind(),
            AuthErrorKind::Forbidden
        );
        assert_eq!(AuthReason::Policy("not staff").code(), "policy");
        assert_eq!(
            AuthError::unavailable(Duration::from_secs(3)).status(),
            http::StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
