//! Where a printed line may end, for Chinese and English mixed: between any two
//! ideographs, but never before closing punctuation nor after opening; English at
//! spaces, a word longer than the line split where it must.

use std::ops::Range;

use super::{Drawn, Piece};

/// Ideographs, kana, hangul, CJK punctuation and full-width forms: text that may
/// break between any two characters.
fn ideographic(c: char) -> bool {
    matches!(c,
        '\u{1100}'..='\u{11FF}'
        | '\u{2E80}'..='\u{303F}'
        | '\u{3040}'..='\u{33FF}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{A000}'..='\u{A4CF}'
        | '\u{AC00}'..='\u{D7AF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{FE30}'..='\u{FE4F}'
        | '\u{FF00}'..='\u{FFEF}'
        | '\u{20000}'..='\u{3FFFF}')
}

/// Closing punctuation, which stays with the character before it (避头: a line
/// never starts with one).
fn closing(c: char) -> bool {
    "，。、；：！？）」』】》〉〕〗〙〛”’…‥・·ー々ゝゞヽヾ～％‰℃，．：；！？）］｝｠,.;:!?)]}%\
     ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ"
        .contains(c)
}

/// Opening punctuation, which stays with the character after it (避尾: a line never
/// ends with one).
fn opening(c: char) -> bool {
    "（「『【《〈〔〖〘〚“‘（［｛｟([{￥＄$".contains(c)
}

/// Whether a line may end between `before` and `after`. A piece the font lacks (an
/// emoji) breaks like an ideograph.
fn may_break(before: &Piece<'_>, after: &Piece<'_>) -> bool {
    let (Some(a), Some(b)) = (before.text.chars().next(), after.text.chars().next()) else {
        return true;
    };
    if b.is_whitespace() {
        return false;
    }
    if a.is_whitespace() {
        return true;
    }
    if closing(b) || opening(a) {
        return false;
    }
    ideographic(a) || ideographic(b) || before.drawn == Drawn::Missing || after.drawn == Drawn::Missing
}

/// The pieces of one paragraph cut into lines no wider than `max` font units, as
/// ranges of `pieces`. Spaces where a line ends are left out; a paragraph with no
/// pieces is one empty line.
pub fn break_lines(pieces: &[Piece<'_>], max: u32) -> Vec<Range<usize>> {
    let mut lines = Vec::new();
    // The line being filled: where it starts and how wide it is so far, spaces at
    // its end included (they hang past the edge when the line ends there).
    let (mut start, mut width) = (0usize, 0u32);
    let mut i = 0;
    while i < pieces.len() {
        // The next unit: up to the next place a line may end, with its spaces.
        let mut end = i + 1;
        while end < pieces.len() && !may_break(&pieces[end - 1], &pieces[end]) {
            end += 1;
        }
        let inked = i + trimmed(&pieces[i..end]);
        let ink: u32 = pieces[i..inked].iter().map(|p| p.advance).sum();
        let spaces: u32 = pieces[inked..end].iter().map(|p| p.advance).sum();
        if i > start && width + ink > max {
            lines.push(start..start + trimmed(&pieces[start..i]));
            (start, width) = (i, 0);
        }
        if i == start && ink > max {
            // Longer than a whole line: cut where it no longer fits, at least one
            // piece a line; what is left starts the next line.
            let mut from = i;
            loop {
                let (mut j, mut w) = (from, 0u32);
                while j < inked && (j == from || w + pieces[j].advance <= max) {
                    w += pieces[j].advance;
                    j += 1;
                }
                if j == inked {
                    (start, width) = (from, w + spaces);
                    break;
                }
                lines.push(from..j);
                from = j;
            }
        } else {
            width += ink + spaces;
        }
        i = end;
    }
    lines.push(start..start + trimmed(&pieces[start..]));
    lines
}

/// How many of `line`'s pieces remain without the spaces at its end.
fn trimmed(line: &[Piece<'_>]) -> usize {
    line.len() - line.iter().rev().take_while(|p| p.text.chars().all(char::is_whitespace)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pieces of a monospaced font: ideographs two units wide, the rest one.
    fn pieces(text: &str) -> Vec<Piece<'_>> {
        text.char_indices()
            .map(|(at, c)| Piece {
                text: &text[at..at + c.len_utf8()],
                drawn: if c == '😀' { Drawn::Missing } else { Drawn::Glyph(1) },
                advance: if ideographic(c) || c == '😀' { 2 } else { 1 },
            })
            .collect()
    }

    fn lines(text: &str, max: u32) -> Vec<String> {
        let p = pieces(text);
        break_lines(&p, max).into_iter().map(|r| p[r].iter().map(|x| x.text).collect()).collect()
    }

    #[test]
    fn chinese_breaks_between_ideographs_but_not_before_a_closing_mark() {
        assert_eq!(lines("消防通道灯不亮", 6), ["消防通", "道灯不", "亮"]);
        // "，" may not start a line: the character before it goes down with it.
        assert_eq!(lines("灯不亮，已报修", 6), ["灯不", "亮，已", "报修"]);
        assert_eq!(lines("一二三。」四", 6), ["一二", "三。」", "四"]);
    }

    #[test]
    fn an_opening_mark_never_ends_a_line() {
        assert_eq!(lines("已更换（灯管）", 8), ["已更换", "（灯管）"]);
        assert_eq!(lines("见「整改", 4), ["见", "「整", "改"]);
    }

    #[test]
    fn english_breaks_at_spaces_and_splits_a_word_longer_than_the_line() {
        assert_eq!(lines("the pump room leaks", 10), ["the pump", "room leaks"]);
        assert_eq!(lines("abcdefghijklmnop xy", 6), ["abcdef", "ghijkl", "mnop", "xy"]);
        assert_eq!(lines("see https://example.org/a/b", 10), ["see", "https://ex", "ample.org/", "a/b"]);
    }

    #[test]
    fn mixed_text_breaks_where_scripts_meet_and_keeps_every_character() {
        let text = "更换LED灯管 replaced, 共3支😀。好";
        let got = lines(text, 10);
        assert!(got.iter().all(|l| pieces(l).iter().map(|p| p.advance).sum::<u32>() <= 10), "{got:?}");
        let kept: String = got.concat().split_whitespace().collect();
        assert_eq!(kept, text.split_whitespace().collect::<String>());
        assert!(!got.iter().any(|l| l.starts_with('。') || l.starts_with(',')), "{got:?}");
        // "LED" is one word: it is not split across lines.
        assert!(got.iter().any(|l| l.contains("LED")), "{got:?}");
    }

    #[test]
    fn empty_paragraphs_and_indents_are_kept() {
        assert_eq!(lines("", 5), [""]);
        assert_eq!(lines("  ab cd", 20), ["  ab cd"]);
        assert_eq!(lines("ab    ", 3), ["ab"]);
    }
}
