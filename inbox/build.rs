//! `kyc_webhooks_test_postgres` is set when `KYC_WEBHOOKS_TEST_POSTGRES` is
//! set at build time: the PostgreSQL tests are then run, else reported as
//! ignored (not as passed) by `cargo test`.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(kyc_webhooks_test_postgres)");
    println!("cargo::rerun-if-env-changed=KYC_WEBHOOKS_TEST_POSTGRES");
    println!("cargo::rerun-if-changed=build.rs");
    if std::env::var_os("KYC_WEBHOOKS_TEST_POSTGRES").is_some() {
        println!("cargo::rustc-cfg=kyc_webhooks_test_postgres");
    }
}
