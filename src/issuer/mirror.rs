//! [`MirroredStore`]: a primary key store mirrored best-effort to a secondary, with read
//! failover.

use std::sync::Arc;

use serde_json::{Value, json};

use super::IssuerError;
use super::keys::PublicKey;
use super::signing::SigningKey;
use super::source::{keys_of, union};
use super::store::{KeyId, KeyInfo, KeySpec, KeyStore, StoredKey, StoredMaterial};

/// What a [`MirroredStore`] copies to its secondary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum MirrorMode {
    /// Public keys only (the default): the secondary can publish and verify, not sign. HMAC
    /// keys, having no public half, are not copied.
    #[default]
    PublicOnly,
    /// The secret too, when the key's [`ExportPolicy`](super::ExportPolicy) allows it;
    /// otherwise the public key only.
    Full,
    /// Nothing: the secondary is only read from when the primary fails.
    None,
}

/// Two key stores used as one: the primary is the system of record, the secondary a mirror.
///
/// - Writes (create, import, rotate, put, destroy) go to the primary; when it succeeds, the
///   change is copied to the secondary according to the [`MirrorMode`]. A mirroring failure
///   is logged, never returned: the primary's write stands.
/// - Reads come from the primary and, when it fails (an I/O error, or a version it no longer
///   has), from the secondary ([`fail_open_reads`](Self::fail_open_reads), on by default).
///   When both fail, the primary's error is returned.
/// - [`jwks`](KeyStore::jwks) is the union of both sets, the primary winning on `kid`.
///
/// Mirrored versions keep their kid (`base.version`) in the secondary, so a token verifies
/// the same against either store.
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

    /// Whether reads fall back to the secondary when the primary fails (default `true`).
    #[must_use]
    pub fn fail_open_reads(mut self, fail_open: bool) -> Self {
        self.fail_open = fail_open;
        self
    }

    fn read<T>(
        &self,
        what: &str,
        f: impl Fn(&dyn KeyStore) -> Result<T, IssuerError>,
    ) -> Result<T, IssuerError> {
        match f(&*self.primary) {
            Ok(v) => Ok(v),
            Err(e) if self.fail_open => {
                tracing::warn!(error = %e, "jwks-auth: primary key store failed ({what}); reading the secondary");
                f(&*self.secondary).map_err(|_| e)
            }
            Err(e) => Err(e),
        }
    }

    /// Copies one version of the primary to the secondary, per the mirror mode.
    fn mirror(&self, id: &KeyId) {
        let copied = match self.mode {
            MirrorMode::None => return,
            MirrorMode::PublicOnly => self.copy_public(id),
            MirrorMode::Full => match self.primary.export_key(id) {
                Ok(key) => self.secondary.put_version(id, key),
                Err(IssuerError::ExportRefused { .. } | IssuerError::NoPrivateKey { .. }) => {
                    self.copy_public(id)
                }
                Err(e) => Err(e),
            },
        };
        if let Err(e) = copied {
            tracing::warn!(kid = %id, error = %e, "jwks-auth: mirroring to the secondary key store failed");
        }
    }

    fn copy_public(&self, id: &KeyId) -> Result<(), IssuerError> {
        let info = self
            .primary
            .list_versions(id.base())?
            .into_iter()
            .find(|i| &i.id == id)
            .ok_or_else(|| IssuerError::not_found(id))?;
        if info.spec.kind.is_symmetric() {
            return Ok(()); // nothing public to copy
        }
        let public = PublicKey::from_jwk(&self.primary.public_jwk(id)?)?;
        let key = StoredKey::new(
            info.spec,
            info.created_at_ms,
            StoredMaterial::Public(public),
        )?;
        self.secondary.put_version(id, key)
    }

    fn mirror_destroy(&self, destroyed: Result<(), IssuerError>) {
        match destroyed {
            Ok(()) | Err(IssuerError::NotFound { .. }) => {}
            Err(e) => {
                tracing::warn!(error = %e, "jwks-auth: destroying in the secondary key store failed");
            }
        }
    }
}

impl KeyStore for MirroredStore {
    fn create_key(&self, base: Option<&str>, spec: &KeySpec) -> Result<KeyInfo, IssuerError> {
        let info = self.primary.create_key(base, spec)?;
        self.mirror(&info.id);
        Ok(info)
    }

    fn import_key(
        &self,
        base: Option<&str>,
        material: StoredMaterial,
        spec: &KeySpec,
    ) -> Result<KeyInfo, IssuerError> {
        let info = self.primary.import_key(base, material, spec)?;
        self.mirror(&info.id);
        Ok(info)
    }

    fn rotate_key(&self, base: &str) -> Result<KeyInfo, IssuerError> {
        let info = self.primary.rotate_key(base)?;
        self.mirror(&info.id);
        Ok(info)
    }

    fn put_version(&self, id: &KeyId, key: StoredKey) -> Result<(), IssuerError> {
        self.primary.put_version(id, key)?;
        self.mirror(id);
        Ok(())
    }

    fn destroy_version(&self, id: &KeyId) -> Result<(), IssuerError> {
        self.primary.destroy_version(id)?;
        if self.mode != MirrorMode::None {
            self.mirror_destroy(self.secondary.destroy_version(id));
        }
        Ok(())
    }

    fn destroy_key(&self, base: &str) -> Result<(), IssuerError> {
        self.primary.destroy_key(base)?;
        if self.mode != MirrorMode::None {
            self.mirror_destroy(self.secondary.destroy_key(base));
        }
        Ok(())
    }

    fn list_keys(&self) -> Result<Vec<String>, IssuerError> {
        self.read("list_keys", |s| s.list_keys())
    }

    fn list_versions(&self, base: &str) -> Result<Vec<KeyInfo>, IssuerError> {
        self.read("list_versions", |s| s.list_versions(base))
    }

    fn public_jwk(&self, id: &KeyId) -> Result<Value, IssuerError> {
        self.read("public_jwk", |s| s.public_jwk(id))
    }

    fn signing_key(&self, id: &KeyId) -> Result<SigningKey, IssuerError> {
        self.read("signing_key", |s| s.signing_key(id))
    }

    fn export_key(&self, id: &KeyId) -> Result<StoredKey, IssuerError> {
        self.read("export_key", |s| s.export_key(id))
    }

    fn resolve(&self, kid: &str) -> Result<KeyInfo, IssuerError> {
        self.read("resolve", |s| s.resolve(kid))
    }

    fn jwks(&self) -> Result<Value, IssuerError> {
        let primary = self.primary.jwks();
        let secondary = self.secondary.jwks();
        match (primary, secondary) {
            (Ok(p), Ok(s)) => Ok(json!({ "keys": union(keys_of(&p), keys_of(&s)) })),
            (Ok(p), Err(e)) => {
                tracing::warn!(error = %e, "jwks-auth: secondary key store failed (jwks)");
                Ok(p)
            }
            (Err(e), Ok(s)) if self.fail_open => {
                tracing::warn!(error = %e, "jwks-auth: primary key store failed (jwks); serving the secondary's keys");
                Ok(s)
            }
            (Err(e), _) => Err(e),
        }
    }
}
