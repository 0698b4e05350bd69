//! The one check of what an image claims to be before anything decodes it, shared
//! by the phone core (camera sources) and the server (uploads from phones and
//! browsers): the format from its magic bytes, its dimensions from the JPEG frame
//! header or PNG IHDR, the EXIF orientation, bounds on sides and pixels, and the
//! signs of a whole JPEG (image data, an end marker). Pure and allocation-free, so it
//! is also fuzzed on its own (fuzz/fuzz_targets/photo_header.rs).

/// No side longer than this is decoded (the largest phone sensors are ~8000 px).
pub const MAX_SIDE: u32 = 12_000;
/// No image with more pixels than this is decoded: 50 MP is 150 MB as RGB.
pub const MAX_PIXELS: u64 = 50_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub format: Format,
    pub width: u32,
    pub height: u32,
    /// EXIF orientation 1 to 8; 1 when absent or unreadable.
    pub orientation: u8,
}

/// Why an image was refused: a `Reason`, worded in both languages.
pub use patrol_protocol::reason::Reason as Refused;

pub type Result<T> = std::result::Result<T, Refused>;

/// Reads the header and applies the bounds. Nothing here allocates in proportion to
/// what the file claims.
pub fn inspect(bytes: &[u8]) -> Result<Header> {
    let header = if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        jpeg(bytes)?
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        png(bytes)?
    } else {
        return Err(Refused::NotJpegOrPng);
    };
    let (w, h) = (header.width, header.height);
    if w == 0 || h == 0 {
        return Err(Refused::NoPixels);
    }
    if w > MAX_SIDE || h > MAX_SIDE || w as u64 * h as u64 > MAX_PIXELS {
        return Err(Refused::ImageTooBig { width: w, height: h, max_side: MAX_SIDE });
    }
    Ok(header)
}

fn png(b: &[u8]) -> Result<Header> {
    // Signature (8), then the first chunk must be IHDR: length (4), type (4), width, height.
    if b.len() < 24 || &b[12..16] != b"IHDR" {
        return Err(Refused::PngNoHeader);
    }
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    Ok(Header { format: Format::Png, width: be(16), height: be(20), orientation: 1 })
}

fn jpeg(b: &[u8]) -> Result<Header> {
    let truncated = || Refused::JpegNoFrame;
    let mut orientation = 1;
    let mut i = 2;
    loop {
        if i + 1 >= b.len() {
            return Err(truncated());
        }
        if b[i] != 0xFF {
            return Err(truncated());
        }
        let marker = b[i + 1];
        // Fill bytes and markers without a length.
        if marker == 0xFF {
            i += 1;
            continue;
        }
        if marker == 0x01 || (0xD0..=0xD7).contains(&marker) {
            i += 2;
            continue;
        }
        if marker == 0xD9 || marker == 0xDA || i + 4 > b.len() {
            return Err(truncated());
        }
        let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
        if len < 2 || i + 2 + len > b.len() {
            return Err(truncated());
        }
        let segment = &b[i + 4..i + 2 + len];
        match marker {
            0xE1 if segment.starts_with(b"Exif\0\0") => orientation = exif_orientation(&segment[6..]).unwrap_or(1),
            // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                if segment.len() < 5 {
                    return Err(truncated());
                }
                let height = u16::from_be_bytes([segment[1], segment[2]]) as u32;
                let width = u16::from_be_bytes([segment[3], segment[4]]) as u32;
                // A file cut short (camera app killed, copy interrupted) decodes as a
                // grey lower half; refuse it instead. The end marker cannot occur inside
                // entropy-coded data (0xFF is stuffed there), and embedded EXIF
                // thumbnails sit before the frame header, so any FFD9 after it is the end.
                if !b[i..].windows(2).any(|w| w == [0xFF, 0xD9]) {
                    return Err(Refused::JpegCutShort);
                }
                if !has_scan_data(b) {
                    return Err(Refused::JpegNoImageData);
                }
                return Ok(Header { format: Format::Jpeg, width, height, orientation });
            }
            _ => {}
        }
        i += 2 + len;
    }
}

/// The Orientation tag (0x0112) of IFD0 in a TIFF-structured EXIF block, if it is
/// there and sane. Every offset is checked; a malformed block just means "upright".
fn exif_orientation(tiff: &[u8]) -> Option<u8> {
    let little = match tiff.get(0..2)? {
        b"II" => true,
        b"MM" => false,
        _ => return None,
    };
    let u16_at = |i: usize| -> Option<u16> {
        let s: [u8; 2] = tiff.get(i..i + 2)?.try_into().ok()?;
        Some(if little { u16::from_le_bytes(s) } else { u16::from_be_bytes(s) })
    };
    let u32_at = |i: usize| -> Option<u32> {
        let s: [u8; 4] = tiff.get(i..i + 4)?.try_into().ok()?;
        Some(if little { u32::from_le_bytes(s) } else { u32::from_be_bytes(s) })
    };
    if u16_at(2)? != 42 {
        return None;
    }
    let ifd = u32_at(4)? as usize;
    let count = u16_at(ifd)? as usize;
    for n in 0..count.min(512) {
        let entry = ifd + 2 + n * 12;
        if u16_at(entry)? == 0x0112 {
            // Type SHORT (3), count 1: the value sits in the first two bytes of the field.
            if u16_at(entry + 2)? != 3 {
                return None;
            }
            let v = u16_at(entry + 8)?;
            return (1..=8).contains(&v).then_some(v as u8);
        }
    }
    None
}

