//! Secure random bytes and HKDF (RFC 5869), from aws-lc-rs (no extra dependency).

use aws_lc_rs::hkdf;

use super::IssuerError;

/// The hash HKDF runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum HkdfHash {
    /// HKDF-SHA-256 (the default).
    #[default]
    Sha256,
    /// HKDF-SHA-384.
    Sha384,
    /// HKDF-SHA-512.
    Sha512,
}

impl HkdfHash {
    fn algorithm(self) -> hkdf::Algorithm {
        match self {
            Self::Sha256 => hkdf::HKDF_SHA256,
            Self::Sha384 => hkdf::HKDF_SHA384,
            Self::Sha512 => hkdf::HKDF_SHA512,
        }
    }

    /// The longest output HKDF can produce: 255 hash lengths.
    #[must_use]
    pub fn max_output_len(self) -> usize {
        255 * match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }
}

/// `len` bytes from the operating system's cryptographically secure generator.
///
/// # Errors
/// [`IssuerError::Crypto`] if the generator fails.
pub fn random_bytes(len: usize) -> Result<Vec<u8>, IssuerError> {
    let mut out = vec![0u8; len];
    aws_lc_rs::rand::fill(&mut out)
        .map_err(|_| IssuerError::Crypto("the random generator failed".into()))?;
    Ok(out)
}

struct OutputLen(usize);

impl hkdf::KeyType for OutputLen {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF extract-and-expand: `len` bytes derived from the input keying material `ikm`, with
/// an optional `salt` (empty means none) and the context `info`.
///
/// ```
/// use jwks_auth::issuer::{HkdfHash, hkdf};
/// // RFC 5869, test case 1
/// let ikm = [0x0b; 22];
/// let salt: Vec<u8> = (0x00..=0x0c).collect();
/// let info: Vec<u8> = (0xf0..=0xf9).collect();
/// let okm = hkdf(HkdfHash::Sha256, &ikm, &salt, &info, 42)?;
/// assert_eq!(&okm[..4], &[0x3c, 0xb2, 0x5f, 0x25]);
/// # Ok::<(), jwks_auth::issuer::IssuerError>(())
/// ```
///
/// # Errors
/// [`IssuerError::Crypto`] when `len` is 0 or above [`HkdfHash::max_output_len`].
pub fn hkdf(
    hash: HkdfHash,
    ikm: &[u8],
    salt: &[u8],
    info: &[u8],
    len: usize,
) -> Result<Vec<u8>, IssuerError> {
    if len == 0 || len > hash.max_output_len() {
        return Err(IssuerError::Crypto(format!(
            "HKDF output length must be 1..={} bytes, not {len}",
            hash.max_output_len()
        )));
    }
    let prk = hkdf::Salt::new(hash.algorithm(), salt).extract(ikm);
    let info = [info];
    let okm = prk
        .expand(&info, OutputLen(len))
        .map_err(|_| IssuerError::Crypto("HKDF expand failed".into()))?;
    let mut out = vec![0u8; len];
    okm.fill(&mut out)
        .map_err(|_| IssuerError::Crypto("HKDF expand failed".into()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hkdf_matches_rfc5869_case_1() {
        let ikm = [0x0b; 22];
        let salt: Vec<u8> = (0x00..=0x0c).collect();
        let info: Vec<u8> = (0xf0..=0xf9).collect();
        let okm = hkdf(HkdfHash::Sha256, &ikm, &salt, &info, 42).unwrap();
        let expected = "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf\
                        34007208d5b887185865";
        assert_eq!(crate::encoding::hex(&okm), expected);
    }

    #[test]
    fn hkdf_refuses_bad_lengths() {
        assert!(matches!(
            hkdf(HkdfHash::Sha256, b"k", b"", b"", 0),
            Err(IssuerError::Crypto(_))
        ));
        assert!(hkdf(HkdfHash::Sha256, b"k", b"", b"", 255 * 32).is_ok());
        assert!(matches!(
            hkdf(HkdfHash::Sha256, b"k", b"", b"", 255 * 32 + 1),
            Err(IssuerError::Crypto(_))
        ));
    }

    #[test]
    fn random_bytes_differ() {
        let a = random_bytes(32).unwrap();
        assert_eq!(a.len(), 32);
        assert_ne!(a, random_bytes(32).unwrap());
    }
}
