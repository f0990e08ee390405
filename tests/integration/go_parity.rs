//! Go parity: every function the C header declares has a Go wrapper, that is a `C.<name>(`
//! call in the Go package's sources (`bindings/go`, test files excluded), except the deliberate
//! exceptions listed here with their reason. A new C function without a Go wrapper fails this
//! test until it gets one (or a reasoned entry below).

use std::collections::BTreeSet;
use std::path::Path;

use crate::header::{declared_functions, strip_comments, GENERATED};

/// The typed snapshots: Go decodes every record from its JSON read-out (`*_get_json`) into a
/// typed struct, so the snapshot objects, their accessors (every function whose first
/// parameter is `const <type> *`), the functions that fill them and their `_free` are not
/// wrapped.
const SNAPSHOT_TYPES: &[&str] = &[
    "sendense_backup",
    "sendense_context",
    "sendense_device_mapping",
    "sendense_failover_job",
    "sendense_nbd_export",
    "sendense_replication_job",
];

/// The functions that fill a typed snapshot, and their destructors (see [`SNAPSHOT_TYPES`]).
const SNAPSHOT_FUNCTIONS: &[&str] = &[
    "sendense_backup_get",
    "sendense_backup_free",
    "sendense_context_get",
    "sendense_context_free",
    "sendense_device_get",
    "sendense_device_mapping_free",
    "sendense_failover_get",
    "sendense_failover_job_free",
    "sendense_nbd_export_get",
    "sendense_nbd_export_free",
    "sendense_replication_get",
    "sendense_replication_job_free",
];

/// Other functions Go deliberately does not call.
const NOT_WRAPPED: &[&str] = &[
    // Go takes the status from the return value of the failed call (errors.go, takeError) and
    // reads only the message from the error object.
    "sendense_error_status",
];

/// The first parameter's type of function `name` in the header code (comments stripped).
fn first_parameter(code: &str, name: &str) -> String {
    let at = code.find(&format!("{name}(")).unwrap_or_else(|| panic!("{name}( not in the header"));
    let params = &code[at + name.len() + 1..];
    let end = params.find([',', ')']).expect("a parameter list");
    params[..end].split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `name` is an accessor of a typed snapshot (its first parameter is `const <type> *`).
fn is_snapshot_accessor(code: &str, name: &str) -> bool {
    let first = first_parameter(code, name);
    SNAPSHOT_TYPES.iter().any(|t| first.starts_with(&format!("const {t} *")))
}

/// Every `C.sendense_*(` call in the Go package's non-test sources.
fn called_from_go(dir: &Path, found: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display())) {
        let path = entry.expect("a directory entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if path.is_dir() {
            called_from_go(&path, found);
        } else if name.ends_with(".go") && !name.ends_with("_test.go") {
            let text = std::fs::read_to_string(&path).expect("a Go source");
            for (i, _) in text.match_indices("C.sendense_") {
                let ident: String =
                    text[i + 2..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if text[i + 2 + ident.len()..].starts_with('(') {
                    found.insert(ident);
                }
            }
        }
    }
}

#[test]
fn every_c_function_has_a_go_wrapper() {
    let code = strip_comments(GENERATED);
    let declared = declared_functions(GENERATED);
    let mut called = BTreeSet::new();
    called_from_go(&Path::new(env!("CARGO_MANIFEST_DIR")).join("bindings/go"), &mut called);

    let exempt =
        |f: &str| SNAPSHOT_FUNCTIONS.contains(&f) || NOT_WRAPPED.contains(&f) || is_snapshot_accessor(&code, f);
    let missing: Vec<&String> = declared.iter().filter(|f| !called.contains(*f) && !exempt(f)).collect();
    assert!(
        missing.is_empty(),
        "C functions without a Go wrapper (a C.<name>( call in bindings/go): {missing:?}; add the wrapper (and its \
         test) to bindings/go/sendense/<area>_<concept>.go, or a reasoned exception to tests/integration/go_parity.rs"
    );

    // The exceptions stay true: each names a declared function that Go indeed does not call.
    for f in SNAPSHOT_FUNCTIONS.iter().chain(NOT_WRAPPED) {
        assert!(declared.contains(*f), "the exception {f} is not declared in the header any more");
        assert!(!called.contains(*f), "the exception {f} is called from Go: remove it from the list");
    }
}

#[test]
fn snapshot_accessors_are_told_by_their_first_parameter() {
    let code = strip_comments(GENERATED);
    assert!(is_snapshot_accessor(&code, "sendense_replication_job_status"));
    assert!(is_snapshot_accessor(&code, "sendense_device_mapping_device_path"));
    assert!(!is_snapshot_accessor(&code, "sendense_backup_progress"));
    assert!(!is_snapshot_accessor(&code, "sendense_replication_get"));
}
