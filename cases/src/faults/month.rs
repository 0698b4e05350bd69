//! A site's month of fault notices (违规处理情况汇总): each person's points, the
//! superiors' shares of repeated rules (joint liability, worked out here and nowhere
//! else), the bands reached and fines by the organisation's scale, the publish list.
//! The console page, the Excel and PDF for finance and the API all read this one sheet.

use std::collections::BTreeMap;

use patrol_protocol::Id;
use patrol_protocol::Site;
use patrol_protocol::fault::{Charge, MonthSheet, PersonMonth, Repeat};

use super::{catalogue, of_month, view};
use crate::params;
use crate::store::{Conn, DbError};

/// The instant a month (YYYY-MM) of a site ends, in UTC milliseconds.
pub fn month_end_ms(month: &str, utc_offset_minutes: i32) -> Option<i64> {
    let first = chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok()?;
    let next = first.checked_add_months(chrono::Months::new(1))?;
    let local = next.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis();
    Some(local - i64::from(utc_offset_minutes) * 60_000)
}

/// Is `month` a YYYY-MM between 2000 and 2200?
pub fn month_ok(month: &str) -> bool {
    month.len() == 7
        && chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
            .is_ok_and(|d| (2000..2200).contains(&chrono::Datelike::year(&d)))
}

/// The sheet of `site` for `month`, by the scale in force at the month's end.
pub fn sheet(c: &mut dyn Conn, site: &Site, month: &str) -> Result<MonthSheet, DbError> {
    let end = month_end_ms(month, site.utc_offset_minutes);
    let scale = catalogue::scale(c, site.org_id, end)?;
    let rows = of_month(c, site.id, month)?;
    let mut faults = Vec::with_capacity(rows.len());
    for f in &rows {
        faults.push(view(c, f)?);
    }
    // (person, rule) → the counted notices, in the order they were seen.
    let mut groups: BTreeMap<(Id, Id), Vec<usize>> = BTreeMap::new();
    for (i, f) in rows.iter().enumerate() {
        if !f.voided && f.points_now > 0 {
            groups.entry((f.person_id, f.rule_id)).or_default().push(i);
        }
    }
    let mut people: BTreeMap<Id, PersonMonth> = BTreeMap::new();
    let mut charges = Vec::new();
    let blank = |id: Id, name: String| PersonMonth {
        person_id: id,
        name,
        notices: 0,
        own_tenths: 0,
        shared_tenths: 0,
        charged_tenths: 0,
        total_tenths: 0,
        band_zh: None,
        band_en: None,
        fine_fen: 0,
        published: false,
        repeats: Vec::new(),
    };
    for ((person, rule), idx) in &mut groups {
        idx.sort_by_key(|i| (rows[*i].seen_ms, rows[*i].counter));
        let tenths: i64 = idx.iter().map(|i| rows[*i].points_now * 10).sum();
        let name = faults[idx[0]].person_name.clone();
        let p = people.entry(*person).or_insert_with(|| blank(*person, name.clone()));
        p.notices += idx.len() as u32;
        p.own_tenths += tenths;
        let Some((s, _)) = &scale else { continue };
        if (idx.len() as u32) < s.repeat_count {
            continue;
        }
        let numbers: Vec<String> = idx.iter().map(|i| rows[*i].number.clone()).collect();
        let first = &faults[idx[0]];
        let notes = c
            .query(
                "SELECT note FROM fault_month_notes WHERE site_id = $1 AND month = $2 AND person_id = $3 AND rule_id = $4
                 ORDER BY at_ms",
                &params![site.id, month, *person, *rule],
            )?
            .iter()
            .map(|r| r.text(0))
            .collect::<Result<Vec<_>, _>>()?;
        p.repeats.push(Repeat {
            rule_id: *rule,
            rule_code: first.rule_code.clone(),
            rule_name_zh: first.rule_name_zh.clone(),
            rule_name_en: first.rule_name_en.clone(),
            count: idx.len() as u32,
            numbers: numbers.clone(),
            notes,
        });
        // The superior of the notice that reached the repeat count shares it.
        let reached = &rows[idx[s.repeat_count as usize - 1]];
        let Some(superior) = reached.superior_id else { continue };
        let share = (tenths * i64::from(100 - s.person_share_pct) + 50) / 100;
        p.shared_tenths += share;
        charges.push(Charge {
            superior_id: superior,
            superior_name: crate::notices::name_of(c, superior)?,
            person_id: *person,
            person_name: name,
            rule_code: first.rule_code.clone(),
            rule_name_zh: first.rule_name_zh.clone(),
            numbers,
            tenths: share,
        });
    }
    for ch in &charges {
        people
            .entry(ch.superior_id)
            .or_insert_with(|| blank(ch.superior_id, ch.superior_name.clone()))
            .charged_tenths += ch.tenths;
    }
    let mut people: Vec<PersonMonth> = people.into_values().collect();
    for p in &mut people {
        p.total_tenths = p.own_tenths - p.shared_tenths + p.charged_tenths;
        if let Some((s, _)) = &scale {
            if let Some(b) = s.band_of(p.total_tenths) {
                p.band_zh = Some(b.label_zh.clone());
                p.band_en = Some(b.label_en.clone());
            }
            p.fine_fen = s.fine_fen(p.total_tenths);
            p.published = p.total_tenths >= i64::from(s.publish_points) * 10 || !p.repeats.is_empty();
        }
    }
    people.sort_by(|a, b| b.total_tenths.cmp(&a.total_tenths).then_with(|| a.name.cmp(&b.name)));
    Ok(MonthSheet {
        site_id: site.id,
        month: month.to_string(),
        scale_version: scale.as_ref().map(|s| s.1),
        scale: scale.map(|s| s.0),
        people,
        charges,
        faults,
    })
}

/// A supervisor's root-cause note on a person's repeated rule of the month.
pub fn add_note(
    c: &mut dyn Conn,
    site_id: Id,
    month: &str,
    person: Id,
    rule: Id,
    note: &str,
    author: Id,
    now: i64,
) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO fault_month_notes (site_id, month, person_id, rule_id, note, author_id, at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &params![site_id, month, person, rule, note, author, now],
    )?;
    Ok(())
}
