//! Stateless DPoP server nonces (RFC 9449 section 9): an HMAC of the current time window under
//! a configured secret, so every replica sharing the secret issues and accepts the same nonces
//! without shared state.
//!
//! A nonce is `base64url(window || HMAC-SHA-256(secret, label || window)[..16])`, with `window`
//! the 8-byte big-endian number of `lifetime`-long periods since the epoch. A nonce of the
//! current or the previous window is accepted: one lives between one and two lifetimes.

use std::fmt;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Binds the MAC to this use of the secret.
const LABEL: &[u8] = b"jwks-auth DPoP nonce v1\0";
/// Bytes of the MAC kept (128 bits).
const TAG_LEN: usize = 16;
/// Shortest secret accepted (256 bits).
pub(crate) const MIN_SECRET_LEN: usize = 32;

#[derive(Clone)]
pub(crate) struct NonceIssuer {
    mac: Hmac<Sha256>,
    lifetime_ms: i64,
}

impl NonceIssuer {
    /// `secret` is at least [`MIN_SECRET_LEN`] bytes and `lifetime` at least a second (the
    /// builder checks both).
    pub(crate) fn new(secret: &[u8], lifetime: Duration) -> Self {
        Self {
            mac: Hmac::new_from_slice(secret).expect("HMAC accepts keys of any length"),
            lifetime_ms: i64::try_from(lifetime.as_millis())
                .unwrap_or(i64::MAX)
                .max(1),
        }
    }

    fn window(&self, now_ms: i64) -> i64 {
        now_ms.div_euclid(self.lifetime_ms)
    }

    fn tagged(&self, window: i64) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        mac.update(LABEL);
        mac.update(&window.to_be_bytes());
        mac
    }

    /// The nonce to hand out at `now_ms`.
    pub(crate) fn issue(&self, now_ms: i64) -> String {
        let window = self.window(now_ms);
        let tag = self.tagged(window).finalize().into_bytes();
        let mut raw = [0; 8 + TAG_LEN];
        raw[..8].copy_from_slice(&window.to_be_bytes());
        raw[8..].copy_from_slice(&tag[..TAG_LEN]);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Whether `nonce` was issued by this secret in the current or the previous window.
    pub(crate) fn accepts(&self, nonce: &str, now_ms: i64) -> bool {
        let mut raw = [0; 8 + TAG_LEN];
        if nonce.len() != 32 || URL_SAFE_NO_PAD.decode_slice(nonce, &mut raw) != Ok(raw.len()) {
            return false;
        }
        let window = i64::from_be_bytes(raw[..8].try_into().unwrap_or_default());
        let current = self.window(now_ms);
        if window != current && window != current.saturating_sub(1) {
            return false;
        }
        // Constant-time comparison of the truncated tag.
        self.tagged(window).verify_truncated_left(&raw[8..]).is_ok()
    }
}

impl fmt::Debug for NonceIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NonceIssuer")
            .field("lifetime_ms", &self.lifetime_ms)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_live_one_to_two_windows_and_need_the_secret() {
        let issuer = NonceIssuer::new(&[7; 32], Duration::from_secs(60));
        let other = NonceIssuer::new(&[8; 32], Duration::from_secs(60));
        let nonce = issuer.issue(120_000);
        assert_eq!(nonce.len(), 32);
        assert!(issuer.accepts(&nonce, 120_000));
        assert!(issuer.accepts(&nonce, 239_999), "previous window");
        assert!(!issuer.accepts(&nonce, 240_000), "two windows later");
        assert!(!issuer.accepts(&nonce, 119_999), "from the future");
        assert!(!other.accepts(&nonce, 120_000), "another secret");
        let replica = NonceIssuer::new(&[7; 32], Duration::from_secs(60));
        assert!(replica.accepts(&nonce, 150_000), "replicas agree");
        let mut tampered = nonce.clone().into_bytes();
        tampered[31] = if tampered[31] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(!issuer.accepts(&tampered, 120_000));
        for bad in [
            "",
            "short",
            &format!("{nonce}A"),
            "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
        ] {
            assert!(!issuer.accepts(bad, 120_000), "{bad}");
        }
    }
}
