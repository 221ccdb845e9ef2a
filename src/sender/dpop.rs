//! DPoP proofs (RFC 9449 section 4.3): [`Dpop`], the configuration a layer checks them with.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Request, header::HeaderName};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::htu::{self, HtuOrigin, Origin};
use super::nonce::{MIN_SECRET_LEN, NonceIssuer};
use super::replay::{ReplayCache, Seen};
use crate::algorithms::{Algorithm, Algorithms};
use crate::claims::{self, Rounding};
use crate::clock::{Clock, SharedClock};
use crate::error::{AuthError, AuthReason, ConfigError};
use crate::jwk::Jwk;

/// The `DPoP` request header carrying the proof.
pub(crate) static DPOP: HeaderName = HeaderName::from_static("dpop");
/// Longest proof read (a proof with an RSA 4096 key is about 1.5 KiB).
const MAX_PROOF_LEN: usize = 8 * 1024;
/// Longest `jti` accepted.
const MAX_JTI_LEN: usize = 256;

/// Whether a layer requires DPoP or also accepts bearer tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DpopMode {
    /// Every token must come with `Authorization: DPoP` and a valid proof.
    Required,
    /// `Bearer` tokens without a DPoP binding are accepted too (a token bound with `cnf.jkt`
    /// is never accepted as `Bearer`); refusals carry both a `Bearer` and a `DPoP` challenge.
    Allowed,
}

/// How a layer checks DPoP proofs (RFC 9449): set it with
/// [`JwksAuthLayer::dpop`](crate::JwksAuthLayer::dpop). Built by [`Dpop::required`] or
/// [`Dpop::allowed`]; cloning is cheap and clones share one replay cache.
///
/// A request passes when it carries `Authorization: DPoP <token>` for a token whose
/// `cnf.jkt` is the RFC 7638 thumbprint of the key in exactly one `DPoP` proof header, and
/// the proof is a JWT with `typ: dpop+jwt`; an allowed asymmetric `alg` (never `none` or HS*);
/// a public `jwk` in its header (one with private members is refused) that verifies its
/// signature; `htm` equal to the request method; `htu` equal to the request URL without query
/// and fragment (see [`HtuOrigin`]); `iat` within [`iat_window`](DpopBuilder::iat_window); a
/// `jti` never seen before (see [`replay_capacity`](DpopBuilder::replay_capacity)); `ath`
/// equal to base64url(SHA-256(token)); and, when [`nonce_secret`](DpopBuilder::nonce_secret)
/// is set, a current server `nonce`.
#[derive(Clone)]
pub struct Dpop {
    inner: Arc<Inner>,
}

struct Inner {
    mode: DpopMode,
    algorithms: Algorithms,
    /// `algorithms` as the challenge's `algs` value.
    algs: Box<str>,
    origin: Origin,
    max_age: Duration,
    max_future: Duration,
    replay: ReplayCache,
    nonce: Option<NonceIssuer>,
    clock: SharedClock,
}

/// Builder of a [`Dpop`] configuration.
#[must_use]
pub struct DpopBuilder {
    mode: DpopMode,
    origin: HtuOrigin,
    algorithms: Algorithms,
    max_age: Duration,
    max_future: Duration,
    replay_capacity: usize,
    nonce_secret: Option<Vec<u8>>,
    nonce_lifetime: Duration,
    clock: SharedClock,
}

impl Dpop {
    /// The default proof algorithms: ES256, ES384, ES512, EdDSA, PS256 and RS256.
    pub const DEFAULT_ALGORITHMS: [Algorithm; 6] = [
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::ES512,
        Algorithm::EdDSA,
        Algorithm::PS256,
        Algorithm::RS256,
    ];

    /// A configuration requiring DPoP ([`DpopMode::Required`]); `origin` says which URL the
    /// proofs' `htu` must name.
    pub fn required(origin: HtuOrigin) -> DpopBuilder {
        DpopBuilder::new(DpopMode::Required, origin)
    }

