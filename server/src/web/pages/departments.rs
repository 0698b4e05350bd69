//! A site's departments for the administrator: the list and a form to add one of
//! the kinds the regulations name (客服部, 工程部, 保洁部 …).

use crate::api::extract::{Path, Query};
use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};
use patrol_protocol::reason::Reason;
use patrol_protocol::{DepartmentKind, Id};

use super::sites::{Tab, site_header};
use super::{Saved, saved};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::reference;
use crate::web::echo;
use crate::web::error::WebError;
use crate::web::i18n::{K, Lang};
use crate::web::layout::{self, FieldKind, create_card, field, flash};
use crate::web::session::{Page, Posted};
use patrol_cases::admin::{self, NewDepartment};

/// A department kind's name in the reader's language.
pub fn kind_label(lang: Lang, kind: DepartmentKind) -> &'static str {
    match lang {
        Lang::Zh => kind.name_zh(),
        Lang::En => match kind {
            DepartmentKind::CustomerService => "Customer service",
            DepartmentKind::Engineering => "Engineering",
            DepartmentKind::Cleaning => "Cleaning",
            DepartmentKind::Security => "Security",
            DepartmentKind::Landscaping => "Landscaping",
            DepartmentKind::Administration => "Administration",
            DepartmentKind::Other => "Other",
        },
    }
}

/// `GET /admin/sites/{site_id}/departments`
pub async fn list(
    State(state): State<AppState>,
    page: Page,
    Path(site_id): Path<Id>,
    Query(q): Query<Saved>,
) -> Result<Markup, WebError> {
    let site = admin::administered_site(&state.store, &page.actor, site_id).await?;
    let departments = state.store.read(move |c| reference::list_departments(c, site_id)).await?;
    let lang = page.lang;
    let t = |k| lang.t(k);
    let body = html! {
        (site_header(lang, &site, Tab::Departments))
        (flash(q.yes(), lang))
        div.grid {
            section.card.span2 {
                table {
                    thead { tr { th { (t(K::Kind)) } th { (t(K::NameZh)) } th { (t(K::NameEn)) } th {} } }
                    tbody {
                        @for d in &departments {
                            tr {
                                td { (kind_label(lang, d.kind)) } td { (d.name_zh) } td { (d.name_en) }
                                td.actions { a href=(super::objects::href(site.id, reference::RefKind::Department, d.id)) { (t(K::EditHistory)) } }
                            }
                        }
                        @if departments.is_empty() { tr { td colspan="4" .muted { (t(K::Nothing)) } } }
                    }
                }
            }
            (create_card(&page, t(K::NewDepartment), &format!("/admin/sites/{}/departments", site.id), || html! {
                label.field { span { (t(K::Kind)) }
                    select name="kind" {
                        @for k in DepartmentKind::ALL {
                            option value=(k.as_str()) selected[layout::chosen("kind", k.as_str(), false)] { (kind_label(lang, k)) }
                        }
                    }
                    (layout::field_error("kind", echo::error_for("kind")))
                }
                (field(t(K::NameZh), "name_zh", "", FieldKind::Optional))
                (field(t(K::NameEn), "name_en", "", FieldKind::Optional))
            }))
        }
    };
    Ok(layout::chrome(&page, t(K::Departments), body))
}

/// `POST /admin/sites/{site_id}/departments`
pub async fn create(
    State(state): State<AppState>,
    Path(site_id): Path<Id>,
    posted: Posted,
) -> Result<Response, WebError> {
    let f = &posted.form;
    let kind = DepartmentKind::parse(f.get("kind")).ok_or_else(|| ApiError::invalid("kind", Reason::NotAChoice))?;
    let req = NewDepartment { kind, name_zh: f.get("name_zh").to_string(), name_en: f.get("name_en").to_string() };
    let _created =
        admin::create_department(&state.store, &posted.page.actor, site_id, req, state.clock.now_ms()).await?;
    Ok(saved(&format!("/admin/sites/{site_id}/departments")))
}
