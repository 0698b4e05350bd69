//! JPEG decoding and encoding through libjpeg-turbo: the copy vendored in the
//! `mozjpeg-sys` crate, compiled from source by cargo (C with NEON intrinsics and GNU
//! assembly on ARM; nasm for the x86 SIMD when it is installed, plain C without it).
//!
//! Two things make it the photo decoder here. It decodes at a reduced DCT scale (1/2,
//! 1/4, 1/8): a 12 MP camera frame wanted at 2000 px is decoded straight to 3 MP, which
//! is where libvips gets its speed. And it reports damaged data: every "Corrupt JPEG
//! data" condition (an entropy segment ended by a marker before its last block — a file
//! cut short with an end marker glued on —, a bad Huffman code, a wrong restart marker,
//! stray bytes before the end marker, a broken progression) is a libjpeg *warning*, and
//! this module turns every warning into a refusal, as TurboJPEG's "stop on warning"
//! does. The warnings come from the entropy decoder and the marker reader, which read
//! every coefficient of every block at any scale (a 1/8 decode still walks all the AC
//! codes to find the next block), so a reduced decode checks the file exactly as
//! strictly as a full one.
//!
//! libjpeg reports errors through callbacks that must not return; here they unwind
//! (`mozjpeg-sys` compiles libjpeg with `-fexceptions` for that) and the unwind is
//! caught at the edge of each call. A panic=abort build would abort on a broken photo
//! instead of refusing it; no profile of this workspace sets it.

use std::ffi::{c_int, c_ulong};
use std::mem;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::ptr;

use mozjpeg_sys as ffi;

/// The DCT scales libjpeg decodes at, as denominators: 8/8, 4/8, 2/8, 1/8.
pub const DENOMINATORS: [u32; 4] = [1, 2, 4, 8];

/// The size libjpeg decodes a `width`×`height` JPEG to at 1/`denominator`: each side
/// divided and rounded up.
pub fn scaled_size(width: u32, height: u32, denominator: u32) -> (u32, u32) {
    (width.div_ceil(denominator), height.div_ceil(denominator))
}

/// A decoded image: RGB, 3 bytes a pixel, rows top to bottom.
#[derive(Debug)]
pub struct Decoded {
    pub pixels: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// The size the file declares (before scaling).
    pub source_width: u32,
    pub source_height: u32,
}

/// What libjpeg said when it gave up or warned; carried by the unwind.
struct Complaint(String);

fn message(cinfo: &mut ffi::jpeg_common_struct) -> String {
    // SAFETY: `err` points at the error manager set up by the caller for this call.
    unsafe {
        let err = &*cinfo.err;
        let code = err.msg_code;
        match err.format_message {
            Some(format) => {
                let mut buffer = [0u8; 80]; // JMSG_LENGTH_MAX
                // The binding declares the buffer `&[u8; 80]`; libjpeg writes into it.
                let format: unsafe extern "C-unwind" fn(&mut ffi::jpeg_common_struct, &mut [u8; 80]) =
                    mem::transmute(format);
                format(cinfo, &mut buffer);
                let text = buffer.split(|&c| c == 0).next().unwrap_or_default();
                format!("{} (libjpeg message {code})", String::from_utf8_lossy(text))
            }
            None => format!("libjpeg message {code}"),
        }
    }
}

extern "C-unwind" fn error_exit(cinfo: &mut ffi::jpeg_common_struct) {
    let text = message(cinfo);
    resume_unwind(Box::new(Complaint(text)));
}

/// Level −1 is a warning: in libjpeg that always means damaged data that it would
/// otherwise paper over (grey blocks, skipped bytes). Higher levels are trace output.
extern "C-unwind" fn emit_message(cinfo: &mut ffi::jpeg_common_struct, level: c_int) {
    if level < 0 {
        let text = message(cinfo);
        resume_unwind(Box::new(Complaint(text)));
    }
}

fn error_manager() -> Box<ffi::jpeg_error_mgr> {
    // SAFETY: an all-zero error manager is what jpeg_std_error expects to fill in.
    let mut err: Box<ffi::jpeg_error_mgr> = Box::new(unsafe { mem::zeroed() });
    unsafe { ffi::jpeg_std_error(&mut err) };
    err.error_exit = Some(error_exit);
    err.emit_message = Some(emit_message);
    err
}

fn complaint(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<Complaint>() {
        Ok(c) => c.0,
        Err(other) => resume_unwind(other), // not libjpeg's: a real bug, let it go on
    }
}

