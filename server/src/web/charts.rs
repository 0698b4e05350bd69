//! Pictures drawn on the server as SVG: a run on the site plan (checkpoints and the
//! GPS track over the administrator's image) and simple bar charts. No script, so
//! they print and they pass the page's content security policy.

use maud::{Markup, html};

use crate::store::web::SitePlan;

/// A point to draw on the plan.
pub struct Mark {
    pub latitude: f64,
    pub longitude: f64,
    pub label: String,
    /// `visited`, `missed` or `other`: the CSS class.
    pub class: &'static str,
}

/// The rectangle of the earth a drawing covers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    pub north: f64,
    pub south: f64,
    pub west: f64,
    pub east: f64,
}

impl Bounds {
    /// Around the given points with a margin, when the site has no plan image.
    pub fn around(points: impl Iterator<Item = (f64, f64)>) -> Option<Bounds> {
        let mut b: Option<Bounds> = None;
        for (lat, lon) in points {
            let x = b.get_or_insert(Bounds { north: lat, south: lat, west: lon, east: lon });
            x.north = x.north.max(lat);
            x.south = x.south.min(lat);
            x.west = x.west.min(lon);
            x.east = x.east.max(lon);
        }
        b.map(|b| {
            let pad_lat = ((b.north - b.south) * 0.08).max(0.0002);
            let pad_lon = ((b.east - b.west) * 0.08).max(0.0002);
            Bounds {
                north: b.north + pad_lat,
                south: b.south - pad_lat,
                west: b.west - pad_lon,
                east: b.east + pad_lon,
            }
        })
    }

    /// Where a position falls in a picture `w` × `h` of these bounds (y down).
    pub fn project(&self, lat: f64, lon: f64, w: f64, h: f64) -> (f64, f64) {
        ((lon - self.west) / (self.east - self.west) * w, (self.north - lat) / (self.north - self.south) * h)
    }
}

/// A run on the site plan: the plan image (if uploaded) as background, the track as
/// a line, checkpoints as labelled dots. Positions are projected linearly between
/// the plan's corners, plenty for a compound a few hundred metres across.
pub fn run_map(site_id: &str, plan: Option<&SitePlan>, marks: &[Mark], track: &[(f64, f64)]) -> Markup {
    let (w, h, bounds) = match plan {
        Some(p) => (
            p.width_px as f64,
            p.height_px as f64,
            Bounds { north: p.north, south: p.south, west: p.west, east: p.east },
        ),
        None => {
            let all = marks.iter().map(|m| (m.latitude, m.longitude)).chain(track.iter().copied());
            let Some(b) = Bounds::around(all) else {
                return html! {};
            };
            // Keep metres square: a degree of longitude is shorter than one of latitude.
            let ratio = ((b.east - b.west) * ((b.north + b.south) / 2.0).to_radians().cos()) / (b.north - b.south);
            (1000.0, (1000.0 / ratio).clamp(300.0, 2000.0), b)
        }
    };
    let scale = w.max(h) / 1000.0;
    let points: String = track
        .iter()
        .map(|(lat, lon)| {
            let (x, y) = bounds.project(*lat, *lon, w, h);
            format!("{x:.1},{y:.1} ")
        })
        .collect();
    html! {
        svg.run-map viewBox={ "0 0 " (w) " " (h) } xmlns="http://www.w3.org/2000/svg" role="img" {
            @if plan.is_some() {
                image href={ "/sites/" (site_id) "/plan" } x="0" y="0" width=(w) height=(h) preserveAspectRatio="none" {}
            } @else {
                rect x="0" y="0" width=(w) height=(h) fill="#f3f6f7" {}
            }
            @if !track.is_empty() {
                polyline.track points=(points) fill="none" stroke-width=(format!("{:.1}", 4.0 * scale)) {}
            }
            @for m in marks {
                @let (x, y) = bounds.project(m.latitude, m.longitude, w, h);
                g class={ "cp " (m.class) } {
                    circle cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r=(format!("{:.1}", 9.0 * scale)) {}
                    text x=(format!("{:.1}", x + 12.0 * scale)) y=(format!("{:.1}", y + 5.0 * scale)) font-size=(format!("{:.0}", 18.0 * scale)) { (m.label) }
                }
            }
        }
    }
}

