//! The frame every console page shares: head, top bar with navigation by role,
//! language switch and sign-out, and small helpers for forms and tables.

use maud::{DOCTYPE, Markup, html};
use patrol_protocol::Role;

use super::echo;
use super::error::FROM_FIELD;
use super::i18n::{K, Lang};
use super::session::{CSRF_FIELD, Page};

/// `?next=` for the language switch: only a local path, so the switch cannot be
/// used to send someone elsewhere.
pub fn local_path(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') { next } else { "/" }
}

fn lang_switch(lang: Lang, here: &str) -> Markup {
    let next: String = percent_encoding::utf8_percent_encode(here, percent_encoding::NON_ALPHANUMERIC).collect();
    html! {
        a.lang-switch href={ "/lang/" (lang.other().cookie_value()) "?next=" (next) }
            lang=(lang.other().html_code()) { (lang.t(K::SwitchLang)) }
    }
}

fn brand(lang: Lang) -> Markup {
    html! { a.brand href="/" { span.logo { "巡" } (lang.t(K::Brand)) } }
}

fn head(lang: Lang, title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · " (lang.t(K::Brand)) }
            link rel="stylesheet" href="/static/console.css";
            script src="/static/console.js" defer {}
        }
    }
}

/// A page for someone who may not be signed in (login, errors).
pub fn bare(lang: Lang, here: &str, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.html_code()) {
            (head(lang, title))
            body {
                header.topbar {
                    (brand(lang))
                    nav.user { (lang_switch(lang, here)) }
                }
                (body)
            }
        }
    }
}

