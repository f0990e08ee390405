//! The checked-in C header equals the one cbindgen generates from the sources, and the
//! functions it declares are exactly the `sendense_*` symbols the static library exports.
//!
//! After changing the C ABI, regenerate the checked-in copy with
//! `SENDENSE_BLESS=1 cargo test --test integration header::`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

pub(crate) const GENERATED: &str = include_str!(concat!(env!("OUT_DIR"), "/sendense.h"));

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn checked_in_path() -> PathBuf {
    crate_dir().join("include/sendense.h")
}

#[test]
fn checked_in_header_equals_the_generated_one() {
    let path = checked_in_path();
    if std::env::var_os("SENDENSE_BLESS").is_some() {
        std::fs::write(&path, GENERATED).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    if checked_in != GENERATED {
        let first_diff = checked_in
            .lines()
            .zip(GENERATED.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| checked_in.lines().count().min(GENERATED.lines().count()));
        panic!(
            "include/sendense.h differs from the header generated from the sources (first difference at \
             line {}); regenerate it with `SENDENSE_BLESS=1 cargo test --test integration header::` and commit it",
            first_diff + 1
        );
    }
}

/// The header without its comments.
pub(crate) fn strip_comments(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let mut rest = src;
    loop {
        let block = rest.find("/*");
        let line = rest.find("//");
        match (block, line) {
            (Some(b), l) if l.is_none_or(|l| b < l) => {
                out.push_str(&rest[..b]);
                let end = rest[b..].find("*/").expect("unterminated comment") + b + 2;
                rest = &rest[end..];
            }
            (_, Some(l)) => {
                out.push_str(&rest[..l]);
                rest = rest[l..].find('\n').map_or("", |e| &rest[l + e..]);
            }
            (None, None) => {
                out.push_str(rest);
                return out;
            }
            (Some(_), None) => unreachable!(),
        }
    }
}

/// Names of the functions the header declares (identifiers followed by `(` outside comments).
pub(crate) fn declared_functions(header: &str) -> BTreeSet<String> {
    let code = strip_comments(header);
    let mut names = BTreeSet::new();
    for (i, _) in code.match_indices("sendense_") {
        if i > 0 && code.as_bytes()[i - 1].is_ascii_alphanumeric() | (code.as_bytes()[i - 1] == b'_') {
            continue;
        }
        let ident: String = code[i..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if code[i + ident.len()..].trim_start().starts_with('(') {
            names.insert(ident);
        }
    }
    names
}

/// Names of the `sendense_*` functions the static library defines and exports.
fn exported_functions(lib: &Path) -> BTreeSet<String> {
    let out = Command::new("nm")
        .args(["-g", "--defined-only"])
        .arg(lib)
        .output()
        .expect("running nm (binutils); run the README's test command to install it");
    assert!(out.status.success(), "nm failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let (_addr, kind, name) = (parts.next()?, parts.next()?, parts.next()?);
            (kind == "T" && name.starts_with("sendense_")).then(|| name.to_string())
        })
        .collect()
}

#[test]
fn exported_symbols_and_header_declarations_are_the_same_set() {
    let declared = declared_functions(GENERATED);
    let exported = exported_functions(crate::common::static_lib());
    assert!(declared.contains("sendense_store_open"), "parser found: {declared:?}");
    let undeclared: Vec<_> = exported.difference(&declared).collect();
    let missing: Vec<_> = declared.difference(&exported).collect();
    assert!(undeclared.is_empty(), "exported but not declared in the header: {undeclared:?}");
    assert!(missing.is_empty(), "declared in the header but not exported: {missing:?}");
}

#[test]
fn the_header_declares_the_foundation_surface() {
    let declared = declared_functions(GENERATED);
    for f in [
        "sendense_version",
        "sendense_abi_version",
        "sendense_error_status",
        "sendense_error_message",
        "sendense_error_free",
        "sendense_string_free",
        "sendense_open_options_default",
        "sendense_store_open",
        "sendense_store_free",
        "sendense_store_integrity_check",
        "sendense_store_backup",
        "sendense_store_schema_version",
    ] {
        assert!(declared.contains(f), "{f} is not declared");
    }
    for signature in [
        "sendense_status sendense_store_open(const char *path,\n                                    const sendense_open_options *options,\n                                    sendense_store **out,\n                                    sendense_error **err);",
        "sendense_open_options sendense_open_options_default(void);",
        "void sendense_store_free(sendense_store *store);",
        "typedef int32_t sendense_status;",
    ] {
        assert!(GENERATED.contains(signature), "missing: {signature}");
    }
    for macro_name in
        ["SENDENSE_VERSION_MAJOR", "SENDENSE_VERSION_MINOR", "SENDENSE_VERSION_PATCH", "SENDENSE_ABI_VERSION"]
    {
        assert!(GENERATED.contains(&format!("#define {macro_name} ")), "{macro_name} is not defined");
    }
}

#[test]
fn comment_stripping_ignores_names_mentioned_in_docs() {
    let names = declared_functions("/** see `sendense_fake()` */\n// sendense_other()\nint sendense_real(void);\n");
    assert_eq!(names.into_iter().collect::<Vec<_>>(), vec!["sendense_real".to_string()]);
}