    /// A configuration accepting DPoP and unbound bearer tokens ([`DpopMode::Allowed`]).
    pub fn allowed(origin: HtuOrigin) -> DpopBuilder {
        DpopBuilder::new(DpopMode::Allowed, origin)
    }

    /// The mode.
    #[must_use]
    pub fn mode(&self) -> DpopMode {
        self.inner.mode
    }

    /// The accepted proof algorithms (what the `algs` challenge parameter and the metadata's
    /// `dpop_signing_alg_values_supported` list).
    #[must_use]
    pub fn algorithms(&self) -> Algorithms {
        self.inner.algorithms
    }

    /// The algorithms as the challenge's space-separated `algs` value.
    pub(crate) fn algs(&self) -> &str {
        &self.inner.algs
    }

    /// A current server nonce, when nonces are configured: to hand out in a `DPoP-Nonce`
    /// header of your own responses (refusals with `use_dpop_nonce` carry one already).
    #[must_use]
    pub fn nonce(&self) -> Option<String> {
        let now = self.inner.clock.now_millis();
        self.inner.nonce.as_ref().map(|n| n.issue(now))
    }

    /// Checks the DPoP proof of `request` for `access_token`, bound to the key whose RFC 7638
    /// thumbprint is `jkt` (the token's `cnf.jkt`), and records its `jti`. The layer calls
    /// this; call it yourself only outside the layer.
    ///
    /// # Errors
    /// The refusal, with a `Dpop*` [`AuthReason`].
    pub fn verify_proof<B>(
        &self,
        request: &Request<B>,
        access_token: &str,
        jkt: &str,
    ) -> Result<(), AuthError> {
        let inner = &*self.inner;
        let now_ms = inner.clock.now_millis();
        let proof = single_proof(request)?;
        let (thumbprint, claims) = self.verified_proof(proof)?;
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        let malformed = || AuthError::new(AuthReason::MalformedDpopProof);
        let jti = text("jti")
            .filter(|jti| !jti.is_empty() && jti.len() <= MAX_JTI_LEN)
            .ok_or_else(malformed)?;
        let (htm, htu) = text("htm").zip(text("htu")).ok_or_else(malformed)?;
        let iat = claims::numeric_date(&claims, "iat", Rounding::Down)
            .ok()
            .flatten()
            .ok_or_else(malformed)?
            .as_millis();
        if htm != request.method().as_str() {
            return Err(AuthError::new(AuthReason::DpopMethodMismatch));
        }
        let url = inner.origin.request_url(request);
        if !url.is_some_and(|url| htu::matches(htu, &url)) {
            return Err(AuthError::new(AuthReason::DpopUrlMismatch));
        }
        let oldest = now_ms.saturating_sub(millis(inner.max_age));
        let newest = now_ms.saturating_add(millis(inner.max_future));
        if iat < oldest || iat > newest {
            return Err(AuthError::new(AuthReason::DpopProofTime));
        }
        let ath = URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()));
        if text("ath") != Some(ath.as_str()) {
            return Err(AuthError::new(AuthReason::DpopAccessTokenHash));
        }
        if thumbprint != jkt {
            return Err(AuthError::new(AuthReason::DpopKeyMismatch));
        }
        if let Some(nonces) = &inner.nonce
            && !text("nonce").is_some_and(|nonce| nonces.accepts(nonce, now_ms))
        {
            return Err(AuthError::new(AuthReason::DpopNonceRequired));
        }
        // Last, so that only proofs that are otherwise valid take a place in the cache.
        let passes_until = iat.saturating_add(millis(inner.max_age));
        match inner
            .replay
            .check_and_insert(&thumbprint, jti, now_ms, passes_until)
        {
            Seen::New => Ok(()),
            Seen::Replayed => Err(AuthError::new(AuthReason::DpopProofReplayed)),
            Seen::Full(wait) => Err(AuthError::unavailable_for(
                AuthReason::DpopReplayCacheFull,
                wait.max(Duration::from_secs(1)),
            )),
        }
    }

    /// The proof's header checked and its signature verified by its own key: the key's
    /// thumbprint and the claims.
    fn verified_proof(&self, proof: &str) -> Result<(String, Map<String, Value>), AuthError> {
        let malformed = || AuthError::new(AuthReason::MalformedDpopProof);
        if proof.len() > MAX_PROOF_LEN {
            return Err(malformed());
        }
        let mut segments = proof.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature), None) = (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ) else {
            return Err(malformed());
        };
        let header = claims::decode(header_b64).map_err(|_| malformed())?;
        if header.contains_key("crit") || header.contains_key("b64") {
            return Err(malformed());
        }
        let typ = header.get("typ").and_then(Value::as_str);
        if !typ.is_some_and(|typ| typ.eq_ignore_ascii_case("dpop+jwt")) {
            return Err(AuthError::new(AuthReason::DpopProofType));
        }
        // `none`, HS* and unknown names are all "not allowed": a proof must be signed by the
        // private half of the public key it carries.
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .and_then(|alg| alg.parse::<Algorithm>().ok())
            .filter(|alg| self.inner.algorithms.contains(*alg))
            .ok_or(AuthError::new(AuthReason::DpopAlgorithmNotAllowed))?;
        let bad_key = || AuthError::new(AuthReason::DpopProofKey);
        let jwk_value = header
            .get("jwk")
            .filter(|v| v.is_object())
            .ok_or_else(bad_key)?;
        let jwk = Jwk::deserialize(jwk_value).map_err(|_| bad_key())?;
        if jwk.private_member().is_some() {
            return Err(bad_key());
        }
        // The crate's one JWK-to-key path: key size, curve and `alg` fit are checked as for a
        // key set's keys.
        let key = crate::jwks::keyset::parse_key(jwk_value, Algorithms::from(alg))
            .map_err(|_| bad_key())?;
        let thumbprint = jwk.thumbprint_sha256().ok_or_else(bad_key)?;
        let signing_input = &proof[..header_b64.len() + 1 + payload_b64.len()];
        if signature.is_empty()
            || !crate::crypto::verify(&key.key, alg, signing_input.as_bytes(), signature)
        {
            return Err(AuthError::new(AuthReason::DpopProofSignature));
        }
        let claims = claims::decode(payload_b64).map_err(|_| malformed())?;
        Ok((thumbprint, claims))
    }
}

