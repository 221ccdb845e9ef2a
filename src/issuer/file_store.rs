//! [`FileStore`]: keys in a directory, one owner-only JSON file per base kid, written
//! atomically.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::algorithms::Algorithm;
use serde_json::{Value, json};

use super::IssuerError;
use super::keys::{KeyMaterial, PublicKey, alg_name};
use super::kid::KeyId;
use super::kind::KeyKind;
use super::store::{ExportPolicy, KeyRecord, KeySpec, KeyStore, StoredKey, StoredMaterial};

const FORMAT: &str = "jwks-auth-keystore/1";

/// A key store in a directory that survives restarts.
///
/// - One file per base kid, `<base>.json`, holding every version (private keys as private
///   JWKs), mode `0600`, in a directory of mode `0700`. Files or a directory that other users
///   can read are refused at [`open`](Self::open) ([`IssuerError::InsecurePermissions`]), and
///   so are a directory or file that is a symbolic link or is owned by another user than the
///   process's effective user ([`IssuerError::UntrustedPath`]): a root service must not sign
///   with a key another user planted.
/// - The path is normalised before these checks (`keys/`, `keys/.` and `keys` are the same
///   directory, so a trailing `/` cannot hide a link), and made absolute. Symbolic links *on
///   the way* to the directory (its ancestors, and the links their targets pass through) are
///   followed only when owned by root or by the effective user, as system layouts have them
///   (macOS's `/tmp` and `/var`, FreeBSD's `/home`); one owned by another user is refused.
///   The store then uses the resolved path, free of links ([`dir`](Self::dir)).
/// - Every change is written to a temporary file in the same directory, synced, and renamed
///   over the old file, then the directory is synced: a crash leaves the old or the new file,
///   never a torn one. The change becomes visible only once it is on disk.
/// - A file that cannot be read as a key file fails [`open`](Self::open) with
///   [`IssuerError::Corrupt`]: the store never replaces a key it could not read with a new
///   one.
/// - Destroying a key keeps a small tombstone file (no key material) so that its version
///   numbers are never reissued.
///
/// Unix only. One process should own a directory: two processes writing the same base would
/// overwrite each other's versions. Use it through a [`KeyRing`](super::KeyRing).
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
    /// The records as on disk (loaded at open, replaced after each durable write).
    records: Mutex<BTreeMap<String, KeyRecord>>,
}

impl FileStore {
    /// Opens (creating it if needed, mode `0700`) the key directory and loads every key file.
    ///
    /// # Errors
    /// [`IssuerError::Corrupt`], [`IssuerError::InsecurePermissions`],
    /// [`IssuerError::UntrustedPath`], [`IssuerError::Io`].
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, IssuerError> {
        let dir = key_dir(dir.as_ref())?;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| IssuerError::io(&dir, &e))?;
        check_private(&dir)?;
        let mut records = BTreeMap::new();
        for item in fs::read_dir(&dir).map_err(|e| IssuerError::io(&dir, &e))? {
            let path = item.map_err(|e| IssuerError::io(&dir, &e))?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if name.starts_with('.') && name.ends_with(".tmp") {
                // A write interrupted before its rename: the old file is intact.
                let _ = fs::remove_file(&path);
                continue;
            }
            let Some(base) = name.strip_suffix(".json") else {
                continue;
            };
            check_private(&path)?;
            records.insert(base.to_owned(), load(&path, base)?);
        }
        Ok(Self {
            dir,
            records: Mutex::new(records),
        })
    }

    /// The key directory: the path given to [`open`](Self::open), absolute, with the links
    /// on the way to it resolved.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn records(&self) -> MutexGuard<'_, BTreeMap<String, KeyRecord>> {
        // Records are replaced by one insert: a poisoned map is still consistent.
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self, base: &str, record: &KeyRecord) -> Result<(), IssuerError> {
        let body = serde_json::to_vec_pretty(&to_json(base, record)?)
            .map_err(|e| IssuerError::Crypto(format!("cannot serialise key file: {e}")))?;
        let path = self.dir.join(format!("{base}.json"));
        let suffix = crate::encoding::hex(&super::kdf::random_bytes(6)?);
        let tmp = self.dir.join(format!(".{base}.{suffix}.tmp"));
        let written = (|| {
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            file.write_all(&body)?;
            file.sync_all()?;
            fs::rename(&tmp, &path)?;
            fs::File::open(&self.dir)?.sync_all()
        })();
        written.map_err(|e| {
            let _ = fs::remove_file(&tmp);
            IssuerError::io(&path, &e)
        })
    }
}

