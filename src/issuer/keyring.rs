//! [`KeyRing`]: versioned keys over any [`KeyStore`] (create, import, rotate, destroy,
//! publish, sign), and [`MemoryStore`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::{Value, json};

use super::IssuerError;
use super::keys::KeyMaterial;
use super::kid::{KeyId, KeyRef, check_base};
use super::signing::SigningKey;
use super::store::{
    ExportPolicy, KeyInfo, KeyRecord, KeySpec, KeyStore, StoredKey, StoredMaterial,
};
use crate::clock::{Clock, SharedClock};

/// Versioned signing keys (`kid = base.version`) kept in a [`KeyStore`].
///
/// [`rotate_key`](Self::rotate_key) adds the next version of a base, and version numbers are
/// never reused, even after a destroy. Secrets leave the ring only through
/// [`export_key`](Self::export_key), under the key's [`ExportPolicy`];
/// [`signing_key`](Self::signing_key) gives a capability that signs without revealing them.
///
/// Each change is computed on the record read for update
/// ([`KeyStore::load_for_update`]: never a fallback copy), saved, and visible only once the
/// store accepted it. Changes through one ring (and its clones) are serialised; a store should
/// have one ring writing to it. `Clone` is cheap and shares the store, clock and write lock.
///
/// ```
/// use jwks_auth::issuer::{KeyKind, KeyRing, KeySpec, MemoryStore};
/// let ring = KeyRing::new(MemoryStore::new());
/// let info = ring.create_key(Some("api"), &KeySpec::new(KeyKind::Ed25519))?;
/// assert_eq!(ring.rotate_key("api")?.id.to_string(), "api.2");
/// assert_eq!(ring.jwks()?["keys"].as_array().map(Vec::len), Some(2));
/// # let _ = info; Ok::<(), jwks_auth::issuer::IssuerError>(())
/// ```
#[derive(Clone)]
pub struct KeyRing {
    store: Arc<dyn KeyStore>,
    clock: SharedClock,
    writes: Arc<Mutex<()>>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    /// A ring over `store`, timestamping new versions with the system clock.
    #[must_use]
    pub fn new(store: impl KeyStore) -> Self {
        Self::shared(Arc::new(store))
    }

    /// A ring over a store shared with other owners (e.g. the two sides of a
    /// [`MirroredStore`](super::MirroredStore)).
    #[must_use]
    pub fn shared(store: Arc<dyn KeyStore>) -> Self {
        Self {
            store,
            clock: SharedClock::default(),
            writes: Arc::default(),
        }
    }

    /// Timestamps new versions with `clock` (give the signer the same clock: its retention
    /// windows start at these timestamps).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = SharedClock(Arc::new(clock));
        self
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn KeyStore> {
        &self.store
    }