/// The one `DPoP` header of the request.
fn single_proof<B>(request: &Request<B>) -> Result<&str, AuthError> {
    let mut values = request.headers().get_all(&DPOP).iter();
    let proof = values
        .next()
        .ok_or(AuthError::new(AuthReason::DpopProofMissing))?;
    if values.next().is_some() {
        return Err(AuthError::new(AuthReason::SeveralDpopProofs));
    }
    proof
        .to_str()
        .map_err(|_| AuthError::new(AuthReason::MalformedDpopProof))
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl fmt::Debug for Dpop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("Dpop")
            .field("mode", &inner.mode)
            .field("algorithms", &inner.algorithms)
            .field("origin", &inner.origin)
            .field("max_age", &inner.max_age)
            .field("max_future", &inner.max_future)
            .field("nonce", &inner.nonce.is_some())
            .finish_non_exhaustive()
    }
}

impl DpopBuilder {
    fn new(mode: DpopMode, origin: HtuOrigin) -> Self {
        Self {
            mode,
            origin,
            algorithms: Algorithms::from_iter(Dpop::DEFAULT_ALGORITHMS),
            max_age: Duration::from_secs(60),
            max_future: Duration::from_secs(5),
            replay_capacity: 100_000,
            nonce_secret: None,
            nonce_lifetime: Duration::from_secs(60),
            clock: SharedClock::default(),
        }
    }

    /// The accepted proof algorithms (default [`Dpop::DEFAULT_ALGORITHMS`]). Asymmetric only:
    /// an HS* algorithm is a configuration error.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// How old (`max_age`, default 60 s) and how far ahead of this server's clock
    /// (`max_future`, default 5 s, the clock skew allowed) a proof's `iat` may be. Bounds are
    /// inclusive. Replayed proofs are remembered for `max_age + max_future`.
    pub fn iat_window(mut self, max_age: Duration, max_future: Duration) -> Self {
        self.max_age = max_age;
        self.max_future = max_future;
        self
    }

