//! The whole database as text: every table, every row, sorted, so two dumps are equal
//! exactly when nothing was written in between.

use std::collections::BTreeMap;

use patrol_server::store::Store;

/// Every table's rows, each row rendered and the rows sorted (table order and row
/// order do not depend on how the database happens to scan).
pub async fn dump(store: &Store) -> BTreeMap<String, Vec<String>> {
    let kind = store.kind();
    store
        .read(move |c| {
            let list = if kind == "sqlite" {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            } else {
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
            };
            let tables: Vec<String> = c.query(list, &[])?.iter().map(|r| r.text(0)).collect::<Result<_, _>>()?;
            let mut out = BTreeMap::new();
            for t in tables {
                let mut rows: Vec<String> =
                    c.query(&format!("SELECT * FROM {t}"), &[])?.iter().map(|r| format!("{:?}", r.0)).collect();
                rows.sort();
                out.insert(t, rows);
            }
            Ok(out)
        })
        .await
        .unwrap()
}

/// The tables whose rows differ between two dumps, with the number of rows each side.
pub fn changed(before: &BTreeMap<String, Vec<String>>, after: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|t| before.get(*t) != after.get(*t))
        .map(|t| {
            format!(
                "{t} ({} rows before, {} after)",
                before.get(t).map_or(0, Vec::len),
                after.get(t).map_or(0, Vec::len)
            )
        })
        .collect()
}
