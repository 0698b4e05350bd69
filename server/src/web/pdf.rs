//! Printable PDFs with Chinese text: finding a CJK font on the system, and a small
//! page builder that embeds only the glyphs used (subset) so a sheet stays small.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

mod wrap;

/// Where Debian and most Linux distributions put fonts with Chinese glyphs, best
/// first. `#N` picks a face of a collection (index 2 of Noto CJK is Simplified Chinese).
pub const CJK_FONT_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc#2",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
];

/// Largest font file read (Noto CJK collections are about 20 MB).
const FONT_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// A font file's bytes and which face of it to use.
pub struct CjkFont {
    pub path: PathBuf,
    pub index: u32,
    pub data: Vec<u8>,
}

fn split_index(spec: &str) -> (&str, u32) {
    match spec.rsplit_once('#') {
        Some((path, n)) if n.parse::<u32>().is_ok() => (path, n.parse().unwrap_or(0)),
        _ => (spec, 0),
    }
}

/// Loads the font `PATROL_CJK_FONT` names, or else the first candidate that exists.
/// The error says what to install or set.
pub fn load_cjk_font(setting: &str) -> Result<CjkFont, String> {
    let specs: Vec<&str> = if setting.trim().is_empty() { CJK_FONT_CANDIDATES.to_vec() } else { vec![setting.trim()] };
    for spec in &specs {
        let (path, index) = split_index(spec);
        let path = Path::new(path);
        let Ok(meta) = std::fs::metadata(path) else {
            continue;
        };
        if meta.len() > FONT_MAX_BYTES {
            return Err(format!("{} is larger than 64 MB", path.display()));
        }
        let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let face = ttf_parser::Face::parse(&data, index)
            .map_err(|e| format!("{} (face {index}) is not a usable font: {e}", path.display()))?;
        if face.glyph_index('巡').is_none() {
            return Err(format!("{} has no Chinese glyphs", path.display()));
        }
        return Ok(CjkFont { path: path.to_path_buf(), index, data });
    }
    Err(format!(
        "no font with Chinese glyphs found (tried {}); install fonts-wqy-microhei or fonts-noto-cjk, or set PATROL_CJK_FONT",
        specs.join(", ")
    ))
}

/// What one piece of text is drawn as: a glyph of the font, or, for a character
/// the font lacks (an emoji, a rare symbol), the visible marker of the document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drawn {
    Glyph(u16),
    Missing,
}

/// One drawn unit of text: a character with the invisible ones that ride on it
/// (variation selectors, joiners, skin tones of an emoji sequence).
#[derive(Clone, Copy, Debug)]
pub struct Piece<'t> {
    pub text: &'t str,
    pub drawn: Drawn,
    /// Advance width in font units.
    pub advance: u32,
}

/// Characters that take no room and draw nothing: they join the piece before them.
fn invisible(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{034F}' | '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
        || matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{20E3}')
        || matches!(c, '\u{1F3FB}'..='\u{1F3FF}' | '\u{E0020}'..='\u{E007F}' | '\u{E0100}'..='\u{E01EF}')
}

/// A document being drawn: pages of content, with the glyphs they use collected
/// for the subset. Coordinates are PDF points from the bottom-left corner.
pub struct Doc<'f> {
    font: &'f CjkFont,
    face: ttf_parser::Face<'f>,
    remapper: subsetter::GlyphRemapper,
    /// New glyph id → the text it stands for, for copy-paste and search.
    to_unicode: BTreeMap<u16, char>,
    pages: Vec<Content>,
    /// The page drawing goes to.
    current: usize,
    /// JPEG images drawn so far: bytes, pixel width and height. Each page may use any.
    images: Vec<(Vec<u8>, u32, u32)>,
    width: f32,
    height: f32,
    /// What a character the font lacks is drawn as, and its glyphs.
    marker: (&'static str, Vec<u16>),
    /// Each character's glyph and advance, looked up once.
    glyphs: RefCell<HashMap<char, (Drawn, u32)>>,
}

const FONT_NAME: Name<'static> = Name(b"F1");

