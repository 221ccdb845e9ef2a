//! The [`KeyStore`] trait, key ids, specs and stored-key types.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

use super::IssuerError;
use super::keys::{KeyKind, KeyMaterial, PublicKey};
use super::signing::SigningKey;

/// Longest base kid accepted.
pub const MAX_BASE_KID_LEN: usize = 64;

/// A key version's id, `base.version` (e.g. `signing.3`).
///
/// The base is 1-64 characters of `A-Z a-z 0-9 _ -` (no dot, so the split is unambiguous and
/// the base is a safe file name); the version is a decimal number from 1, without leading
/// zeros. `signing.03` or `signing.x` are invalid ids, never another spelling of a version.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId {
    base: String,
    version: u32,
}

impl KeyId {
    /// The id of `version` of `base`.
    ///
    /// # Errors
    /// [`IssuerError::InvalidKeyId`] for a bad base or version 0.
    pub fn new(base: &str, version: u32) -> Result<Self, IssuerError> {
        check_base(base)?;
        if version == 0 {
            return Err(IssuerError::InvalidKeyId {
                kid: format!("{base}.0"),
            });
        }
        Ok(Self {
            base: base.to_owned(),
            version,
        })
    }

    /// The base kid.
    #[must_use]
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The version number.
    #[must_use]
    pub fn version(&self) -> u32 {
        self.version
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.base, self.version)
    }
}

impl FromStr for KeyId {
    type Err = IssuerError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match KeyRef::parse(s)? {
            KeyRef::Exact(id) => Ok(id),
            KeyRef::Newest(_) => Err(IssuerError::InvalidKeyId { kid: s.into() }),
        }
    }
}

/// What a kid names: one exact version, or (a bare base) the base's newest version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRef {
    /// `base.version`: exactly that version, or nothing.
    Exact(KeyId),
    /// `base` alone: the newest version of the base.
    Newest(String),
}

impl KeyRef {
    /// Parses a kid. Anything but `base` or `base.version` in canonical form is invalid.
    ///
    /// # Errors
    /// [`IssuerError::InvalidKeyId`].
    pub fn parse(kid: &str) -> Result<Self, IssuerError> {
        let bad = || IssuerError::InvalidKeyId { kid: kid.into() };
        match kid.split_once('.') {
            None => {
                check_base(kid)?;
                Ok(Self::Newest(kid.to_owned()))
            }
            Some((base, version)) => {
                let canonical = !version.is_empty()
                    && version.bytes().all(|b| b.is_ascii_digit())
                    && !version.starts_with('0');
                let version = version.parse().ok().filter(|_| canonical).ok_or_else(bad)?;
                KeyId::new(base, version)
                    .map(Self::Exact)
                    .map_err(|_| bad())
            }
        }
    }
}

pub(crate) fn check_base(base: &str) -> Result<(), IssuerError> {
    let ok = !base.is_empty()
        && base.len() <= MAX_BASE_KID_LEN
        && base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(IssuerError::InvalidKeyId { kid: base.into() })
    }
}

/// Whether a key's secret may leave its store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ExportPolicy {
    /// The secret never leaves the store; only the public JWK does (the default).
    #[default]
    PublicOnly,
    /// [`KeyStore::export_key`] hands out the secret (backups, full mirroring).
    SecretAllowed,
}

/// How to make a key: its kind, the one algorithm it signs with, its export policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct KeySpec {
    /// The key type and size.
    pub kind: KeyKind,
    /// The algorithm the key is pinned to (published as the JWK's `alg`).
    pub algorithm: Algorithm,
    /// Whether the secret may be exported.
    pub export: ExportPolicy,
}

impl KeySpec {
    /// A spec for `kind` with its default algorithm and [`ExportPolicy::PublicOnly`].
    pub fn new(kind: KeyKind) -> Self {
        Self {
            kind,
            algorithm: kind.default_algorithm(),
            export: ExportPolicy::PublicOnly,
        }
    }

    /// Pins the key to `algorithm` (it must fit the kind; checked when the key is made).
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Sets the export policy.
    pub fn export_policy(mut self, export: ExportPolicy) -> Self {
        self.export = export;
        self
    }

    pub(crate) fn check(&self) -> Result<(), IssuerError> {
        if self.kind.supports(self.algorithm) {
            Ok(())
        } else {
            Err(IssuerError::InvalidKey(format!(
                "{:?} does not fit a {} key",
                self.algorithm, self.kind
            )))
        }
    }
}

/// A key version's material as held by a store: private, or (e.g. in a public-only mirror)
/// only its public half.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StoredMaterial {
    /// The private key (or HMAC secret).
    Private(KeyMaterial),
    /// Only the public key: it can be published and verified against, not sign.
    Public(PublicKey),
}

