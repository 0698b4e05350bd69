//! Sites for the administrator: the list, creating one, a site's overview with its
//! plan image (uploaded with the latitude/longitude of its edges) and the image itself.

use crate::api::extract::{Path, Query};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use patrol_protocol::reason::{Reason, Thing};
use patrol_protocol::{Id, Site};
use sha2::{Digest, Sha256};

use super::{Saved, saved};
use crate::error::ApiError;
use crate::policy::Access;
use crate::state::AppState;
use crate::store::reference;
use crate::store::web::{self as web_store, SitePlan};
use crate::web::echo;
use crate::web::error::WebError;
use crate::web::i18n::{K, Lang};
use crate::web::layout::{self, FieldKind, create_card, csrf, field, flash};
use crate::web::session::{Page, Posted};
use patrol_cases::admin::{self, NewSite};

/// Largest plan image.
pub const PLAN_MAX_BYTES: usize = 5 * 1024 * 1024;
/// Largest plan side in pixels: bigger images would be decompression bombs to the
/// browsers that draw them.
pub const PLAN_MAX_SIDE: u32 = 10_000;

/// The tabs under a site's title.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Overview,
    Departments,
    Checkpoints,
    Routes,
    Schedules,
}

/// The site's title and its tabs, on every page about one site.
pub fn site_header(lang: Lang, site: &Site, active: Tab) -> Markup {
    let t = |k| lang.t(k);
    let base = format!("/admin/sites/{}", site.id);
    let tabs = [
        (Tab::Overview, K::SitePlan, base.clone()),
        (Tab::Departments, K::Departments, format!("{base}/departments")),
        (Tab::Checkpoints, K::Checkpoints, format!("{base}/checkpoints")),
        (Tab::Routes, K::Routes, format!("{base}/routes")),
        (Tab::Schedules, K::Schedules, format!("{base}/schedules")),
    ];
    html! {
        div.site-header {
            p.crumbs { a href="/admin/sites" { (t(K::Sites)) } " / " span.code { (site.code) } }
            h1 { (lang.pick(&site.name_zh, &site.name_en)) }
            nav.tabs {
                @for (tab, label, href) in tabs {
                    a class=(if tab == active { "active" } else { "" }) href=(href) { (t(label)) }
                }
            }
        }
    }
}

/// Parses a number a person typed, naming the field when it is not one.
pub fn number<T: std::str::FromStr>(field: &'static str, text: &str) -> Result<T, ApiError> {
    text.trim().parse().map_err(|_| ApiError::invalid(field, Reason::NotNumber))
}

/// `GET /admin/sites`
pub async fn list(State(state): State<AppState>, page: Page, Query(q): Query<Saved>) -> Result<Markup, WebError> {
    page.actor.require(Access::Administer)?;
    let org = page.actor.person.org_id;
    let sites = state.store.read(move |c| reference::list_sites(c, org)).await?;
    let lang = page.lang;
    let t = |k| lang.t(k);
    let body = html! {
        h1 { (t(K::Sites)) }
        (flash(q.yes(), lang))
        div.grid {
            section.card.span2 {
                table {
                    thead { tr { th { (t(K::Code)) } th { (t(K::NameZh)) } th { (t(K::NameEn)) } th { (t(K::Actions)) } } }
                    tbody {
                        @for s in &sites {
                            tr {
                                td.code { (s.code) }
                                td { a href={ "/admin/sites/" (s.id) } { (s.name_zh) } }
                                td { (s.name_en) }
                                td.actions {
                                    a href={ "/admin/sites/" (s.id) "/checkpoints" } { (t(K::Checkpoints)) }
                                    a href={ "/admin/sites/" (s.id) "/routes" } { (t(K::Routes)) }
                                }
                            }
                        }
                        @if sites.is_empty() { tr { td colspan="4" .muted { (t(K::Nothing)) } } }
                    }
                }
            }
            (create_card(&page, t(K::NewSite), "/admin/sites", || html! {
                (field(t(K::Code), "code", "", FieldKind::Required))
                p.hint { (t(K::SiteCodeHint)) }
                (field(t(K::NameZh), "name_zh", "", FieldKind::Required))
                (field(t(K::NameEn), "name_en", "", FieldKind::Optional))
                (field(t(K::UtcOffset), "utc_offset_minutes", "480", FieldKind::Number))
            }))
        }
    };
    Ok(layout::chrome(&page, t(K::Sites), body))
}

/// `POST /admin/sites`: the JSON API's `create_site` does the checking and storing.
pub async fn create(State(state): State<AppState>, posted: Posted) -> Result<Response, WebError> {
    let f = &posted.form;
    let req = NewSite {
        code: f.get("code").to_string(),
        name_zh: f.get("name_zh").to_string(),
        name_en: f.get("name_en").to_string(),
        utc_offset_minutes: number("utc_offset_minutes", f.get("utc_offset_minutes"))?,
    };
    let _created = admin::create_site(&state.store, &posted.page.actor, req, state.clock.now_ms()).await?;
    Ok(saved("/admin/sites"))
}