/// Stand-ins for a missing character, best first: the replacement character and the
/// geta mark, which CJK fonts draw as a filled shape, and brackets any font has. Never
/// an empty square, which a reader takes for a box to tick.
const MARKERS: &[&str] = &["\u{FFFD}", "〓", "[?]"];

/// The marker this font can draw: every character has a glyph with an outline.
fn choose_marker(face: &ttf_parser::Face<'_>) -> (&'static str, Vec<u16>) {
    for m in MARKERS {
        let gids: Option<Vec<u16>> = m
            .chars()
            .map(|c| face.glyph_index(c).filter(|g| g.0 != 0 && face.glyph_bounding_box(*g).is_some()).map(|g| g.0))
            .collect();
        if let Some(gids) = gids {
            return (m, gids);
        }
    }
    // A font without even brackets cannot show text at all; draw its .notdef.
    ("?", vec![0])
}

impl<'f> Doc<'f> {
    /// An empty A4 portrait document.
    pub fn a4(font: &'f CjkFont) -> Result<Doc<'f>, String> {
        let face =
            ttf_parser::Face::parse(&font.data, font.index).map_err(|e| format!("{}: {e}", font.path.display()))?;
        let marker = choose_marker(&face);
        Ok(Doc {
            font,
            face,
            remapper: subsetter::GlyphRemapper::new(),
            to_unicode: BTreeMap::new(),
            pages: Vec::new(),
            current: 0,
            images: Vec::new(),
            width: 595.0,
            height: 842.0,
            marker,
            glyphs: RefCell::new(HashMap::new()),
        })
    }

    pub fn size(&self) -> (f32, f32) {
        (self.width, self.height)
    }

    /// Starts a new page; drawing goes to it.
    pub fn new_page(&mut self) {
        self.pages.push(Content::new());
        self.current = self.pages.len() - 1;
    }

    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// Sends drawing back to page `index` (from 0), to add what is known only when
    /// every page is drawn, such as "page n of N".
    pub fn select_page(&mut self, index: usize) {
        if index < self.pages.len() {
            self.current = index;
        }
    }

    fn page(&mut self) -> &mut Content {
        if self.pages.is_empty() {
            self.new_page();
        }
        &mut self.pages[self.current]
    }

    /// The marker drawn for characters the font lacks.
    pub fn marker(&self) -> &'static str {
        self.marker.0
    }

    /// The glyph for `c` and its advance in font units; a character whose glyph is
    /// missing, or draws nothing though it is no space, is `Missing`.
    fn glyph(&self, c: char) -> (Drawn, u32) {
        if let Some(found) = self.glyphs.borrow().get(&c) {
            return *found;
        }
        let found = match self.face.glyph_index(c) {
            Some(g) if g.0 != 0 && (c.is_whitespace() || self.face.glyph_bounding_box(g).is_some()) => {
                (Drawn::Glyph(g.0), u32::from(self.face.glyph_hor_advance(g).unwrap_or(0)))
            }
            _ => {
                let advance = self
                    .marker
                    .1
                    .iter()
                    .map(|g| u32::from(self.face.glyph_hor_advance(ttf_parser::GlyphId(*g)).unwrap_or(0)))
                    .sum();
                (Drawn::Missing, advance)
            }
        };
        self.glyphs.borrow_mut().insert(c, found);
        found
    }

