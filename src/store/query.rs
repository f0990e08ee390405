//! The query API the areas speak: the only door to SQLite outside this folder.
//!
//! Domain code runs in a [`Tx`] handed out by [`Store::writing`](crate::Store) /
//! [`Store::reading`](crate::Store) (or the autocommit connection of the hot paths) and
//! reaches SQL through four calls: [`Tx::execute`], [`Tx::one`], [`Tx::optional`] and
//! [`Tx::rows`]. Parameters are named (`:name` in the SQL) and given with the [`params!`](crate::params)
//! macro; rows are read with [`Row::get`] by position, or whole with a [`Record`] declared by
//! [`record!`](crate::record). No area file names rusqlite: a second backend (the same SQL on a replicated
//! SQLite cluster) is a change inside `src/store/` alone.
//!
//! Statements are prepared through the connection's statement cache, so a hot path pays for
//! its SQL text once.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{CachedStatement, Connection};

use crate::error::{Error, Result, Status};
use crate::value::Timestamp;

/// A value that can be bound to a statement parameter: text, integers, reals, booleans,
/// [`Timestamp`]s, the string enums, and `Option`s of them (`None` is NULL).
pub trait Param {
    #[doc(hidden)]
    fn sql(&self) -> &dyn ToSql;
}

impl<T: ToSql> Param for T {
    fn sql(&self) -> &dyn ToSql {
        self
    }
}

/// The named parameters of one statement, as built by [`params!`](crate::params): `(":name", value)`.
pub type Params<'a> = &'a [(&'a str, &'a dyn Param)];

/// A value that can be read from a column: the [`Param`] types, read back.
pub trait Column: Sized {
    #[doc(hidden)]
    fn read(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self>;
}

impl<T: FromSql> Column for T {
    fn read(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<T> {
        row.get(index)
    }
}

/// A JSON-text column, read as an embedded JSON value: `serde_json::Value` (NULL reads as
/// JSON null) or `Option<serde_json::Value>` (NULL reads as `None`).
pub trait JsonColumn: Sized {
    #[doc(hidden)]
    fn read_json(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self>;
}

fn parse_json(index: usize, text: Option<String>) -> rusqlite::Result<Option<serde_json::Value>> {
    text.map(|t| serde_json::from_str(&t))
        .transpose()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e)))
}

impl JsonColumn for serde_json::Value {
    fn read_json(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self> {
        Ok(parse_json(index, row.get(index)?)?.unwrap_or(serde_json::Value::Null))
    }
}

impl JsonColumn for Option<serde_json::Value> {
    fn read_json(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self> {
        parse_json(index, row.get(index)?)
    }
}

/// One result row; columns are read by position (0 is the first selected column).
pub struct Row<'s>(&'s rusqlite::Row<'s>);

impl Row<'_> {
    /// The column at `index`, converted to `T`; a NULL into a non-`Option` or a value of the
    /// wrong type is an INTERNAL error naming the position.
    pub fn get<T: Column>(&self, index: usize) -> Result<T> {
        Ok(T::read(self.0, index)?)
    }

    /// The text column at `index`, borrowed from the row (no allocation: for reads of many
    /// rows); NULL or another type is an INTERNAL error naming the position.
    pub fn str(&self, index: usize) -> Result<&str> {
        Ok(self.0.get_ref(index)?.as_str()?)
    }

    /// The nullable text column at `index`, borrowed from the row (see [`Row::str`]).
    pub fn opt_str(&self, index: usize) -> Result<Option<&str>> {
        Ok(self.0.get_ref(index)?.as_str_or_null()?)
    }

