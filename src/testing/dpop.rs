//! [`DpopProver`]: a DPoP client's key pair, signing proofs (RFC 9449 section 4) for tests.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::EncodingKey;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::token::{now, sign_compact};
use crate::algorithms::Algorithm;
use crate::issuer::raw_signer::RawSigner;
use crate::issuer::{KeyKind, KeyMaterial};
use crate::jwk::Jwk;

/// A DPoP client: a fresh key pair that signs proofs for requests, and the thumbprint a
/// DPoP-bound token names (`cnf.jkt`; mint one with
/// [`TokenBuilder::dpop_bound`](super::TokenBuilder::dpop_bound)).
///
/// ```
/// use jwks_auth::testing::{DpopProver, MockIdp};
/// # #[tokio::main] async fn main() {
/// let idp = MockIdp::start().await;
/// let client = DpopProver::es256();
/// let token = idp.token().dpop_bound(&client).sign();
/// let proof = client.proof("GET", "https://api.example.com/orders", &token);
/// // Send `Authorization: DPoP <token>` and `DPoP: <proof>`.
/// # let _ = proof; }
/// ```
pub struct DpopProver {
    alg: Algorithm,
    signer: RawSigner,
    jwk: Value,
    thumbprint: String,
}

impl DpopProver {
    /// A prover with a new key for `alg`.
    ///
    /// # Panics
    /// For an HMAC algorithm (a proof key is asymmetric), or if key generation fails.
    #[must_use]
    pub fn new(alg: Algorithm) -> Self {
        let kind = KeyKind::for_algorithm(alg)
            .filter(|kind| !kind.is_symmetric())
            .unwrap_or_else(|| panic!("DpopProver: {alg} is not an asymmetric algorithm"));
        let key = KeyMaterial::generate(kind).expect("key generation with aws-lc-rs");
        let mut jwk = key
            .to_public_jwk("dpop", alg)
            .expect("a generated key fits its algorithm");
        if let Some(members) = jwk.as_object_mut() {
            // A proof's key needs no kid or use; keep the JWK to its key members and alg.
            members.remove("kid");
            members.remove("use");
        }
        let thumbprint = serde_json::from_value::<Jwk>(jwk.clone())
            .ok()
            .and_then(|jwk| jwk.thumbprint_sha256())
            .expect("a public JWK has a thumbprint");
        Self {
            alg,
            signer: key.signer().expect("a generated key signs"),
            jwk,
            thumbprint,
        }
    }

    /// A prover with a P-256 key (ES256), the most common DPoP key.
    #[must_use]
    pub fn es256() -> Self {
        Self::new(Algorithm::ES256)
    }

    /// A prover with an Ed25519 key (EdDSA).
    #[must_use]
    pub fn ed25519() -> Self {
        Self::new(Algorithm::EdDSA)
    }

    /// The proofs' algorithm.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The public JWK carried in the proofs' header.
    #[must_use]
    pub fn public_jwk(&self) -> &Value {
        &self.jwk
    }

    /// The key's RFC 7638 thumbprint: the `cnf.jkt` of tokens bound to it.
    #[must_use]
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// A proof for `method` on `url` presenting `access_token`: a fresh `jti`, `iat` now.
    #[must_use]
    pub fn proof(&self, method: &str, url: &str, access_token: &str) -> String {
        self.proof_for(method, url)
            .access_token(access_token)
            .sign()
    }

    /// A proof to adjust before signing (nonce, `iat`, `jti`, or a tampered header).
    pub fn proof_for(&self, method: &str, url: &str) -> ProofBuilder<'_> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let jti = format!(
            "{:x}-{:x}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut header = Map::new();
        header.insert("typ".into(), json!("dpop+jwt"));
        header.insert("alg".into(), json!(self.alg));
        header.insert("jwk".into(), self.jwk.clone());
        let mut claims = Map::new();
        claims.insert("jti".into(), json!(jti));
        claims.insert("htm".into(), json!(method));
        claims.insert("htu".into(), json!(url));
        claims.insert("iat".into(), json!(now()));
        ProofBuilder {
            prover: self,
            header,
            claims,
        }
    }
}

impl fmt::Debug for DpopProver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopProver")
            .field("alg", &self.alg)
            .field("thumbprint", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

/// A DPoP proof being built; from [`DpopProver::proof_for`].
#[must_use = "a ProofBuilder does nothing until `sign` is called"]
pub struct ProofBuilder<'p> {
    prover: &'p DpopProver,
    header: Map<String, Value>,
    claims: Map<String, Value>,
}

impl ProofBuilder<'_> {
    /// `ath`: base64url(SHA-256(`access_token`)).
    pub fn access_token(self, access_token: &str) -> Self {
        let ath = URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()));
        self.claim("ath", json!(ath))
    }

    /// The server nonce (`nonce`), from a `DPoP-Nonce` response header.
    pub fn nonce(self, nonce: &str) -> Self {
        self.claim("nonce", json!(nonce))
    }

    /// `iat`, in seconds since the epoch (default: now).
    pub fn iat(self, secs: i64) -> Self {
        self.claim("iat", json!(secs))
    }

    /// `jti` (default: unique in the process).
    pub fn jti(self, jti: &str) -> Self {
        self.claim("jti", json!(jti))
    }

    /// Sets or overrides a header member (`typ`, `alg`, `jwk`, ...).
    pub fn header(mut self, name: &str, value: Value) -> Self {
        self.header.insert(name.to_owned(), value);
        self
    }

    /// Sets or overrides a claim.
    pub fn claim(mut self, name: &str, value: Value) -> Self {
        self.claims.insert(name.to_owned(), value);
        self
    }

    /// Removes a claim.
    pub fn remove_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    fn parts(&self) -> (String, String) {
        (
            Value::Object(self.header.clone()).to_string(),
            Value::Object(self.claims.clone()).to_string(),
        )
    }

    /// Signs with the prover's key and algorithm (whatever the header says).
    #[must_use]
    pub fn sign(self) -> String {
        let (header, payload) = self.parts();
        sign_compact(
            &self.prover.signer,
            self.prover.alg,
            header.as_bytes(),
            payload.as_bytes(),
        )
    }

    /// Signs with HS256 under `secret`, header `alg: HS256` (a proof that must be refused).
    #[must_use]
    pub fn sign_hs256(self, secret: &[u8]) -> String {
        let this = self.header("alg", json!("HS256"));
        let (header, payload) = this.parts();
        let key = RawSigner::Jose(EncodingKey::from_secret(secret));
        sign_compact(
            &key,
            Algorithm::HS256,
            header.as_bytes(),
            payload.as_bytes(),
        )
    }

    /// The unsigned form, header `alg: none` and an empty signature (to be refused).
    #[must_use]
    pub fn unsigned(self) -> String {
        let this = self.header("alg", json!("none"));
        let (header, payload) = this.parts();
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        )
    }
}

impl fmt::Debug for ProofBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProofBuilder")
            .field("header", &self.header)
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}
