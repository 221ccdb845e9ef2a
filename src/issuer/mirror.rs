//! [`MirroredStore`]: a primary key store mirrored best-effort to a secondary, with read
//! failover.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

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
/// - Changes are never computed on the secondary's copy:
///   [`load_for_update`](KeyStore::load_for_update), which a [`KeyRing`](super::KeyRing)
///   reads with before every save, fails when the primary fails. (The secondary holds
///   public keys only under [`MirrorMode::PublicOnly`]: a change based on it would overwrite
///   the primary's private keys.) For a base the primary has *no* record of, the
///   secondary's record is adopted (as fail-open reads do), so that its version numbers are
///   never reissued.
/// - Destroyed versions the secondary could not be told about (a
///   [`MirrorIncomplete`](IssuerError::MirrorIncomplete) destroy, or any destroy under
///   [`MirrorMode::None`]) are remembered in memory: reads from the secondary never serve
///   them, and every later save retries removing them from the secondary (except under
///   [`MirrorMode::None`], which never writes it). This memory is the process's: a process
///   restarted while the primary fails and the secondary is stale cannot know what the
///   primary destroyed, and would serve the secondary's copies. The
///   [`MirrorIncomplete`](IssuerError::MirrorIncomplete) error says so: destroy the copy in
///   the secondary too.
/// - [`bases`](KeyStore::bases): the primary's, then the secondary's others.
///
/// Mirrored versions keep their kid (`base.version`) in the secondary, so a token verifies
/// the same against either store. Wrap it in a [`KeyRing`](super::KeyRing) to use it.
/// Clones share the remembered destroyed versions.
#[derive(Debug, Clone)]
pub struct MirroredStore {
    primary: Arc<dyn KeyStore>,
    secondary: Arc<dyn KeyStore>,
    mode: MirrorMode,
    fail_open: bool,
    /// Versions (by base) the primary destroyed that the secondary may still hold.
    unmirrored: Arc<Mutex<BTreeMap<String, BTreeSet<u32>>>>,
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
            unmirrored: Arc::default(),
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

    fn unmirrored(&self) -> MutexGuard<'_, BTreeMap<String, BTreeSet<u32>>> {
        // Each change is one insert or removal: a poisoned map is still consistent.
        self.unmirrored
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The secondary's record of `base`, without the versions the primary destroyed (whose
    /// numbers stay used: `next_version` stays above them).
    fn secondary_record(&self, base: &str) -> Result<Option<KeyRecord>, IssuerError> {
        let record = self.secondary.load(base)?;
        let unmirrored = self.unmirrored();
        let Some(destroyed) = unmirrored.get(base) else {
            return Ok(record);
        };
        let mut record = record.unwrap_or_default();
        record.versions.retain(|v, _| !destroyed.contains(v));
        if let Some(last) = destroyed.last() {
            record.next_version = record.next_version.max(last.saturating_add(1));
        }
        Ok(Some(record))
    }

    /// The secondary's record when the primary has none (and fail-open reads are on).
    fn adopt(&self, base: &str) -> Result<Option<KeyRecord>, IssuerError> {
        if !self.fail_open {
            return Ok(None);
        }
        self.secondary_record(base).or_else(|e| {
            tracing::warn!(error = %e, "jwks-auth: secondary key store failed (load)");
            Ok(None)
        })
    }

    /// Remembers versions of `base` the secondary may still hold.
    fn remember(&self, base: &str, destroyed: BTreeSet<u32>) {
        if !destroyed.is_empty() {
            self.unmirrored()
                .entry(base.to_owned())
                .or_default()
                .extend(destroyed);
        }
    }

    /// Forgets `versions` of `base` (the secondary no longer holds them).
    fn forget(&self, base: &str, versions: &BTreeSet<u32>) {
        let mut unmirrored = self.unmirrored();
        if let Some(left) = unmirrored.get_mut(base) {
            left.retain(|v| !versions.contains(v));
            if left.is_empty() {
                unmirrored.remove(base);
            }
        }
    }

    /// Retries removing from the secondary the versions destroyed in the primary, for every
    /// base but `skip` (just mirrored whole). Failures are logged and retried next time.
    fn retry_unmirrored(&self, skip: &str) {
        // A snapshot: the secondary's I/O runs without the lock, which reads also take.
        let pending: Vec<(String, BTreeSet<u32>)> = self
            .unmirrored()
            .iter()
            .filter(|(base, _)| base.as_str() != skip)
            .map(|(base, versions)| (base.clone(), versions.clone()))
            .collect();
        for (base, versions) in pending {
            let removed = self.secondary.load(&base).and_then(|record| {
                let Some(mut record) = record else {
                    return Ok(());
                };
                let before = record.versions.len();
                record.versions.retain(|v, _| !versions.contains(v));
                if record.versions.len() == before {
                    return Ok(());
                }
                if let Some(last) = versions.last() {
                    record.next_version = record.next_version.max(last.saturating_add(1));
                }
                self.secondary.save(&base, &record)
            });
            match removed {
                Ok(()) => self.forget(&base, &versions),
                Err(e) => tracing::warn!(
                    base,
                    error = %e,
                    "jwks-auth: removing destroyed versions from the secondary key store failed"
                ),
            }
        }
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
            Ok(None) => self.adopt(base),
            Err(e) if self.fail_open => {
                tracing::warn!(error = %e, "jwks-auth: primary key store failed (load); reading the secondary");
                self.secondary_record(base).map_err(|_| e)
            }
            Err(e) => Err(e),
        }
    }

    /// The primary's record; its failure is the change's failure, never a read of the
    /// secondary. A base the primary has no record of takes the secondary's record, so that
    /// its version numbers are never reissued.
    fn load_for_update(&self, base: &str) -> Result<Option<KeyRecord>, IssuerError> {
        match self.primary.load(base)? {
            Some(record) => Ok(Some(record)),
            None => self.adopt(base),
        }
    }

    fn save(&self, base: &str, record: &KeyRecord) -> Result<(), IssuerError> {
        // Versions this save removes (a destroy), known before the primary forgets them. Not
        // knowing them (the primary cannot be read) is not knowing what to untell the
        // secondary: nothing is saved.
        let destroyed: BTreeSet<u32> = self
            .load_for_update(base)?
            .map(|old| {
                old.versions
                    .into_keys()
                    .filter(|v| !record.versions.contains_key(v))
                    .collect()
            })
            .unwrap_or_default();
        self.primary.save(base, record)?;
        let Some(copy) = self.copy_of(record) else {
            // MirrorMode::None never writes the secondary, which may hold them (a backup).
            self.remember(base, destroyed);
            return Ok(());
        };
        let mirrored = self.secondary.save(base, &copy);
        let result = match mirrored {
            Ok(()) => {
                // The secondary now holds exactly the copy: nothing of `base` is left to hide.
                self.unmirrored().remove(base);
                Ok(())
            }
            Err(e) if !destroyed.is_empty() => {
                self.remember(base, destroyed);
                Err(IssuerError::MirrorIncomplete {
                    base: base.to_owned(),
                    reason: e.to_string(),
                })
            }
            Err(e) => {
                tracing::warn!(base, error = %e, "jwks-auth: mirroring to the secondary key store failed");
                Ok(())
            }
        };
        self.retry_unmirrored(base);
        result
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
