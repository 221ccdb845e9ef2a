//! The store logic shared by [`MemoryStore`] and [`FileStore`](super::FileStore): a keyring
//! whose changes are persisted before they become visible.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use super::IssuerError;
use super::keys::KeyMaterial;
use super::signing::SigningKey;
use super::store::{
    ExportPolicy, KeyId, KeyInfo, KeySpec, KeyStore, StoredKey, StoredMaterial, check_base,
};
use crate::clock::{Clock, SharedClock};

/// All versions of one base, and the next version number to hand out.
#[derive(Debug, Clone, Default)]
pub(crate) struct Entry {
    pub(crate) next_version: u32,
    pub(crate) versions: BTreeMap<u32, StoredKey>,
}

/// Where a [`Keyring`] writes an entry before the change becomes visible.
pub(crate) trait Persist: Send + Sync + fmt::Debug + 'static {
    fn save(&self, base: &str, entry: &Entry) -> Result<(), IssuerError>;
}

#[derive(Debug)]
pub(crate) struct NoPersist;

impl Persist for NoPersist {
    fn save(&self, _: &str, _: &Entry) -> Result<(), IssuerError> {
        Ok(())
    }
}

/// The store logic shared by the memory and file stores: each change is computed on a copy,
/// persisted, and only then made visible.
#[derive(Debug)]
pub(crate) struct Keyring<P> {
    entries: Mutex<BTreeMap<String, Entry>>,
    clock: SharedClock,
    persist: P,
}

impl<P: Persist> Keyring<P> {
    pub(crate) fn new(entries: BTreeMap<String, Entry>, clock: SharedClock, persist: P) -> Self {
        Self {
            entries: Mutex::new(entries),
            clock,
            persist,
        }
    }