impl KeyStore for FileStore {
    fn load(&self, base: &str) -> Result<Option<KeyRecord>, IssuerError> {
        Ok(self.records().get(base).cloned())
    }

    fn save(&self, base: &str, record: &KeyRecord) -> Result<(), IssuerError> {
        // The base names a file: refuse anything but a valid base (no `/`, no `..`).
        KeyId::new(base, 1)?;
        let mut records = self.records();
        self.write(base, record)?;
        records.insert(base.to_owned(), record.clone());
        Ok(())
    }

    fn bases(&self) -> Result<Vec<String>, IssuerError> {
        Ok(self.records().keys().cloned().collect())
    }
}

/// Symbolic links followed on the way to a key directory, at most (as Linux's `ELOOP`).
const MAX_LINKS: u32 = 40;

/// `dir` absolute and normalised: its parent resolved as the OS would (checking each link
/// met, [`resolve`]), its last component kept as named, for [`check_private`] to refuse if it
/// is a link. `Path::components` drops `.` and trailing separators: `link/.` is `link`.
fn key_dir(dir: &Path) -> Result<PathBuf, IssuerError> {
    let absolute = std::path::absolute(dir).map_err(|e| IssuerError::io(dir, &e))?;
    let mut links = 0;
    match absolute.components().next_back() {
        Some(Component::Normal(name)) => {
            let parent = absolute.parent().unwrap_or(Path::new("/"));
            Ok(resolve(parent, &mut links)?.join(name))
        }
        // `/`, or a path ending in `..`: the directory is wherever the path resolves.
        _ => resolve(&absolute, &mut links),
    }
}

/// The real path of the absolute `path`, as the OS resolves it, refusing a symbolic link
/// owned by another user than root or the effective user (who could point it elsewhere).
/// `..` is applied to the resolved prefix, so it never leaves through a link lexically.
fn resolve(path: &Path, links: &mut u32) -> Result<PathBuf, IssuerError> {
    let mut real = PathBuf::new();
    for part in path.components() {
        match part {
            Component::Prefix(_) | Component::RootDir => real.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                real.pop();
            }
            Component::Normal(name) => {
                let next = real.join(name);
                match fs::symlink_metadata(&next) {
                    Ok(meta) if meta.file_type().is_symlink() => {
                        let euid = rustix::process::geteuid().as_raw();
                        let untrusted = |reason: String| IssuerError::UntrustedPath {
                            path: next.clone(),
                            reason,
                        };
                        if meta.uid() != 0 && meta.uid() != euid {
                            return Err(untrusted(format!(
                                "it is a symbolic link on the way to the key directory, owned \
                                 by uid {}: such links must be owned by root or the effective \
                                 user (uid {euid})",
                                meta.uid()
                            )));
                        }
                        *links += 1;
                        if *links > MAX_LINKS {
                            return Err(untrusted("too many symbolic links".into()));
                        }
                        let target =
                            fs::read_link(&next).map_err(|e| IssuerError::io(&next, &e))?;
                        // An absolute target replaces `real` in the join.
                        real = resolve(&real.join(target), links)?;
                    }
                    // A directory, or not there yet (`open` creates it, as a real directory).
                    _ => real = next,
                }
            }
        }
    }
    Ok(real)
}

/// Refuses a path another user could have planted or can read: a symbolic link, an owner
/// other than the effective user, or group/other permission bits. `symlink_metadata` looks at
/// the path itself, never at what a link points to.
fn check_private(path: &Path) -> Result<(), IssuerError> {
    let meta = fs::symlink_metadata(path).map_err(|e| IssuerError::io(path, &e))?;
    let untrusted = |reason: String| IssuerError::UntrustedPath {
        path: path.to_path_buf(),
        reason,
    };
    if meta.file_type().is_symlink() {
        return Err(untrusted("it is a symbolic link".into()));
    }
    let euid = rustix::process::geteuid().as_raw();
    if meta.uid() != euid {
        return Err(untrusted(format!(
            "it is owned by uid {}, not by the effective user (uid {euid})",
            meta.uid()
        )));
    }
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(IssuerError::InsecurePermissions {
            path: path.to_path_buf(),
            mode: mode & 0o7777,
        });
    }
    Ok(())
}

