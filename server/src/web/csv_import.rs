//! The CSV imports' report page; parsing is in `csv_read` (fuzzed on its own).

use maud::{Markup, html};

pub use super::csv_read::{CSV_MAX_BYTES, CsvRow, RowError, read};
use super::i18n::{K, Lang};
use crate::error::ApiError;

/// A row refused by the checks the API makes (a field out of range, an unknown site):
/// its reason and field, on the row's line.
pub fn row_refused(line: usize, e: &ApiError) -> RowError {
    match e.field() {
        Some(field) => RowError::about(line, field, e.reason().clone()),
        None => RowError::new(line, e.reason().clone()),
    }
}

/// The report shown when an import was refused.
pub fn report(lang: Lang, problems: &[RowError]) -> Markup {
    let t = |k| lang.t(k);
    html! {
        section.card.import-report role="alert" {
            h2 { (t(K::ImportFailed)) }
            table {
                thead { tr { th { (t(K::Row)) } th { (t(K::Problem)) } } }
                tbody {
                    @for p in problems {
                        @let texts = p.texts();
                        tr { td.code { (p.line) } td { (if lang == Lang::En { texts.en } else { texts.zh }) } }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: &[&str] = &["code", "name_zh", "note"];

    #[test]
    fn rows_are_read_by_column_name_with_their_line_numbers() {
        let csv = "\u{FEFF}Code,name_zh\nA1,北门\n\n\"B,2\",\"南门 \"\"二\"\"\"\n";
        let rows = read(csv.as_bytes(), KNOWN, &["code", "name_zh"], 10).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].line, rows[0].get("code")), (2, "A1"));
        assert_eq!(rows[1].line, 4);
        assert_eq!(rows[1].get("code"), "B,2");
        assert_eq!(rows[1].get("name_zh"), "南门 \"二\"");
        assert_eq!(rows[1].get("note"), "");
    }

    #[test]
    fn a_bad_file_is_refused_whole_with_reasons() {
        let unknown = read(b"code,colour\nA,red\n", KNOWN, &["code"], 10).unwrap_err();
        assert!(unknown[0].texts().zh.contains("colour") && unknown[0].texts().en.contains("colour"));
        let missing = read(b"code\nA\n", KNOWN, &["code", "name_zh"], 10).unwrap_err();
        assert!(missing[0].texts().zh.contains("name_zh"));
        let gbk = read(b"code,name_zh\nA,\xB1\xB1\xC3\xC5\n", KNOWN, &["code"], 10).unwrap_err();
        assert!(gbk[0].texts().zh.contains("UTF-8"));
        let many = "code\n".to_string() + &"A\n".repeat(11);
        let too_many = &read(many.as_bytes(), KNOWN, &["code"], 10).unwrap_err()[0];
        assert!(too_many.texts().en.contains("more than 10") && too_many.texts().zh.contains("超过 10 行"));
        let ragged = read(b"code,name_zh\nA,x\nB\n", KNOWN, &["code"], 10).unwrap_err();
        assert_eq!(ragged[0].line, 3);
        assert!(read(b"code,name_zh\n", KNOWN, &["code"], 10).is_err());
    }
}
