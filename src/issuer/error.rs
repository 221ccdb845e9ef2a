//! [`IssuerError`]: what can go wrong when storing keys or minting tokens.

use std::fmt;
use std::path::PathBuf;

use crate::error::ConfigError;

/// Why a key-store operation, a mint or a signer setup failed.
///
/// Messages name the key id (never key material) and say what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IssuerError {
    /// A configuration mistake (bad builder settings).
    Config(ConfigError),
    /// No key or key version with this id.
    NotFound {
        /// The key id that was asked for (`base` or `base.version`).
        kid: String,
    },
    /// A key with this id exists already.
    AlreadyExists {
        /// The key id.
        kid: String,
    },
    /// The key id is not valid (see [`KeyId`](super::KeyId) for the syntax).
    InvalidKeyId {
        /// The rejected id.
        kid: String,
    },
    /// Key material that cannot be used: unparsable PEM or JWK, unsupported type or size, an
    /// algorithm that does not fit the key, mismatched public and private parts.
    InvalidKey(String),
    /// The key's [`ExportPolicy`](super::ExportPolicy) forbids handing out its secret.
    ExportRefused {
        /// The key id.
        kid: String,
    },
    /// The store only holds the public half of this key (e.g. a public-only mirror), so it
    /// cannot sign.
    NoPrivateKey {
        /// The key id.
        kid: String,
    },
    /// An HMAC key has no public half to publish.
    NoPublicKey {
        /// The key id.
        kid: String,
    },
    /// A key file exists but cannot be read as a key file. Nothing was replaced: fix or remove
    /// the file.
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A key file or directory is readable or writable by other users.
    InsecurePermissions {
        /// The file or directory.
        path: PathBuf,
        /// Its Unix mode bits.
        mode: u32,
    },
    /// A key file or directory is not safe to trust whatever its mode: a symbolic link, or
    /// owned by another user than the process's effective user (who could have planted the
    /// key).
    UntrustedPath {
        /// The file or directory.
        path: PathBuf,
        /// Why it is refused.
        reason: String,
    },
    /// A [`MirroredStore`](super::MirroredStore) destroyed versions in its primary but could
    /// not update its secondary. The primary's tombstone wins in the mirrored store's reads,
    /// but the secondary, read on its own, still holds the key: remove it there.
    MirrorIncomplete {
        /// The base kid.
        base: String,
        /// The secondary's error.
        reason: String,
    },
    /// An I/O error on a key file or directory.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error kind.
        kind: std::io::ErrorKind,
        /// The I/O error message.
        message: String,
    },
    /// The crypto backend failed (key generation, random bytes, HKDF).
    Crypto(String),
    /// A mint request the signer refuses (reserved claim, lifetime beyond the retention rule).
    Mint(String),
}

impl IssuerError {
    pub(crate) fn not_found(kid: impl fmt::Display) -> Self {
        Self::NotFound {
            kid: kid.to_string(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, err: &std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            kind: err.kind(),
            message: err.to_string(),
        }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Self::Corrupt {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

impl From<ConfigError> for IssuerError {
    fn from(e: ConfigError) -> Self {
        Self::Config(e)
    }
}

impl fmt::Display for IssuerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(e) => e.fmt(f),
            Self::NotFound { kid } => write!(f, "no key `{kid}` in the key store"),
            Self::AlreadyExists { kid } => write!(f, "key `{kid}` already exists"),
            Self::InvalidKeyId { kid } => write!(
                f,
                "invalid key id `{}`: a base kid is 1-64 characters of A-Z a-z 0-9 _ -, \
                 optionally followed by `.version`",
                kid.escape_debug()
            ),
            Self::InvalidKey(why) => write!(f, "unusable key material: {why}"),
            Self::ExportRefused { kid } => {
                write!(
                    f,
                    "the export policy of key `{kid}` forbids exporting its secret"
                )
            }
            Self::NoPrivateKey { kid } => {
                write!(f, "the store holds only the public half of key `{kid}`")
            }
            Self::NoPublicKey { kid } => {
                write!(
                    f,
                    "key `{kid}` is symmetric (HMAC): it has no public key to publish"
                )
            }
            Self::Corrupt { path, reason } => write!(
                f,
                "key file {} is corrupt ({reason}); nothing was replaced: restore or remove it",
                path.display()
            ),
            Self::InsecurePermissions { path, mode } => write!(
                f,
                "{} has mode {mode:o}: other users may read it; make it owner-only \
                 (chmod 600 for files, 700 for the directory)",
                path.display()
            ),
            Self::UntrustedPath { path, reason } => write!(
                f,
                "{} is refused: {reason}; the key directory and its files must be real files \
                 (not symbolic links) owned by the user running the service",
                path.display()
            ),
            Self::MirrorIncomplete { base, reason } => write!(
                f,
                "key `{base}` was destroyed in the primary store, but the secondary could not be \
                 updated ({reason}): the mirrored store ignores its copy, yet the secondary read \
                 alone still holds it; destroy it there too"
            ),
            Self::Io { path, message, .. } => {
                write!(f, "key store I/O error on {}: {message}", path.display())
            }
            Self::Crypto(why) => write!(f, "crypto backend failure: {why}"),
            Self::Mint(why) => write!(f, "mint refused: {why}"),
        }
    }
}

impl std::error::Error for IssuerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Config(e) => Some(e),
            _ => None,
        }
    }
}