fn to_json(base: &str, entry: &KeyRecord) -> Result<Value, IssuerError> {
    let mut versions = Vec::new();
    for (version, key) in &entry.versions {
        let kid = KeyId::new(base, *version)?.to_string();
        let (private, jwk) = match &key.material {
            StoredMaterial::Private(m) => (true, m.to_private_jwk(&kid, key.spec.algorithm)?),
            StoredMaterial::Public(p) => (false, p.to_jwk(&kid, key.spec.algorithm)?),
        };
        versions.push(json!({
            "version": version,
            "kind": key.spec.kind.name(),
            "alg": alg_name(key.spec.algorithm),
            "export": match key.spec.export {
                ExportPolicy::SecretAllowed => "secret-allowed",
                _ => "public-only",
            },
            "created_at_ms": key.created_at_ms,
            "private": private,
            "jwk": jwk,
        }));
    }
    Ok(json!({
        "format": FORMAT,
        "base": base,
        "next_version": entry.next_version,
        "versions": versions,
    }))
}

fn load(path: &Path, base: &str) -> Result<KeyRecord, IssuerError> {
    let bytes = fs::read(path).map_err(|e| IssuerError::io(path, &e))?;
    let corrupt = |why: String| IssuerError::corrupt(path, why);
    let doc: Value =
        serde_json::from_slice(&bytes).map_err(|e| corrupt(format!("not JSON: {e}")))?;
    if doc["format"] != FORMAT {
        return Err(corrupt(format!("`format` is not \"{FORMAT}\"")));
    }
    if doc["base"] != base {
        return Err(corrupt("`base` does not match the file name".into()));
    }
    KeyId::new(base, 1).map_err(|e| corrupt(e.to_string()))?;
    let next_version = doc["next_version"]
        .as_u64()
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| corrupt("`next_version` is missing".into()))?;
    let list = doc["versions"]
        .as_array()
        .ok_or_else(|| corrupt("`versions` is not an array".into()))?;
    let mut versions = BTreeMap::new();
    for v in list {
        let (version, key) = load_version(v).map_err(|e| corrupt(e.to_string()))?;
        if version == 0 || version >= next_version || versions.insert(version, key).is_some() {
            return Err(corrupt(format!("version {version} is out of place")));
        }
    }
    Ok(KeyRecord {
        next_version,
        versions,
    })
}

fn load_version(v: &Value) -> Result<(u32, StoredKey), IssuerError> {
    let bad = |what: &str| IssuerError::InvalidKey(format!("version entry: {what}"));
    let version = v["version"]
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| bad("`version` missing"))?;
    let kind = v["kind"]
        .as_str()
        .and_then(KeyKind::from_name)
        .ok_or_else(|| bad("unknown `kind`"))?;
    let algorithm: Algorithm =
        serde_json::from_value(v["alg"].clone()).map_err(|_| bad("unknown `alg`"))?;
    let export = match v["export"].as_str() {
        Some("public-only") => ExportPolicy::PublicOnly,
        Some("secret-allowed") => ExportPolicy::SecretAllowed,
        _ => return Err(bad("unknown `export`")),
    };
    let created_at_ms = v["created_at_ms"]
        .as_i64()
        .ok_or_else(|| bad("`created_at_ms` missing"))?;
    let material = match v["private"].as_bool() {
        Some(true) => StoredMaterial::Private(KeyMaterial::from_jwk(&v["jwk"])?),
        Some(false) => StoredMaterial::Public(PublicKey::from_jwk(&v["jwk"])?),
        None => return Err(bad("`private` missing")),
    };
    let spec = KeySpec::new(kind)
        .algorithm(algorithm)
        .export_policy(export);
    Ok((version, StoredKey::new(spec, created_at_ms, material)?))
}
