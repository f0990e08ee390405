//! Quickstart: open (or create) a libsendense database file, check it, and print what it holds.
//!
//! ```sh
//! cargo run --example quickstart              # uses ./sendense-quickstart.db
//! cargo run --example quickstart -- /path/to/state.db
//! ```

use std::collections::BTreeMap;

use sendense::{OpenOptions, Store};

fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| "sendense-quickstart.db".to_string());
    if let Err(e) = run(&path) {
        eprintln!("quickstart: {e}");
        std::process::exit(1);
    }
}

fn run(path: &str) -> sendense::Result<()> {
    let store = Store::open(path, OpenOptions::default())?;
    println!("libsendense {} — database {path}", env!("CARGO_PKG_VERSION"));
    println!("schema version {}", store.schema_version()?);

    let report = store.integrity_check()?;
    println!(
        "integrity: {} ({} integrity errors, {} foreign-key violations)",
        if report.ok { "ok" } else { "PROBLEMS FOUND" },
        report.integrity_errors.len(),
        report.foreign_key_violations.len()
    );

    // One line per table group: total rows and the rows per table.
    let mut groups: BTreeMap<usize, (&str, i64, Vec<String>)> = BTreeMap::new();
    for count in store.table_counts()? {
        let order = sendense::TABLE_GROUPS.iter().position(|(g, _)| *g == count.group).unwrap_or(usize::MAX);
        let entry = groups.entry(order).or_insert((count.group, 0, Vec::new()));
        entry.1 += count.rows;
        entry.2.push(format!("{} {}", count.table, count.rows));
    }
    for (group, total, tables) in groups.values() {
        println!("{group:<27} {total:>7} rows: {}", tables.join(", "));
    }
    Ok(())
}
