//! The [`KeyStore`] persistence trait, key specs and the stored-key types it persists.

use std::collections::BTreeMap;
use std::fmt;

use crate::algorithms::Algorithm;
use serde_json::Value;

use super::IssuerError;
use super::keys::{KeyMaterial, PublicKey};
use super::kid::KeyId;
use super::kind::KeyKind;

/// Whether a key's secret may leave its store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ExportPolicy {
    /// The secret never leaves the store; only the public JWK does (the default).
    #[default]
    PublicOnly,
    /// [`KeyRing::export_key`](super::KeyRing::export_key) hands out the secret (backups, full mirroring).
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

/// Everything a store keeps about one base kid: its live versions and the next version
/// number to hand out.
///
/// A record whose `versions` is empty but whose `next_version` is not 0 is a *tombstone*: the
/// base (or its last versions) was destroyed, and its version numbers are never reissued.
/// Stores keep tombstones, and [`MirroredStore`](super::MirroredStore) honours them: a version
/// the primary destroyed is never served from the secondary.
#[derive(Debug, Clone, Default)]
pub struct KeyRecord {
    /// The next version [`KeyRing::rotate_key`](super::KeyRing::rotate_key) creates (0: the
    /// base was never created).
    pub next_version: u32,
    /// The live versions, by version number.
    pub versions: BTreeMap<u32, StoredKey>,
}

/// Where a [`KeyRing`](super::KeyRing) keeps its keys: one [`KeyRecord`] per base kid.
///
/// Deliberately narrow (as tower-sessions' `SessionStore`): loading, saving and listing
/// records. Creating, rotating, destroying, publishing and signing are the
/// [`KeyRing`](super::KeyRing)'s job, written once over any store. Implementations:
/// [`MemoryStore`](super::MemoryStore), [`FileStore`](super::FileStore),
/// [`MirroredStore`](super::MirroredStore).
///
/// The methods are synchronous: the stores here only touch memory or small local files, and
/// only when keys change (a mint reads no store).
pub trait KeyStore: Send + Sync + fmt::Debug + 'static {
    /// The record of `base`, tombstone included; `None` if the store never saw `base`.
    ///
    /// # Errors
    /// Store failures (I/O, an unreachable backend).
    fn load(&self, base: &str) -> Result<Option<KeyRecord>, IssuerError>;

    /// The record of `base` as the basis of a change: [`KeyRing`](super::KeyRing) reads with
    /// this, never with [`load`](Self::load), before every save (create, rotate, destroy,
    /// the signer's pruning), and saves the changed record whole.
    ///
    /// The default is [`load`](Self::load). A store whose `load` may answer from a fallback
    /// copy (as [`MirroredStore`](super::MirroredStore) reads its secondary when the primary
    /// fails) must override it to answer from its system of record only, or fail: a change
    /// computed on a fallback copy (public keys only, or stale) and saved over the record
    /// would destroy what the copy lacks, such as the current signing key's private half.
    ///
    /// # Errors
    /// Store failures: the change is then not made.
    fn load_for_update(&self, base: &str) -> Result<Option<KeyRecord>, IssuerError> {
        self.load(base)
    }

    /// Replaces the record of `base`. The change must be durable when this returns `Ok`
    /// (the ring makes it visible to signers only then).
    ///
    /// # Errors
    /// Store failures; the old record must then be intact.
    fn save(&self, base: &str, record: &KeyRecord) -> Result<(), IssuerError>;

    /// Every base with a record (tombstones included), in a stable order.
    ///
    /// # Errors
    /// Store failures.
    fn bases(&self) -> Result<Vec<String>, IssuerError>;
}
