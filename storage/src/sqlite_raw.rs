//! Statements on a SQLite connection that sqlx manages, run on the calling thread.
//!
//! sqlx's SQLite driver runs every statement on the connection's own worker thread and
//! hands the result back through a channel: two thread wake-ups per statement, which
//! measured ~40 µs a statement on the 2-core build machine against ~11 µs for the same
//! insert on the calling thread (`storage/examples/statement_cost.rs`,
//! docs/benchmarks.md "Sync on sqlx"). A push runs about a dozen statements per record,
//! so the hop made SQLite ingest 2.5 to 4 times slower. While a transaction body runs,
//! the store holds sqlx's lock on the connection (`SqliteConnection::lock_handle`: the
//! worker cannot touch it meanwhile) and runs each statement here through SQLite's C
//! API; sqlx still opens, configures, pools, begins, commits, rolls back and closes the
//! connection, and runs the migrations.
//!
//! Statements are prepared once per transaction body and all finalized before the lock
//! is given back (`Statements::drop`), so sqlx never finds a statement of ours open on a
//! connection it closes.

use std::collections::HashMap;
use std::ffi::{CStr, c_char, c_int};
use std::ptr::NonNull;

use libsqlite3_sys as ffi;

use crate::db::{DbError, Row, Value};

fn error_of(db: NonNull<ffi::sqlite3>, code: c_int) -> DbError {
    // SAFETY: the handle is open (`Statements::new`'s contract).
    let (extended, message) = unsafe {
        let msg = ffi::sqlite3_errmsg(db.as_ptr());
        let text = if msg.is_null() { String::new() } else { CStr::from_ptr(msg).to_string_lossy().into_owned() };
        (ffi::sqlite3_extended_errcode(db.as_ptr()), text)
    };
    match extended {
        ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => DbError::Unique(message),
        _ => DbError::Backend(format!("{message} (SQLite code {extended}, {code})")),
    }
}

/// The `$N` each parameter of a statement names, in SQLite's order (`?` alone: its place).
fn parameter_numbers(stmt: NonNull<ffi::sqlite3_stmt>) -> Result<Vec<usize>, DbError> {
    let s = stmt.as_ptr();
    // SAFETY: `s` is a live statement.
    unsafe {
        let n = ffi::sqlite3_bind_parameter_count(s);
        (1..=n)
            .map(|i| {
                let name = ffi::sqlite3_bind_parameter_name(s, i);
                if name.is_null() {
                    return Ok(i as usize);
                }
                let name = CStr::from_ptr(name).to_string_lossy();
                name.get(1..)
                    .and_then(|d| d.parse::<usize>().ok())
                    .filter(|&d| d >= 1)
                    .ok_or_else(|| DbError::Data(format!("parameter {name} is not numbered ($1, $2 …)")))
            })
            .collect()
    }
}

/// Prepared statements one connection keeps at most (`Statements::statement`).
const MAX_PREPARED: usize = 1024;

/// The statements one transaction body has prepared on one connection.
pub struct Statements {
    db: NonNull<ffi::sqlite3>,
    prepared: HashMap<String, Prepared>,
    /// Refuse statements that would write (`reads_only`).
    reads_only: bool,
}

/// A prepared statement and, for each of its parameters in SQLite's order, the `$N`
/// it names: worked out once when prepared, not at every execution (asking SQLite for
/// a parameter's name scans its list, and a push executes the same few statements
/// thousands of times).
struct Prepared {
    stmt: NonNull<ffi::sqlite3_stmt>,
    numbers: std::sync::Arc<[usize]>,
}

// SAFETY: the handle is used by one thread at a time, while sqlx's lock on the connection
// is held by the same owner (`SqliteConn`), and SQLite connections may move between
// threads when not used concurrently.
unsafe impl Send for Statements {}

impl Statements {
    /// # Safety
    /// `db` must stay open, and be used by nothing else, until this value is dropped.
    pub unsafe fn new(db: NonNull<ffi::sqlite3>) -> Statements {
        Statements { db, prepared: HashMap::new(), reads_only: false }
    }

    /// Refuses, before it runs, any statement SQLite says may write (a pooled read
    /// connection's: writes go through the one writer).
    pub fn reads_only(mut self) -> Statements {
        self.reads_only = true;
        self
    }

    /// The connection's handle, for what only the raw API does (WAL hooks and
    /// checkpoints, `sqlite_checkpoint`).
    pub(crate) fn raw(&self) -> *mut ffi::sqlite3 {
        self.db.as_ptr()
    }

    fn error(&self, code: c_int) -> DbError {
        error_of(self.db, code)
    }

