//! Selecting jsonwebtoken's crypto backend once per process.

/// Installs the crypto provider matching the enabled backend feature (aws-lc-rs preferred).
///
/// jsonwebtoken panics at first use when both backends are compiled in and none was
/// installed, which `--all-features` does; installing explicitly makes that impossible.
/// Installing twice is harmless: the first provider stays.
pub(crate) fn install_provider() {
    #[cfg(feature = "aws-lc-rs")]
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
}

#[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
compile_error!("jwks-auth needs a crypto backend: enable the `aws-lc-rs` or `rust-crypto` feature");