/// `GET /admin/sites/{site_id}`: the overview and the plan.
pub async fn show(
    State(state): State<AppState>,
    page: Page,
    Path(site_id): Path<Id>,
    Query(q): Query<Saved>,
) -> Result<Markup, WebError> {
    let site = admin::administered_site(&state.store, &page.actor, site_id).await?;
    let plan = state.store.read(move |c| web_store::get_site_plan(c, site_id)).await?;
    let lang = page.lang;
    let t = |k| lang.t(k);
    let coord =
        |p: &Option<SitePlan>, f: fn(&SitePlan) -> f64| p.as_ref().map(|p| f(p).to_string()).unwrap_or_default();
    let body = html! {
        (site_header(lang, &site, Tab::Overview))
        (flash(q.yes(), lang))
        p { a #site-history href=(super::objects::href(site.id, crate::store::reference::RefKind::Site, site.id)) { (t(K::EditHistory)) } }
        div.grid {
            section.card.span2 {
                h2 { (t(K::SitePlan)) }
                @match &plan {
                    Some(p) => {
                        figure.plan {
                            img src={ "/sites/" (site.id) "/plan?v=" (&p.sha256[..12]) } alt=(t(K::SitePlan));
                            figcaption.muted {
                                (p.width_px) " × " (p.height_px) " px · N " (p.north) " S " (p.south) " W " (p.west) " E " (p.east)
                            }
                        }
                    }
                    None => p.muted { (t(K::NoPlan)) },
                }
            }
            section.card {
                h2 { (t(K::Upload)) }
                @let action = format!("/admin/sites/{}/plan", site.id);
                form method="post" action=(action) enctype="multipart/form-data" {
                    (csrf(&page))
                    (echo::form(&action, None, || html! {
                        (layout::file_field(t(K::PlanFile), "plan", "image/png,image/jpeg"))
                        fieldset {
                            legend { (t(K::PlanCorners)) }
                            (field(t(K::North), "north", &coord(&plan, |p| p.north), FieldKind::Number))
                            (field(t(K::South), "south", &coord(&plan, |p| p.south), FieldKind::Number))
                            (field(t(K::West), "west", &coord(&plan, |p| p.west), FieldKind::Number))
                            (field(t(K::East), "east", &coord(&plan, |p| p.east), FieldKind::Number))
                        }
                    }))
                    button.primary type="submit" { (t(K::Upload)) }
                }
            }
        }
    };
    Ok(layout::chrome(&page, lang.pick(&site.name_zh, &site.name_en), body))
}

pub use crate::photos::sniff_image;

/// `POST /admin/sites/{site_id}/plan` (multipart)
pub async fn upload_plan(
    State(state): State<AppState>,
    Path(site_id): Path<Id>,
    posted: Posted,
) -> Result<Response, WebError> {
    let site = admin::administered_site(&state.store, &posted.page.actor, site_id).await?;
    let f = &posted.form;
    let file = f.file("plan").ok_or_else(|| ApiError::invalid("plan", Reason::ChooseFile))?;
    if file.bytes.len() > PLAN_MAX_BYTES {
        return Err(ApiError::TooLarge(Reason::FileTooLarge { max_mb: PLAN_MAX_BYTES >> 20 }).into());
    }
    let (content_type, width, height) = sniff_image(&file.bytes).ok_or_else(|| {
        ApiError::invalid("plan", Reason::InFile { name: file.filename.clone(), why: Box::new(Reason::NotJpegOrPng) })
    })?;
    if width == 0 || height == 0 || width > PLAN_MAX_SIDE || height > PLAN_MAX_SIDE {
        return Err(ApiError::invalid("plan", Reason::PixelsPerSide { max: PLAN_MAX_SIDE }).into());
    }
    let north: f64 = number("north", f.get("north"))?;
    let south: f64 = number("south", f.get("south"))?;
    let west: f64 = number("west", f.get("west"))?;
    let east: f64 = number("east", f.get("east"))?;
    if !(-90.0..=90.0).contains(&north) || !(-90.0..=90.0).contains(&south) || north <= south {
        return Err(ApiError::invalid("north", Reason::PlanLatitudes).into());
    }
    if !(-180.0..=180.0).contains(&west) || !(-180.0..=180.0).contains(&east) || east <= west {
        return Err(ApiError::invalid("east", Reason::PlanLongitudes).into());
    }
    let plan = SitePlan {
        site_id: site.id,
        content_type: content_type.into(),
        sha256: hex::encode(Sha256::digest(&file.bytes)),
        width_px: width.into(),
        height_px: height.into(),
        north,
        south,
        west,
        east,
        uploaded_by: posted.page.actor.person.id,
        uploaded_ms: state.clock.now_ms(),
    };
    let bytes = file.bytes.to_vec();
    state.store.write(move |c| web_store::put_site_plan(c, &plan, bytes)).await?;
    Ok(saved(&format!("/admin/sites/{site_id}")))
}

/// `GET /sites/{site_id}/plan`: the image, for anyone who may read the site.
pub async fn plan_image(
    State(state): State<AppState>,
    page: Page,
    Path(site_id): Path<Id>,
) -> Result<Response, WebError> {
    admin::readable_site(&state.store, &page.actor, site_id).await?;
    let (content_type, bytes) = state
        .store
        .read(move |c| web_store::get_site_plan_image(c, site_id))
        .await?
        .ok_or_else(|| ApiError::not_found(Thing::SitePlan))?;
    Ok(([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "private, max-age=300".to_string())], bytes)
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::sniff_image;

    #[test]
    fn images_are_recognised_by_their_bytes_not_their_names() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend(640u32.to_be_bytes());
        png.extend(480u32.to_be_bytes());
        assert_eq!(sniff_image(&png), Some(("image/png", 640, 480)));
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new(&mut jpeg)
            .encode_image(&image::RgbImage::from_pixel(400, 300, image::Rgb([90, 120, 30])))
            .unwrap();
        assert_eq!(sniff_image(&jpeg), Some(("image/jpeg", 400, 300)));
        // Only a header: not an image.
        assert_eq!(sniff_image(&jpeg[..40]), None);
        assert_eq!(sniff_image(b"GIF89a......"), None);
        assert_eq!(sniff_image(b"<svg></svg>"), None);
        assert_eq!(sniff_image(&[0xFF, 0xD8, 0xFF]), None);
    }
}
