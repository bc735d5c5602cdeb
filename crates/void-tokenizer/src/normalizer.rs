//! sentencepiece's `Normalizer::Normalize` (src/normalizer.cc, sentencepiece 0.2.1), without the
//! byte alignment it also records.
//!
//! Input is consumed prefix by prefix. A user-defined symbol is copied unchanged; otherwise the
//! longest key of the precompiled charsmap that starts the input is replaced by its
//! NUL-terminated replacement; otherwise one UTF-8 character is copied (a malformed byte becomes
//! U+FFFD). Around that: leading whitespace is dropped, runs of spaces collapse to one, trailing
//! spaces go (`remove_extra_whitespaces`); `▁` is put in front (`add_dummy_prefix`, or at the end
//! with `treat_whitespace_as_suffix`); spaces become `▁` (`escape_whitespaces`). "Whitespace"
//! here is only what normalises to an ASCII space.

use crate::darts::DoubleArray;
use crate::proto::NormalizerSpec;
use crate::trie::ByteTrie;

/// U+2581 LOWER ONE EIGHTH BLOCK, sentencepiece's visible space.
pub(crate) const SPACE_SYMBOL: &[u8] = "\u{2581}".as_bytes();

/// What `NormalizePrefix` substitutes for a malformed UTF-8 byte.
const REPLACEMENT_CHAR: &[u8] = "\u{FFFD}".as_bytes();

/// A normaliser built from a model's `NormalizerSpec`.
#[derive(Clone, Debug)]
pub(crate) struct Normalizer {
    charsmap: Option<(DoubleArray, Vec<u8>)>,
    user_defined: ByteTrie,
    add_dummy_prefix: bool,
    remove_extra_whitespaces: bool,
    escape_whitespaces: bool,
    treat_whitespace_as_suffix: bool,
}

impl Normalizer {
    /// A normaliser for `spec`; `user_defined` holds the model's user-defined symbols (keys
    /// only). Fails like `DecodePrecompiledCharsMap` on a broken charsmap blob.
    pub fn new(
        spec: &NormalizerSpec,
        treat_whitespace_as_suffix: bool,
        user_defined: ByteTrie,
    ) -> Result<Self, String> {
        let blob = &spec.precompiled_charsmap;
        let charsmap = if blob.is_empty() {
            None
        } else {
            if blob.len() <= 4 {
                return Err("Blob for normalization rule is broken.".into());
            }
            let trie_size = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
            if trie_size >= blob.len() || 4 + trie_size > blob.len() {
                return Err(format!(
                    "Trie data size exceeds the input blob size ({trie_size} of {} bytes).",
                    blob.len()
                ));
            }
            let trie = DoubleArray::from_bytes(&blob[4..4 + trie_size]);
            Some((trie, blob[4 + trie_size..].to_vec()))
        };
        Ok(Self {
            charsmap,
            user_defined,
            add_dummy_prefix: spec.add_dummy_prefix,
            remove_extra_whitespaces: spec.remove_extra_whitespaces,
            escape_whitespaces: spec.escape_whitespaces,
            treat_whitespace_as_suffix,
        })
    }

    /// The same normaliser with `add_dummy_prefix` set to `value` (what transformers does to
    /// the model when `legacy=False`).
    pub fn with_dummy_prefix(&self, value: bool) -> Self {
        Self {
            add_dummy_prefix: value,
            ..self.clone()
        }
    }

    /// The normalised form of `input` (bytes; UTF-8 whenever the charsmap's replacements are).
    pub fn normalize(&self, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(input.len() * 3);
        let mut input = input;
        if input.is_empty() {
            return out;
        }

        // Leading whitespace.
        if self.remove_extra_whitespaces {
            while !input.is_empty() {
                let (normalized, consumed) = self.normalize_prefix(input);
                if normalized != b" " {
                    break;
                }
                input = &input[consumed..];
            }
        }
        if input.is_empty() {
            return out;
        }

        let space: &[u8] = if self.escape_whitespaces {
            SPACE_SYMBOL
        } else {
            b" "
        };
        if !self.treat_whitespace_as_suffix && self.add_dummy_prefix {
            out.extend_from_slice(space);
        }

        let mut is_prev_space = self.remove_extra_whitespaces;
        while !input.is_empty() {
            let (mut piece, consumed) = self.normalize_prefix(input);
            // Spaces right after a space are dropped.
            while is_prev_space && piece.first() == Some(&b' ') {
                piece = &piece[1..];
            }
            if !piece.is_empty() {
                for &byte in piece {
                    if self.escape_whitespaces && byte == b' ' {
                        out.extend_from_slice(SPACE_SYMBOL);
                    } else {
                        out.push(byte);
                    }
                }
                is_prev_space = piece.last() == Some(&b' ');
            }
            input = &input[consumed..];
            if !self.remove_extra_whitespaces {
                is_prev_space = false;
            }
        }

        // Trailing whitespace.
        if self.remove_extra_whitespaces {
            while out.ends_with(space) {
                out.truncate(out.len() - space.len());
            }
        }

        if self.treat_whitespace_as_suffix && self.add_dummy_prefix {
            out.extend_from_slice(space);
        }
        out
    }

