//! [`Jwk`]: the one JSON Web Key reader of the crate (RFC 7517), with RFC 7638 thumbprints.
//!
//! The verifier reads every key of a key set through it. It keeps the public members, typed,
//! and only the *presence* of private ones (their values are never held), so that a key
//! published with private material can be refused and nothing secret can be served back.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};

/// A JSON Web Key's public members (RFC 7517 section 4, RFC 7518 section 6, RFC 8037).
///
/// Deserialize it from a JWK object; unknown members are ignored. Serializing it writes only
/// the public members below: private members (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`, and `k`)
/// are recorded as present or not, never kept, never written.
///
/// ```
/// use jwks_auth::jwk::Jwk;
/// let jwk: Jwk = serde_json::from_str(r#"{"kty":"OKP","crv":"Ed25519","kid":"a",
///     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#)?;
/// assert_eq!(jwk.kid.as_deref(), Some("a"));
/// assert_eq!(jwk.private_member(), None);
/// assert_eq!(jwk.thumbprint_sha256().as_deref(), Some("kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Jwk {
    /// Key type: `RSA`, `EC`, `OKP` or `oct`.
    pub kty: String,
    /// Intended use: `sig` or `enc`.
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// Permitted operations (`verify`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_ops: Option<Vec<String>>,
    /// The algorithm the key is meant for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// X.509 URL (never fetched by this crate).
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub x5u: Option<String>,
    /// X.509 certificate chain (never read by this crate).
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub x5c: Option<Vec<String>>,
    /// X.509 SHA-1 thumbprint.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub x5t: Option<String>,
    /// X.509 SHA-256 thumbprint.
    #[serde(
        default,
        rename = "x5t#S256",
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub x5t_s256: Option<String>,
    /// Curve (`EC`: `P-256`, `P-384`; `OKP`: `Ed25519`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// RSA modulus (base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent (base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// EC or OKP x coordinate / public key (base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC y coordinate (base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    // Private members (RFC 7518 sections 6.2.2, 6.3.2 and 6.4; RFC 8037): presence only.
    #[serde(default, skip_serializing)]
    d: Present,
    #[serde(default, skip_serializing)]
    p: Present,
    #[serde(default, skip_serializing)]
    q: Present,
    #[serde(default, skip_serializing)]
    dp: Present,
    #[serde(default, skip_serializing)]
    dq: Present,
    #[serde(default, skip_serializing)]
    qi: Present,
    #[serde(default, skip_serializing)]
    oth: Present,
    #[serde(default, skip_serializing)]
    k: Present,
}

/// Whether a member was present; its value is read and dropped, never kept.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct Present(bool);

impl<'de> Deserialize<'de> for Present {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| Self(true))
    }
}

/// Members this crate never reads are taken when well-formed and dropped otherwise, so that
/// a key with, say, a malformed `x5c` verifies as it did before the members were typed.
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(value).ok())
}

impl Jwk {
    /// The first private member the key carries, if any: `d`, `p`, `q`, `dp`, `dq`, `qi`,
    /// `oth`, or `k` on a key that is not `oct` (for `oct`, `k` is the key itself).
    ///
    /// A key set that publishes one leaks a secret; the verifier skips such a key.
    #[must_use]
    pub fn private_member(&self) -> Option<&'static str> {
        let m = self;
        [
            (m.d, "d"),
            (m.p, "p"),
            (m.q, "q"),
            (m.dp, "dp"),
            (m.dq, "dq"),
            (m.qi, "qi"),
            (m.oth, "oth"),
            (Present(m.k.0 && self.kty != "oct"), "k"),
        ]
        .into_iter()
        .find_map(|(present, name)| present.0.then_some(name))
    }

    /// The RFC 7638 JWK thumbprint with SHA-256, base64url without padding: the hash of the
    /// required members in lexicographic order (RSA: `e`, `kty`, `n`; EC: `crv`, `kty`, `x`,
    /// `y`; OKP: `crv`, `kty`, `x`), written as JSON without whitespace.
    ///
    /// `None` when a required member is missing, or for `oct` keys (whose required member,
    /// `k`, is secret and never kept) and unknown key types.
    #[must_use]
    pub fn thumbprint_sha256(&self) -> Option<String> {
        // Structs rather than a map: their fields serialize in declaration order, which is
        // the lexicographic order RFC 7638 section 3.2 requires.
        #[derive(Serialize)]
        struct Rsa<'a> {
            e: &'a str,
            kty: &'a str,
            n: &'a str,
        }
        #[derive(Serialize)]
        struct Ec<'a> {
            crv: &'a str,
            kty: &'a str,
            x: &'a str,
            y: &'a str,
        }
        #[derive(Serialize)]
        struct Okp<'a> {
            crv: &'a str,
            kty: &'a str,
            x: &'a str,
        }
        let kty = self.kty.as_str();
        let json = match kty {
            "RSA" => serde_json::to_vec(&Rsa {
                e: self.e.as_deref()?,
                kty,
                n: self.n.as_deref()?,
            }),
            "EC" => serde_json::to_vec(&Ec {
                crv: self.crv.as_deref()?,
                kty,
                x: self.x.as_deref()?,
                y: self.y.as_deref()?,
            }),
            "OKP" => serde_json::to_vec(&Okp {
                crv: self.crv.as_deref()?,
                kty,
                x: self.x.as_deref()?,
            }),
            _ => return None,
        }
        .ok()?;
        Some(URL_SAFE_NO_PAD.encode(Sha256::digest(json)))
    }
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwk")
            .field("kty", &self.kty)
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("crv", &self.crv)
            .field("private_member", &self.private_member())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7638 section 3.1's example key and its thumbprint.
    #[test]
    fn rfc7638_example_thumbprint() {
        let jwk: Jwk = serde_json::from_str(
            r#"{"kty":"RSA",
      "n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
      "e":"AQAB",
      "alg":"RS256",
      "kid":"2011-04-29"}"#,
        )
        .expect("the RFC's JWK");
        assert_eq!(
            jwk.thumbprint_sha256().as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }

    #[test]
    fn thumbprint_needs_the_required_members() {
        let no_e: Jwk = serde_json::from_str(r#"{"kty":"RSA","n":"AQAB"}"#).unwrap();
        assert_eq!(no_e.thumbprint_sha256(), None);
        let oct: Jwk = serde_json::from_str(r#"{"kty":"oct","k":"c2VjcmV0"}"#).unwrap();
        assert_eq!(oct.thumbprint_sha256(), None);
        assert_eq!(oct.private_member(), None, "k is an oct key's own member");
    }

    #[test]
    fn private_members_are_seen_and_never_written() {
        for member in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
            let text = format!(r#"{{"kty":"RSA","n":"AQAB","e":"AQAB","{member}":"c2VjcmV0"}}"#);
            let jwk: Jwk = serde_json::from_str(&text).unwrap();
            assert_eq!(jwk.private_member(), Some(member));
            let written = serde_json::to_string(&jwk).unwrap();
            assert_eq!(written, r#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#);
            assert!(!format!("{jwk:?}").contains("c2VjcmV0"));
        }
    }

    #[test]
    fn unread_x509_members_are_lenient() {
        let jwk: Jwk =
            serde_json::from_str(r#"{"kty":"EC","x5c":"not an array","x5t":"dGh1bWI"}"#).unwrap();
        assert_eq!(jwk.x5c, None);
        assert_eq!(jwk.x5t.as_deref(), Some("dGh1bWI"));
    }
}
