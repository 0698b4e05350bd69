//! The test world: one compound in Shanghai with a five-checkpoint route walked twice a
//! day, its departments and people, as the server's JSON; and helpers to open a core.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use patrol_core::{Core, CoreConfig, SignedInPerson};
use patrol_protocol::{Id, Role};
use serde_json::json;

pub const FONT: &str = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc";

/// 2026-05-14 (a Thursday) 08:10 in Shanghai.
pub const MORNING_MS: i64 = 1_778_717_400_000;

pub fn id(n: u128) -> Id {
    Id::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | n)
}

pub fn site() -> Id {
    id(1)
}
pub fn engineering() -> Id {
    id(11)
}
pub fn cleaning() -> Id {
    id(12)
}
pub fn route() -> Id {
    id(40)
}
pub fn patrol_person() -> Id {
    id(100)
}
pub fn head_person() -> Id {
    id(101)
}
/// Checkpoint n (1..=5).
pub fn cp(n: u128) -> Id {
    id(20 + n)
}
/// Checklist item k (1..=2) of checkpoint n.
pub fn item(n: u128, k: u128) -> Id {
    id(200 + n * 10 + k)
}
pub fn qr(n: u128) -> String {
    format!("qr-token-cp{n}-7f3a")
}
pub const CENTRE: (f64, f64) = (31.2304, 121.4737);
/// Checkpoint n lies 60·n metres north of the centre.
pub fn cp_position(n: u128) -> (f64, f64) {
    (CENTRE.0 + 60.0 * n as f64 / 111_195.0, CENTRE.1)
}

pub const CP_NAMES: [&str; 5] = ["北门岗亭", "地下车库B1层", "水泵房", "1号楼电梯厅", "垃圾站"];

pub fn bundle_json() -> String {
    let org = id(0);
    let checkpoints: Vec<_> = (1..=5u128)
        .map(|n| {
            let (lat, lon) = cp_position(n);
            json!({
                "id": cp(n), "site_id": site(), "code": format!("CP{n}"),
                "name_zh": CP_NAMES[n as usize - 1], "name_en": format!("Checkpoint {n}"),
                "latitude": lat, "longitude": lon, "radius_m": 25.0,
                "qr_token": qr(n), "nfc_tag_id": format!("04:A2:19:{n:02X}"),
                "checklist": [
                    {"id": item(n, 1), "text_zh": "照明正常", "text_en": "Lights work"},
                    {"id": item(n, 2), "text_zh": "地面清洁", "text_en": "Floor clean"}
                ]
            })
        })
        .collect();
    json!({
        "sites": [{"id": site(), "org_id": org, "code": "JY", "name_zh": "锦园小区", "name_en": "Jinyuan Garden", "utc_offset_minutes": 480}],
        "departments": [
            {"id": engineering(), "site_id": site(), "kind": "engineering", "name_zh": "工程部", "name_en": "Engineering"},
            {"id": cleaning(), "site_id": site(), "kind": "cleaning", "name_zh": "保洁部", "name_en": "Cleaning"}
        ],
        "checkpoints": checkpoints,
        "routes": [{"id": route(), "site_id": site(), "name_zh": "日常巡检线路", "name_en": "Daily route",
                    "checkpoint_ids": (1..=5u128).map(cp).collect::<Vec<_>>()}],
        "schedules": [{"id": id(50), "route_id": route(), "days_of_week": [1,2,3,4,5,6,7],
                       "windows": [{"start_minute": 480, "end_minute": 600, "runs": 1},
                                   {"start_minute": 840, "end_minute": 960, "runs": 1}]}],
        "people": [
            {"id": patrol_person(), "org_id": org, "login": "patrol", "display_name": "张伟", "active": true, "roles": []},
            {"id": head_person(), "org_id": org, "login": "eng.head", "display_name": "李强", "active": true}
        ]
    })
    .to_string()
}

pub fn patrol_staff() -> SignedInPerson {
    SignedInPerson {
        person_id: patrol_person(),
        display_name: "张伟".into(),
        roles: vec![Role::PatrolStaff { site_id: site() }],
        must_change_password: false,
    }
}

pub fn engineering_head() -> SignedInPerson {
    SignedInPerson {
        person_id: head_person(),
        display_name: "李强".into(),
        roles: vec![Role::DepartmentHead { site_id: site(), department_id: engineering() }],
        must_change_password: false,
    }
}

/// A clock the test moves by hand.
#[derive(Clone)]
pub struct TestClock(pub Arc<AtomicI64>);

impl TestClock {
    pub fn at(ms: i64) -> Self {
        TestClock(Arc::new(AtomicI64::new(ms)))
    }
    pub fn advance_minutes(&self, m: i64) {
        self.0.fetch_add(m * 60_000, Ordering::SeqCst);
    }
    pub fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
    pub fn as_clock(&self) -> patrol_core::core::Clock {
        let c = self.0.clone();
        Arc::new(move || c.load(Ordering::SeqCst))
    }
}

pub fn font_path() -> Option<String> {
    if Path::new(FONT).exists() {
        Some(FONT.to_string())
    } else {
        eprintln!("SKIPPING the watermark text checks: {FONT} is missing (apt-get install fonts-wqy-microhei)");
        None
    }
}

/// The key of every test store: the suites run on encrypted stores, as the apps do.
pub const TEST_KEY: [u8; 32] = *b"patrol-test-key-32-bytes-long!!!";

/// A core's settings for `dir`, encrypted with [`TEST_KEY`].
pub fn config(dir: &Path, font: Option<String>) -> CoreConfig {
    CoreConfig { font_path: font, store_key: Some(TEST_KEY.to_vec()), ..CoreConfig::new(dir.to_string_lossy()) }
}

/// A core on `dir` with the test world loaded and the patrol officer signed in.
pub fn open_world(dir: &Path, clock: &TestClock, font: Option<String>) -> Core {
    let core = Core::open_with_clock(config(dir, font), clock.as_clock()).expect("open");
    core.load_reference_json(&bundle_json()).expect("bundle loads");
    core.sign_in_locally(patrol_staff()).expect("sign in");
    core
}

/// A camera-like JPEG: a gradient with sensor-like noise (so it is as large as a real
/// photo, ~3 bits a pixel) and a red block in the top-left corner.
pub fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        if x < w / 10 && y < h / 10 {
            image::Rgb([230, 20, 20])
        } else {
            let noise =
                ((x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)).wrapping_mul(2_246_822_519) >> 27) as u8;
            image::Rgb([(x * 180 / w) as u8 + 30 + noise, (y * 180 / h) as u8 + 30 + noise, 130 + noise])
        }
    });
    let mut out = vec![];
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode(img.as_raw(), w, h, image::ExtendedColorType::Rgb8)
        .unwrap();
    out
}

pub fn photo_file(dir: &Path, sha: &str) -> PathBuf {
    dir.join("photos").join(format!("{sha}.jpg"))
}