    /// The normalised form of the start of `input`, and how many bytes of `input` it stands for
    /// (`Normalizer::NormalizePrefix`).
    fn normalize_prefix<'a>(&'a self, input: &'a [u8]) -> (&'a [u8], usize) {
        if input.is_empty() {
            return (b"", 0);
        }
        if let Some(length) = self.user_defined.longest_prefix(input) {
            return (&input[..length], length);
        }
        if let Some((trie, replacements)) = &self.charsmap
            && let Some(found) = trie.longest_prefix(input)
        {
            // Replacements are NUL-terminated; a value past the blob (a corrupt model, where
            // the C++ library reads out of bounds) gives the empty string.
            let rest = replacements.get(found.value as usize..).unwrap_or_default();
            let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
            return (&rest[..end], found.length);
        }
        match decode_utf8(input) {
            Some(length) => (&input[..length], length),
            None => (REPLACEMENT_CHAR, 1),
        }
    }
}

/// The length of the UTF-8 character starting `input`, or `None` when it is malformed, as
/// sentencepiece's `IsValidDecodeUTF8` decides (`input` is not empty).
fn decode_utf8(input: &[u8]) -> Option<usize> {
    let trail = |i: usize| input.get(i).is_some_and(|&b| b & 0xc0 == 0x80);
    let valid = |cp: u32| cp < 0xd800 || (0xe000..=0x10ffff).contains(&cp);
    let b = |i: usize| u32::from(input[i]);
    let first = input[0];
    if first < 0x80 {
        return Some(1);
    }
    let n = input.len();
    if n >= 2 && first & 0xe0 == 0xc0 {
        let cp = ((b(0) & 0x1f) << 6) | (b(1) & 0x3f);
        if trail(1) && cp >= 0x80 && valid(cp) {
            return Some(2);
        }
    } else if n >= 3 && first & 0xf0 == 0xe0 {
        let cp = ((b(0) & 0x0f) << 12) | ((b(1) & 0x3f) << 6) | (b(2) & 0x3f);
        if trail(1) && trail(2) && cp >= 0x800 && valid(cp) {
            return Some(3);
        }
    } else if n >= 4 && first & 0xf8 == 0xf0 {
        let cp =
            ((b(0) & 0x07) << 18) | ((b(1) & 0x3f) << 12) | ((b(2) & 0x3f) << 6) | (b(3) & 0x3f);
        if trail(1) && trail(2) && trail(3) && cp >= 0x10000 && valid(cp) {
            return Some(4);
        }
    }
    None
}

