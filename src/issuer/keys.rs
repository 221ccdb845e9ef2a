//! Key material: generation (aws-lc-rs), import (PEM, JWK), public and private JWK export.

use std::fmt;

use aws_lc_rs::encoding::AsBigEndian;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde_json::{Map, Value, json};

use super::IssuerError;
use super::der;
use super::kind::KeyKind;
use super::raw_signer::RawSigner;
use crate::algorithms::Algorithm;

/// The public half of an asymmetric key, as its JWK members (`kty`, `n`/`e`, `crv`/`x`/`y`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    kind: KeyKind,
    members: Map<String, Value>,
}

impl PublicKey {
    /// Reads a public JWK (extra members such as `kid`, `alg`, `use` are ignored). A JWK with
    /// private members (`d`, `p`, `k`, ...) is refused: import it with
    /// [`KeyMaterial::from_jwk`] instead.
    ///
    /// # Errors
    /// [`IssuerError::InvalidKey`] naming the problem.
    pub fn from_jwk(jwk: &Value) -> Result<Self, IssuerError> {
        let obj = jwk
            .as_object()
            .ok_or_else(|| invalid("a JWK must be a JSON object"))?;
        if ["d", "p", "q", "dp", "dq", "qi", "k"]
            .iter()
            .any(|m| obj.contains_key(*m))
        {
            return Err(invalid("a public JWK must not carry private members"));
        }
        let text = |m: &str| obj.get(m).and_then(Value::as_str);
        let bytes = |m: &str| member_bytes(obj, m);
        let kind = match (text("kty"), text("crv")) {
            (Some("RSA"), _) => {
                let n = bytes("n")?;
                bytes("e")?;
                rsa_kind(n.len() * 8)?
            }
            (Some("EC"), Some("P-256")) => KeyKind::EcP256,
            (Some("EC"), Some("P-384")) => KeyKind::EcP384,
            (Some("EC"), Some("P-521")) => KeyKind::EcP521,
            (Some("OKP"), Some("Ed25519")) => KeyKind::Ed25519,
            (Some("oct"), _) => return Err(invalid("an `oct` key has no public half")),
            _ => return Err(invalid("unsupported kty/crv")),
        };
        let members = match kind.ec() {
            Some((_, crv, len)) => {
                let (x, y) = (bytes("x")?, bytes("y")?);
                if x.len() != len || y.len() != len {
                    return Err(invalid("EC coordinates have the wrong length"));
                }
                json_map(json!({"kty": "EC", "crv": crv, "x": b64(&x), "y": b64(&y)}))
            }
            None if kind == KeyKind::Ed25519 => {
                let x = bytes("x")?;
                if x.len() != 32 {
                    return Err(invalid("an Ed25519 public key is 32 bytes"));
                }
                json_map(json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&x)}))
            }
            None => {
                let (n, e) = (bytes("n")?, bytes("e")?);
                json_map(json!({"kty": "RSA", "n": b64(&n), "e": b64(&e)}))
            }
        };
        let key = Self { kind, members };
        key.decoding_key()?; // the backend must accept it
        if kind == KeyKind::EcP521 {
            // jsonwebtoken has no P-521: aws-lc-rs checks the point is on the curve.
            aws_lc_rs::signature::ParsedPublicKey::new(
                &aws_lc_rs::signature::ECDSA_P521_SHA512_FIXED,
                public_point(&key),
            )
            .map_err(|e| invalid(format!("P-521 public key rejected: {e}")))?;
        }
        Ok(key)
    }

    /// The key's kind.
    #[must_use]
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The public JWK for `kid`, pinned to `alg`, with `use: sig`.
    ///
    /// # Errors
    /// [`IssuerError::InvalidKey`] when `alg` does not fit the key.
    pub fn to_jwk(&self, kid: &str, alg: Algorithm) -> Result<Value, IssuerError> {
        if !self.kind.supports(alg) {
            return Err(invalid(format!("{alg:?} does not fit a {} key", self.kind)));
        }
        let mut jwk = self.members.clone();
        jwk.insert("kid".into(), kid.into());
        jwk.insert("alg".into(), alg_name(alg).into());
        jwk.insert("use".into(), "sig".into());
        Ok(Value::Object(jwk))
    }

    /// A jsonwebtoken verification key. jsonwebtoken cannot verify ES512, so for a P-521 key
    /// this only carries the point; the crate's verifier checks ES512 itself.
    ///
    /// # Errors
    /// [`IssuerError::InvalidKey`] if the backend refuses the key.
    pub fn decoding_key(&self) -> Result<DecodingKey, IssuerError> {
        let s = |m: &str| self.members.get(m).and_then(Value::as_str).unwrap_or("");
        let key = match self.members.get("kty").and_then(Value::as_str) {
            Some("RSA") => DecodingKey::from_rsa_components(s("n"), s("e")),
            Some("EC") => DecodingKey::from_ec_components(s("x"), s("y")),
            _ => DecodingKey::from_ed_components(s("x")),
        };
        key.map_err(|e| invalid(format!("the crypto backend refused the public key: {e}")))
    }
}