    /// The JSON-text column at `index`, parsed (see [`JsonColumn`]).
    pub fn json<T: JsonColumn>(&self, index: usize) -> Result<T> {
        Ok(T::read_json(self.0, index)?)
    }
}

/// A record type: a struct whose fields are the columns of one table, declared once with
/// [`record!`](crate::record), which gives the struct, its column list and its row reader.
pub trait Record: Sized {
    /// The table the record is read from.
    const TABLE: &'static str;
    /// Its columns, comma-separated, in field order: select exactly these to read it.
    const COLUMNS: &'static str;
    /// Read a row selected as [`Record::COLUMNS`].
    fn from_row(row: &Row<'_>) -> Result<Self>;
}

/// A handle on one transaction (or, on the hot paths, on the connection in autocommit mode):
/// every domain operation reaches SQL through it.
pub struct Tx<'c> {
    conn: &'c Connection,
    /// Whether a statement that may change rows ([`Tx::execute`]) has run: outside an explicit
    /// transaction such a statement commits as it runs, so its I/O failure may have been
    /// applied (see `Store::autocommit`).
    wrote: std::cell::Cell<bool>,
}

impl<'c> Tx<'c> {
    pub(crate) fn new(conn: &'c Connection) -> Tx<'c> {
        Tx { conn, wrote: std::cell::Cell::new(false) }
    }

    /// Whether [`Tx::execute`] has run on this handle.
    pub(crate) fn wrote(&self) -> bool {
        self.wrote.get()
    }

    /// Prepare `sql` (through the statement cache) and bind `params` by name. Every
    /// parameter of the statement must be given, and every given one must be in it.
    fn prepare(&self, sql: &str, params: Params<'_>) -> Result<CachedStatement<'c>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        for (name, value) in params {
            let index = stmt.parameter_index(name)?.ok_or_else(|| {
                Error::internal(format!("the statement has no parameter {name}: {}", first_line(sql)))
            })?;
            stmt.raw_bind_parameter(index, value.sql())?;
        }
        if stmt.parameter_count() != params.len() {
            return Err(Error::internal(format!(
                "the statement has {} parameters, {} given: {}",
                stmt.parameter_count(),
                params.len(),
                first_line(sql)
            )));
        }
        Ok(stmt)
    }

    /// Run a statement that returns no rows; the number of rows it changed.
    pub fn execute(&self, sql: &str, params: Params<'_>) -> Result<usize> {
        let mut stmt = self.prepare(sql, params)?;
        self.wrote.set(true);
        Ok(stmt.raw_execute()?)
    }

    /// The first row of a query, read by `read`; no row is NOT_FOUND (as SQLite reports it).
    pub fn one<T>(&self, sql: &str, params: Params<'_>, read: impl FnOnce(&Row<'_>) -> Result<T>) -> Result<T> {
        self.optional(sql, params, read)?.ok_or_else(|| rusqlite::Error::QueryReturnedNoRows.into())
    }

    /// The first row of a query, read by `read`, or `None` when there is none.
    pub fn optional<T>(
        &self,
        sql: &str,
        params: Params<'_>,
        read: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut stmt = self.prepare(sql, params)?;
        let mut rows = stmt.raw_query();
        match rows.next()? {
            Some(row) => read(&Row(row)).map(Some),
            None => Ok(None),
        }
    }

    /// Every row of a query, each read by `read`.
    pub fn rows<T>(
        &self,
        sql: &str,
        params: Params<'_>,
        mut read: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut stmt = self.prepare(sql, params)?;
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(read(&Row(row))?);
        }
        Ok(out)
    }

    /// The first `R` of `SELECT {R::COLUMNS} FROM {R::TABLE} {rest}`, or `None`; `rest` is the
    /// `WHERE` (and `ORDER BY`) part.
    pub fn record<R: Record>(&self, rest: &str, params: Params<'_>) -> Result<Option<R>> {
        self.optional(&format!("SELECT {} FROM {} {rest}", R::COLUMNS, R::TABLE), params, R::from_row)
    }

    /// Every `R` of `SELECT {R::COLUMNS} FROM {R::TABLE} {rest}`.
    pub fn records<R: Record>(&self, rest: &str, params: Params<'_>) -> Result<Vec<R>> {
        self.rows(&format!("SELECT {} FROM {} {rest}", R::COLUMNS, R::TABLE), params, R::from_row)
    }

    /// Whether a query returns at least one row.
    pub fn exists(&self, sql: &str, params: Params<'_>) -> Result<bool> {
        Ok(self.optional(sql, params, |_| Ok(()))?.is_some())
    }

    /// The rowid of the last row this connection inserted.
    pub fn last_insert_rowid(&self) -> i64 {
        self.conn.last_insert_rowid()
    }
}

fn first_line(sql: &str) -> &str {
    sql.trim_start().lines().next().unwrap_or("")
}

/// `UPDATE table SET updated_at = :now, <set...> WHERE id = :id` (nothing but updated_at when
/// `set` is empty): the partial updates of the areas' `*_update` operations.
pub(crate) fn update_columns(
    tx: &Tx<'_>,
    table: &str,
    id: &dyn Param,
    now: i64,
    set: &[(&str, Box<dyn Param>)],
) -> Result<()> {
    let assignments: String = set.iter().map(|(col, _)| format!(", {col} = :{col}")).collect();
    let sql = format!("UPDATE {table} SET updated_at = :updated_at{assignments} WHERE id = :id");
    let names: Vec<String> = set.iter().map(|(col, _)| format!(":{col}")).collect();
    let mut params: Vec<(&str, &dyn Param)> = vec![(":id", id), (":updated_at", &now)];
    params.extend(names.iter().zip(set).map(|(name, (_, v))| (name.as_str(), v.as_ref())));
    tx.execute(&sql, &params)?;
    Ok(())
}