/// sentencepiece's `OneCharLen`: the length of a UTF-8 sequence from its first byte alone.
pub(crate) fn one_char_len(first: u8) -> usize {
    const LEN: [u8; 16] = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4];
    usize::from(LEN[usize::from(first >> 4)])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::darts;

    /// A charsmap blob as sentencepiece's builder lays it out.
    fn charsmap(rules: &[(&str, &str)]) -> Vec<u8> {
        let mut replacements = Vec::new();
        let mut keys = Vec::new();
        for (from, to) in rules {
            keys.push((from.as_bytes(), replacements.len() as u32));
            replacements.extend_from_slice(to.as_bytes());
            replacements.push(0);
        }
        let trie = darts::build(&keys);
        let mut blob = (trie.len() as u32).to_le_bytes().to_vec();
        blob.extend_from_slice(&trie);
        blob.extend_from_slice(&replacements);
        blob
    }

    fn normalizer(rules: &[(&str, &str)], edit: impl FnOnce(&mut NormalizerSpec)) -> Normalizer {
        let mut spec = NormalizerSpec {
            precompiled_charsmap: if rules.is_empty() {
                Vec::new()
            } else {
                charsmap(rules)
            },
            ..NormalizerSpec::default()
        };
        edit(&mut spec);
        Normalizer::new(&spec, false, ByteTrie::default()).unwrap()
    }

    fn norm(n: &Normalizer, s: &str) -> String {
        String::from_utf8(n.normalize(s.as_bytes())).unwrap()
    }

    #[test]
    fn default_whitespace_handling() {
        let n = normalizer(&[], |_| {});
        assert_eq!(norm(&n, "  Hello   world  "), "▁Hello▁world");
        assert_eq!(norm(&n, "a"), "▁a");
        assert_eq!(norm(&n, ""), "");
        assert_eq!(norm(&n, "    "), "");
        // Without a charsmap a tab is not whitespace.
        assert_eq!(norm(&n, "\ta \t"), "▁\ta▁\t");
        assert_eq!(norm(&n, "x▁ y"), "▁x▁▁y", "a literal ▁ is not a space");
    }

    #[test]
    fn switches() {
        let raw = normalizer(&[], |s| {
            s.add_dummy_prefix = false;
            s.remove_extra_whitespaces = false;
        });
        assert_eq!(norm(&raw, "  a  b "), "▁▁a▁▁b▁");
        let unescaped = normalizer(&[], |s| s.escape_whitespaces = false);
        assert_eq!(norm(&unescaped, "  a  b "), " a b");
        let spec = NormalizerSpec::default();
        let suffix = Normalizer::new(&spec, true, ByteTrie::default()).unwrap();
        assert_eq!(norm(&suffix, " a  b "), "a▁b▁");
        assert_eq!(norm(&suffix.with_dummy_prefix(false), " a  b "), "a▁b");
        assert_eq!(norm(&n_prefix_off(), " a"), "a");
    }

    fn n_prefix_off() -> Normalizer {
        normalizer(&[], |_| {}).with_dummy_prefix(false)
    }

    #[test]
    fn charsmap_longest_match_and_replacements() {
        let n = normalizer(
            &[
                ("\t", " "),
                ("ﬁ", "fi"),
                ("e\u{301}", "é"),
                ("e\u{301}\u{301}", "é-"),
                ("Ａ", "A"),
                ("\u{200b}", ""),
                ("x", " y "),
            ],
            |_| {},
        );
        assert_eq!(
            norm(&n, "\t\tﬁne"),
            "▁fine",
            "tabs are spaces, so leading ones go"
        );
        assert_eq!(norm(&n, "e\u{301}e\u{301}\u{301}e"), "▁éé-e");
        assert_eq!(norm(&n, "ＡＡ\u{200b}B"), "▁AAB");
        assert_eq!(
            norm(&n, "\u{200b}"),
            "",
            "the dummy prefix alone is trailing space"
        );
        // A replacement with spaces: its leading space merges with the previous one.
        assert_eq!(norm(&n, "a x b"), "▁a▁y▁b");
        assert_eq!(norm(&n, "x"), "▁y");
    }

    #[test]
    fn user_defined_symbols_bypass_the_charsmap() {
        let mut user = ByteTrie::default();
        user.insert("ﬁ".as_bytes(), 0);
        user.insert(b"<sep>", 0);
        let spec = NormalizerSpec {
            precompiled_charsmap: charsmap(&[("ﬁ", "fi"), ("<", "(")]),
            ..NormalizerSpec::default()
        };
        let n = Normalizer::new(&spec, false, user).unwrap();
        assert_eq!(norm(&n, "ﬁ<sep><se"), "▁ﬁ<sep>(se");
    }

    #[test]
    fn malformed_utf8_becomes_replacement_characters() {
        let n = normalizer(&[], |_| {});
        let out = n.normalize(b"a\xff\xe2\x96b");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "▁a\u{fffd}\u{fffd}\u{fffd}b"
        );
        assert_eq!(decode_utf8("\u{fffd}".as_bytes()), Some(3));
        assert_eq!(decode_utf8(b"\xed\xa0\x80"), None, "a surrogate");
        assert_eq!(decode_utf8(b"\xc0\x80"), None, "overlong");
    }

    #[test]
    fn broken_charsmaps_are_refused() {
        let spec = |blob: Vec<u8>| NormalizerSpec {
            precompiled_charsmap: blob,
            ..NormalizerSpec::default()
        };
        let new = |blob| Normalizer::new(&spec(blob), false, ByteTrie::default());
        assert!(new(vec![1, 0, 0]).unwrap_err().contains("broken"));
        assert!(new(vec![8, 0, 0, 0, 0]).unwrap_err().contains("exceeds"));
        assert!(
            new(vec![0, 0, 0, 0, 0]).is_ok(),
            "an empty trie matches nothing"
        );
    }

    #[test]
    fn one_char_len_table() {
        assert_eq!(one_char_len(b'a'), 1);
        assert_eq!(
            one_char_len(0x80),
            1,
            "a stray continuation byte counts as one"
        );
        assert_eq!(one_char_len(0xc3), 2);
        assert_eq!(one_char_len(0xe2), 3);
        assert_eq!(one_char_len(0xf0), 4);
    }
}
