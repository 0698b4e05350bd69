//! The pixel work of one photo: decode within bounds, scale, turn upright, burn in the
//! watermark, encode the stored JPEG and its thumbnail. No I/O, no database.

use patrol_protocol::reason::Reason;
use std::io::Cursor;

use ab_glyph::FontArc;
use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::{ImageFormat, ImageReader, Limits, RgbImage, imageops};
use patrol_protocol::jpeg;

use super::header::{self, Format, Header};
use super::watermark;
use crate::error::{Error, Result};

pub const THUMB_LONG_EDGE: u32 = 320;
const THUMB_QUALITY: u8 = 75;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub max_long_edge: u32,
    pub quality: u8,
}

pub struct Processed {
    pub jpeg: Vec<u8>,
    pub thumb: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// How far below the long-edge bound a reduced-scale decode may land and still be used
/// as it is: 1/32 of the bound (64 px of 2048). A 4000×3000 frame decoded at 1/2 is
/// 2000×1500, 2.3 % short of 2048: stored at 2000 px, sharper and far cheaper than a
/// full 12 MP decode scaled down 1.95×, or a 1/2 decode blown up by 2.4 %.
pub const SCALE_SLACK_DIVISOR: u32 = 32;

/// Runs the whole pipeline. `watermark` is the font and the lines to burn in.
pub fn process(bytes: &[u8], options: Options, watermark: Option<(&FontArc, &[String])>) -> Result<Processed> {
    let header = header::inspect(bytes)?;
    let raw = decode(bytes, header, options.max_long_edge)?;

    // Scale before turning: rotating 3 MP is cheaper than rotating 12 MP, and the
    // big decoded buffer is dropped as soon as the small one exists. A JPEG decoded at a
    // reduced scale usually needs little or no scaling left (`dct_denominator`).
    let (w, h) = raw.dimensions();
    let (tw, th) = fit_long_edge(w, h, options.max_long_edge);
    let scaled = if (tw, th) == (w, h) { raw } else { resize(raw, tw, th)? };
    let mut upright = orient(scaled, header.orientation);

    if let Some((font, lines)) = watermark {
        watermark::burn(&mut upright, font, lines);
    }
    let jpeg = encode(&upright, options.quality)?;
    let (uw, uh) = upright.dimensions();
    let (thw, thh) = fit_long_edge(uw, uh, THUMB_LONG_EDGE);
    let thumb_img = resize(upright, thw, thh)?;
    let thumb = encode(&thumb_img, THUMB_QUALITY)?;
    Ok(Processed { jpeg, thumb, width: uw, height: uh })
}

/// The DCT scale (as the denominator: 1, 2, 4 or 8) to decode a `width`×`height` JPEG
/// at when the stored photo's long edge is at most `max_long_edge`: the greatest
/// reduction whose long edge still reaches the bound, less `SCALE_SLACK_DIVISOR`'s
/// slack. 4000×3000 at 2048 → 2 (2000 px); 4608×3456 → 2 (2304 px, then scaled to 2048);
/// 3264×2448 → 1 (1632 px would be too small); 8000×6000 → 4; 1600×1200 → 1.
pub fn dct_denominator(width: u32, height: u32, max_long_edge: u32) -> u32 {
    let long = width.max(height);
    if long <= max_long_edge {
        return 1;
    }
    let enough = max_long_edge - max_long_edge / SCALE_SLACK_DIVISOR;
    jpeg::DENOMINATORS.into_iter().rev().find(|&d| long.div_ceil(d) >= enough).unwrap_or(1)
}

fn decode(bytes: &[u8], header: Header, max_long_edge: u32) -> Result<RgbImage> {
    let format = match header.format {
        Format::Jpeg => {
            let denominator = dct_denominator(header.width, header.height, max_long_edge);
            return decode_jpeg_strictly(bytes, header, denominator);
        }
        Format::Png => ImageFormat::Png,
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    // A second fence behind the header check: the decoder itself refuses to grow past
    // what the declared size needs (RGBA 16-bit plus slack).
    let mut limits = Limits::default();
    limits.max_image_width = Some(header::MAX_SIDE);
    limits.max_image_height = Some(header::MAX_SIDE);
    limits.max_alloc = Some(header.width as u64 * header.height as u64 * 8 + (64 << 20));
    reader.limits(limits);
    let img = reader.decode()?;
    if (img.width(), img.height()) != (header.width, header.height) {
        return Err(Error::invalid("photo", Reason::SizeDiffersFromHeader));
    }
    Ok(img.into_rgb8())
}

/// A camera JPEG decoded whole or not at all (`photo_header::decode_jpeg_whole`, the
/// server's check too), at 1/`denominator` scale: a damaged or cut file is refused at
/// every scale, never sealed with a grey part.
fn decode_jpeg_strictly(bytes: &[u8], header: Header, denominator: u32) -> Result<RgbImage> {
    let (pixels, w, h) = patrol_protocol::photo_header::decode_jpeg_whole(bytes, &header, denominator)
        .map_err(|r| Error::invalid("photo", r))?;
    RgbImage::from_raw(w, h, pixels).ok_or_else(|| Error::Corrupt("a short buffer".into()))
}

/// Dimensions with the long edge at most `max`, keeping the aspect ratio.
pub fn fit_long_edge(w: u32, h: u32, max: u32) -> (u32, u32) {
    let long = w.max(h);
    if long <= max {
        return (w, h);
    }
    let scale = |s: u32| ((s as u64 * max as u64 + long as u64 / 2) / long as u64).max(1) as u32;
    if w >= h { (max, scale(h)) } else { (scale(w), max) }
}

/// Lanczos3: the filter ImageMagick uses for downscaling, sharp without ringing at
/// these ratios; fast_image_resize does it with SIMD on both ARM and x86.
fn resize(img: RgbImage, tw: u32, th: u32) -> Result<RgbImage> {
    let (w, h) = img.dimensions();
    let src = Image::from_vec_u8(w, h, img.into_raw(), PixelType::U8x3)
        .map_err(|e| Error::Corrupt(format!("resize source: {e}")))?;
    let mut dst = Image::new(tw, th, PixelType::U8x3);
    Resizer::new()
        .resize(&src, &mut dst, &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3)))
        .map_err(|e| Error::Corrupt(format!("resize: {e}")))?;
    RgbImage::from_raw(tw, th, dst.into_vec()).ok_or_else(|| Error::Corrupt("resize produced a short buffer".into()))
}

