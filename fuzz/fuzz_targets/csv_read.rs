//! The administrators' CSV imports (checkpoints, people): any file is either read into
//! bounded rows or refused with per-line reasons, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../server/src/web/csv_read.rs"]
#[allow(dead_code)]
mod csv_read;

const COLUMNS: &[&str] = &["code", "name_zh", "name_en", "latitude", "longitude", "radius_m", "nfc_tag_id", "checklist"];

fuzz_target!(|data: &[u8]| {
    match csv_read::read(data, COLUMNS, &["code", "name_zh"], 500) {
        Ok(rows) => {
            assert!(!rows.is_empty() && rows.len() <= 500);
            for r in &rows {
                assert!(r.line >= 2, "data rows start on line 2");
                let _ = r.get("code");
            }
        }
        Err(problems) => {
            assert!(!problems.is_empty());
            for p in &problems {
                let said = p.texts();
                assert!(!said.zh.is_empty() && !said.en.is_empty(), "a refusal says why in both languages");
            }
        }
    }
});