/// Decodes a JPEG to RGB at 1/`denominator` scale (1, 2, 4 or 8), refusing any file
/// whose data is damaged (see the module's notes) with libjpeg's message.
pub fn decode_rgb(bytes: &[u8], denominator: u32) -> Result<Decoded, String> {
    if !DENOMINATORS.contains(&denominator) {
        return Err(format!("no DCT scale 1/{denominator}"));
    }
    let mut err = error_manager();
    // SAFETY: zeroed, then initialised by jpeg_CreateDecompress inside the guarded call.
    let mut cinfo: Box<ffi::jpeg_decompress_struct> = Box::new(unsafe { mem::zeroed() });
    cinfo.common.err = &mut *err;
    let result = catch_unwind(AssertUnwindSafe(|| unsafe {
        ffi::jpeg_create_decompress(&mut *cinfo);
        ffi::jpeg_mem_src(&mut cinfo, bytes.as_ptr(), bytes.len() as c_ulong);
        ffi::jpeg_read_header(&mut cinfo, 1);
        let (source_width, source_height) = (cinfo.image_width, cinfo.image_height);
        cinfo.out_color_space = ffi::J_COLOR_SPACE::JCS_RGB;
        cinfo.scale_num = 1;
        cinfo.scale_denom = denominator;
        ffi::jpeg_start_decompress(&mut cinfo);
        let (w, h) = (cinfo.output_width, cinfo.output_height);
        if cinfo.output_components != 3 || (w, h) != scaled_size(source_width, source_height, denominator) {
            return Err(format!("decoder gave {w}×{h}×{}", cinfo.output_components));
        }
        let row = w as usize * 3;
        let mut pixels = vec![0u8; row * h as usize];
        while cinfo.output_scanline < h {
            let y = cinfo.output_scanline as usize;
            let mut rows = [ptr::null_mut::<u8>(); 16];
            let n = (h as usize - y).min(rows.len());
            for (i, r) in rows.iter_mut().take(n).enumerate() {
                *r = pixels.as_mut_ptr().add((y + i) * row);
            }
            if ffi::jpeg_read_scanlines(&mut cinfo, rows.as_mut_ptr(), n as u32) == 0 {
                return Err("the decoder stopped before the last row".to_string());
            }
        }
        // Reads on to the end marker, so bytes between the last block and it are seen.
        ffi::jpeg_finish_decompress(&mut cinfo);
        Ok(Decoded { pixels, width: w, height: h, source_width, source_height })
    }));
    // SAFETY: destroying a never-created (zeroed) or half-used object is allowed.
    unsafe { ffi::jpeg_destroy_decompress(&mut cinfo) };
    drop(err);
    result.map_err(complaint)?
}

/// Encodes RGB pixels as a baseline JPEG (JFIF, 4:2:0, standard Huffman tables; the
/// plain libjpeg-turbo settings, none of mozjpeg's slower size optimisations).
pub fn encode_rgb(pixels: &[u8], width: u32, height: u32, quality: u8) -> Result<Vec<u8>, String> {
    let row = width as usize * 3;
    if width == 0 || height == 0 || pixels.len() != row * height as usize {
        return Err(format!("{} bytes are not {width}×{height} RGB", pixels.len()));
    }
    let mut err = error_manager();
    // SAFETY: as in decode_rgb.
    let mut cinfo: Box<ffi::jpeg_compress_struct> = Box::new(unsafe { mem::zeroed() });
    cinfo.common.err = &mut *err;
    // libjpeg grows this buffer with malloc; it is ours to free, even after an error.
    let mut out: *mut u8 = ptr::null_mut();
    let mut out_len: c_ulong = 0;
    let result = catch_unwind(AssertUnwindSafe(|| unsafe {
        ffi::jpeg_create_compress(&mut *cinfo);
        ffi::jpeg_mem_dest(&mut cinfo, &mut out, &mut out_len);
        cinfo.image_width = width;
        cinfo.image_height = height;
        cinfo.input_components = 3;
        cinfo.in_color_space = ffi::J_COLOR_SPACE::JCS_RGB;
        ffi::jpeg_c_set_int_param(
            &mut cinfo,
            ffi::J_INT_PARAM::JINT_COMPRESS_PROFILE,
            ffi::JINT_COMPRESS_PROFILE_VALUE::JCP_FASTEST as c_int,
        );
        ffi::jpeg_set_defaults(&mut cinfo);
        ffi::jpeg_set_quality(&mut cinfo, c_int::from(quality.clamp(1, 100)), 1);
        ffi::jpeg_start_compress(&mut cinfo, 1);
        while cinfo.next_scanline < height {
            let y = cinfo.next_scanline as usize;
            let mut rows = [ptr::null::<u8>(); 16];
            let n = (height as usize - y).min(rows.len());
            for (i, r) in rows.iter_mut().take(n).enumerate() {
                *r = pixels.as_ptr().add((y + i) * row);
            }
            ffi::jpeg_write_scanlines(&mut cinfo, rows.as_ptr(), n as u32);
        }
        ffi::jpeg_finish_compress(&mut cinfo);
    }));
    // SAFETY: as in decode_rgb; `out` is libjpeg's malloc'd buffer or null.
    unsafe { ffi::jpeg_destroy_compress(&mut cinfo) };
    drop(err);
    let encoded = (!out.is_null()).then(|| unsafe { std::slice::from_raw_parts(out, out_len as usize) }.to_vec());
    unsafe { libc::free(out.cast()) };
    result.map_err(complaint)?;
    encoded.ok_or_else(|| "the encoder wrote nothing".to_string())
}