impl StoredMaterial {
    fn kind(&self) -> KeyKind {
        match self {
            Self::Private(m) => m.kind(),
            Self::Public(p) => p.kind(),
        }
    }
}

/// One key version with its spec and creation time, as exported or mirrored.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StoredKey {
    /// Kind, algorithm, export policy.
    pub spec: KeySpec,
    /// Creation time, milliseconds since the epoch (by the store's clock).
    pub created_at_ms: i64,
    /// The key material.
    pub material: StoredMaterial,
}

impl StoredKey {
    /// A stored key (checks that material and spec agree).
    ///
    /// # Errors
    /// [`IssuerError::InvalidKey`] when the material's kind or the algorithm do not fit.
    pub fn new(
        spec: KeySpec,
        created_at_ms: i64,
        material: StoredMaterial,
    ) -> Result<Self, IssuerError> {
        spec.check()?;
        if material.kind() != spec.kind {
            return Err(IssuerError::InvalidKey(format!(
                "the material is a {} key, the spec says {}",
                material.kind(),
                spec.kind
            )));
        }
        Ok(Self {
            spec,
            created_at_ms,
            material,
        })
    }

    pub(crate) fn info(&self, id: KeyId) -> KeyInfo {
        KeyInfo {
            id,
            spec: self.spec,
            created_at_ms: self.created_at_ms,
            has_secret: matches!(self.material, StoredMaterial::Private(_)),
        }
    }

    pub(crate) fn public_jwk(&self, id: &KeyId) -> Result<Value, IssuerError> {
        let kid = id.to_string();
        match &self.material {
            StoredMaterial::Private(m) => m.to_public_jwk(&kid, self.spec.algorithm),
            StoredMaterial::Public(p) => p.to_jwk(&kid, self.spec.algorithm),
        }
    }
}

/// What a store says about one key version (never secret).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyInfo {
    /// `base.version`.
    pub id: KeyId,
    /// Kind, algorithm, export policy.
    pub spec: KeySpec,
    /// Creation time, milliseconds since the epoch.
    pub created_at_ms: i64,
    /// Whether this store holds the secret (false in a public-only mirror).
    pub has_secret: bool,
}