/// One bar group of a chart: its label and values (one per series).
pub struct Group {
    pub label: String,
    pub values: Vec<f64>,
}

/// A grouped bar chart with a legend; `series` names the values' meaning and
/// `classes` their CSS classes (colours live in the stylesheet).
pub fn bars(title: &str, series: &[&str], classes: &[&str], groups: &[Group]) -> Markup {
    let (w, h, left, bottom, top) = (760.0_f64, 240.0_f64, 36.0_f64, 36.0_f64, 28.0_f64);
    let max = groups.iter().flat_map(|g| g.values.iter().copied()).fold(0.0_f64, f64::max).max(1.0);
    let plot_h = h - bottom - top;
    let slot = (w - left - 8.0) / groups.len().max(1) as f64;
    let bar = (slot * 0.8 / series.len().max(1) as f64).min(28.0);
    let step = nice_step(max);
    let ticks: Vec<f64> = (0..=((max / step).ceil() as usize)).map(|i| i as f64 * step).collect();
    let top_value = ticks.last().copied().unwrap_or(max).max(max);
    let y_of = |v: f64| top + plot_h - v / top_value * plot_h;
    html! {
        figure.chart {
            figcaption { (title) }
            svg viewBox={ "0 0 " (w) " " (h) } xmlns="http://www.w3.org/2000/svg" role="img" aria-label=(title) {
                @for t in &ticks {
                    line.gridline x1=(left) x2=(w - 4.0) y1=(format!("{:.1}", y_of(*t))) y2=(format!("{:.1}", y_of(*t))) {}
                    text.tick x=(left - 6.0) y=(format!("{:.1}", y_of(*t) + 4.0)) text-anchor="end" { (fmt_num(*t)) }
                }
                @for (i, g) in groups.iter().enumerate() {
                    @let x0 = left + i as f64 * slot + (slot - bar * series.len() as f64) / 2.0;
                    @for (j, v) in g.values.iter().enumerate() {
                        rect class=(classes.get(j).copied().unwrap_or("s0"))
                            x=(format!("{:.1}", x0 + j as f64 * bar)) y=(format!("{:.1}", y_of(*v)))
                            width=(format!("{:.1}", (bar - 1.0).max(1.0))) height=(format!("{:.1}", (top + plot_h - y_of(*v)).max(0.0))) {
                            title { (g.label) " · " (series.get(j).copied().unwrap_or("")) ": " (fmt_num(*v)) }
                        }
                    }
                    @if groups.len() <= 16 || i % 2 == 0 {
                        text.label x=(format!("{:.1}", left + i as f64 * slot + slot / 2.0)) y=(h - bottom + 16.0) text-anchor="middle" { (g.label) }
                    }
                }
                @for (j, name) in series.iter().enumerate() {
                    rect class=(classes.get(j).copied().unwrap_or("s0")) x=(left + j as f64 * 130.0) y="6" width="12" height="12" {}
                    text.legend x=(left + 18.0 + j as f64 * 130.0) y="16" { (name) }
                }
            }
        }
    }
}

fn nice_step(max: f64) -> f64 {
    let raw = max / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let n = raw / mag;
    let nice = if n <= 1.0 {
        1.0
    } else if n <= 2.0 {
        2.0
    } else if n <= 5.0 {
        5.0
    } else {
        10.0
    };
    (nice * mag).max(1.0)
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v:.1}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_corners_map_to_the_picture_corners() {
        let b = Bounds { north: 31.232, south: 31.228, west: 121.471, east: 121.476 };
        assert_eq!(b.project(31.232, 121.471, 800.0, 600.0), (0.0, 0.0));
        let (x, y) = b.project(31.228, 121.476, 800.0, 600.0);
        assert!((x - 800.0).abs() < 1e-6 && (y - 600.0).abs() < 1e-6);
    }

    #[test]
    fn labels_in_a_chart_are_escaped() {
        let svg = bars("t", &["a"], &["s0"], &[Group { label: "<script>".into(), values: vec![3.0] }]).into_string();
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
    }

    #[test]
    fn axis_steps_are_round_numbers() {
        assert_eq!(nice_step(4.0), 1.0);
        assert_eq!(nice_step(37.0), 10.0);
        assert_eq!(nice_step(180.0), 50.0);
    }
}