    pub(crate) fn persist(&self) -> &P {
        &self.persist
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Entry>> {
        // A panic while holding the lock cannot leave a half-applied change (changes are
        // applied by one insert), so a poisoned lock is still consistent.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies `change` to a copy of `base`'s entry, persists it, then publishes it.
    fn update<R>(
        &self,
        base: &str,
        change: impl FnOnce(&mut Entry) -> Result<R, IssuerError>,
    ) -> Result<R, IssuerError> {
        let mut entries = self.lock();
        let mut entry = entries.get(base).cloned().unwrap_or_default();
        let out = change(&mut entry)?;
        self.persist.save(base, &entry)?;
        entries.insert(base.to_owned(), entry);
        Ok(out)
    }

    fn read<R>(
        &self,
        id: &KeyId,
        f: impl FnOnce(&StoredKey) -> Result<R, IssuerError>,
    ) -> Result<R, IssuerError> {
        let entries = self.lock();
        let key = entries
            .get(id.base())
            .and_then(|e| e.versions.get(&id.version()))
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
        self.update(&base, |entry| {
            if entry.next_version != 0 {
                return Err(IssuerError::AlreadyExists { kid: base.clone() });
            }
            entry.next_version = 2;
            let info = key.info(KeyId::new(&base, 1)?);
            entry.versions.insert(1, key);
            Ok(info)
        })
    }
}

fn random_base() -> Result<String, IssuerError> {
    use base64::Engine;
    let bytes = super::kdf::random_bytes(12)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

impl<P: Persist> KeyStore for Keyring<P> {
    fn create_key(&self, base: Option<&str>, spec: &KeySpec) -> Result<KeyInfo, IssuerError> {
        spec.check()?;
        let material = StoredMaterial::Private(KeyMaterial::generate(spec.kind)?);
        let key = StoredKey::new(*spec, self.clock.now_millis(), material)?;
        self.add_first(base, key)
    }

    fn import_key(
        &self,
        base: Option<&str>,
        material: StoredMaterial,
        spec: &KeySpec,
    ) -> Result<KeyInfo, IssuerError> {
        let key = StoredKey::new(*spec, self.clock.now_millis(), material)?;
        self.add_first(base, key)
    }

    fn rotate_key(&self, base: &str) -> Result<KeyInfo, IssuerError> {
        check_base(base)?;
        let spec = {
            let entries = self.lock();
            let newest = entries
                .get(base)
                .and_then(|e| e.versions.values().next_back());
            newest.ok_or_else(|| IssuerError::not_found(base))?.spec
        };
        // Generate outside the lock: RSA-4096 takes a while.
        let material = StoredMaterial::Private(KeyMaterial::generate(spec.kind)?);
        let key = StoredKey::new(spec, self.clock.now_millis(), material)?;
        self.update(base, |entry| {
            if entry.versions.is_empty() {
                return Err(IssuerError::not_found(base));
            }
            let version = entry.next_version;
            entry.next_version = version
                .checked_add(1)
                .ok_or_else(|| IssuerError::Mint(format!("key `{base}` ran out of versions")))?;
            let info = key.info(KeyId::new(base, version)?);
            entry.versions.insert(version, key);
            Ok(info)
        })
    }

    fn put_version(&self, id: &KeyId, key: StoredKey) -> Result<(), IssuerError> {
        self.update(id.base(), |entry| {
            if entry.versions.contains_key(&id.version()) {
                return Err(IssuerError::AlreadyExists {
                    kid: id.to_string(),
                });
            }
            entry.next_version = entry.next_version.max(id.version().saturating_add(1));
            entry.versions.insert(id.version(), key);
            Ok(())
        })
    }

    fn destroy_version(&self, id: &KeyId) -> Result<(), IssuerError> {
        self.update(id.base(), |entry| {
            entry
                .versions
                .remove(&id.version())
                .map(drop)
                .ok_or_else(|| IssuerError::not_found(id))
        })
    }

    fn destroy_key(&self, base: &str) -> Result<(), IssuerError> {
        check_base(base)?;
        self.update(base, |entry| {
            if entry.versions.is_empty() {
                return Err(IssuerError::not_found(base));
            }
            // The entry stays as a tombstone holding next_version, so that no version number
            // of this base is ever reissued with another key.
            entry.versions.clear();
            Ok(())
        })
    }

    fn list_keys(&self) -> Result<Vec<String>, IssuerError> {
        Ok(self
            .lock()
            .iter()
            .filter(|(_, e)| !e.versions.is_empty())
            .map(|(b, _)| b.clone())
            .collect())
    }

    fn list_versions(&self, base: &str) -> Result<Vec<KeyInfo>, IssuerError> {
        let entries = self.lock();
        let entry = entries
            .get(base)
            .filter(|e| !e.versions.is_empty())
            .ok_or_else(|| IssuerError::not_found(base))?;
        entry
            .versions
            .iter()
            .map(|(v, key)| Ok(key.info(KeyId::new(base, *v)?)))
            .collect()
    }

    fn public_jwk(&self, id: &KeyId) -> Result<Value, IssuerError> {
        self.read(id, |key| key.public_jwk(id))
    }

    fn signing_key(&self, id: &KeyId) -> Result<SigningKey, IssuerError> {
        self.read(id, |key| match &key.material {
            StoredMaterial::Private(m) => SigningKey::new(&id.to_string(), key.spec.algorithm, m),
            StoredMaterial::Public(_) => Err(IssuerError::NoPrivateKey {
                kid: id.to_string(),
            }),
        })
    }

    fn export_key(&self, id: &KeyId) -> Result<StoredKey, IssuerError> {
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
}

/// Forwards every [`KeyStore`] method of a wrapper to its `ring` field.
macro_rules! delegate_key_store {
    ($ty:ty) => {
        impl $crate::issuer::KeyStore for $ty {
            fn create_key(
                &self,
                base: Option<&str>,
                spec: &$crate::issuer::KeySpec,
            ) -> Result<$crate::issuer::KeyInfo, $crate::issuer::IssuerError> {
                self.ring.create_key(base, spec)
            }
            fn import_key(
                &self,
                base: Option<&str>,
                material: $crate::issuer::StoredMaterial,
                spec: &$crate::issuer::KeySpec,
            ) -> Result<$crate::issuer::KeyInfo, $crate::issuer::IssuerError> {
                self.ring.import_key(base, material, spec)
            }
            fn rotate_key(
                &self,
                base: &str,
            ) -> Result<$crate::issuer::KeyInfo, $crate::issuer::IssuerError> {
                self.ring.rotate_key(base)
            }
            fn put_version(
                &self,
                id: &$crate::issuer::KeyId,
                key: $crate::issuer::StoredKey,
            ) -> Result<(), $crate::issuer::IssuerError> {
                self.ring.put_version(id, key)
            }
            fn destroy_version(
                &self,
                id: &$crate::issuer::KeyId,
            ) -> Result<(), $crate::issuer::IssuerError> {
                self.ring.destroy_version(id)
            }
            fn destroy_key(&self, base: &str) -> Result<(), $crate::issuer::IssuerError> {
                self.ring.destroy_key(base)
            }
            fn list_keys(&self) -> Result<Vec<String>, $crate::issuer::IssuerError> {
                self.ring.list_keys()
            }
            fn list_versions(
                &self,
                base: &str,
            ) -> Result<Vec<$crate::issuer::KeyInfo>, $crate::issuer::IssuerError> {
                self.ring.list_versions(base)
            }
            fn public_jwk(
                &self,
                id: &$crate::issuer::KeyId,
            ) -> Result<serde_json::Value, $crate::issuer::IssuerError> {
                self.ring.public_jwk(id)
            }
            fn signing_key(
                &self,
                id: &$crate::issuer::KeyId,
            ) -> Result<$crate::issuer::SigningKey, $crate::issuer::IssuerError> {
                self.ring.signing_key(id)
            }
            fn export_key(
                &self,
                id: &$crate::issuer::KeyId,
            ) -> Result<$crate::issuer::StoredKey, $crate::issuer::IssuerError> {
                self.ring.export_key(id)
            }
        }
    };
}
pub(crate) use delegate_key_store;

/// A key store in memory: keys live as long as the process.
#[derive(Debug)]
pub struct MemoryStore {
    ring: Keyring<NoPersist>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store timestamping keys with the system clock.
    #[must_use]
    pub fn new() -> Self {
        Self::with_clock(crate::clock::SystemClock)
    }

    /// An empty store timestamping keys with `clock` (share it with the signer in tests).
    #[must_use]
    pub fn with_clock(clock: impl Clock) -> Self {
        Self {
            ring: Keyring::new(BTreeMap::new(), SharedClock(Arc::new(clock)), NoPersist),
        }
    }
}

delegate_key_store!(MemoryStore);
