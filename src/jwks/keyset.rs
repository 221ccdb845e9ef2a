//! A JSON Web Key Set parsed once into ready-to-use verification keys.

use std::collections::HashMap;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::kid::{self, VersionedKid};
use crate::algorithms::{Algorithm, Algorithms};
use crate::crypto::{P521_LEN, P521Key, PublicKey};
use crate::error::AuthReason;
use crate::jwk::Jwk;
use crate::jwt::MAX_KID_LEN;

/// Most keys taken from one document; the rest are skipped. Real sets hold a handful.
pub const MAX_KEYS: usize = 256;

/// Smallest RSA modulus accepted (RFC 7518 section 3.3 requires 2048 bits).
pub const MIN_RSA_BITS: usize = 2048;

/// Most keys sharing one kid (and fitting the token's alg) that a token's signature is tried
/// against, in document order. Providers publish a kid twice during rotations; identical
/// entries are merged when the set is built, so this bounds only *different* keys under one
/// kid, and with it the signature checks one forged token can cost.
pub const MAX_KEYS_PER_KID: usize = 3;

/// One usable verification key: the decoded key and the algorithms it may verify.
pub(crate) struct VerifyKey {
    pub(crate) kid: Option<Box<str>>,
    pub(crate) algorithms: Algorithms,
    pub(crate) key: PublicKey,
    /// Digest of the kid and public key material: tells "the same key" across refreshes.
    pub(crate) fingerprint: [u8; 16],
    /// The key's public members (for [`KeySet::to_jwks`]); `None` for a local HMAC secret.
    jwk: Option<Jwk>,
}

impl fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyKey")
            .field("kid", &self.kid)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

/// Why a JWKS document yielded no key set.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeySetError {
    /// The document is not JSON, or has no `keys` array.
    Malformed(String),
    /// The document parsed, but none of its keys is usable under the configured policy.
    NoUsableKeys {
        /// How many keys were skipped.
        skipped: usize,
    },
}

impl fmt::Display for KeySetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(why) => write!(f, "malformed JWKS document: {why}"),
            Self::NoUsableKeys { skipped } => {
                write!(f, "JWKS has no usable keys ({skipped} skipped)")
            }
        }
    }
}

impl std::error::Error for KeySetError {}

/// The outcome of looking up the key for a token.
#[derive(Debug)]
pub(crate) enum Selection<'a> {
    /// The keys to try, in document order: one, or up to [`MAX_KEYS_PER_KID`] sharing a kid.
    Found(Candidates<'a>),
    /// No key has this kid: a refresh may bring it.
    UnknownKid,
    /// Keys exist for this kid (or the token has no kid) but none fits; refreshing won't help.
    Refused(AuthReason),
}

/// The keys a token's signature is tried against, first that verifies wins. On the stack:
/// selecting keys allocates nothing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Candidates<'a> {
    keys: [Option<&'a VerifyKey>; MAX_KEYS_PER_KID],
}

impl<'a> Candidates<'a> {
    /// The keys, in document order.
    pub(crate) fn iter(self) -> impl Iterator<Item = &'a VerifyKey> {
        self.keys.into_iter().flatten()
    }
}

/// How a verifier reads key sets: which algorithms keys may verify, and how kids match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyPolicy {
    pub(crate) algorithms: Algorithms,
    /// A token's bare `base` kid may name the newest `base.N` of the set (see `jwks::kid`).
    /// Off by default: kids match exactly, as RFC 7515 and every peer library do.
    pub(crate) versioned_kids: bool,
}

/// A parsed JSON Web Key Set: the keys that passed the policy, indexed by kid.
///
/// Built once per fetch; requests only look keys up.
pub struct KeySet {
    keys: Vec<VerifyKey>,
    by_kid: HashMap<Box<str>, Vec<usize>>,
    /// Versioned kids (`base.N`): base -> (highest N, its key), for tokens naming only `base`.
    /// Empty unless the policy turns versioned kids on.
    latest_version: HashMap<Box<str>, (u32, usize)>,
    skipped: usize,
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet")
            .field("keys", &self.keys)
            .field("skipped", &self.skipped)
            .finish()
    }
}