/// A page for a signed-in person, with the navigation their roles open.
pub fn chrome(page: &Page, title: &str, body: Markup) -> Markup {
    let lang = page.lang;
    let t = |k| lang.t(k);
    let admin = page.actor.is_admin();
    let active = |prefix: &str| {
        if page.here == prefix || page.here.starts_with(&format!("{prefix}/")) { "active" } else { "" }
    };
    html! {
        (DOCTYPE)
        html lang=(lang.html_code()) {
            (head(lang, title))
            body {
                header.topbar {
                    (brand(lang))
                    nav.main {
                        a class=(if page.here == "/" { "active" } else { "" }) href="/" { (t(K::Home)) }
                        @if page.actor.roles.iter().any(|r| matches!(r, Role::DepartmentHead { .. }))
                            || page.actor.supervises_somewhere() {
                            a class=(active("/notices")) href="/notices" { (t(K::Notices)) }
                        }
                        @if page.actor.supervises_somewhere() {
                            a class=(active("/dashboard")) href="/dashboard" { (t(K::Dashboard)) }
                        }
                        a class=(active("/faults")) href="/faults" { (t(K::Faults)) }
                        @if admin {
                            a class=(active("/admin/sites")) href="/admin/sites" { (t(K::Sites)) }
                            a class=(active("/admin/people")) href="/admin/people" { (t(K::People)) }
                        }
                    }
                    nav.user {
                        a.who href="/account/password" title=(t(K::ChangePassword)) { (page.actor.person.display_name) }
                        (lang_switch(lang, &page.here))
                        form.inline method="post" action="/logout" {
                            (csrf(page))
                            button.link type="submit" { (t(K::SignOut)) }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The hidden fields every form carries: the CSRF token, and the page the form is on
/// (without its "saved" banner), where a refused form comes back filled in.
pub fn csrf(page: &Page) -> Markup {
    html! {
        input type="hidden" name=(CSRF_FIELD) value=(page.session.csrf_token);
        input type="hidden" name=(FROM_FIELD) value=(without_saved(&page.here));
    }
}

/// A path and query without `saved=1`.
fn without_saved(here: &str) -> String {
    let Some((path, query)) = here.split_once('?') else {
        return here.to_string();
    };
    let kept: Vec<&str> = query.split('&').filter(|p| !p.is_empty() && !p.starts_with("saved=")).collect();
    if kept.is_empty() { path.to_string() } else { format!("{path}?{}", kept.join("&")) }
}

/// A card whose form creates something: its title, the CSRF token, the fields (as
/// typed, when it was refused) and the submit button.
pub fn create_card(page: &Page, title: &str, action: &str, fields: impl FnOnce() -> Markup) -> Markup {
    html! {
        section.card {
            h2 { (title) }
            form method="post" action=(action) {
                (csrf(page))
                (echo::form(action, None, fields))
                button.primary type="submit" { (page.lang.t(K::Create)) }
            }
        }
    }
}

/// A card to upload a CSV file for import, with the columns it expects.
pub fn import_card(page: &Page, action: &str, hint: K) -> Markup {
    let t = |k| page.lang.t(k);
    html! {
        section.card {
            h2 { (t(K::ImportCsv)) }
            p.hint { (t(hint)) }
            form method="post" action=(action) enctype="multipart/form-data" {
                (csrf(page))
                (echo::form(action, None, || file_field(t(K::CsvFile), "file", ".csv,text/csv")))
                button type="submit" { (t(K::Import)) }
            }
        }
    }
}

/// A "saved" banner after a successful post-redirect-get.
pub fn flash(saved: bool, lang: Lang) -> Markup {
    html! { @if saved { p.flash role="status" { (lang.t(K::Saved)) } } }
}

pub fn role_label(lang: Lang, role: &Role) -> &'static str {
    lang.t(match role {
        Role::Administrator => K::RoleAdministrator,
        Role::OrgSupervisor => K::RoleOrgSupervisor,
        Role::SiteSupervisor { .. } => K::RoleSiteSupervisor,
        Role::DepartmentHead { .. } => K::RoleDepartmentHead,
        Role::PatrolStaff { .. } => K::RolePatrolStaff,
        Role::DepartmentStaff { .. } => K::RoleDepartmentStaff,
    })
}

/// A labelled text input: the value as typed when its form was refused, with the
/// reason beside it (and the focus, so a long page scrolls to it) when it is about
/// this input.
pub fn field(label: &str, name: &str, value: &str, attrs: FieldKind) -> Markup {
    let typed = echo::typed(name);
    let value = typed.as_deref().unwrap_or(value);
    let error = echo::error_for(name);
    let described = error.as_ref().map(|_| echo::error_id(name));
    let invalid = error.as_ref().map(|_| "true");
    html! {
        label.field.invalid[error.is_some()] {
            span { (label) }
            @match attrs {
                FieldKind::Required => input type="text" name=(name) value=(value) required aria-invalid=[invalid] aria-describedby=[&described] autofocus[invalid.is_some()];,
                FieldKind::Optional => input type="text" name=(name) value=(value) aria-invalid=[invalid] aria-describedby=[&described] autofocus[invalid.is_some()];,
                FieldKind::Number => input type="text" inputmode="decimal" name=(name) value=(value) required aria-invalid=[invalid] aria-describedby=[&described] autofocus[invalid.is_some()];,
                FieldKind::Password => input type="password" name=(name) autocomplete="new-password" required minlength="8" aria-invalid=[invalid] aria-describedby=[&described] autofocus[invalid.is_some()];,
            }
            (field_error(name, error))
        }
    }
}

/// The reason beside an input of a refused form.
pub fn field_error(name: &str, error: Option<String>) -> Markup {
    html! { @if let Some(e) = error { span.field-error id=(echo::error_id(name)) { (e) } } }
}

/// A labelled multi-line input, filled in as typed when its form was refused.
pub fn textarea_field(label: &str, name: &str, value: &str, rows: u32, extra: Markup) -> Markup {
    let typed = echo::typed(name);
    let value = typed.as_deref().unwrap_or(value);
    let error = echo::error_for(name);
    let invalid = error.as_ref().map(|_| "true");
    let described = error.as_ref().map(|_| echo::error_id(name));
    html! {
        label.field.invalid[error.is_some()] {
            span { (label) }
            textarea name=(name) rows=(rows) aria-invalid=[invalid] aria-describedby=[&described] autofocus[invalid.is_some()] { (value) }
            (extra)
            (field_error(name, error))
        }
    }
}

/// A labelled file input; a file cannot be filled in again, the reason can.
pub fn file_field(label: &str, name: &str, accept: &str) -> Markup {
    let error = echo::error_for(name);
    html! {
        label.field.invalid[error.is_some()] {
            span { (label) }
            input type="file" name=(name) accept=(accept) required;
            (field_error(name, error))
        }
    }
}

/// Whether an option is chosen: as typed when the form was refused, else `default`.
pub fn chosen(name: &str, value: &str, default: bool) -> bool {
    echo::chosen(name, value).unwrap_or(default)
}

#[derive(Clone, Copy)]
pub enum FieldKind {
    Required,
    Optional,
    Number,
    Password,
}

/// An instant as the site's wall clock shows it: `2026-11-23 09:05`.
pub fn local_time(ms: i64, utc_offset_minutes: i32) -> String {
    let shifted = ms + i64::from(utc_offset_minutes) * 60_000;
    chrono::DateTime::from_timestamp_millis(shifted)
        .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "—".into())
}

/// Minutes after midnight as `08:30`.
pub fn hhmm(minute: u32) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// A schedule window as "08:00–10:00", or "23:00–01:00（次日）" when it ends on the
/// next day.
pub fn window_span(lang: Lang, start_minute: u32, end_minute: u32) -> String {
    let next_day = if end_minute < start_minute { format!(" ({})", lang.t(K::NextDay)) } else { String::new() };
    format!("{}–{}{next_day}", hhmm(start_minute), hhmm(end_minute))
}

/// The state of a notice as a coloured badge.
pub fn state_badge(lang: Lang, state: patrol_protocol::notice::NoticeState) -> Markup {
    html! { span class={ "badge state-" (state.as_str()) } { (super::i18n::state_name(lang, state)) } }
}

/// A photo's thumbnail that opens the full photo; served through the session with
/// the same `photos::may_view` check as the API.
pub fn thumb(lang: Lang, sha: &str) -> Markup {
    html! {
        a.thumb href={ "/photos/" (sha) } target="_blank" rel="noopener" {
            img src={ "/photos/" (sha) "/thumb" } alt=(lang.t(K::Photo)) loading="lazy";
        }
    }
}

/// A photo's thumbnail with the markup layers drawn over it (an SVG in the photo's
/// proportions, so circles stay round); without layers, the plain thumbnail.
pub fn marked_thumb(lang: Lang, sha: &str, overlay: Option<&crate::photos::Overlay>) -> Markup {
    use patrol_protocol::{MARK_SCALE, Mark};
    let Some(o) = overlay else { return thumb(lang, sha) };
    let scale = f64::from(MARK_SCALE);
    // x runs 0..=10 000 across, y in the same units down the photo; "slice" crops the
    // drawing exactly as the thumbnail's `object-fit: cover` crops the photo.
    let tall = scale * f64::from(o.height.max(1)) / f64::from(o.width.max(1));
    let y = |v: u16| f64::from(v) * tall / scale;
    let x = f64::from;
    let title = lang.t(K::PhotoMarkedUp);
    let head = format!("ah-{}", &sha[..sha.len().min(16)]);
    html! {
        a.thumb.marked href={ "/photos/" (sha) } target="_blank" rel="noopener" title=(title) data-marks=(o.layers.iter().map(|l| l.marks.len()).sum::<usize>()) {
            img src={ "/photos/" (sha) "/thumb" } alt=(lang.t(K::Photo)) loading="lazy";
            svg.markup viewBox={ "0 0 " (scale) " " (format!("{tall:.0}")) } preserveAspectRatio="xMidYMid slice" aria-label=(title) role="img" {
                defs { marker id=(head) viewBox="0 0 10 10" refX="8" refY="5" markerWidth="4" markerHeight="4" orient="auto-start-reverse" { path d="M0,0 L10,5 L0,10 z" fill="#e53935" {} } }
                @for l in &o.layers {
                    @for m in &l.marks {
                        @match m {
                            Mark::Arrow { from_x, from_y, to_x, to_y } => {
                                line x1=(x(*from_x)) y1=(format!("{:.0}", y(*from_y))) x2=(x(*to_x)) y2=(format!("{:.0}", y(*to_y))) stroke="#e53935" stroke-width="90" marker-end={ "url(#" (head) ")" } {}
                            }
                            Mark::Circle { x: cx, y: cy, radius } => {
                                circle cx=(x(*cx)) cy=(format!("{:.0}", y(*cy))) r=(x(*radius)) fill="none" stroke="#e53935" stroke-width="90" {}
                            }
                            Mark::Text { x: tx, y: ty, text } => {
                                text x=(x(*tx)) y=(format!("{:.0}", y(*ty) + 600.0)) font-size="600" fill="#e53935" stroke="#fff" stroke-width="40" paint-order="stroke" { (text) }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_language_switch_only_returns_to_local_paths() {
        assert_eq!(super::local_path("/admin/sites?x=1"), "/admin/sites?x=1");
        assert_eq!(super::local_path("//evil.example/"), "/");
        assert_eq!(super::local_path("https://evil.example/"), "/");
        assert_eq!(super::local_path("/\\evil.example"), "/");
    }

    #[test]
    fn a_form_comes_back_to_its_page_without_the_saved_banner() {
        assert_eq!(super::without_saved("/admin/sites?saved=1"), "/admin/sites");
        assert_eq!(super::without_saved("/notices?q=x&saved=1&site=2"), "/notices?q=x&site=2");
        assert_eq!(super::without_saved("/admin/people"), "/admin/people");
    }
}