/// Whether a JPEG carries entropy-coded image data: its segments lead to a
/// start-of-scan whose data runs for at least a few bytes before an end marker. A
/// header with an end marker glued on (nothing to decode) is not a photo.
pub fn has_scan_data(data: &[u8]) -> bool {
    let mut i = 2;
    while i + 4 <= data.len() {
        if data[i] != 0xFF {
            return false;
        }
        let marker = data[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([data[i + 2], data[i + 3]]));
        if len < 2 {
            return false;
        }
        let body_end = i + 2 + len;
        if marker == 0xDA {
            // At least one MCU's worth of entropy-coded bytes before FF D9.
            return data.len() >= body_end + 2 + 16;
        }
        i = body_end;
    }
    false
}

/// The check of a JPEG as the protocol stores it (what a phone uploads after its
/// pipeline): the header within bounds, image data, and the file ending exactly at
/// its end marker. Nothing is decoded.
pub fn inspect_stored_jpeg(data: &[u8]) -> Result<Header> {
    let header = inspect(data)?;
    if header.format != Format::Jpeg {
        return Err(Refused::PhotoNotJpeg);
    }
    if !data.ends_with(&[0xFF, 0xD9]) {
        return Err(Refused::PhotoNotWhole);
    }
    Ok(header)
}

/// Decodes a JPEG whole or not at all, to RGB at 1/`denominator` of its size (1, 2, 4
/// or 8, libjpeg's DCT scales; `jpeg::scaled_size` gives the result's size):
/// `(pixels, width, height)`. Damaged image data — noise over part of the file, a file
/// cut short with or without an end marker glued on, stray bytes before the end — is
/// refused at every scale: libjpeg reads every coefficient whatever the scale, and each
/// of its "corrupt data" warnings is a refusal here (`jpeg`).
#[cfg(feature = "jpeg")]
pub fn decode_jpeg_whole(bytes: &[u8], header: &Header, denominator: u32) -> Result<(Vec<u8>, u32, u32)> {
    let decoded =
        crate::jpeg::decode_rgb(bytes, denominator).map_err(|detail| Refused::PhotoDoesNotDecode { detail })?;
    if (decoded.source_width, decoded.source_height) != (header.width, header.height) {
        return Err(Refused::SizeDiffersFromHeader);
    }
    Ok((decoded.pixels, decoded.width, decoded.height))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exif(little: bool, orientation: u16) -> Vec<u8> {
        let mut t = vec![];
        let w16 = |t: &mut Vec<u8>, v: u16| t.extend(if little { v.to_le_bytes() } else { v.to_be_bytes() });
        let w32 = |t: &mut Vec<u8>, v: u32| t.extend(if little { v.to_le_bytes() } else { v.to_be_bytes() });
        t.extend(if little { b"II" } else { b"MM" });
        w16(&mut t, 42);
        w32(&mut t, 8);
        w16(&mut t, 1);
        w16(&mut t, 0x0112);
        w16(&mut t, 3);
        w32(&mut t, 1);
        w16(&mut t, orientation);
        w16(&mut t, 0);
        w32(&mut t, 0);
        t
    }

    #[test]
    fn orientation_is_read_in_both_byte_orders() {
        assert_eq!(exif_orientation(&exif(true, 6)), Some(6));
        assert_eq!(exif_orientation(&exif(false, 8)), Some(8));
        assert_eq!(exif_orientation(&exif(true, 9)), None);
        let mut cut = exif(true, 6);
        cut.truncate(15);
        assert_eq!(exif_orientation(&cut), None);
    }

    #[test]
    fn a_png_claiming_a_hundred_thousand_pixels_a_side_is_refused_from_its_header() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend(100_000u32.to_be_bytes());
        png.extend(100_000u32.to_be_bytes());
        png.extend([8, 2, 0, 0, 0, 0, 0, 0, 0]);
        let err = inspect(&png).unwrap_err();
        assert!(err.zh().contains("超出上限") && err.en().contains("100000"), "{err:?}");
    }

    #[test]
    fn anything_but_jpeg_or_png_is_refused() {
        assert!(inspect(b"GIF89a....").is_err());
        assert!(inspect(&[0xFF, 0xD8, 0xFF]).is_err(), "a truncated JPEG");
        assert!(inspect(&[]).is_err());
    }

    #[test]
    fn a_header_with_an_end_marker_glued_on_is_not_a_photo() {
        // SOI, SOF0 for 8×8 with one component, SOS, then EOI at once.
        let mut j = vec![0xFF, 0xD8];
        j.extend([0xFF, 0xC0, 0, 11, 8, 0, 8, 0, 8, 1, 1, 0x11, 0]);
        j.extend([0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 63, 0]);
        j.extend([0xFF, 0xD9]);
        let err = inspect(&j).unwrap_err();
        assert!(err.en().contains("no image data"), "{err:?}");
        assert!(inspect_stored_jpeg(&j).is_err());
    }
}