/// Test support for every crate that takes camera files: the ways one arrives broken,
/// made from a good JPEG (noise over the middle third of its image data; cut at 60 %
/// with an end marker appended, which passes a check of the last two bytes; cut at 60 %).
/// Each must be refused whole, never decoded grey.
#[doc(hidden)]
pub fn damaged_copies(good: &[u8]) -> [(&'static str, Vec<u8>); 3] {
    let scan = good.windows(2).position(|w| w == [0xFF, 0xDA]).map_or(0, |at| at + 20).min(good.len());
    let mut noisy = good.to_vec();
    let (a, b) = (scan + (good.len() - scan) / 3, scan + 2 * (good.len() - scan) / 3);
    let mut x: u32 = 99;
    for byte in &mut noisy[a..b] {
        x = x.wrapping_mul(1103515245).wrapping_add(12345);
        *byte = (x >> 16) as u8;
    }
    let cut = good[..good.len() * 6 / 10].to_vec();
    let mut marked = cut.clone();
    marked.extend([0xFF, 0xD9]);
    [("noise over the middle third", noisy), ("cut short, end marker appended", marked), ("cut short", cut)]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A picture with detail everywhere, so every block has AC coefficients.
    fn textured(w: u32, h: u32) -> Vec<u8> {
        let mut px = Vec::with_capacity((w * h * 3) as usize);
        for y in 0..h {
            for x in 0..w {
                let v = (x.wrapping_mul(2654435761) ^ y.wrapping_mul(40503)).rotate_left(x % 13) as u8;
                px.extend([v, v.wrapping_add(x as u8), (y as u8).wrapping_mul(3)]);
            }
        }
        px
    }

    #[test]
    fn every_scale_decodes_to_the_size_libjpeg_documents() {
        let jpeg = encode_rgb(&textured(203, 97), 203, 97, 85).unwrap();
        for d in DENOMINATORS {
            let out = decode_rgb(&jpeg, d).unwrap();
            assert_eq!((out.width, out.height), scaled_size(203, 97, d));
            assert_eq!((out.source_width, out.source_height), (203, 97));
            assert_eq!(out.pixels.len(), (out.width * out.height * 3) as usize);
        }
        assert_eq!(scaled_size(4000, 3000, 2), (2000, 1500));
        assert_eq!(scaled_size(4032, 3024, 8), (504, 378));
        assert!(decode_rgb(&jpeg, 3).is_err());
    }

    #[test]
    fn a_scaled_decode_is_the_picture_made_smaller() {
        // Left half red, right half blue: at 1/4 the halves stay where they were.
        let (w, h) = (256u32, 64u32);
        let mut px = vec![];
        for _ in 0..h {
            for x in 0..w {
                px.extend(if x < w / 2 { [220, 20, 20] } else { [20, 20, 220] });
            }
        }
        let jpeg = encode_rgb(&px, w, h, 90).unwrap();
        let out = decode_rgb(&jpeg, 4).unwrap();
        let at = |x: u32, y: u32| &out.pixels[((y * out.width + x) * 3) as usize..][..3];
        assert!(at(5, 8)[0] > 180 && at(5, 8)[2] < 60, "{:?}", at(5, 8));
        assert!(at(58, 8)[2] > 180 && at(58, 8)[0] < 60, "{:?}", at(58, 8));
    }

    #[test]
    fn damaged_data_is_refused_at_every_scale() {
        let good = encode_rgb(&textured(320, 240), 320, 240, 90).unwrap();
        for d in DENOMINATORS {
            assert!(decode_rgb(&good, d).is_ok());
            for (what, bytes) in damaged_copies(&good) {
                let err = decode_rgb(&bytes, d).err().unwrap_or_else(|| panic!("1/{d}, {what}: accepted"));
                assert!(
                    err.contains("Corrupt") || err.contains("Premature") || err.contains("premature"),
                    "1/{d}, {what}: {err}"
                );
            }
        }
    }

    #[test]
    fn not_a_jpeg_is_an_error_not_a_crash() {
        for bytes in [&b""[..], b"\xFF\xD8\xFF\xE0", b"not a jpeg at all"] {
            assert!(decode_rgb(bytes, 1).is_err());
        }
        assert!(encode_rgb(&[0; 5], 2, 1, 80).is_err());
    }
}