/// A private key (or HMAC secret) and its public half, ready to sign.
///
/// Its `Debug` output shows only the kind. Reusable outside the stores, e.g. by a test
/// identity provider: [`generate`](Self::generate), [`to_public_jwk`](Self::to_public_jwk),
/// [`encoding_key`](Self::encoding_key).
#[derive(Clone)]
pub struct KeyMaterial {
    kind: KeyKind,
    /// RSA: PKCS#1 DER; EC and Ed25519: PKCS#8 DER; HMAC: the raw secret.
    secret: Vec<u8>,
    public: Option<PublicKey>,
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyMaterial")
            .field("kind", &self.kind)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl KeyMaterial {
    /// Generates a new key with the system's secure random generator (aws-lc-rs).
    ///
    /// # Errors
    /// [`IssuerError::Crypto`] if the backend fails.
    pub fn generate(kind: KeyKind) -> Result<Self, IssuerError> {
        let crypto = |what: &str| IssuerError::Crypto(format!("cannot generate {what}"));
        if let Some(bits) = kind.rsa_bits() {
            let size = match bits {
                2048 => KeySize::Rsa2048,
                3072 => KeySize::Rsa3072,
                _ => KeySize::Rsa4096,
            };
            let pair = RsaKeyPair::generate(size).map_err(|_| crypto("an RSA key"))?;
            let pkcs8 = pair.as_der().map_err(|_| crypto("an RSA key"))?;
            let pkcs1 = der::pkcs8_to_pkcs1(pkcs8.as_ref()).ok_or_else(|| crypto("PKCS#1"))?;
            return Self::from_secret_der(kind, pkcs1);
        }
        if let Some((alg, ..)) = kind.ec() {
            let pair = EcdsaKeyPair::generate(alg).map_err(|_| crypto("an EC key"))?;
            let pkcs8 = pair.to_pkcs8v1().map_err(|_| crypto("an EC key"))?;
            return Self::from_secret_der(kind, pkcs8.as_ref().to_vec());
        }
        if let Some(len) = kind.hmac_len() {
            return Self::hmac(kind, &super::kdf::random_bytes(len)?);
        }
        let pair = Ed25519KeyPair::generate().map_err(|_| crypto("an Ed25519 key"))?;
        let pkcs8 = pair.to_pkcs8().map_err(|_| crypto("an Ed25519 key"))?;
        Self::from_secret_der(kind, pkcs8.as_ref().to_vec())
    }

    /// An HMAC secret of `kind` (at least as long as its hash: 32, 48 or 64 bytes).
    ///
    /// # Errors
    /// [`IssuerError::InvalidKey`] for a non-HMAC kind or a short secret.
    pub fn hmac(kind: KeyKind, secret: &[u8]) -> Result<Self, IssuerError> {
        let min = kind
            .hmac_len()
            .ok_or_else(|| invalid(format!("{kind} is not an HMAC kind")))?;
        if secret.len() < min {
            return Err(invalid(format!(
                "a {kind} secret needs at least {min} bytes"
            )));
        }
        Ok(Self {
            kind,
            secret: secret.to_vec(),
            public: None,
        })
    }

    /// Reads a private key PEM: RSA (`RSA PRIVATE KEY` or PKCS#8), EC P-256/P-384/P-521 (PKCS#8) or
    /// Ed25519 (PKCS#8).
    ///
    /// # Errors
    /// [`IssuerError::InvalidKey`] naming the problem.
    pub fn from_pem(pem: &str) -> Result<Self, IssuerError> {
        let bytes = pem.as_bytes();
        if let Ok(key) = EncodingKey::from_rsa_pem(bytes) {
            let bits = RsaKeyPair::from_der(key.as_bytes())
                .map_err(|e| invalid(format!("RSA key rejected: {e}")))?
                .public_modulus_len()
                * 8;
            return Self::from_secret_der(rsa_kind(bits)?, key.as_bytes().to_vec());
        }
        if let Ok(key) = EncodingKey::from_ec_pem(bytes) {
            for kind in [KeyKind::EcP256, KeyKind::EcP384, KeyKind::EcP521] {
                if let Ok(m) = Self::from_secret_der(kind, key.as_bytes().to_vec()) {
                    return Ok(m);
                }
            }
            return Err(invalid("only P-256, P-384 and P-521 EC keys are supported"));
        }
        if let Ok(key) = EncodingKey::from_ed_pem(bytes) {
            return Self::from_secret_der(KeyKind::Ed25519, key.as_bytes().to_vec());
        }
        Err(invalid(
            "not a supported private key PEM (RSA, EC P-256/P-384/P-521 or Ed25519)",
        ))
    }

    /// Reads a private JWK: RSA (`n e d p q dp dq qi`), EC (`crv x y d`), OKP Ed25519 (`x d`)
    /// or `oct` (`k`; its kind from `alg`, HS256 when absent).
    ///
    /// # Errors
    /// [`IssuerError::InvalidKey`] naming the problem (e.g. a public JWK).
    pub fn from_jwk(jwk: &Value) -> Result<Self, IssuerError> {
        let obj = jwk
            .as_object()
            .ok_or_else(|| invalid("a JWK must be a JSON object"))?;
        let bytes = |m: &str| member_bytes(obj, m);
        match obj.get("kty").and_then(Value::as_str) {
            Some("oct") => {
                let kind = match obj.get("alg").and_then(Value::as_str) {
                    None | Some("HS256") => KeyKind::Hmac256,
                    Some("HS384") => KeyKind::Hmac384,
                    Some("HS512") => KeyKind::Hmac512,
                    Some(other) => return Err(invalid(format!("`oct` key with alg {other}"))),
                };
                Self::hmac(kind, &bytes("k")?)
            }
            Some("RSA") => {
                let parts = ["n", "e", "d", "p", "q", "dp", "dq", "qi"]
                    .map(&bytes)
                    .into_iter()
                    .collect::<Result<Vec<_>, _>>()?;
                let refs: [&[u8]; 8] = std::array::from_fn(|i| parts[i].as_slice());
                let pkcs1 = der::pkcs1_from_components(&refs)
                    .ok_or_else(|| invalid("RSA key components cannot be encoded"))?;
                let pair = RsaKeyPair::from_der(&pkcs1)
                    .map_err(|e| invalid(format!("RSA key rejected: {e}")))?;
                Self::from_secret_der(rsa_kind(pair.public_modulus_len() * 8)?, pkcs1)
            }
            Some("EC") | Some("OKP") => {
                let public = PublicKey::from_jwk(&Value::Object(
                    obj.iter()
                        .filter(|(k, _)| k.as_str() != "d")
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                ))?;
                let d = bytes("d")?;
                let point = public_point(&public);
                let der = if let Some((alg, ..)) = public.kind.ec() {
                    EcdsaKeyPair::from_private_key_and_public_key(alg, &d, &point)
                        .map_err(|e| invalid(format!("EC key rejected: {e}")))?
                        .to_pkcs8v1()
                        .map_err(|_| invalid("EC key cannot be serialised"))?
                } else {
                    Ed25519KeyPair::from_seed_and_public_key(&d, &point)
                        .map_err(|e| invalid(format!("Ed25519 key rejected: {e}")))?
                        .to_pkcs8()
                        .map_err(|_| invalid("Ed25519 key cannot be serialised"))?
                };
                Self::from_secret_der(public.kind, der.as_ref().to_vec())
            }
            _ => Err(invalid("unsupported kty")),
        }
    }

    /// Builds the key from its stored DER form, validating it and deriving the public half.
    fn from_secret_der(kind: KeyKind, secret: Vec<u8>) -> Result<Self, IssuerError> {
        let public = if let Some(bits) = kind.rsa_bits() {
            let pair = RsaKeyPair::from_der(&secret)
                .map_err(|e| invalid(format!("RSA key rejected: {e}")))?;
            if pair.public_modulus_len() * 8 != bits {
                return Err(invalid(format!("not a {kind} key")));
            }
            let [n, e, ..] = der::pkcs1_components(&secret)
                .ok_or_else(|| invalid("RSA key is not PKCS#1 with two primes"))?;
            json_map(json!({"kty": "RSA", "n": b64(&n), "e": b64(&e)}))
        } else if let Some((alg, crv, len)) = kind.ec() {
            let pair = EcdsaKeyPair::from_pkcs8(alg, &secret)
                .map_err(|e| invalid(format!("EC key rejected: {e}")))?;
            let point = pair.public_key().as_ref();
            let (x, y) = point[1..].split_at(len);
            json_map(json!({"kty": "EC", "crv": crv, "x": b64(x), "y": b64(y)}))
        } else {
            let pair = Ed25519KeyPair::from_pkcs8(&secret)
                .map_err(|e| invalid(format!("Ed25519 key rejected: {e}")))?;
            json_map(json!({"kty": "OKP", "crv": "Ed25519", "x": b64(pair.public_key().as_ref())}))
        };
        Ok(Self {
            kind,
            secret,
            public: Some(PublicKey {
                kind,
                members: public,
            }),
        })
    }

    /// The key's kind.
    #[must_use]
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The public half; `None` for an HMAC secret.
    #[must_use]
    pub fn public_key(&self) -> Option<&PublicKey> {
        self.public.as_ref()
    }

    /// The public JWK for `kid`, pinned to `alg`, with `use: sig`.
    ///
    /// # Errors
    /// [`IssuerError::NoPublicKey`] for an HMAC secret; [`IssuerError::InvalidKey`] when `alg`
    /// does not fit the key.
    pub fn to_public_jwk(&self, kid: &str, alg: Algorithm) -> Result<Value, IssuerError> {
        self.public
            .as_ref()
            .ok_or_else(|| IssuerError::NoPublicKey { kid: kid.into() })?
            .to_jwk(kid, alg)
    }

    /// The RSA public key as a `SubjectPublicKeyInfo` DER (the body of a `PUBLIC KEY` PEM),
    /// encoded by aws-lc-rs; `None` for other kinds.
    #[cfg(feature = "testing")]
    pub(crate) fn rsa_spki_der(&self) -> Option<Vec<u8>> {
        use aws_lc_rs::encoding::PublicKeyX509Der;
        self.kind.rsa_bits()?;
        let pair = RsaKeyPair::from_der(&self.secret).ok()?;
        let der: PublicKeyX509Der<'static> = pair.public_key().as_der().ok()?;
        Some(der.as_ref().to_vec())
    }

    /// The private JWK (secret members included), for backups and full mirroring. Treat the
    /// result as a secret.
    ///
    /// # Errors
    /// [`IssuerError::InvalidKey`] when `alg` does not fit the key; [`IssuerError::Crypto`] if
    /// the backend cannot serialise it.
    pub fn to_private_jwk(&self, kid: &str, alg: Algorithm) -> Result<Value, IssuerError> {
        if !self.kind.supports(alg) {
            return Err(invalid(format!("{alg:?} does not fit a {} key", self.kind)));
        }
        let crypto = || IssuerError::Crypto("cannot serialise the private key".into());
        let mut jwk = match &self.public {
            None => json_map(json!({"kty": "oct", "k": b64(&self.secret)})),
            Some(public) => public.members.clone(),
        };
        if self.kind.rsa_bits().is_some() {
            let parts = der::pkcs1_components(&self.secret).ok_or_else(crypto)?;
            for (name, value) in ["d", "p", "q", "dp", "dq", "qi"].iter().zip(&parts[2..]) {
                jwk.insert((*name).into(), b64(value).into());
            }
        } else if let Some((alg, ..)) = self.kind.ec() {
            let pair = EcdsaKeyPair::from_pkcs8(alg, &self.secret).map_err(|_| crypto())?;
            let d = pair.private_key().as_be_bytes().map_err(|_| crypto())?;
            jwk.insert("d".into(), b64(d.as_ref()).into());
        } else if self.kind == KeyKind::Ed25519 {
            let pair = Ed25519KeyPair::from_pkcs8(&self.secret).map_err(|_| crypto())?;
            let seed = pair.seed().map_err(|_| crypto())?;
            let d = seed.as_be_bytes().map_err(|_| crypto())?;
            jwk.insert("d".into(), b64(d.as_ref()).into());
        }
        jwk.insert("kid".into(), kid.into());
        jwk.insert("alg".into(), alg_name(alg).into());
        Ok(Value::Object(jwk))
    }

    /// The signing form of the key: jsonwebtoken's, or the P-521 key pair for ES512.
    pub(crate) fn signer(&self) -> Result<RawSigner, IssuerError> {
        if self.kind == KeyKind::EcP521 {
            let (alg, ..) = self.kind.ec().ok_or_else(|| invalid("not an EC key"))?;
            let pair = EcdsaKeyPair::from_pkcs8(alg, &self.secret)
                .map_err(|e| invalid(format!("EC key rejected: {e}")))?;
            return Ok(RawSigner::P521(std::sync::Arc::new(pair)));
        }
        Ok(RawSigner::Jose(self.encoding_key()))
    }

    /// A jsonwebtoken signing key. Call [`EncodingKey`]-using functions only after a
    /// jsonwebtoken crypto provider is installed (the signer does this). jsonwebtoken has no
    /// ES512: a P-521 key's `EncodingKey` carries the key but cannot sign; the crate's own
    /// signers ([`SigningKey`](super::SigningKey), the mock IdP) sign ES512 with aws-lc-rs.
    #[must_use]
    pub fn encoding_key(&self) -> EncodingKey {
        if self.kind.rsa_bits().is_some() {
            EncodingKey::from_rsa_der(&self.secret)
        } else if self.kind.ec().is_some() {
            EncodingKey::from_ec_der(&self.secret)
        } else if self.kind == KeyKind::Ed25519 {
            EncodingKey::from_ed_der(&self.secret)
        } else {
            EncodingKey::from_secret(&self.secret)
        }
    }

    /// A jsonwebtoken verification key (the public half, or the HMAC secret).
    ///
    /// # Errors
    /// [`IssuerError::InvalidKey`] if the backend refuses the key.
    pub fn decoding_key(&self) -> Result<DecodingKey, IssuerError> {
        match &self.public {
            Some(public) => public.decoding_key(),
            None => Ok(DecodingKey::from_secret(&self.secret)),
        }
    }
}

/// The JOSE name of an algorithm (`RS256`, `EdDSA`, ...).
#[must_use]
pub(crate) fn alg_name(alg: Algorithm) -> String {
    alg.as_str().to_owned()
}

fn rsa_kind(bits: usize) -> Result<KeyKind, IssuerError> {
    match bits {
        2048 => Ok(KeyKind::Rsa2048),
        3072 => Ok(KeyKind::Rsa3072),
        4096 => Ok(KeyKind::Rsa4096),
        _ => Err(invalid(format!(
            "RSA keys must have 2048, 3072 or 4096 bits, not {bits}"
        ))),
    }
}

fn public_point(public: &PublicKey) -> Vec<u8> {
    let get = |m: &str| member_bytes(&public.members, m).unwrap_or_default();
    if public.kind.ec().is_some() {
        let mut point = vec![4u8];
        point.extend(get("x"));
        point.extend(get("y"));
        point
    } else {
        get("x")
    }
}

fn member_bytes(obj: &Map<String, Value>, member: &str) -> Result<Vec<u8>, IssuerError> {
    let text = obj
        .get(member)
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("JWK member `{member}` is missing")))?;
    crate::encoding::b64url_decode(text)
        .ok_or_else(|| invalid(format!("JWK member `{member}` is not base64url")))
}

use crate::encoding::b64url as b64;

fn json_map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn invalid(why: impl Into<String>) -> IssuerError {
    IssuerError::InvalidKey(why.into())
}