    /// `text` cut into what is drawn: one piece per visible character, with the
    /// invisible ones attached to the piece before (a joiner also takes the character
    /// after it into a missing piece, so an emoji sequence shows one marker). Control
    /// characters are left out; a tab is drawn as a space.
    pub fn pieces<'t>(&self, text: &'t str) -> Vec<Piece<'t>> {
        let mut out: Vec<Piece<'t>> = Vec::with_capacity(text.len());
        // Where the last piece starts and ends, while nothing was left out after it.
        let mut last: Option<(usize, usize)> = None;
        let mut joined = false;
        for (at, c) in text.char_indices() {
            let end = at + c.len_utf8();
            if let (Some((start, last_end)), Some(piece)) = (last, out.last_mut())
                && last_end == at
                && (invisible(c) || (joined && piece.drawn == Drawn::Missing))
            {
                piece.text = &text[start..end];
                last = Some((start, end));
                joined = c == '\u{200D}';
                continue;
            }
            joined = false;
            if invisible(c) || (c.is_control() && c != '\t') {
                last = None;
                continue;
            }
            let (drawn, advance) = self.glyph(if c == '\t' { ' ' } else { c });
            out.push(Piece { text: &text[at..end], drawn, advance });
            last = Some((at, end));
        }
        out
    }

    fn points(&self, units: u32, size: f32) -> f32 {
        units as f32 / f32::from(self.face.units_per_em()) * size
    }

    /// The width of `text` at `size` points, as `text` draws it.
    pub fn text_width(&self, text: &str, size: f32) -> f32 {
        self.points(self.pieces(text).iter().map(|p| p.advance).sum(), size)
    }

    /// `text` shortened with "…" to fit `max_width`.
    pub fn fit(&self, text: &str, size: f32, max_width: f32) -> String {
        if self.text_width(text, size) <= max_width {
            return text.to_string();
        }
        let mut out: String = text.to_string();
        while !out.is_empty() && self.text_width(&format!("{out}…"), size) > max_width {
            out.pop();
        }
        format!("{out}…")
    }

    fn encode(&mut self, gid: u16, c: Option<char>, into: &mut Vec<u8>) {
        let new = self.remapper.remap(gid);
        if let Some(c) = c.filter(|_| gid != 0) {
            self.to_unicode.entry(new).or_insert(c);
        }
        into.extend(new.to_be_bytes());
    }

    /// Draws one line of text with its left end at (x, y) on the baseline. A
    /// character the font lacks is drawn as the marker, inside a span whose
    /// ActualText is the character, so the text layer still says what was written.
    pub fn text(&mut self, x: f32, y: f32, size: f32, gray: f32, text: &str) {
        self.text_in(x, y, size, [gray; 3], text);
    }

    /// [`Doc::text`] in a colour (RGB, 0–1 each).
    pub fn text_in(&mut self, x: f32, y: f32, size: f32, rgb: [f32; 3], text: &str) {
        // (glyph bytes, the original text when they are the marker)
        let mut runs: Vec<(Vec<u8>, Option<&str>)> = Vec::new();
        let mut shown = Vec::with_capacity(text.len() * 2);
        let marker = self.marker.clone();
        for piece in self.pieces(text) {
            match piece.drawn {
                Drawn::Glyph(gid) => {
                    let c = piece.text.chars().next().map(|c| if c == '\t' { ' ' } else { c });
                    self.encode(gid, c, &mut shown);
                }
                Drawn::Missing => {
                    if !shown.is_empty() {
                        runs.push((std::mem::take(&mut shown), None));
                    }
                    let mut bytes = Vec::new();
                    for (gid, c) in marker.1.iter().zip(marker.0.chars()) {
                        self.encode(*gid, Some(c), &mut bytes);
                    }
                    runs.push((bytes, Some(piece.text)));
                }
            }
        }
        if !shown.is_empty() {
            runs.push((shown, None));
        }
        let page = self.page();
        page.set_fill_rgb(rgb[0], rgb[1], rgb[2]);
        page.begin_text();
        page.set_font(FONT_NAME, size);
        page.next_line(x, y);
        for (bytes, actual) in &runs {
            match actual {
                Some(original) => {
                    page.begin_marked_content_with_properties(Name(b"Span"))
                        .properties()
                        .actual_text(TextStr(original));
                    page.show(Str(bytes));
                    page.end_marked_content();
                }
                None => {
                    page.show(Str(bytes));
                }
            }
        }
        page.end_text();
    }

    /// Draws text centred on `cx`.
    pub fn text_centred(&mut self, cx: f32, y: f32, size: f32, gray: f32, text: &str) {
        let w = self.text_width(text, size);
        self.text(cx - w / 2.0, y, size, gray, text);
    }

    pub fn fill_rect(&mut self, x: f32, y: f32, w: f32, h: f32, gray: f32) {
        let page = self.page();
        page.set_fill_gray(gray);
        page.rect(x, y, w, h);
        page.fill_nonzero();
    }

    /// A thin outline, dashed when `dashed` (cut lines).
    pub fn stroke_rect(&mut self, x: f32, y: f32, w: f32, h: f32, gray: f32, dashed: bool) {
        let page = self.page();
        page.save_state();
        page.set_stroke_gray(gray);
        page.set_line_width(0.6);
        if dashed {
            page.set_dash_pattern([3.0, 3.0], 0.0);
        }
        page.rect(x, y, w, h);
        page.stroke();
        page.restore_state();
    }

    /// A polyline in a colour (RGB), `width` points wide with round ends: a mark
    /// drawn over a photo.
    pub fn stroke_path_in(&mut self, points: &[(f32, f32)], rgb: [f32; 3], width: f32) {
        let Some((first, rest)) = points.split_first() else { return };
        let page = self.page();
        page.save_state();
        page.set_stroke_rgb(rgb[0], rgb[1], rgb[2]);
        page.set_line_width(width);
        page.set_line_cap(pdf_writer::types::LineCapStyle::RoundCap);
        page.set_line_join(pdf_writer::types::LineJoinStyle::RoundJoin);
        page.move_to(first.0, first.1);
        for p in rest {
            page.line_to(p.0, p.1);
        }
        page.stroke();
        page.restore_state();
    }

    /// A circle's outline in a colour (four Bézier quarters).
    pub fn stroke_circle_in(&mut self, cx: f32, cy: f32, r: f32, rgb: [f32; 3], width: f32) {
        const K: f32 = 0.552_284_8; // the control-point distance of a quarter circle, per radius
        let k = K * r;
        let page = self.page();
        page.save_state();
        page.set_stroke_rgb(rgb[0], rgb[1], rgb[2]);
        page.set_line_width(width);
        page.move_to(cx + r, cy);
        page.cubic_to(cx + r, cy + k, cx + k, cy + r, cx, cy + r);
        page.cubic_to(cx - k, cy + r, cx - r, cy + k, cx - r, cy);
        page.cubic_to(cx - r, cy - k, cx - k, cy - r, cx, cy - r);
        page.cubic_to(cx + k, cy - r, cx + r, cy - k, cx + r, cy);
        page.close_path();
        page.stroke();
        page.restore_state();
    }

    /// Clips what follows, until [`Doc::unclip`], to a rectangle (a photo's box).
    pub fn clip_rect(&mut self, x: f32, y: f32, w: f32, h: f32) {
        let page = self.page();
        page.save_state();
        page.rect(x, y, w, h);
        page.clip_nonzero();
        page.end_path();
    }

    pub fn unclip(&mut self) {
        self.page().restore_state();
    }

    /// A straight line.
    pub fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, gray: f32, width: f32) {
        let page = self.page();
        page.save_state();
        page.set_stroke_gray(gray);
        page.set_line_width(width);
        page.move_to(x1, y1);
        page.line_to(x2, y2);
        page.stroke();
        page.restore_state();
    }

    /// Splits `text` into lines no wider than `max_width` at `size`, measured with
    /// the font's advances. Explicit newlines are kept; see `wrap::break_lines`
    /// for where a line may end.
    pub fn wrap(&self, text: &str, size: f32, max_width: f32) -> Vec<String> {
        let units = (max_width / size * f32::from(self.face.units_per_em())).max(0.0) as u32;
        let mut lines = Vec::new();
        for para in text.split('\n') {
            let para = para.strip_suffix('\r').unwrap_or(para);
            let pieces = self.pieces(para);
            for range in wrap::break_lines(&pieces, units) {
                let line: String = pieces[range].iter().map(|p| p.text).collect();
                lines.push(line);
            }
        }
        lines
    }

    /// Draws a baseline JPEG (RGB, 8 bits a channel, as `image` encodes them) into
    /// the box at (x, y) of size w × h, embedded as is (DCTDecode).
    #[allow(clippy::too_many_arguments)]
    pub fn jpeg(&mut self, data: Vec<u8>, px_w: u32, px_h: u32, x: f32, y: f32, w: f32, h: f32) {
        let index = self.images.len();
        self.images.push((data, px_w, px_h));
        let name = format!("Im{index}");
        let page = self.page();
        page.save_state();
        page.transform([w, 0.0, 0.0, h, x, y]);
        page.x_object(Name(name.as_bytes()));
        page.restore_state();
    }

    /// Writes the PDF, embedding the subset of the font the pages use.
    pub fn finish(self) -> Result<Vec<u8>, String> {
        let mut pdf = Pdf::new();
        let mut next = 1;
        let mut alloc = || {
            let r = Ref::new(next);
            next += 1;
            r
        };
        let catalog = alloc();
        let tree = alloc();
        let type0 = alloc();
        let cid = alloc();
        let descriptor = alloc();
        let font_file = alloc();
        let cmap = alloc();
        let page_ids: Vec<(Ref, Ref)> = self.pages.iter().map(|_| (alloc(), alloc())).collect();
        let image_ids: Vec<Ref> = self.images.iter().map(|_| alloc()).collect();
        let image_names: Vec<String> = (0..self.images.len()).map(|i| format!("Im{i}")).collect();

        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree).kids(page_ids.iter().map(|(p, _)| *p)).count(page_ids.len() as i32);
        for ((page_id, content_id), content) in page_ids.iter().zip(self.pages) {
            let mut page = pdf.page(*page_id);
            page.parent(tree).media_box(Rect::new(0.0, 0.0, self.width, self.height)).contents(*content_id);
            let mut resources = page.resources();
            resources.fonts().pair(FONT_NAME, type0);
            if !image_ids.is_empty() {
                let mut x_objects = resources.x_objects();
                for (name, id) in image_names.iter().zip(&image_ids) {
                    x_objects.pair(Name(name.as_bytes()), *id);
                }
            }
            resources.finish();
            page.finish();
            let data = content.finish();
            let packed = miniz_oxide::deflate::compress_to_vec_zlib(&data, 6);
            pdf.stream(*content_id, &packed).filter(Filter::FlateDecode);
        }

        for ((data, w, h), id) in self.images.iter().zip(&image_ids) {
            let mut image = pdf.image_xobject(*id, data);
            image.filter(Filter::DctDecode);
            image.width(*w as i32).height(*h as i32);
            image.color_space().device_rgb();
            image.bits_per_component(8);
            image.finish();
        }

        let face = &self.face;
        let upem = f32::from(face.units_per_em());
        let scale = |v: f32| v / upem * 1000.0;
        let is_cff = face.tables().cff.is_some();
        let base_name = format!("PATROL+{}", postscript_name(face));
        let base = Name(base_name.as_bytes());
        let system = SystemInfo { registry: Str(b"Adobe"), ordering: Str(b"Identity"), supplement: 0 };

        pdf.type0_font(type0)
            .base_font(base)
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(cid)
            .to_unicode(cmap);

        let mut widths = Vec::new();
        for old in self.remapper.remapped_gids() {
            let adv = face.glyph_hor_advance(ttf_parser::GlyphId(old)).unwrap_or(0);
            widths.push(scale(f32::from(adv)));
        }
        let mut cid_font = pdf.cid_font(cid);
        cid_font
            .subtype(if is_cff { CidFontType::Type0 } else { CidFontType::Type2 })
            .base_font(base)
            .system_info(system)
            .font_descriptor(descriptor)
            .default_width(0.0);
        if !is_cff {
            cid_font.cid_to_gid_map_predefined(Name(b"Identity"));
        }
        cid_font.widths().consecutive(0, widths);
        cid_font.finish();

        let bbox = face.global_bounding_box();
        let mut d = pdf.font_descriptor(descriptor);
        d.name(base)
            .flags(FontFlags::SYMBOLIC)
            .bbox(Rect::new(
                scale(f32::from(bbox.x_min)),
                scale(f32::from(bbox.y_min)),
                scale(f32::from(bbox.x_max)),
                scale(f32::from(bbox.y_max)),
            ))
            .italic_angle(face.italic_angle())
            .ascent(scale(f32::from(face.ascender())))
            .descent(scale(f32::from(face.descender())))
            .cap_height(scale(f32::from(face.capital_height().unwrap_or(face.ascender()))))
            .stem_v(80.0);
        if is_cff {
            d.font_file3(font_file);
        } else {
            d.font_file2(font_file);
        }
        d.finish();

        let subset = subsetter::subset(&self.font.data, self.font.index, &self.remapper)
            .map_err(|e| format!("cannot subset {}: {e}", self.font.path.display()))?;
        let packed = miniz_oxide::deflate::compress_to_vec_zlib(&subset, 6);
        let mut stream = pdf.stream(font_file, &packed);
        stream.filter(Filter::FlateDecode);
        if is_cff {
            stream.pair(Name(b"Subtype"), Name(b"OpenType"));
        }
        stream.finish();

        let mut unicode = pdf_writer::types::UnicodeCmap::new(Name(b"Custom"), system);
        for (gid, c) in &self.to_unicode {
            unicode.pair(*gid, *c);
        }
        let unicode = unicode.finish();
        pdf.cmap(cmap, unicode.as_slice());

        Ok(pdf.finish())
    }
}

