//! A SentencePiece unigram model and its encoder, as the sentencepiece 0.2.1 library runs them:
//! `ModelInterface::InitializePieces` (src/model_interface.cc), `unigram::Model` with its default
//! encoder `EncodeOptimized` (src/unigram_model.cc), and `SentencePieceProcessor::Encode` with
//! `PopulateSentencePieceText` (src/sentencepiece_processor.cc).
//!
//! Encoding is a Viterbi search over every way to cut the normalised text into vocabulary
//! pieces. Positions are byte offsets; at each character start every piece found by walking
//! the vocabulary trie is a candidate, shortest first, and replaces the best path ending where
//! it ends only if strictly better. A character no one-character piece covers gets an unknown
//! node scored `min_score - 10`, tried after the pieces starting there. UNUSED pieces are never
//! candidates; CONTROL, UNKNOWN and BYTE pieces are not in the trie. A user-defined symbol
//! scores `length_in_bytes * max_score - 0.1`. The scores are summed with the library's mixed
//! float/double arithmetic (see [`SentencePiece::viterbi`]). Afterwards consecutive unknown
//! pieces are merged into one, or, with byte fallback, each becomes its UTF-8 byte pieces.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use crate::normalizer::{Normalizer, one_char_len};
use crate::proto::{ModelProto, ModelType, Piece, PieceType};
use crate::trie::ByteTrie;
use crate::{Error, Result};

/// Score penalty of an unknown character below the lowest piece score (`kUnkPenalty`).
const UNK_PENALTY: f32 = 10.0;

/// A loaded SentencePiece unigram model (a `spiece.model`), ready to encode.
#[derive(Clone, Debug)]
pub struct SentencePiece {
    pieces: Vec<Piece>,
    /// NORMAL, USER_DEFINED and UNUSED pieces -> id (`pieces_`, the Darts trie).
    trie: ByteTrie,
    /// CONTROL, UNKNOWN and BYTE pieces -> id (`reserved_id_map_`).
    reserved: HashMap<Vec<u8>, u32>,
    unk_id: u32,
    min_score: f32,
    max_score: f32,
    byte_fallback: bool,
    normalizer: Normalizer,
}

/// Why a model cannot be used: it is broken, or it is a kind this crate does not implement.
#[derive(Debug)]
pub(crate) enum ModelProblem {
    /// Broken or inconsistent.
    Corrupt(String),
    /// Valid, but not a unigram model.
    Unsupported(String),
}

impl ModelProblem {
    /// The crate error for the model read from `path`.
    pub fn at(self, path: &Path) -> Error {
        match self {
            Self::Corrupt(reason) => Error::Corrupt {
                path: path.to_path_buf(),
                reason,
            },
            Self::Unsupported(what) => Error::Unsupported {
                path: path.to_path_buf(),
                what,
            },
        }
    }
}

