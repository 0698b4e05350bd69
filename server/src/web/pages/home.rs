//! The page after sign-in: who you are, what roles you hold and which sites you
//! may see, with the way into what your roles open.

use axum::extract::State;
use maud::{Markup, html};

use crate::policy::Access;
use crate::state::AppState;
use crate::store::reference;
use crate::web::error::WebError;
use crate::web::i18n::{K, Lang};
use crate::web::layout::{self, role_label};
use crate::web::session::Page;

/// `GET /`
pub async fn home(State(state): State<AppState>, page: Page) -> Result<Markup, WebError> {
    let org = page.actor.person.org_id;
    let sites: Vec<_> = state
        .store
        .read(move |c| reference::list_sites(c, org))
        .await?
        .into_iter()
        .filter(|s| page.actor.may(Access::ReadSite(s)))
        .collect();
    let lang = page.lang;
    let t = |k| lang.t(k);
    let body = html! {
        section.card {
            h1 { (t(K::Welcome)) (if lang == Lang::Zh { "，" } else { ", " }) (page.actor.person.display_name) }
            h2 { (t(K::YourRoles)) }
            ul.tags {
                @for role in &page.actor.roles {
                    li { (role_label(lang, role)) }
                }
            }
            p.links {
                a.button href="/notices" { (t(K::Inbox)) }
                @if page.actor.supervises_somewhere() {
                    a.button href="/dashboard" { (t(K::Dashboard)) }
                }
            }
        }
        section.card {
            h2 { (t(K::YourSites)) }
            @if sites.is_empty() { p.muted { (t(K::Nothing)) } }
            ul.site-list {
                @for s in &sites {
                    li {
                        span.code { (s.code) }
                        " "
                        @if page.actor.is_admin() {
                            a href={ "/admin/sites/" (s.id) } { (lang.pick(&s.name_zh, &s.name_en)) }
                        } @else {
                            (lang.pick(&s.name_zh, &s.name_en))
                        }
                    }
                }
            }
            @if page.actor.is_admin() {
                p { a.button href="/admin/sites" { (t(K::Administration)) } }
            }
        }
    };
    Ok(layout::chrome(&page, t(K::Home), body))
}
