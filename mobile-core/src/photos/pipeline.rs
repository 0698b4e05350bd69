//! The pixel work of one photo: decode within bounds, scale, turn upright, burn in the
//! watermark, encode the stored JPEG and its thumbnail. No I/O, no database.

use patrol_protocol::reason::Reason;
use std::io::Cursor;

use ab_glyph::FontArc;
use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::codecs::jpeg::JpegEncoder;
use image::{ExtendedColorType, ImageFormat, ImageReader, Limits, RgbImage, imageops};

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

/// Runs the whole pipeline. `watermark` is the font and the lines to burn in.
pub fn process(bytes: &[u8], options: Options, watermark: Option<(&FontArc, &[String])>) -> Result<Processed> {
    let header = header::inspect(bytes)?;
    let raw = decode(bytes, header)?;

    // Scale before turning: rotating 3 MP is cheaper than rotating 12 MP, and the
    // big decoded buffer is dropped as soon as the small one exists.
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

fn decode(bytes: &[u8], header: Header) -> Result<RgbImage> {
    let format = match header.format {
        Format::Jpeg => return decode_jpeg_strictly(bytes, header),
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
/// server's check too): a damaged or cut file is refused, never sealed with a grey part.
fn decode_jpeg_strictly(bytes: &[u8], header: Header) -> Result<RgbImage> {
    let (pixels, w, h) =
        patrol_protocol::photo_header::decode_jpeg_whole(bytes, &header).map_err(|r| Error::invalid("photo", r))?;
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
fn encode(img: &RgbImage, quality: u8) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(img.as_raw().len() / 8);
    JpegEncoder::new_with_quality(&mut out, quality).encode(
        img.as_raw(),
        img.width(),
        img.height(),
        ExtendedColorType::Rgb8,
    )?;
    Ok(out)
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
    fn a_camera_jpeg_that_does_not_decode_cleanly_is_refused_in_both_languages() {
        let good = textured(320, 240);
        let options = Options { max_long_edge: 200, quality: 80 };
        assert!(process(&good, options, None).is_ok());
        let scan = good.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap() + 20;
        let mut noisy = good.clone();
        let (a, b) = (scan + (good.len() - scan) / 3, scan + 2 * (good.len() - scan) / 3);
        let mut x: u32 = 99;
        for byte in &mut noisy[a..b] {
            x = x.wrapping_mul(1103515245).wrapping_add(12345);
            *byte = (x >> 16) as u8;
        }
        let mut cut = good[..good.len() * 6 / 10].to_vec();
        cut.extend([0xFF, 0xD9]);
        for (what, bytes) in [("noise over the middle third", noisy), ("cut short, end marker appended", cut)] {
            let err = process(&bytes, options, None).err().unwrap_or_else(|| panic!("{what}: accepted"));
            assert!(
                matches!(err, Error::Invalid { ref field, ref zh, ref en } if field == "photo" && zh.contains("损坏") && en.contains("decode")),
                "{what}: {err:?}"
            );
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