/// Applies an EXIF orientation so the stored pixels are upright and need no tag.
fn orient(img: RgbImage, orientation: u8) -> RgbImage {
    match orientation {
        2 => imageops::flip_horizontal(&img),
        3 => imageops::rotate180(&img),
        4 => imageops::flip_vertical(&img),
        5 => imageops::flip_horizontal(&imageops::rotate90(&img)),
        6 => imageops::rotate90(&img),
        7 => imageops::flip_horizontal(&imageops::rotate270(&img)),
        8 => imageops::rotate270(&img),
        _ => img,
    }
}

/// Baseline JPEG with a JFIF header only: no EXIF, so nothing the camera wrote
/// (device serial, exact position) leaves the phone except what the record says.
/// libjpeg-turbo, the decoder's library: one JPEG codec in the core.
fn encode(img: &RgbImage, quality: u8) -> Result<Vec<u8>> {
    jpeg::encode_rgb(img.as_raw(), img.width(), img.height(), quality)
        .map_err(|e| Error::Corrupt(format!("JPEG encoding: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_long_edge_is_scaled_to_the_bound_and_the_ratio_kept() {
        assert_eq!(fit_long_edge(4000, 3000, 2048), (2048, 1536));
        assert_eq!(fit_long_edge(3000, 4000, 2048), (1536, 2048));
        assert_eq!(fit_long_edge(800, 600, 2048), (800, 600));
        assert_eq!(fit_long_edge(10000, 1, 320), (320, 1));
    }

    fn textured(w: u32, h: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(w, h, |x, y| {
            let v = (x.wrapping_mul(2654435761) ^ y.wrapping_mul(40503)).rotate_left(x % 13) as u8;
            image::Rgb([v, v.wrapping_add(x as u8), (y as u8).wrapping_mul(3)])
        });
        encode(&img, 90).unwrap()
    }

    #[test]
    fn a_large_frame_is_decoded_at_the_smallest_dct_scale_that_still_fills_the_bound() {
        // Phone sensors at the default 2048 px bound.
        assert_eq!(dct_denominator(4000, 3000, 2048), 2, "12 MP: 2000 px is within the slack");
        assert_eq!(dct_denominator(3000, 4000, 2048), 2, "the same held upright");
        assert_eq!(dct_denominator(4032, 3024, 2048), 2, "12 MP (4032): 2016 px");
        assert_eq!(dct_denominator(4608, 3456, 2048), 2, "16 MP: 2304 px, then scaled to 2048");
        assert_eq!(dct_denominator(4608, 1976, 2048), 2, "9 MP wide: 2304 px");
        assert_eq!(dct_denominator(8000, 6000, 2048), 4, "48 MP: 2000 px");
        assert_eq!(dct_denominator(8160, 6120, 2048), 4, "50 MP: 2040 px");
        assert_eq!(dct_denominator(3264, 2448, 2048), 1, "8 MP: 1632 px at 1/2 would be too small");
        assert_eq!(dct_denominator(3900, 2925, 2048), 1, "1950 px at 1/2 is short by more than the slack");
        assert_eq!(dct_denominator(2048, 1536, 2048), 1, "already within the bound");
        assert_eq!(dct_denominator(1600, 1200, 2048), 1);
        // The thumbnail-sized bound takes the deepest scale there is.
        assert_eq!(dct_denominator(4000, 3000, 320), 8, "500 px, then scaled to 320");
        assert_eq!(dct_denominator(12000, 4000, 320), 8);
        // The slack is exactly 1/32 of the bound.
        assert_eq!(dct_denominator(3968, 100, 2048), 2, "1984 px = 2048 − 64");
        assert_eq!(dct_denominator(3966, 100, 2048), 1, "1983 px");
    }

    /// `jpeg` with an EXIF APP1 segment holding only Orientation, after the SOI.
    fn with_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
        let mut tiff = b"MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01".to_vec();
        tiff.extend(orientation.to_be_bytes());
        tiff.extend([0, 0, 0, 0, 0, 0]);
        let mut out = jpeg[..2].to_vec();
        out.extend([0xFF, 0xE1]);
        out.extend(((2 + 6 + tiff.len()) as u16).to_be_bytes());
        out.extend(b"Exif\0\0");
        out.extend(tiff);
        out.extend(&jpeg[2..]);
        out
    }

    /// A grey sensor frame with a red block in its top-left corner, as in a camera file.
    fn sensor(w: u32, h: u32) -> Vec<u8> {
        let block = w / 8;
        let img = RgbImage::from_fn(w, h, |x, y| {
            if x < block && y < block { image::Rgb([230, 20, 20]) } else { image::Rgb([110, 120, 130]) }
        });
        encode(&img, 90).unwrap()
    }

    fn is_red(img: &RgbImage, x: u32, y: u32) -> bool {
        let p = img.get_pixel(x, y).0;
        p[0] > 180 && p[1] < 70
    }

    #[test]
    fn every_dct_scale_gives_the_right_size_and_turns_the_picture_upright() {
        // A 1024×768 sensor frame; the bound picks the scale. (bound, scale, stored size
        // as the sensor sees it): the 1/2 and 1/8 decodes land within the slack and are
        // kept as they are; 1/4 of 1024 is 256, then scaled to 200.
        let cases = [
            (2048, 1, (1024, 768)),
            (1024, 1, (1024, 768)),
            (520, 2, (512, 384)),
            (200, 4, (200, 150)),
            (130, 8, (128, 96)),
        ];
        let plain = sensor(1024, 768);
        for (bound, scale, (sw, sh)) in cases {
            assert_eq!(dct_denominator(1024, 768, bound), scale, "bound {bound}");
            let options = Options { max_long_edge: bound, quality: 90 };
            for orientation in [1u16, 3, 6, 8] {
                let out = process(&with_orientation(&plain, orientation), options, None).unwrap();
                let img = image::load_from_memory(&out.jpeg).unwrap().into_rgb8();
                let turned = matches!(orientation, 6 | 8);
                let (w, h) = if turned { (sh, sw) } else { (sw, sh) };
                let what = format!("bound {bound} (1/{scale}), orientation {orientation}");
                assert_eq!((out.width, out.height), (w, h), "{what}");
                assert_eq!(img.dimensions(), (w, h), "{what}");
                // Where the sensor's top-left red block ends up once upright.
                let m = w.min(h) / 32 + 1;
                let (x, y) = match orientation {
                    1 => (m, m),
                    3 => (w - 1 - m, h - 1 - m),
                    6 => (w - 1 - m, m),
                    _ => (m, h - 1 - m),
                };
                assert!(is_red(&img, x, y), "{what}: red at ({x}, {y}): {:?}", img.get_pixel(x, y));
                for (cx, cy) in [(m, m), (w - 1 - m, m), (m, h - 1 - m), (w - 1 - m, h - 1 - m)] {
                    if (cx, cy) != (x, y) {
                        assert!(!is_red(&img, cx, cy), "{what}: red at ({cx}, {cy}) too");
                    }
                }
                let thumb = image::load_from_memory(&out.thumb).unwrap();
                assert_eq!(thumb.width().max(thumb.height()), THUMB_LONG_EDGE.min(w.max(h)), "{what}");
            }
        }
    }

    #[test]
    fn a_camera_jpeg_that_does_not_decode_cleanly_is_refused_in_both_languages() {
        let good = textured(320, 240);
        let options = Options { max_long_edge: 200, quality: 80 };
        assert!(process(&good, options, None).is_ok());
        // At every DCT scale: a reduced decode reads every coefficient all the same.
        for (bound, scale) in [(320, 1), (200, 1), (160, 2), (80, 4), (40, 8)] {
            assert_eq!(dct_denominator(320, 240, bound), scale);
            let options = Options { max_long_edge: bound, quality: 80 };
            assert!(process(&good, options, None).is_ok(), "the whole file at 1/{scale}");
            // The file cut without an end marker never reaches the decoder: the header
            // check refuses it first (its own tests).
            for (what, bytes) in patrol_protocol::jpeg::damaged_copies(&good).into_iter().take(2) {
                let err = process(&bytes, options, None).err().unwrap_or_else(|| panic!("{what}, 1/{scale}: accepted"));
                assert!(
                    matches!(err, Error::Invalid { ref field, ref zh, ref en } if field == "photo" && zh.contains("损坏") && en.contains("decode")),
                    "{what}, 1/{scale}: {err:?}"
                );
            }
        }
    }

    #[test]
    fn orientation_six_turns_the_picture_a_quarter_clockwise() {
        // A 2×1 image: red on the left, blue on the right. Turned clockwise, red is on top.
        let mut img = RgbImage::new(2, 1);
        img.put_pixel(0, 0, image::Rgb([255, 0, 0]));
        img.put_pixel(1, 0, image::Rgb([0, 0, 255]));
        let up = orient(img, 6);
        assert_eq!(up.dimensions(), (1, 2));
        assert_eq!(up.get_pixel(0, 0).0, [255, 0, 0]);
    }
}