/// The font's PostScript name, reduced to what a PDF name may hold.
fn postscript_name(face: &ttf_parser::Face<'_>) -> String {
    let name = face
        .names()
        .into_iter()
        .find(|n| n.name_id == ttf_parser::name_id::POST_SCRIPT_NAME)
        .and_then(|n| n.to_string())
        .unwrap_or_else(|| "CJK".into());
    let clean: String = name.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    if clean.is_empty() { "CJK".into() } else { clean }
}

/// What the tests of printouts share: the font, a site to print for, and poppler.
#[cfg(test)]
pub(crate) mod testing {
    use patrol_protocol::{Id, Site};

    use super::{CjkFont, load_cjk_font};

    pub fn site() -> Site {
        Site {
            id: Id::now_v7(),
            org_id: Id::now_v7(),
            code: "JY".into(),
            name_zh: "锦园小区".into(),
            name_en: "Jade Garden".into(),
            utc_offset_minutes: 480,
        }
    }

    /// The system's CJK font; `None` outside CI when the machine has none
    /// (scripts/test installs fonts-wqy-microhei).
    pub fn font() -> Option<CjkFont> {
        match load_cjk_font("") {
            Ok(font) => Some(font),
            Err(e) if std::env::var("CI").is_err() => {
                eprintln!("{e}; skipping");
                None
            }
            Err(e) => panic!("{e}"),
        }
    }

