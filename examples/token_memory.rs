//! Resident memory after verifying 20,000 distinct RS256 tokens (~800 bytes each), with the
//! verified-token cache at its defaults (10,000 entries, 5 MiB) and with it off.
//!
//! ```text
//! cargo run --release --example token_memory            # default cache: 10,000 entries
//! cargo run --release --example token_memory -- 0       # cache off: the baseline
//! ```

use jwks_auth::testing::MockIdp;
use jwks_auth::{Algorithm, JwksVerifier};
use serde_json::json;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let idp = MockIdp::start().await;
    let capacity: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    {
        let verifier = JwksVerifier::builder()
            .jwks_url(idp.jwks_url())
            .issuer(idp.issuer())
            .audience(idp.audience())
            .token_cache_capacity(capacity)
            .build()?;
        verifier.verify(&idp.mint(Algorithm::RS256)).await?;
        let before = rss_kib();
        let mut len = 0;
        for i in 0..20_000 {
            let token = idp
                .token()
                .subject(&format!("user-{i:08}"))
                .claim("email", json!(format!("user-{i:08}@example.test")))
                .claim("scope", json!("openid profile email api:read api:write"))
                .claim("groups", json!(["engineering", "on-call", "readers"]))
                .claim("name", json!("A Typical User Name"))
                .sign();
            len = token.len();
            verifier.verify(&token).await?;
        }
        let after = rss_kib();
        println!(
            "token cache capacity {capacity:>6}: token {len} bytes; RSS {:.1} MiB -> {:.1} MiB (+{:.1} MiB) after 20,000 distinct tokens",
            before as f64 / 1024.0,
            after as f64 / 1024.0,
            (after.saturating_sub(before)) as f64 / 1024.0
        );
    }
    Ok(())
}
