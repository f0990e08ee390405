//! The layering rule, checked on the sources (docs/ARCHITECTURE.md, "Layering"):
//! - `src/store/` (and the crate-root value modules) name no area;
//! - an area imports only areas below it: store, then replication, then targets and backup
//!   (side by side: neither imports the other), then failover and schedule; the job log
//!   imports no area, and every area may import it;
//! - only `src/ffi/` contains `unsafe`;
//! - only `src/store/` speaks rusqlite (no `use rusqlite` or `rusqlite::` path elsewhere): a
//!   second backend is a change inside the store alone.
//!
//! `integrity.rs` (cross-area checks) and `src/ffi/` sit above every area and may import any.

use std::path::{Path, PathBuf};

/// The domain areas with their level: an area may import areas of a lower level only. The
/// job log has no level: it imports nothing and is importable by all.
const AREAS: &[(&str, u32)] =
    &[("replication", 1), ("targets", 2), ("backup", 2), ("enrollment", 2), ("failover", 3), ("schedule", 3)];
const JOBLOG: &str = "joblog";
/// Modules above the areas, which nothing below them may import either.
const ABOVE: &[&str] = &["integrity", "ffi"];

/// Where a source file sits in the layering.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Layer {
    /// `src/store/` and the crate-root value modules (error, value, clock).
    Bottom,
    /// A domain area.
    Area(&'static str),
    /// `src/integrity.rs`, `src/ffi/`, `src/lib.rs`.
    Top,
}

fn layer_of(rel: &str) -> Layer {
    let first = rel.split('/').next().unwrap_or(rel);
    let stem = first.trim_end_matches(".rs");
    if let Some((name, _)) = AREAS.iter().find(|(name, _)| *name == stem) {
        return Layer::Area(name);
    }
    if stem == JOBLOG {
        return Layer::Area(JOBLOG);
    }
    if ABOVE.contains(&stem) || stem == "lib" {
        return Layer::Top;
    }
    Layer::Bottom
}

fn level(area: &str) -> Option<u32> {
    AREAS.iter().find(|(name, _)| *name == area).map(|(_, level)| *level)
}

/// The modules of the crate that `src` names through `crate::<module>` paths (in `use`
/// declarations and inline paths alike), with their line numbers. Comments are skipped.
fn crate_paths(src: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in src.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            let name: String = after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                found.push((n + 1, name));
            }
            rest = after;
        }
    }
    found
}

/// Every violation of the layering rule in the file at `rel` (relative to `src/`).
fn violations(rel: &str, src: &str) -> Vec<String> {
    let mut out = Vec::new();
    let layer = layer_of(rel);
    for (line, module) in crate_paths(src) {
        let target = layer_of(&module);
        let allowed = match (layer, target) {
            (Layer::Top, _) => true,
            (_, Layer::Bottom) => true,
            (Layer::Bottom, _) => false,
            (Layer::Area(_), Layer::Top) => false,
            (Layer::Area(from), Layer::Area(to)) if from == to => true,
            (Layer::Area(_), Layer::Area(to)) if to == JOBLOG => true,
            (Layer::Area(from), Layer::Area(_)) if from == JOBLOG => false,
            (Layer::Area(from), Layer::Area(to)) => matches!((level(from), level(to)), (Some(f), Some(t)) if t < f),
        };
        if !allowed {
            out.push(format!("src/{rel}:{line}: {layer:?} must not import crate::{module}"));
        }
    }
    if !rel.starts_with("store/") {
        for (n, line) in src.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code.contains("rusqlite::") || code.contains("use rusqlite") {
                out.push(format!("src/{rel}:{}: rusqlite outside src/store/", n + 1));
            }
        }
    }
    if !rel.starts_with("ffi/") && src.lines().any(|l| has_word(l.split("//").next().unwrap_or(""), "unsafe")) {
        out.push(format!("src/{rel}: `unsafe` outside src/ffi/"));
    }
    out
}