    /// Runs a poppler-utils tool on `pdf` with `args`; its output, or `None` outside
    /// CI when poppler-utils is missing (scripts/test installs it).
    fn poppler(tool: &str, args: &[&str], after: &[&str], pdf: &[u8]) -> Option<Vec<u8>> {
        let path = std::env::temp_dir().join(format!("patrol-pdf-{}.pdf", uuid::Uuid::now_v7().simple()));
        std::fs::write(&path, pdf).expect("write a temporary PDF");
        let out = std::process::Command::new(tool).args(args).arg(&path).args(after).output();
        let _ = std::fs::remove_file(&path);
        match out {
            Ok(out) => {
                assert!(out.status.success(), "{tool}: {}", String::from_utf8_lossy(&out.stderr));
                Some(out.stdout)
            }
            Err(e) if std::env::var("CI").is_err() => {
                eprintln!("{tool}: {e}; skipping (apt-get install poppler-utils)");
                None
            }
            Err(e) => panic!("{tool}: {e}"),
        }
    }

    /// The first page drawn in grey levels at `dpi` (a binary PGM).
    pub fn render(pdf: &[u8], dpi: u32) -> Option<Vec<u8>> {
        poppler("pdftoppm", &["-gray", "-r", &dpi.to_string(), "-f", "1", "-l", "1", "-singlefile"], &[], pdf)
    }

