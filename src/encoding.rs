//! The crate's one copy of each small encoding helper: base64url, hex, PEM and the `ETag`
//! of a document. Each is a thin name over a well-kept crate, so that every module encodes
//! the same way.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Unpadded base64url (RFC 4648 section 5), as JOSE uses it.
pub(crate) fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes unpadded base64url; `None` for anything else (padding included).
pub(crate) fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    base16ct::lower::encode_string(bytes)
}

/// A strong `ETag` for a body: the quoted hex of the first 16 bytes of its SHA-256.
pub(crate) fn etag(body: &[u8]) -> String {
    format!("\"{}\"", hex(&Sha256::digest(body)[..16]))
}

/// A PEM document (RFC 7468): `label` around the base64 of `der`, 64 columns, `\n` endings.
// Only the mock identity provider writes PEM so far.
#[cfg(feature = "testing")]
pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    // Only a label with characters RFC 7468 forbids fails; ours are constants.
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_match_their_rfcs() {
        assert_eq!(b64url(&[0xfb, 0xff]), "-_8");
        assert_eq!(b64url_decode("-_8"), Some(vec![0xfb, 0xff]));
        assert_eq!(b64url_decode("-_8="), None);
        assert_eq!(hex(&[0x00, 0xab]), "00ab");
        assert_eq!(etag(b""), "\"e3b0c44298fc1c149afbf4c8996fb924\"");
        #[cfg(feature = "testing")]
        {
            let pem = pem("X", &[0u8; 60]);
            assert_eq!(pem.lines().count(), 4);
            assert!(pem.starts_with("-----BEGIN X-----\nAAAA"));
        }
    }
}
