//! Generates the C header with cbindgen into OUT_DIR (the checked-in include/sendense.h must
//! equal it; tests/integration/header.rs checks) and gives the shared library a soname that carries the
//! ABI version.

use std::env;
use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");

    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("reading cbindgen.toml");
    cbindgen::Builder::new()
        .with_src(crate_dir.join("src/ffi/mod.rs"))
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate the header")
        .write_to_file(out_dir.join("sendense.h"));

    let abi = abi_version(&crate_dir);
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libsendense.so.{abi}");
}

/// The value of `SENDENSE_ABI_VERSION` in src/ffi/version.rs (one source of truth).
fn abi_version(crate_dir: &std::path::Path) -> u32 {
    let src = std::fs::read_to_string(crate_dir.join("src/ffi/version.rs")).expect("reading src/ffi/version.rs");
    src.lines()
        .find_map(|l| l.trim().strip_prefix("pub const SENDENSE_ABI_VERSION: u32 = "))
        .and_then(|rest| rest.trim_end_matches(';').trim().parse().ok())
        .expect("src/ffi/version.rs defines SENDENSE_ABI_VERSION")
}