impl KeySet {
    /// Parses a JWKS document (`{"keys": [...]}`), keeping only keys usable for `allowed`.
    ///
    /// Unusable keys are skipped and logged (unknown kty or curve, `use` other than `sig`,
    /// `key_ops` without `verify`, private members, RSA under 2048 bits, symmetric keys,
    /// algorithms outside `allowed`); the document fails only when no key is left. A JWK
    /// without `alg` may verify any allowed algorithm of its key type and curve.
    ///
    /// Kids match exactly (a token's kid must equal the JWK's `kid`; `""` is a kid like any
    /// other, distinct from a JWK without `kid`). A key listed twice
    /// (same kid, same public key) is kept once, verifying the algorithms of both entries;
    /// different keys sharing a kid (providers publish them during rotations) are all kept,
    /// and a token naming that kid is checked against the first [`MAX_KEYS_PER_KID`] of them
    /// that fit its alg, in document order: the first that verifies wins, and if none does
    /// the token is an invalid signature.
    ///
    /// # Errors
    /// [`KeySetError`] when the document is malformed or yields no usable key.
    pub fn from_jwks(document: &[u8], allowed: Algorithms) -> Result<Self, KeySetError> {
        Self::parse(
            document,
            KeyPolicy {
                algorithms: allowed,
                versioned_kids: false,
            },
        )
    }

    /// [`from_jwks`](Self::from_jwks) under a verifier's whole key policy.
    pub(crate) fn parse(document: &[u8], policy: KeyPolicy) -> Result<Self, KeySetError> {
        let allowed = policy.algorithms;
        #[derive(Deserialize)]
        struct Document {
            keys: Vec<Value>,
        }
        let doc: Document =
            serde_json::from_slice(document).map_err(|e| KeySetError::Malformed(e.to_string()))?;
        let mut set = Self {
            keys: Vec::with_capacity(doc.keys.len().min(MAX_KEYS)),
            by_kid: HashMap::new(),
            latest_version: HashMap::new(),
            skipped: 0,
        };
        for (index, jwk) in doc.keys.into_iter().enumerate() {
            if set.keys.len() == MAX_KEYS {
                set.skipped += 1;
                continue;
            }
            match parse_key(&jwk, allowed) {
                Ok(key) => set.push_or_merge(key, policy.versioned_kids),
                Err(why) => {
                    set.skipped += 1;
                    let kid = jwk.get("kid").and_then(Value::as_str).unwrap_or("");
                    let kid: String = kid.chars().take(64).collect();
                    tracing::warn!(index, kid, reason = why, "skipping unusable JWK");
                }
            }
        }
        if set.keys.is_empty() {
            return Err(KeySetError::NoUsableKeys {
                skipped: set.skipped,
            });
        }
        Ok(set)
    }

    /// Adds `key`, or, when the set already holds the identical key (same kid, same public
    /// key: a provider listing it twice), lets that entry verify the algorithms of both.
    fn push_or_merge(&mut self, key: VerifyKey, versioned_kids: bool) {
        let same = self
            .candidates(key.kid.as_deref())
            .find(|&i| self.keys[i].fingerprint == key.fingerprint && self.keys[i].kid == key.kid);
        if let Some(i) = same {
            let merged = self.keys[i].algorithms.union(key.algorithms);
            self.keys[i].algorithms = merged;
            return;
        }
        let index = self.keys.len();
        if versioned_kids
            && let Some(VersionedKid::Versioned { base, version }) =
                key.kid.as_deref().and_then(kid::parse)
        {
            let latest = self
                .latest_version
                .entry(base.into())
                .or_insert((version, index));
            if version > latest.0 {
                *latest = (version, index);
            }
        }
        if let Some(kid) = &key.kid {
            self.by_kid
                .entry(kid.clone())
                .or_default()
                .push(self.keys.len());
        }
        self.keys.push(key);
    }

