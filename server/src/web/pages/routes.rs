//! A site's routes (checkpoints in walking order) and schedules (days, time windows,
//! runs per window) for the administrator.

use crate::api::extract::{Path, Query};
use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};
use patrol_protocol::reason::Reason;
use patrol_protocol::{Id, TimeWindow};

use super::sites::{Tab, number, site_header};
use super::{Saved, saved};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::reference;
use crate::web::echo;
use crate::web::error::WebError;
use crate::web::i18n::{K, Lang};
use crate::web::layout::{self, FieldKind, create_card, field, flash};
use crate::web::session::{Page, Posted};
use patrol_cases::admin::{self, NewRoute, NewSchedule};

/// `GET /admin/sites/{site_id}/routes`
pub async fn list(
    State(state): State<AppState>,
    page: Page,
    Path(site_id): Path<Id>,
    Query(q): Query<Saved>,
) -> Result<Markup, WebError> {
    let site = admin::administered_site(&state.store, &page.actor, site_id).await?;
    let (routes, checkpoints) = state
        .store
        .read(move |c| Ok((reference::list_routes(c, site_id)?, reference::list_checkpoints(c, site_id)?)))
        .await?;
    let lang = page.lang;
    let t = |k| lang.t(k);
    let code_of = |id: &Id| checkpoints.iter().find(|cp| cp.id == *id).map_or("?", |cp| cp.code.as_str());
    let body = html! {
        (site_header(lang, &site, Tab::Routes))
        (flash(q.yes(), lang))
        div.grid {
            section.card.span2 {
                table {
                    thead { tr { th { (t(K::Name)) } th.num { (t(K::CheckpointCount)) } th { (t(K::Order)) } th {} } }
                    tbody {
                        @for r in &routes {
                            tr {
                                td { (lang.pick(&r.name_zh, &r.name_en)) }
                                td.num { (r.checkpoint_ids.len()) }
                                td.sequence {
                                    @for (i, id) in r.checkpoint_ids.iter().enumerate() {
                                        @if i > 0 { " → " }
                                        span.code { (code_of(id)) }
                                    }
                                }
                                td.actions { a href=(super::objects::href(site.id, reference::RefKind::Route, r.id)) { (t(K::EditHistory)) } }
                            }
                        }
                        @if routes.is_empty() { tr { td colspan="4" .muted { (t(K::Nothing)) } } }
                    }
                }
            }
            (create_card(&page, t(K::NewRoute), &format!("/admin/sites/{}/routes", site.id), || html! {
                (field(t(K::NameZh), "name_zh", "", FieldKind::Required))
                (field(t(K::NameEn), "name_en", "", FieldKind::Optional))
                p.hint { (t(K::RouteOrderHint)) }
                (layout::field_error("order", echo::error_for("order").or_else(|| echo::error_for("checkpoint_ids"))))
                div.order-list {
                    @for cp in &checkpoints {
                        label.order-item {
                            @let name = format!("order_{}", cp.id);
                            input type="text" inputmode="numeric" size="3" name=(name) value=[echo::typed(&name)] aria-label=(t(K::Order));
                            span.code { (cp.code) } " " (lang.pick(&cp.name_zh, &cp.name_en))
                        }
                    }
                }
            }))
        }
    };
    Ok(layout::chrome(&page, t(K::Routes), body))
}

/// `POST /admin/sites/{site_id}/routes`: the numbered checkpoints in order, then the
/// JSON API's `create_route` checks that each belongs to the site, once.
pub async fn create(
    State(state): State<AppState>,
    Path(site_id): Path<Id>,
    posted: Posted,
) -> Result<Response, WebError> {
    let f = &posted.form;
    let mut numbered: Vec<(u32, Id)> = Vec::new();
    for (name, value) in &f.fields {
        let Some(id) = name.strip_prefix("order_") else {
            continue;
        };
        if value.trim().is_empty() {
            continue;
        }
        let id: Id = id.parse().map_err(|_| ApiError::invalid("checkpoint_ids", Reason::NotAChoice))?;
        numbered.push((number("order", value)?, id));
    }
    numbered.sort_by_key(|(n, _)| *n);
    if numbered.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err(ApiError::invalid("order", Reason::SameOrderNumber).into());
    }
    let req = NewRoute {
        name_zh: f.get("name_zh").to_string(),
        name_en: f.get("name_en").to_string(),
        checkpoint_ids: numbered.into_iter().map(|(_, id)| id).collect(),
    };
    let _created = admin::create_route(&state.store, &posted.page.actor, site_id, req, state.clock.now_ms()).await?;
    Ok(saved(&format!("/admin/sites/{site_id}/routes")))
}

pub(super) fn weekday(lang: Lang, d: u8) -> &'static str {
    let k = match d {
        1 => K::Mon,
        2 => K::Tue,
        3 => K::Wed,
        4 => K::Thu,
        5 => K::Fri,
        6 => K::Sat,
        _ => K::Sun,
    };
    lang.t(k)
}

