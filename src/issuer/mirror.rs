//! [`MirroredStore`]: a primary key store mirrored best-effort to a secondary, with read
//! failover.

use std::sync::Arc;

use super::IssuerError;
use super::store::{ExportPolicy, KeyRecord, KeyStore, StoredKey, StoredMaterial};

/// What a [`MirroredStore`] copies to its secondary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum MirrorMode {
    /// Public keys only (the default): the secondary can publish and verify, not sign. HMAC
    /// keys, having no public half, are not copied.
    #[default]
    PublicOnly,
    /// The secret too, when the key's [`ExportPolicy`] allows it; otherwise the public key
    /// only.
    Full,
    /// Nothing: the secondary is only read from when the primary fails.
    None,
}

/// Two key stores used as one: the primary is the system of record, the secondary a mirror.
///
/// - Saves go to the primary; when it succeeds, the record is copied to the secondary
///   according to the [`MirrorMode`]. A mirroring failure is logged, and returned only when
///   the save removed versions (a destroy): [`IssuerError::MirrorIncomplete`], so that a
///   destroy never reports plain success while a copy of the key survives.
/// - Reads: the primary's record of a base wins whenever the primary has one, *tombstones
///   included*: a version the primary destroyed is never served from the secondary. The
///   secondary's record is read for a base the primary has no record of (a lost primary, a
///   base only the secondary has), and for everything when the primary fails
///   ([`fail_open_reads`](Self::fail_open_reads), on by default).
/// - [`bases`](KeyStore::bases): the primary's, then the secondary's others.
///
/// Mirrored versions keep their kid (`base.version`) in the secondary, so a token verifies
/// the same against either store. Wrap it in a [`KeyRing`](super::KeyRing) to use it.
#[derive(Debug, Clone)]
pub struct MirroredStore {
    primary: Arc<dyn KeyStore>,
    secondary: Arc<dyn KeyStore>,
    mode: MirrorMode,
    fail_open: bool,
}

impl MirroredStore {
    /// Mirrors `primary` to `secondary`, public keys only, with read failover.
    #[must_use]
    pub fn new(primary: Arc<dyn KeyStore>, secondary: Arc<dyn KeyStore>) -> Self {
        Self {
            primary,
            secondary,
            mode: MirrorMode::default(),
            fail_open: true,
        }
    }

    /// What to copy to the secondary (default [`MirrorMode::PublicOnly`]).
    #[must_use]
    pub fn mirror_mode(mut self, mode: MirrorMode) -> Self {
        self.mode = mode;
        self
    }

    /// Whether reads fall back to the secondary when the primary fails or has no record of
    /// a base (default `true`).
    #[must_use]
    pub fn fail_open_reads(mut self, fail_open: bool) -> Self {
        self.fail_open = fail_open;
        self
    }

    /// What the secondary receives of `record` under the mirror mode (`None`: nothing).
    fn copy_of(&self, record: &KeyRecord) -> Option<KeyRecord> {
        if self.mode == MirrorMode::None {
            return None;
        }
        let versions = record
            .versions
            .iter()
            .filter_map(|(version, key)| {
                let material = match &key.material {
                    StoredMaterial::Private(m)
                        if self.mode == MirrorMode::Full
                            && key.spec.export == ExportPolicy::SecretAllowed =>
                    {
                        StoredMaterial::Private(m.clone())
                    }
                    // An HMAC secret has no public half: nothing to copy.
                    StoredMaterial::Private(m) => StoredMaterial::Public(m.public_key()?.clone()),
                    StoredMaterial::Public(p) => StoredMaterial::Public(p.clone()),
                };
                let copy = StoredKey::new(key.spec, key.created_at_ms, material).ok()?;
                Some((*version, copy))
            })
            .collect();
        Some(KeyRecord {
            next_version: record.next_version,
            versions,
        })
    }
}

impl KeyStore for MirroredStore {
    fn load(&self, base: &str) -> Result<Option<KeyRecord>, IssuerError> {
        match self.primary.load(base) {
            // The system of record has this base: its record, tombstones included, wins.
            Ok(Some(record)) => Ok(Some(record)),
            Ok(None) if !self.fail_open => Ok(None),
            Ok(None) => self.secondary.load(base).or_else(|e| {
                tracing::warn!(error = %e, "jwks-auth: secondary key store failed (load)");
                Ok(None)
            }),
            Err(e) if self.fail_open => {
                tracing::warn!(error = %e, "jwks-auth: primary key store failed (load); reading the secondary");
                self.secondary.load(base).map_err(|_| e)
            }
            Err(e) => Err(e),
        }
    }

    fn save(&self, base: &str, record: &KeyRecord) -> Result<(), IssuerError> {
        // Versions this save removes (a destroy), known before the primary forgets them.
        let removes = self.mode != MirrorMode::None
            && self.primary.load(base).ok().flatten().is_some_and(|old| {
                old.versions
                    .keys()
                    .any(|v| !record.versions.contains_key(v))
            });
        self.primary.save(base, record)?;
        let Some(copy) = self.copy_of(record) else {
            return Ok(());
        };
        match self.secondary.save(base, &copy) {
            Ok(()) => Ok(()),
            Err(e) if removes => Err(IssuerError::MirrorIncomplete {
                base: base.to_owned(),
                reason: e.to_string(),
            }),
            Err(e) => {
                tracing::warn!(base, error = %e, "jwks-auth: mirroring to the secondary key store failed");
                Ok(())
            }
        }
    }

    fn bases(&self) -> Result<Vec<String>, IssuerError> {
        match self.primary.bases() {
            Ok(mut bases) if self.fail_open => {
                match self.secondary.bases() {
                    Ok(more) => {
                        for base in more {
                            if !bases.contains(&base) {
                                bases.push(base);
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "jwks-auth: secondary key store failed (bases)");
                    }
                }
                Ok(bases)
            }
            Ok(bases) => Ok(bases),
            Err(e) if self.fail_open => {
                tracing::warn!(error = %e, "jwks-auth: primary key store failed (bases); reading the secondary");
                self.secondary.bases().map_err(|_| e)
            }
            Err(e) => Err(e),
        }
    }
}
