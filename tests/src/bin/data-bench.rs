//! Data a patrol officer's phone moves: the real server (release) behind a proxy that
//! counts every byte both ways, one real phone core signed in through it, and days of
//! work synced as the app syncs: two runs of 30 checkpoints with their checklists and
//! GPS tracks, 20 photos (10 on each run, two of them on notices), a sync after each
//! run and the background pulls of a shift. Prints bytes per day and per 30-day month.
//!
//!   data-bench [days] [pulls-per-day] [photo files…]
//!
//! Photo files are cycled (camera JPEGs, e.g. 8–12 MP); without them a generated
//! 4000×3000 textured JPEG stands in (noise compresses worse than a real scene: an
//! upper bound). PATROL_JPEG_QUALITY sets the core's JPEG quality (default 80).

use patrol_core::notices::NoticeDraft;
use patrol_core::patrols::CheckInMethod;
use patrol_core::photos::{PhotoInput, PhotoSource};
use patrol_e2e::*;
use patrol_protocol::notice::Severity;
use patrol_protocol::record::{ItemOutcome, PhotoContext, TrackPoint};
use patrol_protocol::{DepartmentKind, Id};
use serde_json::json;

const CHECKPOINTS_PER_ROUTE: usize = 30;

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1_000_000.0
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let days: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(3);
    let pulls: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(40);
    let files: Vec<Vec<u8>> = args.iter().skip(2).map(|p| std::fs::read(p).expect("photo file")).collect();
    let generated = if files.is_empty() { Some(textured_jpeg(7, 4000, 3000)) } else { None };
    let photo_bytes = |i: usize| -> Vec<u8> {
        match &generated {
            Some(g) => g.clone(),
            None => files[i % files.len()].clone(),
        }
    };

    let data = TempDir::new("data-bench");
    let url = database_url(Backend::Sqlite, &data).expect("sqlite");
    let server = Server::start(&url, &data.0.join("data"));
    let desk = Desk::sign_in(&server.url(), "admin", &server.password("admin"));
    let (_, sites) = desk.get("/api/v1/sites");
    let site = sites[0]["id"].as_str().unwrap().to_string();

    // Two routes of 30 checkpoints, each with three checklist items, walked twice a day.
    let mut routes = Vec::new();
    for r in 0..2 {
        let mut ids = Vec::new();
        for i in 0..CHECKPOINTS_PER_ROUTE {
            let (status, cp) = desk.post(
                &format!("/api/v1/sites/{site}/checkpoints"),
                json!({
                    "code": format!("R{r}-{i:02}"), "name_zh": format!("{r}号线第{i}点"),
                    "latitude": 31.2304 + i as f64 * 1e-4, "longitude": 121.4737 + r as f64 * 1e-4,
                    "checklist": [{"text_zh": "照明正常"}, {"text_zh": "地面清洁"}, {"text_zh": "消防器材在位"}],
                }),
            );
            assert_eq!(status, 201, "{cp}");
            ids.push(cp["id"].clone());
        }
        let (status, route) = desk.post(
            &format!("/api/v1/sites/{site}/routes"),
            json!({"name_zh": format!("{r}号线"), "checkpoint_ids": ids}),
        );
        assert_eq!(status, 201, "{route}");
        routes.push(route["id"].as_str().unwrap().parse::<Id>().unwrap());
    }
    let labels = server.qr_labels();

    let port: u16 = server.url().rsplit(':').next().unwrap().parse().unwrap();
    let proxy = CuttingProxy::counting(port);
    let phone_dir = TempDir::new("data-bench-phone");
    let mut cfg = patrol_core::CoreConfig::new(phone_dir.0.to_string_lossy());
    cfg.font_path = font();
    cfg.jpeg_quality = std::env::var("PATROL_JPEG_QUALITY").ok().and_then(|q| q.parse().ok());
    let core = patrol_core::Core::open(cfg).expect("open core");
    core.login(&proxy.url(), "patrol", &server.password("patrol")).expect("sign in");
    core.sync(None, None).expect("first sync");
    let (up0, down0) = proxy.bytes();
    println!("sign-in and first sync (reference data of the site): up {:.3} MB, down {:.3} MB", mb(up0), mb(down0));

    let engineering = core
        .departments(site.parse().unwrap())
        .unwrap()
        .into_iter()
        .find(|d| d.kind == DepartmentKind::Engineering)
        .unwrap()
        .id;
    let mut per_day = Vec::new();
    let mut photo_n = 0;
    let mut stored_photo_bytes = 0u64;
    for day in 0..days {
        let (u, d) = proxy.bytes();
        for route in &routes {
            let run = core.start_run(*route).unwrap().run_id;
            let cps = core.route_checkpoints(*route).unwrap();
            let start = core.now_ms();
            for (i, cp) in cps.iter().enumerate() {
                core.check_in(run, cp.id, CheckInMethod::Qr { payload: labels[&cp.id].clone() }).unwrap();
                for item in &cp.checklist {
                    core.record_item(run, cp.id, item.id, ItemOutcome::Ok, "").unwrap();
                }
                if i % 3 == 0 {
                    // A photo on every third checkpoint: ten a run.
                    let stored = core
                        .add_photo(PhotoInput {
                            source: PhotoSource::Bytes { data: photo_bytes(photo_n) },
                            context: PhotoContext { run_id: Some(run), checkpoint_id: Some(cp.id), notice_id: None },
                            site_id: None,
                            captured_at_ms: None,
                            latitude: Some(cp.latitude),
                            longitude: Some(cp.longitude),
                        })
                        .expect("photo");
                    stored_photo_bytes += stored.bytes;
                    photo_n += 1;
                    if i == 0 {
                        core.create_notice(NoticeDraft {
                            site_id: site.parse().unwrap(),
                            department_id: engineering,
                            checkpoint_id: Some(cp.id),
                            location: cp.name_zh.clone(),
                            run_id: Some(run),
                            description: "灯具损坏，夜间无照明".into(),
                            severity: Severity::General,
                            due_ms: core.now_ms() + 48 * 3_600_000,
                            photos: vec![stored.sha256.clone()],
                        })
                        .expect("notice");
                    }
                }
            }
            // 45 minutes of GPS, a fix every 5 s.
            let points: Vec<TrackPoint> = (0..540)
                .map(|i| TrackPoint {
                    time_ms: start + i * 5_000,
                    latitude: 31.2304 + i as f64 * 1e-6,
                    longitude: 121.4737,
                    accuracy_m: 5.0,
                })
                .collect();
            core.append_track_points(run, points).unwrap();
            core.finish_run(run, None).unwrap();
            let report = core.sync(None, None).expect("sync after the run");
            assert!(report.rejections.is_empty(), "{:?}", report.rejections);
        }
        for _ in 0..pulls {
            core.sync(None, None).expect("background sync");
        }
        let st = core.sync_state().unwrap();
        assert_eq!((st.queued_records, st.queued_photos), (0, 0), "everything went up");
        let (u2, d2) = proxy.bytes();
        per_day.push((u2 - u, d2 - d));
        println!(
            "day {}: up {:.2} MB, down {:.2} MB ({} photos so far, {:.2} MB of them as stored)",
            day + 1,
            mb(u2 - u),
            mb(d2 - d),
            photo_n,
            stored_photo_bytes as f64 / 1e6
        );
    }
    let n = per_day.len().max(1);
    let (up, down) = per_day.iter().fold((0, 0), |(a, b), (u, d)| (a + u, b + d));
    let (up, down) = (up / n, down / n);
    println!(
        "per day: up {:.2} MB, down {:.2} MB, total {:.2} MB; per 30-day month: {:.0} MB (photos as stored: {:.0} KB each)",
        mb(up),
        mb(down),
        mb(up + down),
        mb((up + down) * 30),
        stored_photo_bytes as f64 / photo_n.max(1) as f64 / 1000.0
    );
}