/// Parses "08:00-10:00 1" (start-end runs; runs defaults to 1). An end before the
/// start is on the next day ("23:00-01:00"); `Schedule::validate` judges the rest.
pub fn parse_window(line: &str) -> Result<TimeWindow, ApiError> {
    let bad = || ApiError::invalid("windows", Reason::WindowLine { line: line.chars().take(40).collect() });
    let mut parts = line.split_whitespace();
    let span = parts.next().ok_or_else(bad)?;
    let runs = match parts.next() {
        Some(r) => r.parse().map_err(|_| bad())?,
        None => 1,
    };
    if parts.next().is_some() {
        return Err(bad());
    }
    let (start, end) = span.split_once('-').ok_or_else(bad)?;
    let minute = |t: &str| -> Result<u32, ApiError> {
        let (h, m) = t.split_once(':').ok_or_else(bad)?;
        let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if h > 24 || m > 59 {
            return Err(bad());
        }
        Ok(h * 60 + m)
    };
    Ok(TimeWindow { start_minute: minute(start)?, end_minute: minute(end)?, runs })
}

/// `GET /admin/sites/{site_id}/schedules`
pub async fn schedules(
    State(state): State<AppState>,
    page: Page,
    Path(site_id): Path<Id>,
    Query(q): Query<Saved>,
) -> Result<Markup, WebError> {
    let site = admin::administered_site(&state.store, &page.actor, site_id).await?;
    let (routes, schedules) = state
        .store
        .read(move |c| Ok((reference::list_routes(c, site_id)?, reference::list_schedules(c, site_id)?)))
        .await?;
    let lang = page.lang;
    let t = |k| lang.t(k);
    let route_name = |id: &Id| routes.iter().find(|r| r.id == *id).map_or("?", |r| lang.pick(&r.name_zh, &r.name_en));
    let body = html! {
        (site_header(lang, &site, Tab::Schedules))
        (flash(q.yes(), lang))
        div.grid {
            section.card.span2 {
                table {
                    thead { tr { th { (t(K::Route)) } th { (t(K::Days)) } th { (t(K::Windows)) } th {} } }
                    tbody {
                        @for s in &schedules {
                            tr {
                                td { (route_name(&s.route_id)) }
                                td { @for d in &s.days_of_week { span.day { (weekday(lang, *d)) } } }
                                td {
                                    @for w in &s.windows {
                                        span.window { (crate::web::layout::window_span(lang, w.start_minute, w.end_minute)) " × " (w.runs) }
                                    }
                                }
                                td.actions { a href=(super::objects::href(site.id, reference::RefKind::Schedule, s.id)) { (t(K::EditHistory)) } }
                            }
                        }
                        @if schedules.is_empty() { tr { td colspan="4" .muted { (t(K::Nothing)) } } }
                    }
                }
            }
            (create_card(&page, t(K::NewSchedule), &format!("/admin/sites/{}/schedules", site.id), || html! {
                label.field { span { (t(K::Route)) }
                    select name="route_id" required {
                        @for r in &routes {
                            option value=(r.id) selected[layout::chosen("route_id", &r.id.to_string(), false)] { (lang.pick(&r.name_zh, &r.name_en)) }
                        }
                    }
                    (layout::field_error("route_id", echo::error_for("route_id")))
                }
                fieldset.days {
                    legend { (t(K::Days)) }
                    (layout::field_error("days_of_week", echo::error_for("days_of_week")))
                    @for d in 1u8..=7 {
                        label.check {
                            input type="checkbox" name="day" value=(d) checked[echo::ticked("day", &d.to_string()).unwrap_or(true)];
                            (weekday(lang, d))
                        }
                    }
                }
                (layout::textarea_field(t(K::Windows), "windows", "08:00-10:00 1\n16:00-18:00 1", 3, html! {}))
                p.hint { (t(K::WindowsHint)) }
            }))
        }
    };
    Ok(layout::chrome(&page, t(K::Schedules), body))
}

/// `POST /admin/sites/{site_id}/schedules`: the JSON API's `create_schedule`
/// validates the days and windows and that the route is the site's.
pub async fn create_schedule(
    State(state): State<AppState>,
    Path(site_id): Path<Id>,
    posted: Posted,
) -> Result<Response, WebError> {
    let f = &posted.form;
    let route_id: Id = f.get("route_id").parse().map_err(|_| ApiError::invalid("route_id", Reason::ChooseRoute))?;
    let days = f.all("day").map(|d| number("days_of_week", d)).collect::<Result<Vec<u8>, _>>()?;
    let windows = f
        .get("windows")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(25)
        .map(parse_window)
        .collect::<Result<Vec<_>, _>>()?;
    let req = NewSchedule { route_id, days_of_week: days, windows };
    let _created = admin::create_schedule(&state.store, &posted.page.actor, site_id, req, state.clock.now_ms()).await?;
    Ok(saved(&format!("/admin/sites/{site_id}/schedules")))
}

#[cfg(test)]
mod tests {
    use super::parse_window;

    #[test]
    fn time_windows_are_read_as_people_write_them() {
        let w = parse_window("08:00-10:30 2").unwrap();
        assert_eq!((w.start_minute, w.end_minute, w.runs), (480, 630, 2));
        assert_eq!(parse_window("16:00-18:00").unwrap().runs, 1);
        let night = parse_window("23:00-01:00").unwrap();
        assert_eq!((night.start_minute, night.end_minute), (1380, 60), "ends on the next day");
        for bad in ["8-10", "08:00-10:00 x", "08:00 10:00", "25:00-26:00", "08:00-10:00 1 2"] {
            assert!(parse_window(bad).is_err(), "{bad}");
        }
    }
}
