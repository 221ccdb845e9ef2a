//! [`JwksVerifierBuilder`]: every verifier setting, its default and its checks.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::algorithms::Algorithms;
use crate::authz::Require;
use crate::clock::{Clock, SharedClock};
use crate::introspection::Introspection;
use crate::jwks::cache::CacheConfig;
use crate::jwks::source::KeySource;
use crate::rules::{ClaimRule, IssuerRule};
use crate::user::User;
use crate::verifier::JwksVerifier;

mod build;

// Transitional: `cloudflare/` imports the URL check from here; remove once it imports
// `crate::fetch::check_url`.
pub(crate) use crate::fetch::check_url;

enum SourceConfig {
    Url(String),
    Oidc(String),
    Static(Bytes),
    Custom(Arc<dyn KeySource>),
}

/// Builds a [`JwksVerifier`]. Every setting has a strict default; `build()` checks the whole
/// configuration and reports the first problem as a [`ConfigError`](crate::ConfigError) that says
/// what to fix.
///
/// | setting | default |
/// |---|---|
/// | [`algorithms`](Self::algorithms) | RS256/384/512, PS256/384/512, ES256/384, EdDSA, pinned per key |
/// | [`leeway`](Self::leeway) | 30 s |
/// | [`cache_ttl`](Self::cache_ttl) (without `Cache-Control: max-age`) | 15 min |
/// | `max-age` clamp ([`ttl_bounds`](Self::ttl_bounds)) | 1 min ..= 24 h |
/// | [`unknown_kid_cooldown`](Self::unknown_kid_cooldown) | 30 s |
/// | [`failure_backoff`](Self::failure_backoff) | 5 s |
/// | [`max_stale`](Self::max_stale) | 24 h |
/// | [`http_timeout`](Self::http_timeout) / [`http_retries`](Self::http_retries) | 5 s / 2 |
/// | [`max_jwks_bytes`](Self::max_jwks_bytes) | 1 MiB |
/// | [`max_token_bytes`](Self::max_token_bytes) | 16 KiB |
/// | [`token_cache_capacity`](Self::token_cache_capacity) | 10,000 |
/// | tokens without `kid` | refused ([`allow_missing_kid`](Self::allow_missing_kid)) |
/// | kid matching | exact ([`versioned_kids`](Self::versioned_kids) for `base` -> newest `base.N`) |
/// | issuer / audience | required ([`any_issuer`](Self::any_issuer), [`any_audience`](Self::any_audience) to opt out; [`authorized_party`](Self::authorized_party) may stand in for the audience) |
#[must_use]
pub struct JwksVerifierBuilder {
    source: Option<SourceConfig>,
    issuer: Option<IssuerRule>,
    any_issuer: bool,
    audiences: Vec<String>,
    authorized_parties: Vec<String>,
    claim_rules: Vec<ClaimRule>,
    any_audience: bool,
    algorithms: Algorithms,
    leeway: Duration,
    required_claims: Vec<String>,
    allow_missing_kid: bool,
    versioned_kids: bool,
    allow_http: bool,
    access_token_profile: bool,
    requirements: Vec<Require>,
    hmac_secrets: Vec<(Option<String>, Vec<u8>)>,
    discovery_ttl: Duration,
    cache: CacheConfig,
    http_client: Option<reqwest::Client>,
    http_timeout: Duration,
    http_retries: u32,
    max_jwks_bytes: usize,
    max_token_bytes: usize,
    token_cache_capacity: u64,
    clock: SharedClock,
    introspection: Option<Introspection>,
}

impl Default for JwksVerifierBuilder {
    fn default() -> Self {
        Self {
            source: None,
            issuer: None,
            any_issuer: false,
            audiences: Vec::new(),
            authorized_parties: Vec::new(),
            claim_rules: Vec::new(),
            any_audience: false,
            algorithms: Algorithms::ASYMMETRIC,
            leeway: Duration::from_secs(30),
            required_claims: Vec::new(),
            allow_missing_kid: false,
            versioned_kids: false,
            allow_http: false,
            access_token_profile: false,
            requirements: Vec::new(),
            hmac_secrets: Vec::new(),
            discovery_ttl: Duration::from_secs(24 * 3600),
            cache: CacheConfig {
                ttl: Duration::from_secs(15 * 60),
                min_ttl: Duration::from_secs(60),
                max_ttl: Duration::from_secs(24 * 3600),
                refresh_ahead: 0.8,
                unknown_kid_cooldown: Duration::from_secs(30),
                failure_backoff: Duration::from_secs(5),
                max_stale: Duration::from_secs(24 * 3600),
                // Set from `http_timeout` and `allow_missing_kid` at build.
                max_wait: Duration::ZERO,
                require_kid: true,
            },
            http_client: None,
            http_timeout: Duration::from_secs(5),
            http_retries: 2,
            max_jwks_bytes: 1024 * 1024,
            max_token_bytes: 16 * 1024,
            token_cache_capacity: 10_000,
            clock: SharedClock::default(),
            introspection: None,
        }
    }
}

