//! What the area modules start from: a store on a new database file with a manual clock, and
//! the checks that a refused operation changed nothing.

use std::sync::Arc;

use sendense::{ManualClock, OpenOptions, Store};

/// A store on a new database file in its own temporary directory (removed when the fixture
/// is dropped), on a [`ManualClock`] that the test moves by hand.
pub struct TempStore {
    pub store: Store,
    pub clock: ManualClock,
    pub dir: tempfile::TempDir,
}

impl TempStore {
    /// The database file's name in [`TempStore::dir`].
    pub const FILE: &'static str = "test.db";

    /// A new database file whose clock starts at `t0` (Unix milliseconds).
    pub fn new(t0: i64) -> TempStore {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(t0);
        let options = OpenOptions::default().clock(Arc::new(clock.clone()));
        let store = Store::open(dir.path().join(TempStore::FILE), options).unwrap();
        TempStore { store, clock, dir }
    }

    /// The clock's current time (Unix milliseconds).
    pub fn clock_now(&self) -> i64 {
        use sendense::Clock;
        self.clock.now_ms()
    }
}

/// Every row of every table, as text: what a refused operation must leave unchanged.
pub fn snapshot(store: &Store) -> String {
    store
        .read(|tx| {
            let mut out = String::new();
            for table in sendense::TABLE_GROUPS.iter().flat_map(|(_, tables)| tables.iter()) {
                let mut stmt = tx.prepare(&format!("SELECT * FROM {table} ORDER BY rowid"))?;
                let n = stmt.column_count();
                let rows = stmt.query_map([], |r| {
                    (0..n)
                        .map(|i| r.get::<_, sendense::rusqlite::types::Value>(i).map(|v| format!("{v:?}")))
                        .collect::<Result<Vec<_>, _>>()
                })?;
                for row in rows {
                    out += &format!("{table}: {}\n", row?.join("|"));
                }
            }
            Ok(out)
        })
        .unwrap()
}

/// Run `op`, which must fail with `status` and a message containing every one of `words`, and
/// change nothing in the database.
pub fn assert_refused<T: std::fmt::Debug>(
    store: &Store,
    status: sendense::Status,
    words: &[&str],
    op: impl FnOnce() -> sendense::Result<T>,
) {
    let before = snapshot(store);
    let err = op().expect_err("the operation must be refused");
    assert_eq!(err.status(), status, "{err}");
    for w in words {
        assert!(err.message().contains(w), "message {:?} lacks {w:?}", err.message());
    }
    assert_eq!(snapshot(store), before, "a refused operation changed the database: {err}");
}
