//! Runs the photo pipeline of the public API on camera files, for scripts/bench-photos:
//! `photo-bench <data-dir> <font|-> <repeat> <file>…` prints one line of timings per file;
//! `photo-bench --make-12mp <out.jpg>` writes a 4000×3000 test JPEG with EXIF orientation 6;
//! `photo-bench --decode <file>…` times the JPEG decode alone at each DCT scale (libjpeg-turbo,
//! strict) and, for comparison, `image`'s own decoder (zune-jpeg, full size).

use std::time::Instant;

use patrol_core::photos::{PhotoInput, PhotoSource};
use patrol_core::{Core, CoreConfig, SignedInPerson};
use patrol_protocol::Id;
use patrol_protocol::record::PhotoContext;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() == 2 && args[0] == "--make-12mp" {
        std::fs::write(&args[1], make_12mp_orientation_6()).expect("write the test photo");
        return;
    }
    if args.len() >= 2 && args[0] == "--decode" {
        for file in &args[1..] {
            decode_times(file);
        }
        return;
    }
    if args.len() < 4 {
        eprintln!("usage: photo-bench <data-dir> <font|-> <repeat> <file>...");
        std::process::exit(2);
    }
    let font = (args[1] != "-").then(|| args[1].clone());
    let repeat: u32 = args[2].parse().expect("repeat is a number");
    let core = Core::open(CoreConfig { font_path: font, ..CoreConfig::new(&args[0]) }).expect("open");
    core.sign_in_locally(SignedInPerson {
        person_id: Id::now_v7(),
        display_name: "基准测试".into(),
        roles: vec![],
        must_change_password: false,
    })
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

fn median_ms(mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..7)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn decode_times(file: &str) {
    let bytes = std::fs::read(file).expect("read the photo");
    let header = patrol_protocol::photo_header::inspect(&bytes).expect("a photo");
    let mut line = format!("{file} {}x{}", header.width, header.height);
    for d in patrol_protocol::jpeg::DENOMINATORS {
        let ms = median_ms(|| {
            patrol_protocol::photo_header::decode_jpeg_whole(&bytes, &header, d).expect("decodes");
        });
        line += &format!(" libjpeg_1/{d}_ms={ms:.1}");
    }
    let ms = median_ms(|| {
        image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg).expect("decodes");
    });
    println!("{line} zune_full_ms={ms:.1}");
}

/// A noisy 4000×3000 frame (about as large as a camera's) with an EXIF APP1 segment
/// holding only Orientation = 6, spliced in after the SOI marker.
fn make_12mp_orientation_6() -> Vec<u8> {
    let (w, h) = (4000u32, 3000u32);
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let n = ((x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)).wrapping_mul(2_246_822_519) >> 26) as u8;
        image::Rgb([(x * 180 / w) as u8 + n, (y * 180 / h) as u8 + n, 120 + n])
    });
    let mut plain = vec![];
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 92)
        .encode(img.as_raw(), w, h, image::ExtendedColorType::Rgb8)
        .expect("encode");
    let mut tiff = b"MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00".to_vec();
    tiff.extend([0, 0, 0, 0]);
    let mut out = plain[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(((2 + 6 + tiff.len()) as u16).to_be_bytes());
    out.extend(b"Exif\0\0");
    out.extend(tiff);
    out.extend(&plain[2..]);
    out
}