/// A `SELECT` built from optional filters: the list operations of every area are written
/// with it.
pub(crate) struct Select<'a> {
    sql: String,
    names: Vec<String>,
    args: Vec<Box<dyn Param + 'a>>,
}

impl<'a> Select<'a> {
    /// `SELECT {columns} FROM {from} WHERE 1 = 1`, to which the filters add `AND ...`.
    pub(crate) fn new(columns: &str, from: &str) -> Select<'a> {
        Select { sql: format!("SELECT {columns} FROM {from} WHERE 1 = 1"), names: Vec::new(), args: Vec::new() }
    }

    /// The records of `R`'s table, filtered.
    pub(crate) fn records<R: Record>() -> Select<'a> {
        Select::new(R::COLUMNS, R::TABLE)
    }

    /// `AND column = :value` when `value` is given.
    pub(crate) fn eq(self, column: &str, value: Option<impl Param + 'a>) -> Select<'a> {
        self.when(value, |p| format!("{column} = {p}"))
    }

    /// `AND {clause(p)}` when `value` is given, `p` being its parameter's name.
    pub(crate) fn when(mut self, value: Option<impl Param + 'a>, clause: impl FnOnce(&str) -> String) -> Select<'a> {
        if let Some(v) = value {
            let name = format!(":p{}", self.args.len() + 1);
            self.sql += &format!(" AND {}", clause(&name));
            self.names.push(name);
            self.args.push(Box::new(v));
        }
        self
    }

    /// `ORDER BY {order_by}`, then `LIMIT` and `OFFSET` when given.
    pub(crate) fn order(mut self, order_by: &str, page: Option<(u32, u32)>) -> Select<'a> {
        self.sql += &format!(" ORDER BY {order_by}");
        if let Some((limit, offset)) = page {
            self.sql += &format!(" LIMIT {limit} OFFSET {offset}");
        }
        self
    }

    /// Run the query and read its rows with `read`.
    pub(crate) fn rows<T>(&self, tx: &Tx<'_>, read: impl FnMut(&Row<'_>) -> Result<T>) -> Result<Vec<T>> {
        let params: Vec<(&str, &dyn Param)> =
            self.names.iter().zip(&self.args).map(|(n, v)| (n.as_str(), v.as_ref() as &dyn Param)).collect();
        tx.rows(&self.sql, &params, read)
    }

    /// Run the query and read its rows as records.
    pub(crate) fn records_in<R: Record>(&self, tx: &Tx<'_>) -> Result<Vec<R>> {
        self.rows(tx, R::from_row)
    }
}

/// `Ok` when `table` has a row whose `column` equals `value`, else NOT_FOUND "`what` does not
/// exist". For references whose absence the caller must hear about by name, not as a
/// foreign-key failure.
pub(crate) fn require_row(tx: &Tx<'_>, table: &str, column: &str, value: &dyn Param, what: &str) -> Result<()> {
    let found = tx.exists(&format!("SELECT 1 FROM {table} WHERE {column} = :value"), &[(":value", value)])?;
    if found {
        Ok(())
    } else {
        Err(Error::not_found(format!("{what} does not exist")))
    }
}

/// Named parameters for [`Tx`] calls: `params![id, now, status = to]` binds `:id`, `:now`
/// and `:status` (a bare name binds the variable of the same name).
#[macro_export]
macro_rules! params {
    () => { &[] as &[(&str, &dyn $crate::store::Param)] };
    ($($name:ident $(= $value:expr)?),+ $(,)?) => {
        &[$((concat!(":", stringify!($name)), $crate::params!(@value $name $(= $value)?) as &dyn $crate::store::Param)),+]
            as &[(&str, &dyn $crate::store::Param)]
    };
    (@value $name:ident) => { &$name };
    (@value $name:ident = $value:expr) => { &$value };
}