impl JwksVerifier {
    /// Starts a builder (defaults listed on [`JwksVerifierBuilder`]).
    pub fn builder() -> JwksVerifierBuilder {
        JwksVerifierBuilder::default()
    }
}

impl JwksVerifierBuilder {
    /// Fetch keys from this JWKS URL. It must be `https`, except for loopback hosts (or with
    /// [`allow_http`](Self::allow_http)).
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.source = Some(SourceConfig::Url(url.into()));
        self
    }

    /// Discover keys from an OpenID Connect issuer: fetch
    /// `<issuer>/.well-known/openid-configuration`, require its `issuer` to equal this one
    /// exactly, and use its `jwks_uri` (https, unless loopback or
    /// [`allow_http`](Self::allow_http)). Also sets [`issuer`](Self::issuer) to the same string.
    ///
    /// A discovery failure is not fatal at start: it is retried on use (503 until it works).
    pub fn oidc_issuer(mut self, issuer: impl Into<String>) -> Self {
        let issuer = issuer.into();
        // An issuer list given before (`.issuers([..])`) that names this issuer is kept.
        if !matches!(&self.issuer, Some(rule) if rule.lists(&issuer)) {
            self.issuer = Some(IssuerRule::exact(issuer.clone()));
        }
        self.source = Some(SourceConfig::Oidc(issuer));
        self
    }

    /// How long a discovered `jwks_uri` is used before discovery runs again (default 24 h).
    pub fn discovery_ttl(mut self, ttl: Duration) -> Self {
        self.discovery_ttl = ttl;
        self
    }

    /// Use this JWKS document (e.g. read from a file); it is parsed at `build()`.
    pub fn static_jwks(mut self, document: impl Into<Bytes>) -> Self {
        self.source = Some(SourceConfig::Static(document.into()));
        self
    }

    /// Use any [`KeySource`] (local keys, failover, merged sets).
    pub fn key_source(mut self, source: impl KeySource) -> Self {
        self.source = Some(SourceConfig::Custom(Arc::new(source)));
        self
    }

    /// The exact `iss` every token must carry (no normalisation: a trailing slash or another
    /// case is another issuer). Replaces any issuer set before.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(IssuerRule::exact(issuer));
        self
    }

    /// Several exact issuers sharing this verifier's one key set and one key cache: a token
    /// passes when its `iss` equals any of them, byte for byte. Replaces any issuer set
    /// before. For one provider that spells its issuer several ways (Google's
    /// `https://accounts.google.com` and `accounts.google.com`; Entra ID's v2
    /// `https://login.microsoftonline.com/{tid}/v2.0` and v1 `https://sts.windows.net/{tid}/`).
    /// With [`oidc_issuer`](Self::oidc_issuer), list the discovered issuer too (in either
    /// order: `oidc_issuer` keeps a list that names its issuer).
    ///
    /// Issuers with different key sets are different verifiers: see
    /// [`JwksVerifier::multi_issuer`].
    ///
    /// ```
    /// # use jwks_auth::JwksVerifier;
    /// let google = JwksVerifier::builder()
    ///     .jwks_url("https://www.googleapis.com/oauth2/v3/certs")
    ///     .issuers(["https://accounts.google.com", "accounts.google.com"])
    ///     .audience("1234567890-abc.apps.googleusercontent.com")
    ///     .build()?;
    /// # Ok::<(), jwks_auth::ConfigError>(())
    /// ```
    pub fn issuers<I, S>(mut self, issuers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.issuer = Some(IssuerRule::Exact(
            issuers.into_iter().map(Into::into).collect(),
        ));
        self
    }

    /// The issuer rule a preset sets (an Entra ID tenant template).
    pub(crate) fn issuer_rule(mut self, rule: IssuerRule) -> Self {
        self.issuer = Some(rule);
        self
    }

    /// An accepted authorized party: the token's `azp` claim (the client it was issued to,
    /// OpenID Connect Core section 3.1.3.7) must be present and equal one of them; call again
    /// to accept several. Refused with 401 `invalid_token` otherwise.
    ///
    /// It may stand in for [`audience`](Self::audience) (Keycloak access tokens carry the
    /// client in `azp` and `aud: "account"` unless an audience mapper is set up), or come on
    /// top of it (both must then pass).
    pub fn authorized_party(mut self, azp: impl Into<String>) -> Self {
        self.authorized_parties.push(azp.into());
        self
    }

    /// A fixed claim check a preset adds (`token_use`, `client_id`, `typ`, `hd`).
    pub(crate) fn claim_rule(mut self, rule: ClaimRule) -> Self {
        self.claim_rules.push(rule);
        self
    }

    /// Accept tokens whatever their `iss`.
    ///
    /// # Warning
    /// Only safe when the key source serves a single issuer's keys, and never for multi-tenant
    /// IdPs whose tenants share keys.
    pub fn any_issuer(mut self) -> Self {
        self.any_issuer = true;
        self
    }

    /// An accepted audience; call again to accept several. A token passes when its `aud` (a
    /// string or an array) holds any of them.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Accept tokens whatever their `aud`.
    ///
    /// # Warning
    /// A token issued for any other application of the same IdP will then be accepted.
    pub fn any_audience(mut self) -> Self {
        self.any_audience = true;
        self
    }

    /// The accepted algorithms (default: every asymmetric one). HMAC algorithms are refused
    /// here: they are only usable with an explicitly configured local secret.
    pub fn algorithms(mut self, algorithms: impl Into<Algorithms>) -> Self {
        self.algorithms = algorithms.into();
        self
    }

    /// Clock skew tolerated on `exp` and `nbf` (default 30 s, at most 5 min).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// A claim every token must carry (`exp` always is required).
    pub fn require_claim(mut self, name: impl Into<String>) -> Self {
        self.required_claims.push(name.into());
        self
    }

    /// RFC 9068 access tokens only: the header `typ` must be `at+jwt` (so an ID token is
    /// refused), and `iss`, `exp`, `aud`, `sub`, `client_id`, `iat` and `jti` are required.
    pub fn access_token_profile(mut self) -> Self {
        self.access_token_profile = true;
        self
    }

    /// A scope every token must grant (in `scope`, space-separated, or `scp`); call again to
    /// require several. A valid token without it is refused with 403 `insufficient_scope`,
    /// the challenge's `scope` naming every scope required. The same as
    /// `.require(Require::scope(scope))`.
    pub fn require_scope(mut self, scope: impl Into<String>) -> Self {
        self.requirements.push(Require::scope(scope));
        self
    }

    /// A requirement every verified token must meet (403 otherwise), the same [`Require`] a
    /// route can use per route; call again to require several (all must hold, in order).
    ///
    /// ```
    /// # use jwks_auth::{JwksVerifier, Require};
    /// let staff = Require::claim("/org", "acme");
    /// let builder = JwksVerifier::builder().require(staff.clone()); // and per route: .route_layer(staff)
    /// ```
    pub fn require(mut self, requirement: Require) -> Self {
        self.requirements.push(requirement);
        self
    }

    /// A custom check on every verified token: `Err(description)` refuses it with 403
    /// `insufficient_scope` (the description goes into the response, so keep it generic).
    /// The same as `.require(Require::check(check))`.
    ///
    /// ```
    /// # use jwks_auth::JwksVerifier;
    /// let builder = JwksVerifier::builder().claims_check(|user| {
    ///     if user.email().is_some_and(|e| e.ends_with("@example.com")) {
    ///         Ok(())
    ///     } else {
    ///         Err("email domain not allowed")
    ///     }
    /// });
    /// ```
    pub fn claims_check(
        mut self,
        check: impl Fn(&User) -> Result<(), &'static str> + Send + Sync + 'static,
    ) -> Self {
        self.requirements.push(Require::check(check));
        self
    }

    /// A local HMAC secret (at least 32 bytes) for HS256/384/512 tokens, e.g. from your own
    /// issuer. HS* tokens are checked only against such secrets, never against a key set, and
    /// only for the HMAC algorithms you list in [`algorithms`](Self::algorithms) (HS256 if
    /// you list none). `kid`: the kid tokens carry, or `None` to match tokens without kid
    /// (which also needs [`allow_missing_kid`](Self::allow_missing_kid)).
    pub fn hmac_secret(mut self, kid: Option<&str>, secret: impl Into<Vec<u8>>) -> Self {
        self.hmac_secrets
            .push((kid.map(str::to_owned), secret.into()));
        self
    }

    /// Accept tokens without `kid` when exactly one key fits their algorithm.
    ///
    /// # Warning
    /// Off by default: without a kid, key rotation is ambiguous and an unknown key cannot be
    /// told from a forged token.
    pub fn allow_missing_kid(mut self, allow: bool) -> Self {
        self.allow_missing_kid = allow;
        self
    }

    /// Let a token whose kid is a bare `base` use the newest key `base.N` of the set (off by
    /// default: a kid must equal the JWK's `kid` exactly, as in jose and every peer library).
    ///
    /// For issuers that name key versions `base.1`, `base.2`, ... (such as this crate's
    /// `issuer` module, whose verifier preset turns it on) and hand out tokens naming only the
    /// base. The grammar is
    /// strict and shared with the issuer: `base` is 1 to 64 of `[A-Za-z0-9_-]`, `N` a decimal
    /// from 1 without leading zeros. A kid naming a version (`base.3`) still only matches
    /// exactly: an unknown version never falls back to another, and a kid outside the grammar
    /// (`base.02`, `base.2.1`) is never read as a version.
    ///
    /// # Warning
    /// With it on, a token naming `base` verifies against whichever `base.N` is newest in the
    /// *remote* set: turn it on only for issuers that follow this convention.
    pub fn versioned_kids(mut self, enabled: bool) -> Self {
        self.versioned_kids = enabled;
        self
    }

    /// Allow `http://` key URLs for non-loopback hosts.
    ///
    /// # Warning
    /// Anyone on the path can then replace your keys. For development networks only.
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Key set lifetime when the response has no `Cache-Control: max-age` (default 15 min).
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache.ttl = ttl;
        self
    }

    /// Bounds applied to a `max-age` announced by the server (default 1 min ..= 24 h).
    pub fn ttl_bounds(mut self, min: Duration, max: Duration) -> Self {
        self.cache.min_ttl = min;
        self.cache.max_ttl = max;
        self
    }

    /// After a successful refresh that did not bring a token's unknown kid, further unknown
    /// kids are refused at once (401), without a fetch, for this long (default 30 s). A failed
    /// refresh starts no cooldown: the failure backoff applies and unknown kids get 503.
    pub fn unknown_kid_cooldown(mut self, cooldown: Duration) -> Self {
        self.cache.unknown_kid_cooldown = cooldown;
        self
    }

    /// After a failed fetch, no new fetch is tried for this long (default 5 s); requests that
    /// need keys meanwhile (no usable set, or a kid not in the cached set) get 503 with
    /// `Retry-After`. Measured on the clock's monotonic reading, like every cache duration.
    pub fn failure_backoff(mut self, backoff: Duration) -> Self {
        self.cache.failure_backoff = backoff;
        self
    }

    /// How long past its TTL the last good key set keeps being served while refreshes fail
    /// (default 24 h). Past it, requests get 503.
    pub fn max_stale(mut self, max_stale: Duration) -> Self {
        self.cache.max_stale = max_stale;
        self
    }

    /// Your own HTTP client (private CAs, proxies). Configure it not to follow redirects to
    /// other origins; responses from another origin are refused anyway. Token introspection
    /// POSTs go through it too: there, configure no redirects at all (a 307 or 308 resends
    /// the form, token included, to the new location before the answer is refused).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Time allowed for one complete fetch, body included (default 5 s). Also the longest a
    /// request waits for a key-set fetch it needs; the fetch and its retries go on after that.
    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = timeout;
        self
    }

    /// Retries after a connection error, timeout or 5xx (default 2).
    pub fn http_retries(mut self, retries: u32) -> Self {
        self.http_retries = retries;
        self
    }

    /// Largest JWKS document accepted (default 1 MiB).
    pub fn max_jwks_bytes(mut self, max: usize) -> Self {
        self.max_jwks_bytes = max;
        self
    }

    /// Largest token accepted (default 16 KiB); larger ones are refused before decoding.
    pub fn max_token_bytes(mut self, max: usize) -> Self {
        self.max_token_bytes = max;
        self
    }

    /// Entries in the verified-token cache (default 10,000, within 5 MiB; 0 turns it off).
    ///
    /// The cache keeps each verified token's text in memory until its `exp` plus leeway, so
    /// that a repeat token skips the signature check; turn it off where holding live bearer
    /// tokens in process memory is not acceptable (README, "Security").
    pub fn token_cache_capacity(mut self, capacity: u64) -> Self {
        self.token_cache_capacity = capacity;
        self
    }

    /// The clock (default: system time): its wall time for `exp`/`nbf`/`iat`, its monotonic
    /// reading for TTLs, refresh ahead, cooldowns, backoff and staleness (see [`Clock`]).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = SharedClock(Arc::new(clock));
        self
    }

    /// Opaque tokens are asked about at an OAuth 2.0 introspection endpoint (RFC 7662), with
    /// the HTTP settings of this builder, and their answers checked against its issuer,
    /// audience and rules: see [`introspection`](crate::introspection). Without a key source,
    /// every token is introspected.
    pub fn introspection(mut self, introspection: Introspection) -> Self {
        self.introspection = Some(introspection);
        self
    }

    /// The HTTP client (if set), timeout, retries and clock: shared with presets that fetch
    /// more than keys with the same settings (the Cloudflare identity endpoint).
    pub(crate) fn fetch_settings(&self) -> (Option<&reqwest::Client>, Duration, u32, &SharedClock) {
        (
            self.http_client.as_ref(),
            self.http_timeout,
            self.http_retries,
            &self.clock,
        )
    }
}

impl fmt::Debug for JwksVerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksVerifierBuilder")
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}
