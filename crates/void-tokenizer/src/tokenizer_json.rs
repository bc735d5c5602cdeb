//! A `tokenizer.json` (HF tokenizers, as `T5TokenizerFast.save_pretrained` writes it) turned
//! back into the SentencePiece model it was converted from (transformers' `T5Converter`), for
//! folders that ship no `spiece.model`.
//!
//! The converter keeps the pieces and scores (`model.vocab`, with the extra ids appended), the
//! unknown id, byte fallback and the precompiled charsmap (`normalizer`), and writes the
//! dummy prefix as a `Metaspace` pre-tokenizer; piece types become added tokens (CONTROL:
//! special, USER_DEFINED: not special). This module inverts that: trailing `<extra_id_N>`
//! added tokens are dropped from the vocabulary, special added tokens inside it become CONTROL
//! pieces, other added tokens USER_DEFINED, `unk_id` UNKNOWN. Encoding then follows the
//! sentencepiece library, like the slow tokenizer, not the tokenizers crate's pipeline.

use std::path::Path;

use serde_json::Value;

use crate::added::AddedToken;
use crate::proto::{ModelProto, ModelType, NormalizerSpec, Piece, PieceType, TrainerSpec};
use crate::sentencepiece::ModelProblem;

/// The `added_tokens` of a tokenizer.json: (id, token).
pub(crate) fn added_tokens(json: &Value) -> Result<Vec<(u32, AddedToken)>, String> {
    let Some(list) = json.get("added_tokens") else {
        return Ok(Vec::new());
    };
    let list = list.as_array().ok_or("`added_tokens` is not a list")?;
    list.iter()
        .map(|entry| {
            let id = entry
                .get("id")
                .and_then(Value::as_u64)
                .and_then(|id| u32::try_from(id).ok())
                .ok_or_else(|| format!("added token without a valid id: {entry}"))?;
            Ok((id, added_token(entry)?))
        })
        .collect()
}

/// An `AddedToken(**dict)`: `content` required, flags off unless given.
pub(crate) fn added_token(dict: &Value) -> Result<AddedToken, String> {
    let content = dict
        .get("content")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("added token without `content`: {dict}"))?;
    let flag = |name: &str| dict.get(name).and_then(Value::as_bool).unwrap_or(false);
    Ok(AddedToken {
        content: content.to_string(),
        lstrip: flag("lstrip"),
        rstrip: flag("rstrip"),
        single_word: flag("single_word"),
        special: flag("special"),
    })
}

/// The SentencePiece model equivalent to the tokenizer.json `json`.
pub(crate) fn model_proto(json: &Value) -> Result<ModelProto, ModelProblem> {
    use ModelProblem::{Corrupt, Unsupported};
    let model = json
        .get("model")
        .ok_or_else(|| Corrupt("no `model`".into()))?;
    let kind = model.get("type").and_then(Value::as_str).unwrap_or("");
    if kind != "Unigram" {
        return Err(Unsupported(format!("a {kind:?} tokenizer.json model")));
    }
    let vocab = model
        .get("vocab")
        .and_then(Value::as_array)
        .ok_or_else(|| Corrupt("`model.vocab` is not a list".into()))?;
    let mut pieces = Vec::with_capacity(vocab.len());
    for entry in vocab {
        let pair = entry.as_array().filter(|pair| pair.len() == 2);
        let (Some(piece), Some(score)) = (
            pair.and_then(|p| p[0].as_str()),
            pair.and_then(|p| p[1].as_f64()),
        ) else {
            return Err(Corrupt(format!(
                "vocab entry {entry} is not [piece, score]"
            )));
        };
        pieces.push(Piece {
            piece: piece.as_bytes().to_vec(),
            score: score as f32,
            kind: PieceType::Normal,
        });
    }
    let unk_id = model.get("unk_id").and_then(Value::as_u64);
    let byte_fallback = model
        .get("byte_fallback")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let added = added_tokens(json).map_err(Corrupt)?;

    // The extra ids T5Converter appended.
    let is_added = |id: usize| added.iter().any(|(i, _)| *i as usize == id);
    while let Some(last) = pieces.last() {
        let id = pieces.len() - 1;
        if is_extra_id(&last.piece) && is_added(id) {
            pieces.pop();
        } else {
            break;
        }
    }
    for (id, token) in &added {
        if let Some(piece) = pieces.get_mut(*id as usize) {
            piece.kind = if token.special {
                PieceType::Control
            } else {
                PieceType::UserDefined
            };
        }
    }
    if let Some(unk) = unk_id.and_then(|id| pieces.get_mut(id as usize)) {
        unk.kind = PieceType::Unknown;
    }
    if byte_fallback {
        for piece in &mut pieces {
            if piece.kind == PieceType::Normal && is_byte_piece(&piece.piece) {
                piece.kind = PieceType::Byte;
            }
        }
    }

    let precompiled_charsmap = match find(json.get("normalizer"), "Precompiled", "normalizers") {
        Some(normalizer) => match normalizer.get("precompiled_charsmap") {
            Some(Value::String(encoded)) => base64(encoded)
                .ok_or_else(|| Corrupt("`precompiled_charsmap` is not valid base64".into()))?,
            _ => Vec::new(),
        },
        None => Vec::new(),
    };
    let add_dummy_prefix = match find(json.get("pre_tokenizer"), "Metaspace", "pretokenizers") {
        Some(metaspace) => match metaspace.get("prepend_scheme").and_then(Value::as_str) {
            Some(scheme) => scheme != "never",
            None => metaspace
                .get("add_prefix_space")
                .and_then(Value::as_bool)
                .unwrap_or(true),
        },
        None => true,
    };
    Ok(ModelProto {
        pieces,
        trainer_spec: TrainerSpec {
            model_type: ModelType::Unigram,
            treat_whitespace_as_suffix: false,
            byte_fallback,
        },
        normalizer_spec: NormalizerSpec {
            name: "tokenizer.json".into(),
            precompiled_charsmap,
            add_dummy_prefix,
            remove_extra_whitespaces: true,
            escape_whitespaces: true,
        },
    })
}