    /// How many usable keys the set holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set holds no key (never true for a set built by [`KeySet::from_jwks`]).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// How many keys of the document were skipped as unusable.
    #[must_use]
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// The kids of the usable keys, in document order.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().filter_map(|k| k.kid.as_deref())
    }

    /// The usable keys as a public JWKS document (for debugging and republishing): only the
    /// public members of each key (see [`Jwk`]), never a member the crate does not know.
    #[must_use]
    pub fn to_jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .keys
            .iter()
            .filter_map(|k| k.jwk.as_ref())
            .filter_map(|jwk| serde_json::to_value(jwk).ok())
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// Whether a key with this kid and fingerprint is still in the set.
    pub(crate) fn contains(&self, kid: Option<&str>, fingerprint: &[u8; 16]) -> bool {
        self.candidates(kid)
            .any(|i| &self.keys[i].fingerprint == fingerprint)
    }

    /// Keys a kid may name: exact matches; failing those, with versioned kids on, for a bare
    /// `base`, the newest `base.N`. An unknown *version* never falls back to another one.
    fn candidates<'a>(&'a self, kid: Option<&str>) -> impl Iterator<Item = usize> + 'a {
        let indices: &'a [usize] = match kid {
            Some(kid) => match self.by_kid.get(kid) {
                Some(exact) => exact.as_slice(),
                None if self.latest_version.is_empty() => &[],
                None => match kid::parse(kid) {
                    Some(VersionedKid::Bare(base)) => self
                        .latest_version
                        .get(base)
                        .map_or(&[], |(_, index)| std::slice::from_ref(index)),
                    _ => &[],
                },
            },
            None => &[],
        };
        let keyless = kid.is_none().then_some(0..self.keys.len());
        indices.iter().copied().chain(keyless.into_iter().flatten())
    }

    /// Finds the keys to try for a token with this kid and alg.
    ///
    /// The alg must be one the key allows (its JWK `alg`, or what its type and curve fit).
    /// Several keys under the token's kid that fit the alg are all candidates (the first
    /// [`MAX_KEYS_PER_KID`], in document order). A token without kid matches only when
    /// `allow_missing_kid` and exactly one key fits: without a kid there is nothing that says
    /// which keys were meant, so several fitting keys stay ambiguous.
    pub(crate) fn select(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
        allow_missing_kid: bool,
    ) -> Selection<'_> {
        if kid.is_none() && !allow_missing_kid {
            return Selection::Refused(AuthReason::MissingKeyId);
        }
        let mut found = [None; MAX_KEYS_PER_KID];
        let mut count = 0;
        let mut any = false;
        for i in self.candidates(kid) {
            any = true;
            let key = &self.keys[i];
            if !key.algorithms.contains(alg) {
                continue;
            }
            if kid.is_none() && count == 1 {
                return Selection::Refused(AuthReason::AmbiguousKeyId);
            }
            if count == MAX_KEYS_PER_KID {
                break;
            }
            found[count] = Some(key);
            count += 1;
        }
        match count {
            0 if !any && kid.is_some() => Selection::UnknownKid,
            0 => Selection::Refused(AuthReason::AlgorithmNotAllowedForKey),
            _ => Selection::Found(Candidates { keys: found }),
        }
    }
}

impl VerifyKey {
    /// A locally configured HMAC secret (never published, never taken from a key set).
    pub(crate) fn hmac(kid: Option<String>, secret: &[u8], algorithms: Algorithms) -> Self {
        let mut digest = Sha256::new();
        digest.update(b"hmac\0");
        digest.update(kid.as_deref().unwrap_or("").as_bytes());
        let mut fingerprint = [0; 16];
        fingerprint.copy_from_slice(&digest.finalize()[..16]);
        Self {
            kid: kid.map(String::into_boxed_str),
            algorithms,
            key: PublicKey::Jose(DecodingKey::from_secret(secret)),
            fingerprint,
            jwk: None,
        }
    }
}