    /// The statement prepared (once) for `sql`, and the parameter each of its
    /// placeholders takes, from one lookup.
    fn statement(&mut self, sql: &str) -> Result<(NonNull<ffi::sqlite3_stmt>, std::sync::Arc<[usize]>), DbError> {
        if let Some(p) = self.prepared.get(sql) {
            return Ok((p.stmt, p.numbers.clone()));
        }
        let len = c_int::try_from(sql.len()).map_err(|_| DbError::Data("statement too long".into()))?;
        let mut stmt = std::ptr::null_mut();
        let mut tail: *const c_char = std::ptr::null();
        // SAFETY: the text and its length are valid; the out-pointers are ours.
        let rc = unsafe { ffi::sqlite3_prepare_v2(self.db.as_ptr(), sql.as_ptr().cast(), len, &mut stmt, &mut tail) };
        if rc != ffi::SQLITE_OK {
            return Err(self.error(rc));
        }
        let Some(stmt) = NonNull::new(stmt) else {
            return Err(DbError::Data(format!("no statement in: {sql}")));
        };
        // One statement per call, as the store's callers write them: whatever follows
        // the first must prepare to nothing (SQLite's parser skips spaces and comments).
        // SAFETY: `tail` points into `sql` (SQLite's contract) or is null.
        let rest = if tail.is_null() { sql.len() } else { (unsafe { tail.offset_from(sql.as_ptr().cast()) }) as usize };
        let more = match sql.get(rest..) {
            Some(r) if !r.trim().is_empty() => {
                let mut next = std::ptr::null_mut();
                // SAFETY: as above; a statement it makes is finalized at once.
                let rc = unsafe {
                    ffi::sqlite3_prepare_v2(
                        self.db.as_ptr(),
                        r.as_ptr().cast(),
                        r.len() as c_int,
                        &mut next,
                        std::ptr::null_mut(),
                    )
                };
                if !next.is_null() {
                    unsafe { ffi::sqlite3_finalize(next) };
                }
                rc != ffi::SQLITE_OK || !next.is_null()
            }
            _ => false,
        };
        if more {
            // SAFETY: prepared above, not yet stored.
            unsafe { ffi::sqlite3_finalize(stmt.as_ptr()) };
            return Err(DbError::Data(format!("more than one statement in: {sql}")));
        }
        // SAFETY: `stmt` is prepared and ours.
        if self.reads_only && unsafe { ffi::sqlite3_stmt_readonly(stmt.as_ptr()) } == 0 {
            // SAFETY: prepared above, not yet stored.
            unsafe { ffi::sqlite3_finalize(stmt.as_ptr()) };
            return Err(DbError::Data(format!("a write on a connection for reading: {sql}")));
        }
        let numbers = match parameter_numbers(stmt) {
            Ok(n) => n,
            Err(e) => {
                // SAFETY: prepared above, not yet stored.
                unsafe { ffi::sqlite3_finalize(stmt.as_ptr()) };
                return Err(e);
            }
        };
        if self.prepared.len() >= MAX_PREPARED {
            // A bound on what a long-lived connection (the writer's) keeps: the server has
            // a few hundred statements; beyond that, start over. No statement is in use
            // here (each call prepares, runs and resets its own before the next).
            self.finalize_all();
        }
        let numbers: std::sync::Arc<[usize]> = numbers.into();
        self.prepared.insert(sql.to_string(), Prepared { stmt, numbers: numbers.clone() });
        Ok((stmt, numbers))
    }

    /// Binds `params` to `$N` (or `?N`) by number, as PostgreSQL does. Text and bytes
    /// are bound where they are (`SQLITE_STATIC`, no copy): the caller steps the
    /// statement while `params` lives and clears the bindings before it returns
    /// (`run`), so SQLite never reads them after. Every run ends with the statement reset
    /// and its bindings cleared (`Unbind`), so it starts clean.
    fn bind(&self, s: *mut ffi::sqlite3_stmt, numbers: &[usize], params: &[Value]) -> Result<(), DbError> {
        // SAFETY: `s` is a live statement of this connection; what is bound outlives
        // every step of it (above).
        unsafe {
            for (k, &number) in numbers.iter().enumerate() {
                let i = k as c_int + 1;
                let v = params.get(number - 1).ok_or_else(|| {
                    DbError::Data(format!("the statement takes ${number}, {} parameters were given", params.len()))
                })?;
                let rc = match v {
                    Value::Null => ffi::sqlite3_bind_null(s, i),
                    Value::Int(x) => ffi::sqlite3_bind_int64(s, i, *x),
                    Value::Real(x) => ffi::sqlite3_bind_double(s, i, *x),
                    Value::Text(t) => ffi::sqlite3_bind_text64(
                        s,
                        i,
                        t.as_ptr().cast(),
                        t.len() as u64,
                        ffi::SQLITE_STATIC(),
                        ffi::SQLITE_UTF8 as u8,
                    ),
                    Value::Blob(b) => {
                        ffi::sqlite3_bind_blob64(s, i, b.as_ptr().cast(), b.len() as u64, ffi::SQLITE_STATIC())
                    }
                };
                if rc != ffi::SQLITE_OK {
                    return Err(self.error(rc));
                }
            }
        }
        Ok(())
    }