/// Reads and parses a JSON file.
pub(crate) fn read_json(path: &Path) -> crate::Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|source| crate::Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| crate::Error::Config {
        path: path.to_path_buf(),
        reason: format!("invalid JSON: {e}"),
    })
}

/// The component of `kind` in `value`, looking inside `Sequence`s (whose list is `list_key`).
fn find<'a>(value: Option<&'a Value>, kind: &str, list_key: &str) -> Option<&'a Value> {
    let value = value?;
    match value.get("type").and_then(Value::as_str) {
        Some(t) if t == kind => Some(value),
        Some("Sequence") => value
            .get(list_key)?
            .as_array()?
            .iter()
            .find_map(|v| find(Some(v), kind, list_key)),
        _ => None,
    }
}

fn is_extra_id(piece: &[u8]) -> bool {
    piece
        .strip_prefix(b"<extra_id_")
        .and_then(|rest| rest.strip_suffix(b">"))
        .is_some_and(|digits| !digits.is_empty() && digits.iter().all(u8::is_ascii_digit))
}

fn is_byte_piece(piece: &[u8]) -> bool {
    piece.len() == 6
        && piece.starts_with(b"<0x")
        && piece.ends_with(b">")
        && piece[3..5]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(c))
}

/// Standard base64 (RFC 4648, `=` padding optional), as Python's `base64.b64encode` writes it.
fn base64(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let data = text.trim_end_matches('=').as_bytes();
    if data.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    for chunk in data.chunks(4) {
        let mut acc = 0u32;
        for &c in chunk {
            acc = (acc << 6) | digit(c)?;
        }
        let bits = chunk.len() * 6;
        acc <<= 24 - bits;
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..1 + bits / 8]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn base64_decodes() {
        assert_eq!(base64("").unwrap(), b"");
        assert_eq!(base64("Zg==").unwrap(), b"f");
        assert_eq!(base64("Zm8=").unwrap(), b"fo");
        assert_eq!(base64("Zm9v").unwrap(), b"foo");
        assert_eq!(base64("Zm9vYg").unwrap(), b"foob");
        assert_eq!(
            base64("AAQAAAAg/+8=").unwrap(),
            [0, 4, 0, 0, 0, 32, 255, 239]
        );
        assert!(base64("Zm9v!").is_none());
        assert!(base64("Z").is_none());
    }

    #[test]
    fn inverts_the_t5_converter() {
        let json: Value = serde_json::from_str(
            r#"{
              "added_tokens": [
                {"id": 0, "content": "<pad>", "special": true},
                {"id": 1, "content": "</s>", "special": true},
                {"id": 2, "content": "<unk>", "special": true},
                {"id": 4, "content": "<sep>", "special": false},
                {"id": 6, "content": "<extra_id_1>", "special": true, "lstrip": true},
                {"id": 7, "content": "<extra_id_0>", "special": true}
              ],
              "normalizer": {"type": "Sequence", "normalizers": [
                {"type": "Precompiled", "precompiled_charsmap": "AQIDBAU="},
                {"type": "Strip"}]},
              "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never"},
              "model": {"type": "Unigram", "unk_id": 2, "byte_fallback": false, "vocab": [
                ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0], ["▁a", -1.5], ["<sep>", 0.0],
                ["b", -2.25], ["<extra_id_1>", 0.0], ["<extra_id_0>", 0.0]]}
            }"#,
        )
        .unwrap();
        let proto = model_proto(&json).unwrap();
        let kinds: Vec<PieceType> = proto.pieces.iter().map(|p| p.kind).collect();
        use PieceType::*;
        assert_eq!(
            kinds,
            [Control, Control, Unknown, Normal, UserDefined, Normal]
        );
        assert_eq!(proto.pieces[5].score, -2.25);
        assert_eq!(proto.normalizer_spec.precompiled_charsmap, [1, 2, 3, 4, 5]);
        assert!(!proto.normalizer_spec.add_dummy_prefix);
        let added = added_tokens(&json).unwrap();
        assert_eq!(added[4].0, 6);
        assert!(added[4].1.lstrip && added[4].1.special && !added[4].1.rstrip);
    }

    #[test]
    fn refuses_other_models() {
        let bpe: Value =
            serde_json::from_str(r#"{"model": {"type": "BPE", "vocab": {}}}"#).unwrap();
        assert!(
            matches!(model_proto(&bpe), Err(ModelProblem::Unsupported(w)) if w.contains("BPE"))
        );
        let broken: Value =
            serde_json::from_str(r#"{"model": {"type": "Unigram", "vocab": [["a"]]}}"#).unwrap();
        assert!(matches!(
            model_proto(&broken),
            Err(ModelProblem::Corrupt(_))
        ));
    }
}