/// A store of versioned signing keys.
///
/// Kids are `base.version`; [`rotate_key`](Self::rotate_key) adds the next version of a base,
/// and version numbers are never reused, even after a destroy. Secrets leave a store only
/// through [`export_key`](Self::export_key), under the key's [`ExportPolicy`];
/// [`signing_key`](Self::signing_key) gives a capability that signs without revealing them.
///
/// The methods are synchronous: both implementations here
/// ([`MemoryStore`](super::MemoryStore), [`FileStore`](super::FileStore)) only touch memory or
/// small local files, and only when keys change.
pub trait KeyStore: Send + Sync + fmt::Debug + 'static {
    /// Generates version 1 of a new key named `base` (a random base when `None`).
    ///
    /// # Errors
    /// [`IssuerError::AlreadyExists`] if `base` exists (or was destroyed: versions of a base
    /// are never reissued), [`IssuerError::InvalidKey`] for an algorithm that does not fit.
    fn create_key(&self, base: Option<&str>, spec: &KeySpec) -> Result<KeyInfo, IssuerError>;

    /// Imports key material (e.g. [`KeyMaterial::from_pem`]) as version 1 of a new key.
    ///
    /// # Errors
    /// As [`create_key`](Self::create_key), and when the material does not fit the spec.
    fn import_key(
        &self,
        base: Option<&str>,
        material: StoredMaterial,
        spec: &KeySpec,
    ) -> Result<KeyInfo, IssuerError>;

    /// Generates the next version of `base`, with the spec of its newest version.
    ///
    /// # Errors
    /// [`IssuerError::NotFound`] if `base` has no version.
    fn rotate_key(&self, base: &str) -> Result<KeyInfo, IssuerError>;

    /// Stores a key version under an exact id (used for mirroring and restores).
    ///
    /// # Errors
    /// [`IssuerError::AlreadyExists`] if that version exists.
    fn put_version(&self, id: &KeyId, key: StoredKey) -> Result<(), IssuerError>;

    /// Destroys one version.
    ///
    /// # Errors
    /// [`IssuerError::NotFound`].
    fn destroy_version(&self, id: &KeyId) -> Result<(), IssuerError>;

    /// Destroys every version of `base`.
    ///
    /// # Errors
    /// [`IssuerError::NotFound`].
    fn destroy_key(&self, base: &str) -> Result<(), IssuerError>;

    /// The bases that have at least one version.
    ///
    /// # Errors
    /// Store failures.
    fn list_keys(&self) -> Result<Vec<String>, IssuerError>;

    /// The versions of `base`, oldest first.
    ///
    /// # Errors
    /// [`IssuerError::NotFound`] if `base` has no version.
    fn list_versions(&self, base: &str) -> Result<Vec<KeyInfo>, IssuerError>;

    /// The public JWK of a version (`kid`, `alg`, `use: sig` set).
    ///
    /// # Errors
    /// [`IssuerError::NotFound`], [`IssuerError::NoPublicKey`] for HMAC keys.
    fn public_jwk(&self, id: &KeyId) -> Result<Value, IssuerError>;

    /// A signing capability for a version, pinned to its algorithm.
    ///
    /// # Errors
    /// [`IssuerError::NotFound`], [`IssuerError::NoPrivateKey`].
    fn signing_key(&self, id: &KeyId) -> Result<SigningKey, IssuerError>;

    /// The version with its secret, if its [`ExportPolicy`] allows.
    ///
    /// # Errors
    /// [`IssuerError::ExportRefused`] under [`ExportPolicy::PublicOnly`],
    /// [`IssuerError::NoPrivateKey`] when the store only has the public half.
    fn export_key(&self, id: &KeyId) -> Result<StoredKey, IssuerError>;

    /// Resolves a kid: `base.version` exactly (an unknown version is
    /// [`IssuerError::NotFound`], never another version), a bare `base` to its newest version.
    ///
    /// # Errors
    /// [`IssuerError::InvalidKeyId`], [`IssuerError::NotFound`].
    fn resolve(&self, kid: &str) -> Result<KeyInfo, IssuerError> {
        match KeyRef::parse(kid)? {
            KeyRef::Exact(id) => self
                .list_versions(id.base())
                .ok()
                .and_then(|v| v.into_iter().find(|i| i.id == id))
                .ok_or_else(|| IssuerError::not_found(&id)),
            KeyRef::Newest(base) => self
                .list_versions(&base)?
                .pop()
                .ok_or_else(|| IssuerError::not_found(&base)),
        }
    }

    /// The public JWKS of every asymmetric version in the store (HMAC keys are never
    /// published).
    ///
    /// # Errors
    /// Store failures.
    fn jwks(&self) -> Result<Value, IssuerError> {
        let mut keys = Vec::new();
        for base in self.list_keys()? {
            for info in self.list_versions(&base)?.into_iter().rev() {
                if !info.spec.kind.is_symmetric() {
                    keys.push(self.public_jwk(&info.id)?);
                }
            }
        }
        Ok(json!({ "keys": keys }))
    }
}

impl<T: KeyStore + ?Sized> KeyStore for Arc<T> {
    fn create_key(&self, base: Option<&str>, spec: &KeySpec) -> Result<KeyInfo, IssuerError> {
        (**self).create_key(base, spec)
    }
    fn import_key(
        &self,
        base: Option<&str>,
        material: StoredMaterial,
        spec: &KeySpec,
    ) -> Result<KeyInfo, IssuerError> {
        (**self).import_key(base, material, spec)
    }
    fn rotate_key(&self, base: &str) -> Result<KeyInfo, IssuerError> {
        (**self).rotate_key(base)
    }
    fn put_version(&self, id: &KeyId, key: StoredKey) -> Result<(), IssuerError> {
        (**self).put_version(id, key)
    }
    fn destroy_version(&self, id: &KeyId) -> Result<(), IssuerError> {
        (**self).destroy_version(id)
    }
    fn destroy_key(&self, base: &str) -> Result<(), IssuerError> {
        (**self).destroy_key(base)
    }
    fn list_keys(&self) -> Result<Vec<String>, IssuerError> {
        (**self).list_keys()
    }
    fn list_versions(&self, base: &str) -> Result<Vec<KeyInfo>, IssuerError> {
        (**self).list_versions(base)
    }
    fn public_jwk(&self, id: &KeyId) -> Result<Value, IssuerError> {
        (**self).public_jwk(id)
    }
    fn signing_key(&self, id: &KeyId) -> Result<SigningKey, IssuerError> {
        (**self).signing_key(id)
    }
    fn export_key(&self, id: &KeyId) -> Result<StoredKey, IssuerError> {
        (**self).export_key(id)
    }
    fn resolve(&self, kid: &str) -> Result<KeyInfo, IssuerError> {
        (**self).resolve(kid)
    }
    fn jwks(&self) -> Result<Value, IssuerError> {
        (**self).jwks()
    }
}