    /// Runs one statement; its rows if `rows`, and the rows it changed.
    pub fn run(&mut self, sql: &str, params: &[Value], rows: bool) -> Result<(Vec<Row>, u64), DbError> {
        let (stmt, numbers) = self.statement(sql)?;
        let s = stmt.as_ptr();
        let bound = self.bind(s, &numbers, params);
        // Whatever happens from here, the bindings go before `params` may (`bind`).
        let _unbind = Unbind(s);
        bound?;
        let mut out = Vec::new();
        // SAFETY: `s` is a live, bound statement of this connection; column pointers
        // are read before the next step.
        unsafe {
            let columns = ffi::sqlite3_column_count(s);
            loop {
                match ffi::sqlite3_step(s) {
                    ffi::SQLITE_ROW => {
                        if !rows {
                            continue;
                        }
                        let mut values = Vec::with_capacity(columns as usize);
                        for c in 0..columns {
                            values.push(match ffi::sqlite3_column_type(s, c) {
                                ffi::SQLITE_INTEGER => Value::Int(ffi::sqlite3_column_int64(s, c)),
                                ffi::SQLITE_FLOAT => Value::Real(ffi::sqlite3_column_double(s, c)),
                                ffi::SQLITE_TEXT => {
                                    let p = ffi::sqlite3_column_text(s, c);
                                    let n = ffi::sqlite3_column_bytes(s, c) as usize;
                                    let bytes = if p.is_null() { &[][..] } else { std::slice::from_raw_parts(p, n) };
                                    Value::Text(match std::str::from_utf8(bytes) {
                                        Ok(t) => t.to_owned(),
                                        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
                                    })
                                }
                                ffi::SQLITE_BLOB => {
                                    let p = ffi::sqlite3_column_blob(s, c).cast::<u8>();
                                    let n = ffi::sqlite3_column_bytes(s, c) as usize;
                                    Value::Blob(if p.is_null() {
                                        vec![]
                                    } else {
                                        std::slice::from_raw_parts(p, n).to_vec()
                                    })
                                }
                                _ => Value::Null,
                            });
                        }
                        out.push(Row(values));
                    }
                    ffi::SQLITE_DONE => break,
                    rc => return Err(self.error(rc)),
                }
            }
            Ok((out, ffi::sqlite3_changes64(self.db.as_ptr()) as u64))
        }
    }

    /// Whether a transaction is open on the connection (SQLite rolls one back by
    /// itself on some errors).
    pub fn in_transaction(&self) -> bool {
        // SAFETY: the handle is open (`new`'s contract).
        unsafe { ffi::sqlite3_get_autocommit(self.db.as_ptr()) == 0 }
    }

    /// Runs several statements without parameters.
    pub fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        let text = std::ffi::CString::new(sql).map_err(|_| DbError::Data("a NUL in the SQL".into()))?;
        // SAFETY: a NUL-terminated text; no callback.
        let rc = unsafe {
            ffi::sqlite3_exec(self.db.as_ptr(), text.as_ptr(), None, std::ptr::null_mut(), std::ptr::null_mut())
        };
        if rc == ffi::SQLITE_OK { Ok(()) } else { Err(self.error(rc)) }
    }
}

/// Resets a statement and clears what was bound to it when dropped: the bound text and
/// bytes are the caller's, bound without a copy.
struct Unbind(*mut ffi::sqlite3_stmt);

impl Drop for Unbind {
    fn drop(&mut self) {
        // SAFETY: a live statement of the connection (finalized only by `Statements`,
        // never while a call runs it).
        unsafe {
            ffi::sqlite3_reset(self.0);
            ffi::sqlite3_clear_bindings(self.0);
        }
    }
}

impl Statements {
    fn finalize_all(&mut self) {
        for (_, Prepared { stmt: s, .. }) in self.prepared.drain() {
            // SAFETY: each was prepared on this connection and is finalized once.
            unsafe { ffi::sqlite3_finalize(s.as_ptr()) };
        }
    }
}

impl Drop for Statements {
    fn drop(&mut self) {
        self.finalize_all();
    }
}