/// Whether `word` stands in `code` as a whole word (`unsafe`, not `unsafe_code`).
fn has_word(code: &str, word: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    code.match_indices(word).any(|(i, _)| !code[..i].ends_with(ident) && !code[i + word.len()..].starts_with(ident))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_sources_follow_the_layering_rule() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "found only {} source files under {}", files.len(), src.display());
    let mut all = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
        all.extend(violations(&rel, &std::fs::read_to_string(file).unwrap()));
    }
    assert!(all.is_empty(), "layering violations:\n{}", all.join("\n"));
}

#[test]
fn every_area_folder_is_known_to_the_rule() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                name == "store" || name == "ffi" || name == JOBLOG || level(&name).is_some(),
                "src/{name}/ is neither the store, the C ABI nor an area the layering rule knows: add it to AREAS"
            );
        }
    }
}

// The checker itself: each rule catches what it is meant to catch.

#[test]
fn a_store_file_naming_an_area_is_a_violation() {
    let v = violations("store/mod.rs", "use crate::targets::device;\nfn f() { crate::backup::x(); }\n");
    assert_eq!(v.len(), 2, "{v:?}");
    assert!(v[0].contains("src/store/mod.rs:1"), "{v:?}");
    assert!(violations("value.rs", "use crate::replication::ChangeId;").len() == 1);
    assert!(violations("store/mod.rs", "use crate::integrity::IntegrityReport;").len() == 1);
    assert!(violations("store/mod.rs", "use crate::error::Error; use crate::value::Timestamp;").is_empty());
}

#[test]
fn an_area_importing_upward_or_sideways_is_a_violation() {
    // Upward.
    assert_eq!(violations("replication/job.rs", "use crate::backup::StartBackup;").len(), 1);
    assert_eq!(violations("targets/device.rs", "use crate::failover::FailoverJob;").len(), 1);
    assert_eq!(violations("replication/cbt.rs", "use crate::ffi::call;").len(), 1);
    assert_eq!(violations("backup/point.rs", "use crate::integrity::IntegrityReport;").len(), 1);
    // Sideways between the two areas of one level.
    assert_eq!(violations("backup/point.rs", "use crate::targets::DeviceMapping;").len(), 1);
    assert_eq!(violations("targets/device.rs", "x = crate::backup::point::load(tx);").len(), 1);
    // The job log imports no area.
    assert_eq!(violations("joblog/mod.rs", "use crate::replication::context;").len(), 1);
    // Allowed: downward, into the job log, within the area, and everything from the top.
    assert!(violations("backup/point.rs", "use crate::replication::ChangeId; use crate::store::Store;").is_empty());
    assert!(violations("failover/job.rs", "use crate::targets::x; use crate::replication::y;").is_empty());
    assert!(violations("targets/lease.rs", "use crate::joblog::Event; use crate::targets::device;").is_empty());
    assert!(violations("integrity.rs", "use crate::targets; use crate::backup;").is_empty());
    assert!(violations("ffi/backup/point.rs", "use crate::backup::StartBackup;").is_empty());
    // Comments do not count.
    assert!(violations("store/mod.rs", "// see crate::targets::device").is_empty());
}

#[test]
fn rusqlite_outside_the_store_is_a_violation() {
    assert_eq!(violations("backup/point.rs", "use rusqlite::{params, Connection};").len(), 1);
    assert_eq!(violations("integrity.rs", "fn f(c: &rusqlite::Connection) {}").len(), 1);
    assert!(violations("store/query.rs", "use rusqlite::Connection;").is_empty());
    // The crate root's re-export of the store's rusqlite names no path into it.
    assert!(violations("lib.rs", "pub use store::rusqlite;").is_empty());
}

#[test]
fn unsafe_outside_the_c_abi_is_a_violation() {
    assert_eq!(violations("targets/device.rs", "fn f() { unsafe { g() } }").len(), 1);
    assert!(violations("ffi/store.rs", "pub unsafe extern \"C\" fn f() {}").is_empty());
    assert!(violations("lib.rs", "#![deny(unsafe_code)]").is_empty());
}