impl SentencePiece {
    /// Reads a serialized `ModelProto` (a `spiece.model` file).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read, [`Error::Corrupt`] when it is not a valid
    /// model (the library's own load checks included), [`Error::Unsupported`] for BPE, word
    /// and character models.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(&bytes).map_err(|problem| problem.at(path))
    }

    /// Parses a serialized `ModelProto` held in memory.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, ModelProblem> {
        let proto = ModelProto::parse(bytes).map_err(ModelProblem::Corrupt)?;
        Self::from_proto(proto)
    }

    /// Builds the model, with the checks `ModelInterface::InitializePieces`,
    /// `unigram::Model::BuildTrie` and the normaliser make at load time.
    pub(crate) fn from_proto(proto: ModelProto) -> Result<Self, ModelProblem> {
        use ModelProblem::{Corrupt, Unsupported};
        let kind = proto.trainer_spec.model_type;
        if kind != ModelType::Unigram {
            return Err(Unsupported(format!(
                "a {} model",
                match kind {
                    ModelType::Bpe => "BPE",
                    ModelType::Word => "word",
                    _ => "character",
                }
            )));
        }
        let byte_fallback = proto.trainer_spec.byte_fallback;
        let mut trie = ByteTrie::default();
        let mut reserved = HashMap::new();
        let mut user_defined = ByteTrie::default();
        let mut normal_pieces = HashMap::new();
        let mut unk_id = None;
        let mut bytes_found = [false; 256];
        for (id, piece) in proto.pieces.iter().enumerate() {
            let id = u32::try_from(id).map_err(|_| Corrupt("too many pieces".into()))?;
            if piece.piece.is_empty() {
                return Err(Corrupt("piece must not be empty.".into()));
            }
            let normal = matches!(
                piece.kind,
                PieceType::Normal | PieceType::UserDefined | PieceType::Unused
            );
            let map = if normal {
                &mut normal_pieces
            } else {
                &mut reserved
            };
            if map.insert(piece.piece.clone(), id).is_some() {
                return Err(Corrupt(format!(
                    "{} is already defined.",
                    String::from_utf8_lossy(&piece.piece)
                )));
            }
            match piece.kind {
                PieceType::UserDefined => user_defined.insert(&piece.piece, id),
                PieceType::Unknown if unk_id.is_some() => {
                    return Err(Corrupt("unk is already defined.".into()));
                }
                PieceType::Unknown => unk_id = Some(id),
                PieceType::Byte => {
                    let name = String::from_utf8_lossy(&piece.piece);
                    if !byte_fallback {
                        return Err(Corrupt(format!(
                            "byte piece {name} is found although `byte_fallback` is false."
                        )));
                    }
                    let byte = piece_to_byte(&piece.piece)
                        .ok_or_else(|| Corrupt(format!("byte piece {name} is invalid.")))?;
                    bytes_found[usize::from(byte)] = true;
                }
                _ => {}
            }
            if normal {
                trie.insert(&piece.piece, id);
            }
        }
        let unk_id = unk_id.ok_or_else(|| Corrupt("unk is not defined.".into()))?;
        if byte_fallback && bytes_found.contains(&false) {
            return Err(Corrupt(
                "there are not 256 byte pieces although `byte_fallback` is true.".into(),
            ));
        }
        if normal_pieces.is_empty() {
            return Err(Corrupt("no pieces are loaded.".into()));
        }

        // std::min / std::max, with their behaviour on NaN.
        let (mut min_score, mut max_score) = (f32::MAX, f32::MIN_POSITIVE);
        for piece in proto.pieces.iter().filter(|p| p.kind == PieceType::Normal) {
            if piece.score < min_score {
                min_score = piece.score;
            }
            if max_score < piece.score {
                max_score = piece.score;
            }
        }

        let normalizer = Normalizer::new(
            &proto.normalizer_spec,
            proto.trainer_spec.treat_whitespace_as_suffix,
            user_defined,
        )
        .map_err(Corrupt)?;
        Ok(Self {
            pieces: proto.pieces,
            trie,
            reserved,
            unk_id,
            min_score,
            max_score,
            byte_fallback,
            normalizer,
        })
    }

    /// The same model with `add_dummy_prefix` switched to `value`.
    pub(crate) fn with_dummy_prefix(&self, value: bool) -> Self {
        Self {
            normalizer: self.normalizer.with_dummy_prefix(value),
            ..self.clone()
        }
    }

    /// The number of pieces (`get_piece_size()`; T5's base vocabulary, without extra ids).
    pub fn len(&self) -> usize {
        self.pieces.len()
    }

    /// Whether the model has no pieces (never true for a loaded model).
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// The id of the unknown piece.
    pub fn unk_id(&self) -> u32 {
        self.unk_id
    }

    /// The piece with `id`, if there is one (`IdToPiece`).
    pub fn id_to_piece(&self, id: u32) -> Option<String> {
        let piece = self.pieces.get(id as usize)?;
        Some(String::from_utf8_lossy(&piece.piece).into_owned())
    }

    /// The id of `piece`, or the unknown id (`PieceToId`: control, unknown and byte pieces
    /// first, then the others).
    pub fn piece_to_id(&self, piece: &str) -> u32 {
        self.piece_to_id_bytes(piece.as_bytes())
    }

    pub(crate) fn piece_to_id_bytes(&self, piece: &[u8]) -> u32 {
        if let Some(&id) = self.reserved.get(piece) {
            return id;
        }
        self.trie.get(piece).unwrap_or(self.unk_id)
    }

    /// The normalised text the Viterbi search sees (`▁` for spaces, dummy prefix included).
    pub fn normalize(&self, text: &str) -> String {
        String::from_utf8_lossy(&self.normalizer.normalize(text.as_bytes())).into_owned()
    }

    /// The ids of `text` (`sp.encode(text)`; no bos or eos).
    pub fn encode(&self, text: &str) -> Vec<u32> {
        self.encode_bytes(text.as_bytes())
            .into_iter()
            .map(|(_, id)| id)
            .collect()
    }

    /// The pieces of `text` (`sp.encode(text, out_type=str)`); a run of unknown characters is
    /// one piece.
    pub fn encode_pieces(&self, text: &str) -> Vec<String> {
        self.encode_bytes(text.as_bytes())
            .into_iter()
            .map(|(piece, _)| String::from_utf8_lossy(&piece).into_owned())
            .collect()
    }

    /// Pieces (bytes) with their ids: normalise, search, then merge unknown runs or fall back
    /// to bytes, as `PopulateSentencePieceText` does.
    pub(crate) fn encode_bytes(&self, text: &[u8]) -> Vec<(Vec<u8>, u32)> {
        let normalized = self.normalizer.normalize(text);
        let mut out: Vec<(Vec<u8>, u32)> = Vec::new();
        let mut prev_unknown = false;
        for (range, id) in self.viterbi(&normalized) {
            let piece = &normalized[range];
            let kind = self.kind(id);
            let unknown = kind == Some(PieceType::Unknown);
            if kind == Some(PieceType::Control) {
                out.push((piece.to_vec(), id));
            } else if unknown && self.byte_fallback {
                for &byte in piece {
                    let name = format!("<0x{byte:02X}>");
                    let id = self.piece_to_id(&name);
                    out.push((name.into_bytes(), id));
                }
            } else if unknown && prev_unknown {
                if let Some(last) = out.last_mut() {
                    last.0.extend_from_slice(piece);
                }
            } else {
                out.push((piece.to_vec(), id));
            }
            prev_unknown = unknown;
        }
        out
    }

    fn kind(&self, id: u32) -> Option<PieceType> {
        self.pieces.get(id as usize).map(|p| p.kind)
    }

    /// The best segmentation of `normalized` (`unigram::Model::EncodeOptimized`).
    ///
    /// The arithmetic is the library's, because near-ties depend on it: a piece's score is
    /// widened to f64 (a user-defined symbol's is `f32(len) * max_score` in f32, minus 0.1 in
    /// f64), added in f64 to the f32 best score where it starts, compared in f64 against the
    /// f32 best score where it ends, and stored rounded to f32. An unknown node is added and
    /// compared in f32. Ties keep the earlier candidate.
    fn viterbi(&self, normalized: &[u8]) -> Vec<(Range<usize>, u32)> {
        #[derive(Clone, Copy)]
        struct Best {
            id: u32,
            score: f32,
            starts_at: Option<usize>,
        }
        let size = normalized.len();
        if size == 0 {
            return Vec::new();
        }
        let unk_score = self.min_score - UNK_PENALTY;
        let mut best = vec![
            Best {
                id: 0,
                score: 0.0,
                starts_at: None,
            };
            size + 1
        ];
        let mut starts_at = 0;
        while starts_at < size {
            let till_here = best[starts_at].score;
            let mblen = one_char_len(normalized[starts_at]).min(size - starts_at);
            let mut has_single_node = false;
            let mut node = ByteTrie::ROOT;
            for (key_pos, &byte) in normalized.iter().enumerate().skip(starts_at) {
                let Some(next) = self.trie.child(node, byte) else {
                    break;
                };
                node = next;
                let Some(id) = self.trie.value(node) else {
                    continue;
                };
                let kind = self.kind(id);
                if kind == Some(PieceType::Unused) {
                    continue;
                }
                let end = key_pos + 1;
                let length = end - starts_at;
                let score = if kind == Some(PieceType::UserDefined) {
                    f64::from(length as f32 * self.max_score) - 0.1
                } else {
                    f64::from(self.pieces[id as usize].score)
                };
                let candidate = score + f64::from(till_here);
                let target = &mut best[end];
                if target.starts_at.is_none() || candidate > f64::from(target.score) {
                    *target = Best {
                        id,
                        score: candidate as f32,
                        starts_at: Some(starts_at),
                    };
                }
                if length == mblen {
                    has_single_node = true;
                }
            }
            if !has_single_node {
                let candidate = unk_score + till_here;
                let target = &mut best[starts_at + mblen];
                if target.starts_at.is_none() || candidate > target.score {
                    *target = Best {
                        id: self.unk_id,
                        score: candidate,
                        starts_at: Some(starts_at),
                    };
                }
            }
            starts_at += mblen;
        }

        let mut results = Vec::new();
        let mut ends_at = size;
        while ends_at > 0 {
            let node = best[ends_at];
            let Some(start) = node.starts_at else {
                debug_assert!(false, "every character start is reachable");
                break;
            };
            results.push((start..ends_at, node.id));
            ends_at = start;
        }
        results.reverse();
        results
    }
}