    /// Most proofs remembered at once for replay detection (default 100,000; an entry costs about 60
    /// bytes, so about 6 MB).
    ///
    /// A proof is remembered for `max_age + max_future` (65 s by default), so the default
    /// covers about 1,500 DPoP requests per second per layer. Past that, new proofs are
    /// refused with 503 and `Retry-After` (reason
    /// [`DpopReplayCacheFull`](AuthReason::DpopReplayCacheFull)) until entries expire: a full
    /// cache never forgets a live proof, which would let its replay through.
    pub fn replay_capacity(mut self, capacity: usize) -> Self {
        self.replay_capacity = capacity;
        self
    }

    /// Requires a server nonce (RFC 9449 section 9) derived from `secret` (at least 32 bytes)
    /// and the time: no shared state, so replicas configured with one secret agree. A proof
    /// without a current nonce is refused with `use_dpop_nonce` and a fresh `DPoP-Nonce`.
    pub fn nonce_secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.nonce_secret = Some(secret.as_ref().to_vec());
        self
    }

    /// How long a nonce period lasts (default 60 s, at least 1 s); a nonce is accepted in its
    /// period and the next.
    pub fn nonce_lifetime(mut self, lifetime: Duration) -> Self {
        self.nonce_lifetime = lifetime;
        self
    }

    /// The clock `iat`, nonces and the replay cache read (default: the system clock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = SharedClock(Arc::new(clock));
        self
    }

    /// The configuration.
    ///
    /// # Errors
    /// An invalid [`HtuOrigin`], no algorithm or an HS* one, a replay capacity of zero, a
    /// nonce secret under 32 bytes or a nonce lifetime under a second.
    pub fn build(self) -> Result<Dpop, ConfigError> {
        // `verify_proof` may run without any verifier having been built.
        crate::crypto::install_provider();
        let origin = self.origin.check()?;
        if self.algorithms.is_empty() || !self.algorithms.intersect(Algorithms::HMAC).is_empty() {
            return Err(ConfigError::new(
                "Dpop algorithms: give at least one asymmetric algorithm (ES256, EdDSA, ...); \
                 HS* proofs are never accepted",
            ));
        }
        if self.replay_capacity == 0 {
            return Err(ConfigError::new(
                "Dpop replay_capacity must be at least 1 (proofs cannot be checked for replay \
                 without remembering them)",
            ));
        }
        let nonce = match &self.nonce_secret {
            Some(secret) if secret.len() < MIN_SECRET_LEN => {
                return Err(ConfigError::new(format!(
                    "Dpop nonce_secret must be at least {MIN_SECRET_LEN} random bytes"
                )));
            }
            _ if self.nonce_lifetime < Duration::from_secs(1) => {
                return Err(ConfigError::new("Dpop nonce_lifetime must be at least 1 s"));
            }
            Some(secret) => Some(NonceIssuer::new(secret, self.nonce_lifetime)),
            None => None,
        };
        let algs = self
            .algorithms
            .iter()
            .map(Algorithm::as_str)
            .collect::<Vec<_>>()
            .join(" ");
        Ok(Dpop {
            inner: Arc::new(Inner {
                mode: self.mode,
                algorithms: self.algorithms,
                algs: algs.into_boxed_str(),
                origin,
                max_age: self.max_age,
                max_future: self.max_future,
                replay: ReplayCache::new(
                    self.replay_capacity,
                    self.max_age.saturating_add(self.max_future),
                ),
                nonce,
                clock: self.clock,
            }),
        })
    }
}

impl fmt::Debug for DpopBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopBuilder")
            .field("mode", &self.mode)
            .field("origin", &self.origin)
            .field("algorithms", &self.algorithms)
            .field("nonce", &self.nonce_secret.is_some())
            .finish_non_exhaustive()
    }
}
