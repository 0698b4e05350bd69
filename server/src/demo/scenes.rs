//! Pictures for the demo, drawn in code (nothing binary is kept in the repository):
//! photos of what a patrol finds (a dark lamp, a puddle under a pump, overflowing
//! bins …) and the same place after the fix, and the compound's site plan.

use image::{Rgb, RgbImage};

/// What a photo shows; each is a small scene of coloured shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// Ceiling lamps of a lobby or a car park; one is dark until fixed.
    Lights,
    /// Pipes over a floor; a puddle until fixed.
    Leak,
    /// Bins at the bin station; litter around them until fixed.
    Bins,
    /// Lawn and trees; withered shrubs and a hanging branch until fixed.
    Greenery,
    /// A fire lane with its red stripes; a car or rubbish on it until fixed.
    FireLane,
    /// Swings and a slide; a loose chain until fixed.
    Playground,
    /// A gate with its barrier arm and guard house; cars parked in front until fixed.
    Gate,
    /// The pool's edge; the warning sign missing until fixed.
    Pool,
    /// A floor and a wall with a notice board; a stain or a cracked pane until fixed.
    Indoor,
}

const W: u32 = 400;
const H: u32 = 300;

/// A small generator that gives the same numbers for the same seed on every machine.
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> SplitMix {
        SplitMix(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0.0..1.0`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in `lo..hi`.
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    /// Uniform integer in `lo..=hi`.
    pub fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % ((hi - lo + 1) as u64)) as i64
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

struct Canvas {
    img: RgbImage,
}

fn shade(c: [u8; 3], by: i32) -> Rgb<u8> {
    Rgb(c.map(|v| (i32::from(v) + by).clamp(0, 255) as u8))
}

impl Canvas {
    fn new() -> Canvas {
        Canvas { img: RgbImage::new(W, H) }
    }

    /// A vertical gradient from `top` to `bottom` over rows `y0..y1`.
    fn gradient(&mut self, y0: i32, y1: i32, top: [u8; 3], bottom: [u8; 3]) {
        for y in y0.max(0)..y1.min(H as i32) {
            let t = f64::from(y - y0) / f64::from((y1 - y0).max(1));
            let c = [0, 1, 2].map(|i| (f64::from(top[i]) * (1.0 - t) + f64::from(bottom[i]) * t) as u8);
            for x in 0..W {
                self.img.put_pixel(x, y as u32, Rgb(c));
            }
        }
    }

    fn rect(&mut self, x0: f64, y0: f64, x1: f64, y1: f64, c: [u8; 3]) {
        let (xa, xb) = (x0.min(x1).max(0.0) as u32, x1.max(x0).min(f64::from(W)) as u32);
        let (ya, yb) = (y0.min(y1).max(0.0) as u32, y1.max(y0).min(f64::from(H)) as u32);
        for y in ya..yb {
            for x in xa..xb {
                self.img.put_pixel(x, y, Rgb(c));
            }
        }
    }

    fn ellipse(&mut self, cx: f64, cy: f64, rx: f64, ry: f64, c: [u8; 3]) {
        let (xa, xb) = ((cx - rx).max(0.0) as u32, (cx + rx).min(f64::from(W)) as u32);
        let (ya, yb) = ((cy - ry).max(0.0) as u32, (cy + ry).min(f64::from(H)) as u32);
        for y in ya..yb {
            for x in xa..xb {
                let (dx, dy) = ((f64::from(x) - cx) / rx, (f64::from(y) - cy) / ry);
                if dx * dx + dy * dy <= 1.0 {
                    self.img.put_pixel(x, y, Rgb(c));
                }
            }
        }
    }

    fn circle(&mut self, cx: f64, cy: f64, r: f64, c: [u8; 3]) {
        self.ellipse(cx, cy, r, r, c);
    }

    /// A line `width` pixels thick.
    fn line(&mut self, x0: f64, y0: f64, x1: f64, y1: f64, width: f64, c: [u8; 3]) {
        let steps = ((x1 - x0).abs().max((y1 - y0).abs()) * 2.0).max(1.0) as usize;
        for i in 0..=steps {
            let t = i as f64 / steps as f64;
            self.circle(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, width / 2.0, c);
        }
    }

    /// Grain, a slight tilt of the light and the dark band of the phone's watermark:
    /// no two photos are alike, and none looks like a flat drawing.
    fn finish(mut self, rng: &mut SplitMix) -> RgbImage {
        let light = rng.range(-12.0, 12.0);
        for (x, y, p) in self.img.enumerate_pixels_mut() {
            let grain = (rng.next_u64() % 15) as i32 - 7;
            let tilt = (light * (f64::from(x) / f64::from(W) - 0.5)) as i32;
            let band = if y >= H - 26 { -70 } else { 0 };
            *p = shade(p.0, grain + tilt + band);
        }
        self.img
    }
}

/// A JPEG photo of `subject`, before (`fixed: false`) or after the fix; `seed` makes
/// each one different (framing, light, grain).
pub fn photo(subject: Subject, fixed: bool, seed: u64) -> Vec<u8> {
    let mut rng = SplitMix::new(seed ^ 0x5048_4f54_4f00);
    let mut c = Canvas::new();
    let dx = rng.range(-25.0, 25.0);
    let dy = rng.range(-12.0, 12.0);
    match subject {
        Subject::Lights => {
            c.gradient(0, 120, [205, 200, 190], [225, 220, 210]);
            c.gradient(120, H as i32, [190, 180, 165], [150, 140, 125]);
            for i in 0..4 {
                let x = 60.0 + f64::from(i) * 95.0 + dx;
                let dark = !fixed && i == 2;
                c.ellipse(x, 45.0 + dy, 34.0, 14.0, if dark { [90, 90, 95] } else { [255, 250, 215] });
                if !dark {
                    c.ellipse(x, 62.0 + dy, 22.0, 6.0, [245, 240, 200]);
                }
            }
            c.rect(150.0 + dx, 150.0, 250.0 + dx, 270.0, [170, 175, 180]);
            c.rect(198.0 + dx, 150.0, 202.0 + dx, 270.0, [120, 125, 130]);
        }
        Subject::Leak => {
            c.gradient(0, 170, [140, 150, 155], [120, 130, 135]);
            c.gradient(170, H as i32, [110, 110, 105], [90, 90, 88]);
            for i in 0..3 {
                let y = 50.0 + f64::from(i) * 40.0 + dy;
                c.line(0.0, y, f64::from(W), y, 16.0, [70, 110, 160]);
                c.rect(
                    120.0 + dx + f64::from(i) * 60.0,
                    y - 14.0,
                    136.0 + dx + f64::from(i) * 60.0,
                    y + 14.0,
                    [60, 60, 70],
                );
            }
            c.rect(40.0 + dx, 150.0, 150.0 + dx, 230.0, [50, 90, 140]);
            c.circle(95.0 + dx, 190.0, 26.0, [200, 60, 50]);
            if !fixed {
                c.ellipse(220.0 + dx, 250.0, 130.0, 22.0, [80, 110, 140]);
                c.ellipse(205.0 + dx, 246.0, 60.0, 8.0, [150, 180, 205]);
            }
        }
        Subject::Bins => {
            c.gradient(0, 110, [150, 190, 230], [200, 220, 240]);
            c.rect(0.0, 110.0, f64::from(W), f64::from(H), [150, 150, 145]);
            let colours = [[40, 120, 60], [40, 80, 160], [130, 130, 130], [180, 50, 50]];
            for (i, col) in colours.iter().enumerate() {
                let x = 50.0 + i as f64 * 80.0 + dx;
                c.rect(x, 120.0 + dy, x + 60.0, 230.0 + dy, *col);
                c.rect(x - 4.0, 112.0 + dy, x + 64.0, 124.0 + dy, shade(*col, -30).0);
                if !fixed && i == 1 {
                    c.ellipse(x + 30.0, 112.0 + dy, 36.0, 16.0, [200, 190, 160]);
                }
            }
            if !fixed {
                for _ in 0..14 {
                    let (x, y) = (rng.range(20.0, 380.0), rng.range(235.0, 270.0));
                    c.ellipse(x, y, rng.range(4.0, 10.0), rng.range(3.0, 6.0), [220, 210, 180]);
                }
                c.ellipse(200.0 + dx, 255.0, 90.0, 12.0, [100, 95, 70]);
            }
        }
        Subject::Greenery => {
            c.gradient(0, 130, [120, 175, 230], [200, 225, 245]);
            c.gradient(130, H as i32, [90, 160, 70], [60, 120, 45]);
            for i in 0..3 {
                let x = 70.0 + f64::from(i) * 130.0 + dx;
                c.rect(x - 7.0, 90.0 + dy, x + 7.0, 175.0 + dy, [100, 70, 40]);
                c.circle(x, 80.0 + dy, 48.0, [50, 120, 50]);
                c.circle(x - 25.0, 95.0 + dy, 30.0, [60, 135, 55]);
            }
            for i in 0..4 {
                let x = 40.0 + f64::from(i) * 100.0 + dx;
                let withered = !fixed && i % 2 == 1;
                c.ellipse(x, 225.0, 34.0, 20.0, if withered { [150, 120, 60] } else { [40, 110, 45] });
            }
            if !fixed {
                c.line(160.0 + dx, 60.0 + dy, 230.0 + dx, 150.0 + dy, 8.0, [110, 80, 45]);
            }
        }
        Subject::FireLane => {
            c.gradient(0, 100, [160, 190, 220], [210, 220, 230]);
            c.rect(0.0, 100.0, f64::from(W), f64::from(H), [85, 85, 90]);
            for i in 0..9 {
                let x = f64::from(i) * 55.0 - 40.0 + dx;
                c.line(x, 290.0, x + 60.0, 130.0, 12.0, [200, 40, 40]);
            }
            c.rect(0.0, 120.0, f64::from(W), 128.0, [230, 200, 40]);
            if !fixed {
                c.rect(110.0 + dx, 170.0 + dy, 290.0 + dx, 240.0 + dy, [230, 230, 235]);
                c.rect(140.0 + dx, 140.0 + dy, 260.0 + dx, 175.0 + dy, [200, 210, 220]);
                c.circle(145.0 + dx, 245.0 + dy, 18.0, [30, 30, 30]);
                c.circle(255.0 + dx, 245.0 + dy, 18.0, [30, 30, 30]);
            }
        }
        Subject::Playground => {
            c.gradient(0, 140, [130, 185, 235], [205, 225, 245]);
            c.rect(0.0, 140.0, f64::from(W), f64::from(H), [215, 190, 140]);
            c.line(60.0 + dx, 250.0, 110.0 + dx, 70.0 + dy, 10.0, [210, 60, 40]);
            c.line(260.0 + dx, 250.0, 210.0 + dx, 70.0 + dy, 10.0, [210, 60, 40]);
            c.line(105.0 + dx, 72.0 + dy, 215.0 + dx, 72.0 + dy, 10.0, [210, 60, 40]);
            for (i, x) in [135.0, 185.0].iter().enumerate() {
                let sag = if !fixed && i == 1 { 28.0 } else { 0.0 };
                c.line(x + dx, 75.0 + dy, x + dx + sag * 0.4, 190.0 + sag, 3.0, [90, 90, 90]);
                c.line(x + dx + 20.0, 75.0 + dy, x + dx + 20.0, 190.0, 3.0, [90, 90, 90]);
                c.rect(x + dx - 4.0, 188.0 + sag * 0.5, x + dx + 26.0, 198.0 + sag * 0.5, [40, 90, 170]);
            }
            c.line(300.0 + dx, 120.0, 380.0 + dx, 250.0, 16.0, [240, 190, 40]);
        }
        Subject::Gate => {
            c.gradient(0, 120, [140, 185, 230], [205, 225, 245]);
            c.rect(0.0, 120.0, f64::from(W), f64::from(H), [95, 95, 100]);
            c.rect(20.0 + dx, 60.0 + dy, 120.0 + dx, 190.0 + dy, [225, 215, 195]);
            c.rect(40.0 + dx, 85.0 + dy, 100.0 + dx, 125.0 + dy, [120, 170, 210]);
            c.rect(130.0 + dx, 140.0 + dy, 146.0 + dx, 200.0 + dy, [60, 60, 60]);
            c.line(140.0 + dx, 148.0 + dy, 380.0 + dx, 148.0 + dy, 8.0, [230, 60, 50]);
            for i in 0..5 {
                let x = 170.0 + f64::from(i) * 45.0 + dx;
                c.line(x, 148.0 + dy, x + 20.0, 148.0 + dy, 8.0, [240, 240, 240]);
            }
            if !fixed {
                c.rect(200.0, 200.0, 330.0, 250.0, [40, 60, 120]);
                c.circle(220.0, 255.0, 13.0, [25, 25, 25]);
                c.circle(310.0, 255.0, 13.0, [25, 25, 25]);
            }
        }
        Subject::Pool => {
            c.gradient(0, 90, [150, 195, 235], [215, 230, 245]);
            c.rect(0.0, 90.0, f64::from(W), 140.0, [225, 225, 220]);
            c.gradient(140, H as i32, [60, 160, 210], [30, 110, 180]);
            for i in 0..6 {
                let y = 160.0 + f64::from(i) * 22.0 + dy * 0.3;
                c.line(0.0, y, f64::from(W), y + 6.0, 2.0, [120, 200, 230]);
            }
            c.rect(300.0 + dx, 40.0, 306.0 + dx, 140.0, [120, 120, 120]);
            if fixed {
                c.rect(270.0 + dx, 40.0, 336.0 + dx, 80.0, [240, 200, 30]);
                c.rect(278.0 + dx, 48.0, 328.0 + dx, 72.0, [200, 40, 40]);
            }
        }
        Subject::Indoor => {
            c.gradient(0, 170, [235, 230, 220], [215, 210, 200]);
            c.gradient(170, H as i32, [180, 160, 130], [150, 130, 105]);
            c.rect(110.0 + dx, 40.0 + dy, 290.0 + dx, 150.0 + dy, [150, 110, 70]);
            c.rect(118.0 + dx, 48.0 + dy, 282.0 + dx, 142.0 + dy, [215, 225, 230]);
            for i in 0..3 {
                let x = 130.0 + f64::from(i) * 50.0 + dx;
                c.rect(x, 60.0 + dy, x + 40.0, 110.0 + dy, [250, 250, 245]);
            }
            if !fixed {
                c.line(150.0 + dx, 50.0 + dy, 260.0 + dx, 140.0 + dy, 2.0, [90, 90, 90]);
                c.line(210.0 + dx, 55.0 + dy, 180.0 + dx, 135.0 + dy, 2.0, [90, 90, 90]);
                c.ellipse(260.0 + dx, 240.0, 70.0, 18.0, [110, 90, 60]);
            }
        }
    }
    let img = c.finish(&mut rng);
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&img)
        .expect("a JPEG encodes into memory");
    out
}

/// The plan's extent in metres from the compound's centre: north, south, west, east.
pub const PLAN_EXTENT_M: (f64, f64, f64, f64) = (220.0, -220.0, -200.0, 200.0);
/// Pixels per metre of the plan.
const PLAN_SCALE: f64 = 2.0;

/// The compound's site plan as a PNG: boundary, roads, buildings, lawn, pool and
/// playground, drawn where the demo's checkpoints are.
pub fn site_plan_png() -> (Vec<u8>, u32, u32) {
    let (north, south, west, east) = PLAN_EXTENT_M;
    let (w, h) = (((east - west) * PLAN_SCALE) as u32, ((north - south) * PLAN_SCALE) as u32);
    let mut img = RgbImage::from_pixel(w, h, Rgb([236, 234, 226]));
    // Metres (north, east) to pixels.
    let px = |n: f64, e: f64| ((e - west) * PLAN_SCALE, (north - n) * PLAN_SCALE);
    let mut fill = |n0: f64, e0: f64, n1: f64, e1: f64, c: [u8; 3]| {
        let (x0, y0) = px(n0, e0);
        let (x1, y1) = px(n1, e1);
        for y in (y0.min(y1).max(0.0) as u32)..(y0.max(y1).min(f64::from(h)) as u32) {
            for x in (x0.min(x1).max(0.0) as u32)..(x0.max(x1).min(f64::from(w)) as u32) {
                img.put_pixel(x, y, Rgb(c));
            }
        }
    };
    // Boundary wall, then the ring road and the cross roads.
    fill(205.0, -190.0, -205.0, 190.0, [120, 110, 100]);
    fill(200.0, -185.0, -200.0, 185.0, [226, 232, 214]);
    fill(195.0, -10.0, -195.0, 12.0, [200, 200, 196]);
    fill(8.0, -180.0, -8.0, 180.0, [200, 200, 196]);
    fill(-170.0, -180.0, -190.0, 180.0, [200, 200, 196]);
    fill(190.0, -180.0, 170.0, 180.0, [200, 200, 196]);
    // Central lawn and the green strips.
    fill(50.0, -40.0, -10.0, 50.0, [150, 200, 120]);
    fill(160.0, 150.0, -160.0, 175.0, [170, 210, 140]);
    // Buildings 1 and 3, the clubhouse, the service centre, the plant rooms.
    fill(90.0, -110.0, 40.0, -30.0, [214, 196, 160]);
    fill(90.0, 30.0, 40.0, 110.0, [214, 196, 160]);
    fill(160.0, 70.0, 125.0, 120.0, [200, 170, 140]);
    fill(-105.0, 10.0, -140.0, 60.0, [190, 200, 220]);
    fill(-75.0, -150.0, -115.0, -105.0, [170, 170, 175]);
    // Pool, playground, bin station, car-park ramp.
    fill(135.0, -65.0, 105.0, -15.0, [110, 180, 225]);
    fill(112.0, 5.0, 88.0, 35.0, [230, 205, 150]);
    fill(-140.0, 105.0, -160.0, 135.0, [150, 150, 140]);
    fill(-50.0, -95.0, -70.0, -65.0, [90, 90, 95]);
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("a PNG encodes into memory");
    (out, w, h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_photo_is_a_whole_jpeg_and_no_two_are_alike() {
        let subjects = [
            Subject::Lights,
            Subject::Leak,
            Subject::Bins,
            Subject::Greenery,
            Subject::FireLane,
            Subject::Playground,
            Subject::Gate,
            Subject::Pool,
            Subject::Indoor,
        ];
        let mut seen = std::collections::HashSet::new();
        for (i, s) in subjects.iter().enumerate() {
            for fixed in [false, true] {
                let jpeg = photo(*s, fixed, i as u64);
                assert_eq!(crate::photos::not_a_stored_jpeg(&jpeg), None, "{s:?}");
                assert!(jpeg.len() < 64 * 1024, "{s:?}: {} bytes", jpeg.len());
                assert!(seen.insert(jpeg), "{s:?} fixed={fixed} came out like another photo");
            }
        }
        assert_eq!(photo(Subject::Bins, false, 7), photo(Subject::Bins, false, 7), "the same seed, the same photo");
    }

    #[test]
    fn the_plan_is_a_png_of_the_extent() {
        let (png, w, h) = site_plan_png();
        assert_eq!(crate::photos::sniff_image(&png), Some(("image/png", w, h)));
    }
}