    pub(crate) fn now_millis(&self) -> i64 {
        self.clock.now_millis()
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        // The lock guards no data, only the order of load-change-save sequences.
        self.writes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies `change` to the record of `base` read for update, then saves it.
    ///
    /// Read with [`KeyStore::load_for_update`], never `load`: a change must not be computed
    /// on a fallback copy (a mirror's public-only keys) and saved over the system of record.
    fn update<R>(
        &self,
        base: &str,
        change: impl FnOnce(&mut KeyRecord) -> Result<R, IssuerError>,
    ) -> Result<R, IssuerError> {
        let _order = self.lock();
        let mut record = self.store.load_for_update(base)?.unwrap_or_default();
        let out = change(&mut record)?;
        self.store.save(base, &record)?;
        Ok(out)
    }

    fn read<R>(
        &self,
        id: &KeyId,
        f: impl FnOnce(&StoredKey) -> Result<R, IssuerError>,
    ) -> Result<R, IssuerError> {
        let record = self.store.load(id.base())?;
        let key = record
            .as_ref()
            .and_then(|r| r.versions.get(&id.version()))
            .ok_or_else(|| IssuerError::not_found(id))?;
        f(key)
    }

    fn add_first(&self, base: Option<&str>, key: StoredKey) -> Result<KeyInfo, IssuerError> {
        let base = match base {
            Some(b) => {
                check_base(b)?;
                b.to_owned()
            }
            None => random_base()?,
        };
        self.update(&base, |record| {
            if record.next_version != 0 {
                return Err(IssuerError::AlreadyExists { kid: base.clone() });
            }
            record.next_version = 2;
            let info = key.info(KeyId::new(&base, 1)?);
            record.versions.insert(1, key);
            Ok(info)
        })
    }

    /// Generates version 1 of a new key named `base` (a random base when `None`).
    ///
    /// # Errors
    /// [`IssuerError::AlreadyExists`] if `base` exists (or was destroyed: versions of a base
    /// are never reissued), [`IssuerError::InvalidKey`] for an algorithm that does not fit.
    pub fn create_key(&self, base: Option<&str>, spec: &KeySpec) -> Result<KeyInfo, IssuerError> {
        spec.check()?;
        let material = StoredMaterial::Private(KeyMaterial::generate(spec.kind)?);
        let key = StoredKey::new(*spec, self.now_millis(), material)?;
        self.add_first(base, key)
    }

    /// Imports key material (e.g. [`KeyMaterial::from_pem`]) as version 1 of a new key.
    ///
    /// # Errors
    /// As [`create_key`](Self::create_key), and when the material does not fit the spec.
    pub fn import_key(
        &self,
        base: Option<&str>,
        material: StoredMaterial,
        spec: &KeySpec,
    ) -> Result<KeyInfo, IssuerError> {
        let key = StoredKey::new(*spec, self.now_millis(), material)?;
        self.add_first(base, key)
    }

    /// Generates the next version of `base`, with the spec of its newest version.
    ///
    /// # Errors
    /// [`IssuerError::NotFound`] if `base` has no version.
    pub fn rotate_key(&self, base: &str) -> Result<KeyInfo, IssuerError> {
        check_base(base)?;
        // The spec of the newest version in the system of record (as the change below).
        let spec = self
            .store
            .load_for_update(base)?
            .and_then(|r| r.versions.values().next_back().map(|k| k.spec))
            .ok_or_else(|| IssuerError::not_found(base))?;
        // Generate outside the write lock: RSA-4096 takes a while.
        let material = StoredMaterial::Private(KeyMaterial::generate(spec.kind)?);
        let key = StoredKey::new(spec, self.now_millis(), material)?;
        self.update(base, |record| {
            if record.versions.is_empty() {
                return Err(IssuerError::not_found(base));
            }
            let version = record.next_version;
            record.next_version = version
                .checked_add(1)
                .ok_or_else(|| IssuerError::Mint(format!("key `{base}` ran out of versions")))?;
            let info = key.info(KeyId::new(base, version)?);
            record.versions.insert(version, key);
            Ok(info)
        })
    }

    /// Stores a key version under an exact id (restores, copies between rings).
    ///
    /// # Errors
    /// [`IssuerError::AlreadyExists`] if that version exists.
    pub fn put_version(&self, id: &KeyId, key: StoredKey) -> Result<(), IssuerError> {
        self.update(id.base(), |record| {
            if record.versions.contains_key(&id.version()) {
                return Err(IssuerError::AlreadyExists {
                    kid: id.to_string(),
                });
            }
            record.next_version = record.next_version.max(id.version().saturating_add(1));
            record.versions.insert(id.version(), key);
            Ok(())
        })
    }

    /// Destroys one version. Its number is never reissued.
    ///
    /// # Errors
    /// [`IssuerError::NotFound`]; store errors (for a [`MirroredStore`](super::MirroredStore),
    /// [`IssuerError::MirrorIncomplete`] when the secondary could not be told).
    pub fn destroy_version(&self, id: &KeyId) -> Result<(), IssuerError> {
        self.update(id.base(), |record| {
            record
                .versions
                .remove(&id.version())
                .map(drop)
                .ok_or_else(|| IssuerError::not_found(id))
        })
    }

    /// Destroys every version of `base`. The base stays as a tombstone so that none of its
    /// version numbers is ever reissued with another key.
    ///
    /// # Errors
    /// As [`destroy_version`](Self::destroy_version).
    pub fn destroy_key(&self, base: &str) -> Result<(), IssuerError> {
        check_base(base)?;
        self.update(base, |record| {
            if record.versions.is_empty() {
                return Err(IssuerError::not_found(base));
            }
            record.versions.clear();
            Ok(())
        })
    }

    /// Destroys, in one save, the versions of `base` that `keep` refuses.
    pub(crate) fn prune(&self, base: &str, keep: impl Fn(u32) -> bool) -> Result<(), IssuerError> {
        let _order = self.lock();
        let Some(mut record) = self.store.load_for_update(base)? else {
            return Ok(());
        };
        let before = record.versions.len();
        record.versions.retain(|v, _| keep(*v));
        if record.versions.len() == before {
            return Ok(());
        }
        self.store.save(base, &record)
    }

    /// The bases that have at least one version.
    ///
    /// # Errors
    /// Store failures.
    pub fn list_keys(&self) -> Result<Vec<String>, IssuerError> {
        let mut out = Vec::new();
        for base in self.store.bases()? {
            if self
                .store
                .load(&base)?
                .is_some_and(|r| !r.versions.is_empty())
            {
                out.push(base);
            }
        }
        Ok(out)
    }

    /// The versions of `base`, oldest first.
    ///
    /// # Errors
    /// [`IssuerError::NotFound`] if `base` has no version.
    pub fn list_versions(&self, base: &str) -> Result<Vec<KeyInfo>, IssuerError> {
        let record = self
            .store
            .load(base)?
            .filter(|r| !r.versions.is_empty())
            .ok_or_else(|| IssuerError::not_found(base))?;
        record
            .versions
            .iter()
            .map(|(v, key)| Ok(key.info(KeyId::new(base, *v)?)))
            .collect()
    }

    fn newest(&self, base: &str) -> Result<KeyInfo, IssuerError> {
        self.list_versions(base)?
            .pop()
            .ok_or_else(|| IssuerError::not_found(base))
    }

    /// The public JWK of a version (`kid`, `alg`, `use: sig` set; public members only).
    ///
    /// # Errors
    /// [`IssuerError::NotFound`], [`IssuerError::NoPublicKey`] for HMAC keys.
    pub fn public_jwk(&self, id: &KeyId) -> Result<Value, IssuerError> {
        self.read(id, |key| key.public_jwk(id))
    }

    /// A signing capability for a version, pinned to its algorithm.
    ///
    /// # Errors
    /// [`IssuerError::NotFound`], [`IssuerError::NoPrivateKey`].
    pub fn signing_key(&self, id: &KeyId) -> Result<SigningKey, IssuerError> {
        self.read(id, |key| match &key.material {
            StoredMaterial::Private(m) => SigningKey::new(&id.to_string(), key.spec.algorithm, m),
            StoredMaterial::Public(_) => Err(IssuerError::NoPrivateKey {
                kid: id.to_string(),
            }),
        })
    }

    /// The version with its secret, if its [`ExportPolicy`] allows.
    ///
    /// # Errors
    /// [`IssuerError::ExportRefused`] under [`ExportPolicy::PublicOnly`],
    /// [`IssuerError::NoPrivateKey`] when the store only has the public half.
    pub fn export_key(&self, id: &KeyId) -> Result<StoredKey, IssuerError> {
        self.read(id, |key| match (&key.material, key.spec.export) {
            (StoredMaterial::Public(_), _) => Err(IssuerError::NoPrivateKey {
                kid: id.to_string(),
            }),
            (_, ExportPolicy::PublicOnly) => Err(IssuerError::ExportRefused {
                kid: id.to_string(),
            }),
            (_, ExportPolicy::SecretAllowed) => Ok(key.clone()),
        })
    }

    /// Resolves a kid: `base.version` exactly (an unknown version is
    /// [`IssuerError::NotFound`], never another version), a bare `base` to its newest version.
    ///
    /// # Errors
    /// [`IssuerError::InvalidKeyId`], [`IssuerError::NotFound`].
    pub fn resolve(&self, kid: &str) -> Result<KeyInfo, IssuerError> {
        match KeyRef::parse(kid)? {
            KeyRef::Exact(id) => self
                .list_versions(id.base())
                .ok()
                .and_then(|v| v.into_iter().find(|i| i.id == id))
                .ok_or_else(|| IssuerError::not_found(&id)),
            KeyRef::Newest(base) => self.newest(&base),
        }
    }

    /// The public JWKS of every asymmetric version, newest first within a base (HMAC keys
    /// are never published).
    ///
    /// # Errors
    /// Store failures.
    pub fn jwks(&self) -> Result<Value, IssuerError> {
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

fn random_base() -> Result<String, IssuerError> {
    Ok(crate::encoding::b64url(&super::kdf::random_bytes(12)?))
}

/// A key store in memory: keys live as long as the process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    records: Mutex<BTreeMap<String, KeyRecord>>,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn records(&self) -> MutexGuard<'_, BTreeMap<String, KeyRecord>> {
        // Records are replaced by one insert: a poisoned map is still consistent.
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl KeyStore for MemoryStore {
    fn load(&self, base: &str) -> Result<Option<KeyRecord>, IssuerError> {
        Ok(self.records().get(base).cloned())
    }

    fn save(&self, base: &str, record: &KeyRecord) -> Result<(), IssuerError> {
        self.records().insert(base.to_owned(), record.clone());
        Ok(())
    }

    fn bases(&self) -> Result<Vec<String>, IssuerError> {
        Ok(self.records().keys().cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::issuer::KeyKind;

    /// A store whose plain reads and whose reads for update can fail apart.
    #[derive(Debug, Default)]
    struct Split {
        inner: MemoryStore,
        reads_fail: std::sync::atomic::AtomicBool,
        updates_fail: std::sync::atomic::AtomicBool,
    }

    fn down() -> IssuerError {
        IssuerError::Crypto("down".into())
    }

    impl KeyStore for Split {
        fn load(&self, base: &str) -> Result<Option<KeyRecord>, IssuerError> {
            if self.reads_fail.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(down());
            }
            self.inner.load(base)
        }
        fn load_for_update(&self, base: &str) -> Result<Option<KeyRecord>, IssuerError> {
            if self.updates_fail.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(down());
            }
            self.inner.load(base)
        }
        fn save(&self, base: &str, record: &KeyRecord) -> Result<(), IssuerError> {
            self.inner.save(base, record)
        }
        fn bases(&self) -> Result<Vec<String>, IssuerError> {
            self.inner.bases()
        }
    }

    fn versions(store: &Split) -> Vec<u32> {
        let record = store.inner.load("k").unwrap().unwrap_or_default();
        record.versions.keys().copied().collect()
    }

    /// Every change (create, rotate, put, destroy, prune) reads with `load_for_update`,
    /// never with `load`.
    #[test]
    fn every_change_reads_for_update() {
        use std::sync::atomic::Ordering::SeqCst;
        let store = Arc::new(Split::default());
        let ring = KeyRing::shared(store.clone());
        let spec = KeySpec::new(KeyKind::Ed25519).export_policy(ExportPolicy::SecretAllowed);
        let id = |v| KeyId::new("k", v).unwrap();

        // Plain reads fail: every change still works.
        store.reads_fail.store(true, SeqCst);
        ring.create_key(Some("k"), &spec).unwrap();
        ring.rotate_key("k").unwrap();
        ring.rotate_key("k").unwrap();
        ring.prune("k", |v| v != 1).unwrap();
        ring.destroy_version(&id(2)).unwrap();
        assert_eq!(versions(&store), [3]);
        store.reads_fail.store(false, SeqCst);
        let copy = ring.export_key(&id(3)).unwrap();
        store.reads_fail.store(true, SeqCst);
        ring.put_version(&id(7), copy.clone()).unwrap();
        ring.destroy_key("k").unwrap();
        assert_eq!(versions(&store), Vec::<u32>::new());

        // Reads for update fail: every change fails, and nothing changes.
        store.reads_fail.store(false, SeqCst);
        store.updates_fail.store(true, SeqCst);
        assert_eq!(ring.create_key(Some("k"), &spec).unwrap_err(), down());
        assert_eq!(ring.create_key(Some("j"), &spec).unwrap_err(), down());
        assert_eq!(ring.put_version(&id(9), copy).unwrap_err(), down());
        store.updates_fail.store(false, SeqCst);
        let fresh = KeyRing::shared(store.clone());
        fresh.create_key(Some("j"), &spec).unwrap();
        fresh.rotate_key("j").unwrap();
        store.updates_fail.store(true, SeqCst);
        assert_eq!(ring.rotate_key("j").unwrap_err(), down());
        assert_eq!(ring.prune("j", |_| false).unwrap_err(), down());
        assert_eq!(
            ring.destroy_version(&KeyId::new("j", 1).unwrap())
                .unwrap_err(),
            down()
        );
        assert_eq!(ring.destroy_key("j").unwrap_err(), down());
        let record = store.inner.load("j").unwrap().unwrap();
        assert_eq!(record.versions.keys().copied().collect::<Vec<_>>(), [1, 2]);
        assert_eq!(record.next_version, 3);
        assert_eq!(store.inner.load("k").unwrap().unwrap().next_version, 8);
    }
}