/// The byte a `<0xXX>` piece stands for (`PieceToByte`: upper-case hex, exactly two digits).
fn piece_to_byte(piece: &[u8]) -> Option<u8> {
    let hex = piece.strip_prefix(b"<0x")?.strip_suffix(b">")?;
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    match hex {
        [hi, lo] => Some(digit(*hi)? * 16 + digit(*lo)?),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::proto::encode::*;

    /// A model from (piece, score, type) with the given normaliser and trainer fields.
    fn model_with(
        pieces: &[(&str, f32, u64)],
        normalizer: &[u8],
        trainer: &[u8],
    ) -> Result<SentencePiece, ModelProblem> {
        let mut bytes = Vec::new();
        for (p, s, t) in pieces {
            bytes_field(1, &piece(p, *s, *t), &mut bytes);
        }
        bytes_field(2, trainer, &mut bytes);
        bytes_field(3, normalizer, &mut bytes);
        SentencePiece::from_bytes(&bytes)
    }

    fn model(pieces: &[(&str, f32, u64)]) -> SentencePiece {
        model_with(pieces, &[], &[]).unwrap()
    }

    const BASE: [(&str, f32, u64); 3] = [("<pad>", 0.0, 3), ("</s>", 0.0, 3), ("<unk>", 0.0, 2)];

    fn with_base(extra: &[(&'static str, f32, u64)]) -> SentencePiece {
        let mut all = BASE.to_vec();
        all.extend_from_slice(extra);
        model(&all)
    }

    #[test]
    fn picks_the_best_segmentation() {
        let sp = with_base(&[
            ("▁", -2.0, 1),
            ("▁ab", -3.0, 1),
            ("▁a", -1.0, 1),
            ("b", -1.0, 1),
            ("a", -5.0, 1),
            ("c", -4.0, 1),
        ]);
        // ▁a + b = -2 beats ▁ab = -3.
        assert_eq!(sp.encode_pieces("ab"), ["▁a", "b"]);
        assert_eq!(sp.encode("ab c"), [5, 6, 3, 8]);
        assert_eq!(sp.normalize("  ab  c "), "▁ab▁c");
        assert!(sp.encode("").is_empty());
        assert!(sp.encode("   ").is_empty());
    }

    #[test]
    fn ties_keep_the_first_candidate() {
        // ▁ab (-2, found from the first start) against ▁a + b (-1 + -1, found later): equal,
        // so the earlier candidate stays, whatever the ids.
        let sp = with_base(&[("▁a", -1.0, 1), ("b", -1.0, 1), ("▁ab", -2.0, 1)]);
        assert_eq!(sp.encode_pieces("ab"), ["▁ab"]);
        let sp = with_base(&[("▁ab", -2.0, 1), ("b", -1.0, 1), ("▁a", -1.0, 1)]);
        assert_eq!(sp.encode_pieces("ab"), ["▁ab"]);
    }

    #[test]
    fn sums_are_compared_in_f64() {
        // -0.1f32 + -0.2f32 rounds to -0.3f32 in f32 (a tie, which would keep ▁xy), but their
        // exact sum is above f32(-0.3): the library, comparing in f64, takes ▁x + y.
        let (a, b, ab) = (-0.1f32, -0.2f32, -0.3f32);
        assert_eq!(a + b, ab);
        assert!(f64::from(a) + f64::from(b) > f64::from(ab));
        let sp = with_base(&[("▁x", a, 1), ("y", b, 1), ("▁xy", ab, 1)]);
        assert_eq!(sp.encode_pieces("xy"), ["▁x", "y"]);
    }

    #[test]
    fn unknown_characters_are_merged() {
        let sp = with_base(&[("▁", -1.0, 1), ("a", -2.0, 1), ("▁a", -1.5, 1)]);
        assert_eq!(sp.encode_pieces("a日本a"), ["▁a", "日本", "a"]);
        assert_eq!(sp.encode("a日本a"), [5, 2, 4]);
        assert_eq!(sp.encode("日 本"), [3, 2, 3, 2]);
        // The merged piece maps back to <unk>.
        assert_eq!(sp.piece_to_id("日本"), 2);
        assert_eq!(sp.piece_to_id("<unk>"), 2);
        assert_eq!(sp.piece_to_id("</s>"), 1);
        assert_eq!(sp.piece_to_id("a"), 4);
    }

    #[test]
    fn unknown_node_score_is_min_score_minus_10() {
        // "ab": ▁ + ab (0 - 30) against ▁ + unknown a + b (0 + (-30 - 10) + s_b): the unknown
        // path wins exactly when s_b > 10.
        let sp = with_base(&[("▁", 0.0, 1), ("ab", -30.0, 1), ("b", 10.5, 1)]);
        assert_eq!(sp.encode_pieces("ab"), ["▁", "a", "b"]);
        assert_eq!(sp.encode("ab"), [3, 2, 5]);
        let sp = with_base(&[("▁", 0.0, 1), ("ab", -30.0, 1), ("b", 9.5, 1)]);
        assert_eq!(sp.encode_pieces("ab"), ["▁", "ab"]);
        // A multi-character piece does not stop an unknown node at its start.
        let sp = with_base(&[("▁", -1.0, 1), ("xy", -30.0, 1)]);
        assert_eq!(sp.encode_pieces("xy"), ["▁", "xy"]);
        assert_eq!(sp.encode("xy"), [3, 4]);
    }

    #[test]
    fn unused_and_control_pieces_are_never_produced() {
        let sp = with_base(&[
            ("▁", -1.0, 1),
            ("▁ab", -0.5, 5),
            ("a", -1.0, 1),
            ("b", -1.0, 1),
        ]);
        assert_eq!(sp.encode_pieces("ab"), ["▁", "a", "b"]);
        assert_eq!(sp.piece_to_id("▁ab"), 4, "UNUSED pieces still have ids");
        let sp = with_base(&[("▁", -1.0, 1), ("<x>", -0.5, 3), ("a", -1.0, 1)]);
        assert_eq!(sp.encode("<x>a"), [3, 2, 5]);
    }

    #[test]
    fn user_defined_symbols_win() {
        // Score 3 bytes * max_score - 0.1, with max_score = FLT_MIN when all scores are
        // negative: about -0.1, better than < + s + > (-3).
        let sp = with_base(&[
            ("▁", -1.0, 1),
            ("<s>", 0.0, 4),
            ("<", -1.0, 1),
            ("s", -1.0, 1),
            (">", -1.0, 1),
        ]);
        assert_eq!(sp.encode_pieces("a<s>b"), ["▁", "a", "<s>", "b"]);
        assert_eq!(sp.encode("<s>"), [3, 4]);
    }

    #[test]
    fn byte_fallback() {
        let mut pieces: Vec<(String, f32, u64)> = BASE
            .iter()
            .map(|&(p, s, t)| (p.to_string(), s, t))
            .collect();
        for b in 0..=255u8 {
            pieces.push((format!("<0x{b:02X}>"), 0.0, 6));
        }
        pieces.push(("▁".into(), -1.0, 1));
        pieces.push(("a".into(), -1.0, 1));
        let refs: Vec<(&str, f32, u64)> = pieces
            .iter()
            .map(|(p, s, t)| (p.as_str(), *s, *t))
            .collect();
        let mut trainer = Vec::new();
        varint_field(35, 1, &mut trainer);
        let sp = model_with(&refs, &[], &trainer).unwrap();
        assert_eq!(
            sp.encode_pieces("aé日"),
            ["▁", "a", "<0xC3>", "<0xA9>", "<0xE6>", "<0x97>", "<0xA5>"]
        );
        assert_eq!(sp.encode("é"), [259, 3 + 0xc3, 3 + 0xa9]);
    }

    #[test]
    fn load_checks() {
        let refuse =
            |pieces: &[(&str, f32, u64)], trainer: &[u8]| match model_with(pieces, &[], trainer) {
                Err(ModelProblem::Corrupt(reason)) => reason,
                other => panic!("{other:?}"),
            };
        assert!(refuse(&[("a", 0.0, 1)], &[]).contains("unk is not defined"));
        assert!(refuse(&[("<unk>", 0.0, 2), ("<u>", 0.0, 2)], &[]).contains("unk is already"));
        assert!(
            refuse(&[("<unk>", 0.0, 2), ("a", 0.0, 1), ("a", 0.0, 4)], &[])
                .contains("a is already")
        );
        assert!(refuse(&[("<unk>", 0.0, 2), ("", 0.0, 1)], &[]).contains("empty"));
        assert!(refuse(&[("<unk>", 0.0, 2)], &[]).contains("no pieces"));
        assert!(
            refuse(&[("<unk>", 0.0, 2), ("<0x41>", 0.0, 6), ("a", 0.0, 1)], &[])
                .contains("byte_fallback")
        );
        let mut fallback = Vec::new();
        varint_field(35, 1, &mut fallback);
        assert!(refuse(&[("<unk>", 0.0, 2), ("<0x4g>", 0.0, 6)], &fallback).contains("invalid"));
        assert!(
            refuse(
                &[("<unk>", 0.0, 2), ("<0x41>", 0.0, 6), ("a", 0.0, 1)],
                &fallback
            )
            .contains("256")
        );
        // The same string as a NORMAL and a CONTROL piece is allowed (two maps).
        assert!(model_with(&[("<unk>", 0.0, 2), ("a", 0.0, 1), ("a", 0.0, 3)], &[], &[]).is_ok());
        let mut bpe = Vec::new();
        varint_field(3, 2, &mut bpe);
        assert!(matches!(
            model_with(&[("<unk>", 0.0, 2), ("a", 0.0, 1)], &[], &bpe),
            Err(ModelProblem::Unsupported(what)) if what.contains("BPE")
        ));
        assert_eq!(piece_to_byte(b"<0xFF>"), Some(255));
        assert_eq!(piece_to_byte(b"<0xff>"), None);
        assert_eq!(piece_to_byte(b"<0x1>"), None);
    }
}