    /// The text of a PDF as `pdftotext` reads it, pages separated by form feeds;
    /// `None` outside CI when poppler-utils is missing (scripts/test installs it).
    pub fn pdftotext(pdf: &[u8], layout: bool) -> Option<String> {
        let args: &[&str] = if layout { &["-layout", "-enc", "UTF-8"] } else { &["-enc", "UTF-8"] };
        let out = poppler("pdftotext", args, &["-"], pdf)?;
        Some(String::from_utf8(out).expect("pdftotext writes UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_collection_face_is_chosen_with_a_hash() {
        assert_eq!(split_index("/f/a.ttc#2"), ("/f/a.ttc", 2));
        assert_eq!(split_index("/f/a.ttf"), ("/f/a.ttf", 0));
        assert_eq!(split_index("/f/a#b.ttf"), ("/f/a#b.ttf", 0));
    }

    #[test]
    fn a_missing_font_says_what_to_do() {
        let e = load_cjk_font("/nonexistent/font.ttf").err().unwrap();
        assert!(e.contains("PATROL_CJK_FONT"), "{e}");
    }

    #[test]
    fn a_character_the_font_lacks_is_drawn_as_a_visible_marker() {
        let Some(font) = testing::font() else { return };
        let doc = Doc::a4(&font).unwrap();
        // Never an empty square, which reads as a box to tick.
        assert!(!["□", "\u{25A1}", "?"].contains(&doc.marker()), "{}", doc.marker());
        for gid in &doc.marker.1 {
            assert_ne!(*gid, 0, "not the font's .notdef");
            assert!(doc.face.glyph_bounding_box(ttf_parser::GlyphId(*gid)).is_some(), "the marker draws ink");
        }
        let pieces = doc.pieces("好👍🏽了👨\u{200D}🔧。");
        let texts: Vec<&str> = pieces.iter().map(|p| p.text).collect();
        assert_eq!(texts, ["好", "👍🏽", "了", "👨\u{200D}🔧", "。"], "an emoji sequence is one marker");
        assert_eq!(pieces[1].drawn, Drawn::Missing);
        assert!(matches!(pieces[0].drawn, Drawn::Glyph(g) if g != 0));
        assert_eq!(doc.text_width("👍", 10.0), doc.text_width(doc.marker(), 10.0), "measured as drawn");
    }

    #[test]
    fn the_page_shows_the_marker_and_the_text_layer_keeps_the_emoji() {
        let Some(font) = testing::font() else { return };
        let draw = |text: &str, size: f32| {
            let mut doc = Doc::a4(&font).unwrap();
            doc.text(40.0, 600.0, size, 0.0, text);
            doc.finish().unwrap()
        };
        let Some(kept) = testing::pdftotext(&draw("门锁已换👍🏽好的 ok", 12.0), false) else { return };
        assert_eq!(kept.trim_end_matches(['\n', '\u{c}']), "门锁已换👍🏽好的 ok");
        // On paper the emoji is the marker, drawn with ink: the page looks exactly
        // like one with the marker written out, and not like an empty page.
        let marker = Doc::a4(&font).unwrap().marker();
        let emoji = testing::render(&draw("👍🏽", 200.0), 30).unwrap();
        assert_eq!(emoji, testing::render(&draw(marker, 200.0), 30).unwrap(), "drawn as {marker}");
        assert_ne!(emoji, testing::render(&draw(" ", 200.0), 30).unwrap(), "the marker leaves ink");
    }

    #[test]
    fn wrapped_lines_fit_the_width_the_font_measures_and_keep_every_character() {
        let Some(font) = testing::font() else { return };
        let doc = Doc::a4(&font).unwrap();
        let text = "检查发现B2层消防通道应急照明灯具损坏，已更换为LED灯管（共3支）。Replaced the emergency \
                    lights in the B2 fire lane; see MAINT-2026-11-000123/B2-fire-lane-emergency-lighting-replacement \
                    for details.\n\n「后续每周巡查一次」；費用¥1,280.00元……👍";
        for width in [60.0, 120.0, 200.0, 480.0] {
            let lines = doc.wrap(text, 10.0, width);
            for l in &lines {
                let w = doc.text_width(l, 10.0);
                assert!(w <= width + 0.01 || doc.pieces(l).len() == 1, "{l:?} is {w} wide, more than {width}");
                assert!(!l.starts_with(['，', '。', '；', '）', '」', '…']), "{l:?} starts with closing punctuation");
                assert!(!l.ends_with(['（', '「']), "{l:?} ends with opening punctuation");
            }
            let kept: String = lines.concat().chars().filter(|c| !c.is_whitespace()).collect();
            assert_eq!(kept, text.chars().filter(|c| !c.is_whitespace()).collect::<String>(), "at {width}");
            assert_eq!(lines.iter().filter(|l| l.is_empty()).count(), 1, "the blank line is kept");
        }
    }
}