/// Declare a record type once: the struct, its column list ([`Record::COLUMNS`]) and its row
/// reader. Each field is a column of the same name, read by position; `= "name"` after the
/// type names another column, and `as json` reads a JSON-text column as an embedded value.
///
/// ```ignore
/// record! {
///     /// A `backup_copies` row.
///     #[derive(Debug, Clone, PartialEq, Serialize)]
///     pub struct BackupCopy in "backup_copies" {
///         pub id: String,
///         #[serde(rename = "type")]
///         pub op_type: OpType = "type",
///         pub request: serde_json::Value as json,
///     }
/// }
/// ```
#[macro_export]
#[doc(hidden)]
macro_rules! record {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident in $table:literal {
            $($(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty $(= $column:literal)? $(as $conv:ident)?),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name { $($(#[$fmeta])* $fvis $field: $ty),+ }

        impl $crate::store::Record for $name {
            const TABLE: &'static str = $table;
            const COLUMNS: &'static str = $crate::record!(@columns $($crate::record!(@column $field $(= $column)?)),+);

            #[allow(unused_assignments)]
            fn from_row(row: &$crate::store::Row<'_>) -> $crate::Result<$name> {
                let mut index = 0usize;
                Ok($name {
                    $($field: {
                        let value = $crate::record!(@read row, index $(, $conv)?);
                        index += 1;
                        value
                    }),+
                })
            }
        }
    };
    (@columns $first:expr $(, $rest:expr)*) => { concat!($first $(, ", ", $rest)*) };
    (@column $field:ident) => { stringify!($field) };
    (@column $field:ident = $column:literal) => { $column };
    (@read $row:ident, $index:ident) => { $row.get($index)? };
    (@read $row:ident, $index:ident, json) => { $row.json($index)? };
}

/// The SQL conversions of a string enum (see `string_enum!`): stored as its text.
#[macro_export]
#[doc(hidden)]
macro_rules! sql_text_enum {
    ($name:ident) => {
        impl $crate::store::sql::ToSql for $name {
            fn to_sql(&self) -> $crate::store::sql::Result<$crate::store::sql::ToSqlOutput<'_>> {
                Ok($crate::store::sql::ToSqlOutput::from(self.as_str()))
            }
        }

        impl $crate::store::sql::FromSql for $name {
            fn column_result(v: $crate::store::sql::ValueRef<'_>) -> $crate::store::sql::FromSqlResult<$name> {
                $name::parse(v.as_str()?).map_err(|e| $crate::store::sql::FromSqlError::Other(e.into()))
            }
        }
    };
}

/// What [`sql_text_enum!`] expands to, named through the store.
#[doc(hidden)]
pub mod sql {
    pub use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
    pub use rusqlite::Result;
}

impl ToSql for Timestamp {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.0))
    }
}

impl FromSql for Timestamp {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Timestamp> {
        i64::column_result(value).map(Timestamp)
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        use rusqlite::ErrorCode as C;
        let status = match e.sqlite_error_code() {
            Some(C::DatabaseBusy | C::DatabaseLocked) => Status::Busy,
            Some(C::DatabaseCorrupt) => Status::Corrupt,
            Some(C::NotADatabase) => Status::NotADatabase,
            Some(
                C::CannotOpen
                | C::SystemIoFailure
                | C::ReadOnly
                | C::DiskFull
                | C::PermissionDenied
                | C::NoLargeFileSupport
                | C::FileLockingProtocolFailed,
            ) => Status::Io,
            Some(C::ConstraintViolation) => Status::Conflict,
            _ => match e {
                rusqlite::Error::QueryReturnedNoRows => Status::NotFound,
                _ => Status::Internal,
            },
        };
        Error::new(status, format!("sqlite: {e}"))
    }
}

impl From<FromSqlError> for Error {
    /// A column that does not hold what the schema promises (text that is not UTF-8, a NULL
    /// where a value must be): the file was changed behind the library's back.
    fn from(e: FromSqlError) -> Error {
        Error::internal(format!("sqlite: a column holds an unexpected value: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_errors_map_to_statuses() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t(x INTEGER PRIMARY KEY, y CHECK (y > 0))").unwrap();
        let e: Error = conn.execute("INSERT INTO t(y) VALUES (0)", []).unwrap_err().into();
        assert_eq!(e.status(), Status::Conflict);
        assert!(e.message().contains("CHECK"), "{e}");
        let e: Error = conn.query_row("SELECT x FROM t", [], |r| r.get::<_, i64>(0)).unwrap_err().into();
        assert_eq!(e.status(), Status::NotFound);
        let e: Error = conn.execute("SELEC 1", []).unwrap_err().into();
        assert_eq!(e.status(), Status::Internal);
    }
}
