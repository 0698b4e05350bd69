//! The frame every console page shares: head, top bar with navigation by role,
//! language switch and sign-out, and small helpers for forms and tables.

use maud::{DOCTYPE, Markup, html};
use patrol_protocol::Role;

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
                        @if admin {
                            a class=(active("/admin/sites")) href="/admin/sites" { (t(K::Sites)) }
                            a class=(active("/admin/people")) href="/admin/people" { (t(K::People)) }
                        }
                    }
                    nav.user {
                        span.who { (page.actor.person.display_name) }
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

/// The hidden field every form carries.
pub fn csrf(page: &Page) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(page.session.csrf_token); }
}

/// A card whose form creates something: its title, the CSRF token, the fields and
/// the submit button.
pub fn create_card(page: &Page, title: &str, action: &str, fields: Markup) -> Markup {
    html! {
        section.card {
            h2 { (title) }
            form method="post" action=(action) {
                (csrf(page))
                (fields)
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
                label.field { span { (t(K::CsvFile)) } input type="file" name="file" accept=".csv,text/csv" required; }
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
    })
}

/// A labelled text input.
pub fn field(label: &str, name: &str, value: &str, attrs: FieldKind) -> Markup {
    html! {
        label.field {
            span { (label) }
            @match attrs {
                FieldKind::Required => input type="text" name=(name) value=(value) required;,
                FieldKind::Optional => input type="text" name=(name) value=(value);,
                FieldKind::Number => input type="text" inputmode="decimal" name=(name) value=(value) required;,
                FieldKind::Password => input type="password" name=(name) autocomplete="new-password" required minlength="8";,
            }
        }
    }
}

#[derive(Clone, Copy)]
pub enum FieldKind {
    Required,
    Optional,
    Number,
    Password,
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
}
