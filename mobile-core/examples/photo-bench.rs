//! Runs the photo pipeline of the public API on camera files, for scripts/bench-photos:
//! `photo-bench <data-dir> <font|-> <repeat> <file>…` prints one line of timings per file.

use std::time::Instant;

use patrol_core::photos::{PhotoInput, PhotoSource};
use patrol_core::{Core, CoreConfig, SignedInPerson};
use patrol_protocol::record::PhotoContext;
use patrol_protocol::Id;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        eprintln!("usage: photo-bench <data-dir> <font|-> <repeat> <file>...");
        std::process::exit(2);
    }
    let font = (args[1] != "-").then(|| args[1].clone());
    let repeat: u32 = args[2].parse().expect("repeat is a number");
    let core = Core::open(CoreConfig { font_path: font, ..CoreConfig::new(&args[0]) }).expect("open");
    core.sign_in_locally(SignedInPerson { person_id: Id::now_v7(), display_name: "基准测试".into(), roles: vec![] })
        .expect("sign in");
    for file in &args[3..] {
        let mut times = vec![];
        for _ in 0..repeat {
            let t = Instant::now();
            let stored = core
                .add_photo(PhotoInput {
                    source: PhotoSource::File { path: file.clone() },
                    context: PhotoContext { run_id: None, checkpoint_id: None, notice_id: None },
                    site_id: None,
                    captured_at_ms: Some(1_778_717_400_000),
                    latitude: Some(31.2304),
                    longitude: Some(121.4737),
                })
                .expect("pipeline");
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            assert!(stored.width.max(stored.height) <= 2048);
        }
        times.sort_by(f64::total_cmp);
        println!("{file} median_ms={:.1} min_ms={:.1}", times[times.len() / 2], times[0]);
    }
}
