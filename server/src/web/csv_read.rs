//! Reading the CSV files administrators import: bounded size and row count, named
//! columns, every bad row reported. Plain Rust and the `csv` crate only, so the fuzz
//! target (fuzz/fuzz_targets/csv_read.rs) can build this file on its own.

use std::collections::HashMap;

use patrol_protocol::reason::{Reason, Texts};

/// Largest CSV file accepted.
pub const CSV_MAX_BYTES: usize = 1024 * 1024;

/// One problem, on a line of the file as a spreadsheet numbers it (header = 1): why,
/// and the column it is about when there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    pub line: usize,
    pub column: Option<String>,
    pub reason: Reason,
}

impl RowError {
    pub fn new(line: usize, reason: Reason) -> RowError {
        RowError { line, column: None, reason }
    }

    pub fn about(line: usize, column: impl Into<String>, reason: Reason) -> RowError {
        RowError { line, column: Some(column.into()), reason }
    }

    /// The problem in both languages, naming the column.
    pub fn texts(&self) -> Texts {
        match &self.column {
            Some(c) => self.reason.about(c),
            None => self.reason.texts(),
        }
    }
}

/// A data row by column name, with its line number.
#[derive(Debug)]
pub struct CsvRow {
    pub line: usize,
    cells: HashMap<String, String>,
}

impl CsvRow {
    /// A cell, trimmed; empty when the column is absent or blank.
    pub fn get(&self, column: &str) -> &str {
        self.cells.get(column).map_or("", |v| v.trim())
    }
}

/// Parses a CSV file whose header names columns from `known`; `required` ones must
/// be present. Errors are reported against line 1 (the file as a whole) or a row.
pub fn read(bytes: &[u8], known: &[&str], required: &[&str], max_rows: usize) -> Result<Vec<CsvRow>, Vec<RowError>> {
    let whole = |why: Reason| vec![RowError::new(1, why)];
    if bytes.len() > CSV_MAX_BYTES {
        return Err(whole(Reason::CsvTooLarge { max_kb: CSV_MAX_BYTES / 1024 }));
    }
    // Excel writes a byte-order mark before UTF-8; other encodings (GBK) are
    // refused rather than guessed at.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if std::str::from_utf8(bytes).is_err() {
        return Err(whole(Reason::CsvNotUtf8));
    }
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(bytes);
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.trim().to_ascii_lowercase()).collect(),
        Err(e) => return Err(whole(Reason::CsvHeaderUnreadable { detail: e.to_string() })),
    };
    let mut problems = Vec::new();
    for name in &header {
        if !known.contains(&name.as_str()) {
            let name: String = name.chars().take(64).collect();
            problems.push(RowError::new(1, Reason::CsvUnknownColumn { name, known: known.join(", ") }));
        }
    }
    for name in required {
        if !header.iter().any(|h| h == name) {
            problems.push(RowError::new(1, Reason::CsvMissingColumn { name: name.to_string() }));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        // The reader skips blank lines (and counts them unreliably), so the line
        // number comes from the record's byte offset.
        let line = match &record {
            Ok(r) => r.position().map(|p| p.byte()),
            Err(e) => e.position().map(|p| p.byte()),
        }
        .and_then(|b| usize::try_from(b).ok())
        .map_or(i + 2, |b| {
            // The offset may point at the blank lines skipped before the record.
            let mut b = b.min(bytes.len());
            while b < bytes.len() && matches!(bytes[b], b'\r' | b'\n') {
                b += 1;
            }
            lines_before(&bytes[..b]) + 1
        })
        // The header is line 1 whatever the offsets say.
        .max(2);
        if rows.len() >= max_rows {
            return Err(whole(Reason::CsvTooManyRows { max: max_rows }));
        }
        match record {
            Ok(r) => {
                if r.iter().all(|c| c.trim().is_empty()) {
                    continue;
                }
                let cells = header.iter().cloned().zip(r.iter().map(str::to_string)).collect();
                rows.push(CsvRow { line, cells });
            }
            Err(e) => problems.push(RowError::new(line, Reason::CsvRowUnreadable { detail: e.to_string() })),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    if rows.is_empty() {
        return Err(whole(Reason::CsvNoRows));
    }
    Ok(rows)
}

/// How many lines end within `bytes`, counting the terminators the `csv` reader
/// accepts: `\r\n`, `\n` and a lone `\r`.
fn lines_before(bytes: &[u8]) -> usize {
    let mut n = 0;
    for (i, &c) in bytes.iter().enumerate() {
        if c == b'\n' || (c == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLS: &[&str] = &["code", "name_zh", "latitude"];

    #[test]
    fn rows_are_numbered_as_a_spreadsheet_numbers_them_whatever_the_line_ends() {
        for (file, want) in [
            (&b"code,name_zh\nA,\xE9\x97\xA8\n\nB,b\n"[..], vec![2, 4]),
            (&b"code,name_zh\r\nA,a\r\nB,b\r\n"[..], vec![2, 3]),
            // A lone carriage return ends a line too (old Mac files; found by the fuzzer).
            (&b"code,name_zh\rA,a\rB,b"[..], vec![2, 3]),
        ] {
            let rows = read(file, COLS, &["code"], 10).expect("valid file");
            assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), want, "{:?}", String::from_utf8_lossy(file));
        }
    }

    #[test]
    fn the_fuzzer_s_lone_carriage_return_file_reads_its_row_as_line_two() {
        let file = b"code,name_zh\r\0\0\0,latitcoddu";
        match read(file, COLS, &["code", "name_zh"], 500) {
            Ok(rows) => assert!(rows.iter().all(|r| r.line >= 2)),
            Err(problems) => assert!(problems.iter().all(|p| p.line >= 1) && !problems.is_empty()),
        }
    }
}
