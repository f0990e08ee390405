//! The C ABI: the only module with `unsafe` and `extern "C"`.
//!
//! The folders mirror the areas of the library (`replication/`, `backup/`, `targets/`, `failover/`), plus
//! the store handle (`store.rs`) and the versions (`version.rs`). Every exported function is a
//! thin, mechanical shell over the public Rust API, written with the same few helpers:
//! - `call` (`call.rs`) runs the body inside `catch_unwind` (a panic becomes
//!   `SENDENSE_STATUS_PANIC`), turns an error into a status code and, when the caller passed a
//!   non-NULL `err`, a caller-owned `sendense_error` object (`status.rs`); `store_call` is `call`
//!   for a function on a store handle, and `guard` is the boundary of the functions that
//!   cannot fail (getters, destructors);
//! - `arg_str`, `arg_json`, `arg_bytes`, `arg_secret_key`, `arg_ref` and `out_ptr` (and their `_opt` forms) check
//!   pointers, UTF-8 and JSON input before any work is done;
//! - `Out::write` (or `write_string`, `write_json`, `write_box`) is the last step of a body,
//!   so out-parameters are written only on success;
//! - read-only snapshot objects (`snapshot.rs`) hand out borrowed fields through `field`,
//!   `field_str` and `field_ms`, which answer NULL / 0 / false for a NULL object.
//!
//! A unit test checks that every exported body starts inside one of these boundaries.
#![allow(unsafe_code)]
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

mod backup;
mod call;
mod failover;
mod replication;
mod snapshot;
mod status;
mod store;
mod targets;
mod version;

pub use backup::*;
pub use call::sendense_string_free;
pub use failover::*;
pub use replication::*;
pub use status::*;
pub use store::*;
pub use targets::*;
pub use version::*;

pub(crate) use call::{
    arg_json, arg_opt_json, arg_opt_str, arg_secret_key, arg_str, call, free_box, guard, out_opt_ptr, out_ptr,
    store_call, store_list_json, store_read_json,
};
pub(crate) use snapshot::{c_column, c_opt_column, field, field_ms, field_opt, field_str};

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Every `extern "C"` body starts inside a panic boundary: `call`/`store_call` for the
    /// fallible functions, `guard` or the snapshot/destructor helpers built on it otherwise.
    #[test]
    fn every_exported_body_runs_inside_the_panic_boundary() {
        const BOUNDARIES: &[&str] = &[
            "call(",
            "store_call(",
            "store_read_json(",
            "store_list_json(",
            "guard(",
            "field(",
            "field_str(",
            "field_opt(",
            "field_ms(",
            "free_box(",
        ];
        let mut files = Vec::new();
        let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ffi")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files.push(path);
                }
            }
        }
        let mut outside = Vec::new();
        let mut seen = 0;
        for file in &files {
            let src = std::fs::read_to_string(file).unwrap();
            let mut rest = src.as_str();
            while let Some(i) = rest.find("extern \"C\" fn ") {
                rest = &rest[i..];
                let name: String = rest["extern \"C\" fn ".len()..].chars().take_while(|c| *c != '(').collect();
                let open = rest.find(" {\n").expect("a function body");
                let body = rest[open + " {\n".len()..].trim_start();
                // The version functions return compile-time constants: nothing in them can panic.
                let constant = matches!(name.as_str(), "sendense_version" | "sendense_abi_version");
                if !constant && !BOUNDARIES.iter().any(|b| body.starts_with(b)) {
                    outside.push(format!("{}: {name}", file.display()));
                }
                seen += 1;
                rest = &rest[1..];
            }
        }
        assert!(seen > 200, "found only {seen} exported functions");
        assert!(outside.is_empty(), "exported bodies outside the panic boundary:\n{}", outside.join("\n"));
    }
}