fn b64(value: Option<&str>, member: &'static str) -> Result<Vec<u8>, &'static str> {
    let value = value.ok_or(member)?;
    URL_SAFE_NO_PAD
        .decode(value)
        .map_err(|_| "member is not base64url")
}

pub(crate) fn parse_key(jwk: &Value, allowed: Algorithms) -> Result<VerifyKey, &'static str> {
    let raw = Jwk::deserialize(jwk).map_err(|_| "malformed JWK")?;
    if raw.private_member().is_some() {
        // Someone published a private key: never use it as if it were public.
        return Err("private key material published");
    }
    if raw.kty == "oct" {
        // A symmetric key in a public set: never use it (and never HS* remotely).
        return Err("symmetric key");
    }
    if raw.use_.as_deref().is_some_and(|u| u != "sig") {
        return Err("use is not sig");
    }
    if raw
        .key_ops
        .as_ref()
        .is_some_and(|ops| !ops.iter().any(|op| op == "verify"))
    {
        return Err("key_ops without verify");
    }
    // An empty kid is a kid like any other (RFC 7517 section 4.5 leaves its value open, and
    // some issuers publish `""`): it matches a token whose kid is exactly `""`.
    if raw.kid.as_ref().is_some_and(|k| k.len() > MAX_KID_LEN) {
        return Err("kid too long");
    }
    let (fits, key, material) = match (raw.kty.as_str(), raw.crv.as_deref()) {
        ("RSA", _) => {
            let n = b64(raw.n.as_deref(), "missing n")?;
            let e = b64(raw.e.as_deref(), "missing e")?;
            let n_trimmed = strip_leading_zeros(&n);
            // An empty modulus (`"n": ""`) has 0 bits; never subtract from an empty length.
            let bits = n_trimmed.first().map_or(0, |first| {
                n_trimmed.len() * 8 - first.leading_zeros() as usize
            });
            if bits < MIN_RSA_BITS {
                return Err("RSA key under 2048 bits");
            }
            let e_trimmed = strip_leading_zeros(&e);
            if e_trimmed.is_empty() || e_trimmed.len() > 4 {
                return Err("unreasonable RSA exponent");
            }
            let key = DecodingKey::from_rsa_raw_components(n_trimmed, e_trimmed);
            (Algorithms::RSA, PublicKey::Jose(key), [n, e].concat())
        }
        ("EC", Some(crv @ ("P-256" | "P-384" | "P-521"))) => {
            let (len, alg) = match crv {
                "P-256" => (32, Algorithm::ES256),
                "P-384" => (48, Algorithm::ES384),
                _ => (P521_LEN, Algorithm::ES512),
            };
            let x = b64(raw.x.as_deref(), "missing x")?;
            let y = b64(raw.y.as_deref(), "missing y")?;
            if x.len() != len || y.len() != len {
                return Err("EC coordinates of the wrong length");
            }
            let mut point = Vec::with_capacity(1 + 2 * len);
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            let key = if alg == Algorithm::ES512 {
                // Parsed (and checked to be on the curve) now, not per request.
                PublicKey::P521(
                    P521Key::from_uncompressed_point(&point).ok_or("invalid P-521 point")?,
                )
            } else {
                PublicKey::Jose(DecodingKey::from_ec_der(&point))
            };
            (Algorithms::from(alg), key, point)
        }
        ("OKP", Some("Ed25519")) => {
            let x = b64(raw.x.as_deref(), "missing x")?;
            if x.len() != 32 {
                return Err("Ed25519 key of the wrong length");
            }
            let key = PublicKey::Jose(DecodingKey::from_ed_der(&x));
            (Algorithm::EdDSA.into(), key, x)
        }
        ("EC" | "OKP", _) => return Err("unsupported curve"),
        _ => return Err("unsupported key type"),
    };
    let algorithms = match raw.alg.as_deref() {
        Some(name) => {
            let alg: Algorithm = name.parse().map_err(|_| "unsupported alg")?;
            if !fits.contains(alg) {
                return Err("alg does not fit the key type");
            }
            Algorithms::from(alg)
        }
        None => fits,
    }
    .intersect(allowed);
    if algorithms.is_empty() {
        return Err("alg not allowed");
    }
    let mut digest = Sha256::new();
    digest.update(raw.kid.as_deref().unwrap_or("").as_bytes());
    digest.update([0]);
    digest.update(&material);
    let mut fingerprint = [0; 16];
    fingerprint.copy_from_slice(&digest.finalize()[..16]);
    Ok(VerifyKey {
        kid: raw.kid.clone().map(String::into_boxed_str),
        algorithms,
        key,
        fingerprint,
        jwk: Some(raw),
    })
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

#[cfg(test)]
#[path = "keyset_tests.rs"]
mod tests;
