//! DPoP proof verification cost (RFC 9449): `Dpop::verify_proof` on a fresh proof per
//! iteration (header, key import from the proof's `jwk`, RFC 7638 thumbprint, signature,
//! claims, `htu` normalisation, `ath`, replay-cache insert). Signing the proofs is setup, not
//! measured.
//!
//! ```text
//! cargo bench --bench dpop
//! ```
//!
//! - `dpop_verify/ES256`, `dpop_verify/EdDSA`: one proof by a P-256 / Ed25519 key.
//! - `dpop_verify_nonce/ES256`: the same with a server nonce required (one HMAC more).
//! - `signature_floor/<alg>`: the proof's signature alone, verified by jsonwebtoken with a key
//!   prepared once: what any proof check must pay; the rest is parsing and the checks.
#![allow(missing_docs)] // criterion_group! generates undocumented items.

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use http::Request;
use jwks_auth::sender::{Dpop, HtuOrigin};
use jwks_auth::testing::DpopProver;

const URL: &str = "https://api.example.com/orders";
/// An access token stand-in: the proof covers its hash, the layer has verified it already.
const TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";

fn request(proof: String) -> Request<()> {
    Request::get("/orders?page=2")
        .header("authorization", format!("DPoP {TOKEN}"))
        .header("dpop", proof)
        .body(())
        .expect("request")
}

fn benches(c: &mut Criterion) {
    let dpop = || {
        Dpop::required(HtuOrigin::fixed("https://api.example.com"))
            // Every measured proof is new: room for all of them.
            .replay_capacity(50_000_000)
    };
    for (name, client) in [
        ("ES256", DpopProver::es256()),
        ("EdDSA", DpopProver::ed25519()),
    ] {
        let plain = dpop().build().expect("config");
        let jwk: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(client.public_jwk().clone()).expect("jwk");
        let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("key");
        let alg: jsonwebtoken::Algorithm = client.algorithm().as_str().parse().expect("alg");
        c.bench_with_input(BenchmarkId::new("signature_floor", name), &(), |b, ()| {
            b.iter_batched(
                || {
                    let proof = client.proof("GET", URL, TOKEN);
                    let (input, signature) = proof.rsplit_once('.').expect("compact");
                    (input.to_owned(), signature.to_owned())
                },
                |(input, signature)| {
                    assert!(
                        jsonwebtoken::crypto::verify(&signature, input.as_bytes(), &key, alg)
                            .expect("verify")
                    );
                },
                BatchSize::SmallInput,
            );
        });
        c.bench_with_input(BenchmarkId::new("dpop_verify", name), &(), |b, ()| {
            b.iter_batched(
                || request(client.proof("GET", URL, TOKEN)),
                |req| {
                    plain
                        .verify_proof(&req, TOKEN, client.thumbprint())
                        .expect("valid proof")
                },
                BatchSize::SmallInput,
            );
        });
        if name == "ES256" {
            let with_nonce = dpop().nonce_secret([7; 32]).build().expect("config");
            c.bench_with_input(BenchmarkId::new("dpop_verify_nonce", name), &(), |b, ()| {
                b.iter_batched(
                    || {
                        let nonce = with_nonce.nonce().expect("nonces on");
                        let proof = client
                            .proof_for("GET", URL)
                            .access_token(TOKEN)
                            .nonce(&nonce)
                            .sign();
                        request(proof)
                    },
                    |req| {
                        with_nonce
                            .verify_proof(&req, TOKEN, client.thumbprint())
                            .expect("valid proof")
                    },
                    BatchSize::SmallInput,
                );
            });
        }
    }
}

criterion_group!(dpop_benches, benches);
criterion_main!(dpop_benches);
