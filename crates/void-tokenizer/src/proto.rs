//! The parts of `sentencepiece_model.proto` (proto2) that encoding needs, read straight from the
//! protobuf wire format: `ModelProto.pieces`, `.trainer_spec` and `.normalizer_spec`.
//!
//! Proto2 semantics are kept where they decide what a model means: a field missing from the
//! file takes the `.proto` default (`add_dummy_prefix = true`, `model_type = UNIGRAM`, ...); a
//! scalar field seen twice keeps the last value; a message field seen twice is merged; an enum
//! value the schema does not know leaves the field at its default (as the C++ and Python
//! runtimes do); fields this reader does not need, or with an unexpected wire type, are skipped.

/// What kind of piece a vocabulary entry is (`ModelProto.SentencePiece.Type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PieceType {
    /// An ordinary piece.
    Normal,
    /// The unknown piece (exactly one per model).
    Unknown,
    /// A control symbol (`</s>`, `<pad>`): never produced by encoding.
    Control,
    /// A user-defined symbol: always kept whole.
    UserDefined,
    /// A piece that is in the vocabulary but never produced by encoding.
    Unused,
    /// A byte piece `<0xXX>` (byte fallback).
    Byte,
}

impl PieceType {
    fn from_wire(value: u64) -> Option<Self> {
        Some(match value {
            1 => Self::Normal,
            2 => Self::Unknown,
            3 => Self::Control,
            4 => Self::UserDefined,
            5 => Self::Unused,
            6 => Self::Byte,
            _ => return None,
        })
    }
}

/// The segmentation algorithm a model was trained for (`TrainerSpec.ModelType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ModelType {
    /// Unigram language model (T5).
    Unigram,
    /// Byte-pair encoding.
    Bpe,
    /// Whitespace-delimited words.
    Word,
    /// Characters.
    Char,
}

impl ModelType {
    fn from_wire(value: u64) -> Option<Self> {
        Some(match value {
            1 => Self::Unigram,
            2 => Self::Bpe,
            3 => Self::Word,
            4 => Self::Char,
            _ => return None,
        })
    }
}

/// One vocabulary entry.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Piece {
    /// The piece's bytes (UTF-8 in any sane model; not required here).
    pub piece: Vec<u8>,
    /// Its log probability.
    pub score: f32,
    /// Its kind.
    pub kind: PieceType,
}

/// `TrainerSpec`: the fields encoding depends on.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TrainerSpec {
    /// Field 3.
    pub model_type: ModelType,
    /// Field 24: `▁` goes at the end of words instead of the start.
    pub treat_whitespace_as_suffix: bool,
    /// Field 35: unknown characters become UTF-8 byte pieces.
    pub byte_fallback: bool,
}

impl Default for TrainerSpec {
    fn default() -> Self {
        Self {
            model_type: ModelType::Unigram,
            treat_whitespace_as_suffix: false,
            byte_fallback: false,
        }
    }
}

/// `NormalizerSpec`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct NormalizerSpec {
    /// Field 1: the rule set's name (`nmt_nfkc`, `identity`, ...), for messages only.
    pub name: String,
    /// Field 2: `<u32 trie size><Darts double array><NUL-separated replacements>`.
    pub precompiled_charsmap: Vec<u8>,
    /// Field 3.
    pub add_dummy_prefix: bool,
    /// Field 4.
    pub remove_extra_whitespaces: bool,
    /// Field 5.
    pub escape_whitespaces: bool,
}

impl Default for NormalizerSpec {
    fn default() -> Self {
        Self {
            name: String::new(),
            precompiled_charsmap: Vec::new(),
            add_dummy_prefix: true,
            remove_extra_whitespaces: true,
            escape_whitespaces: true,
        }
    }
}

/// `ModelProto`, as far as encoding needs it.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ModelProto {
    /// Field 1, in id order.
    pub pieces: Vec<Piece>,
    /// Field 2.
    pub trainer_spec: TrainerSpec,
    /// Field 3.
    pub normalizer_spec: NormalizerSpec,
}

impl ModelProto {
    /// Reads a serialized `ModelProto`. The error says what is wrong and at which byte.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let mut model = Self::default();
        let mut reader = Reader::new(bytes);
        while let Some((field, wire)) = reader.key()? {
            match (field, wire) {
                (1, Wire::Len) => model.pieces.push(parse_piece(reader.bytes()?)?),
                (2, Wire::Len) => parse_trainer_spec(reader.bytes()?, &mut model.trainer_spec)?,
                (3, Wire::Len) => {
                    parse_normalizer_spec(reader.bytes()?, &mut model.normalizer_spec)?
                }
                _ => reader.skip(wire)?,
            }
        }
        Ok(model)
    }
}

fn parse_piece(bytes: &[u8]) -> Result<Piece, String> {
    let mut piece = Piece {
        piece: Vec::new(),
        score: 0.0,
        kind: PieceType::Normal,
    };
    let mut reader = Reader::new(bytes);
    while let Some((field, wire)) = reader.key()? {
        match (field, wire) {
            (1, Wire::Len) => piece.piece = reader.bytes()?.to_vec(),
            (2, Wire::Fixed32) => piece.score = f32::from_bits(reader.fixed32()?),
            (3, Wire::Varint) => {
                if let Some(kind) = PieceType::from_wire(reader.varint()?) {
                    piece.kind = kind;
                }
            }
            _ => reader.skip(wire)?,
        }
    }
    Ok(piece)
}

fn parse_trainer_spec(bytes: &[u8], spec: &mut TrainerSpec) -> Result<(), String> {
    let mut reader = Reader::new(bytes);
    while let Some((field, wire)) = reader.key()? {
        match (field, wire) {
            (3, Wire::Varint) => {
                if let Some(kind) = ModelType::from_wire(reader.varint()?) {
                    spec.model_type = kind;
                }
            }
            (24, Wire::Varint) => spec.treat_whitespace_as_suffix = reader.varint()? != 0,
            (35, Wire::Varint) => spec.byte_fallback = reader.varint()? != 0,
            _ => reader.skip(wire)?,
        }
    }
    Ok(())
}

fn parse_normalizer_spec(bytes: &[u8], spec: &mut NormalizerSpec) -> Result<(), String> {
    let mut reader = Reader::new(bytes);
    while let Some((field, wire)) = reader.key()? {
        match (field, wire) {
            (1, Wire::Len) => spec.name = String::from_utf8_lossy(reader.bytes()?).into_owned(),
            (2, Wire::Len) => spec.precompiled_charsmap = reader.bytes()?.to_vec(),
            (3, Wire::Varint) => spec.add_dummy_prefix = reader.varint()? != 0,
            (4, Wire::Varint) => spec.remove_extra_whitespaces = reader.varint()? != 0,
            (5, Wire::Varint) => spec.escape_whitespaces = reader.varint()? != 0,
            _ => reader.skip(wire)?,
        }
    }
    Ok(())
}

/// Protobuf wire types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wire {
    Varint,
    Fixed64,
    Len,
    Fixed32,
}

/// A cursor over one message's bytes.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// The next field number and wire type, or `None` at the end of the message.
    fn key(&mut self) -> Result<Option<(u64, Wire)>, String> {
        if self.pos == self.buf.len() {
            return Ok(None);
        }
        let at = self.pos;
        let key = self.varint()?;
        let field = key >> 3;
        let wire = match key & 7 {
            0 => Wire::Varint,
            1 => Wire::Fixed64,
            2 => Wire::Len,
            5 => Wire::Fixed32,
            other => {
                return Err(format!(
                    "wire type {other} (field {field}) at byte {at}: not a protobuf this reader knows"
                ));
            }
        };
        if field == 0 {
            return Err(format!("field number 0 at byte {at}"));
        }
        Ok(Some((field, wire)))
    }

    fn varint(&mut self) -> Result<u64, String> {
        let at = self.pos;
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self.buf.get(self.pos) else {
                return Err(format!("truncated varint at byte {at}"));
            };
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(format!("varint longer than 10 bytes at byte {at}"))
    }

    fn fixed32(&mut self) -> Result<u32, String> {
        let bytes = self.take(4)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let at = self.pos;
        let len = self.varint()?;
        let len = usize::try_from(len).map_err(|_| format!("length {len} at byte {at}"))?;
        self.take(len)
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|&end| end <= self.buf.len());
        let Some(end) = end else {
            return Err(format!(
                "{len} bytes wanted at byte {} but only {} left: truncated",
                self.pos,
                self.buf.len() - self.pos
            ));
        };
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn skip(&mut self, wire: Wire) -> Result<(), String> {
        match wire {
            Wire::Varint => self.varint().map(drop),
            Wire::Fixed64 => self.take(8).map(drop),
            Wire::Len => self.bytes().map(drop),
            Wire::Fixed32 => self.take(4).map(drop),
        }
    }
}

/// Protobuf encoding helpers for tests (this crate never writes models).
#[cfg(test)]
pub(crate) mod encode {
    /// A varint.
    pub fn varint(mut value: u64, out: &mut Vec<u8>) {
        while value >= 0x80 {
            out.push((value as u8) | 0x80);
            value >>= 7;
        }
        out.push(value as u8);
    }

    /// A varint field.
    pub fn varint_field(field: u64, value: u64, out: &mut Vec<u8>) {
        varint(field << 3, out);
        varint(value, out);
    }

    /// A length-delimited field.
    pub fn bytes_field(field: u64, bytes: &[u8], out: &mut Vec<u8>) {
        varint((field << 3) | 2, out);
        varint(bytes.len() as u64, out);
        out.extend_from_slice(bytes);
    }

    /// A float field.
    pub fn float_field(field: u64, value: f32, out: &mut Vec<u8>) {
        varint((field << 3) | 5, out);
        out.extend_from_slice(&value.to_le_bytes());
    }

    /// One `SentencePiece` message (type 1 = NORMAL is written too, explicitly).
    pub fn piece(piece: &str, score: f32, kind: u64) -> Vec<u8> {
        let mut out = Vec::new();
        bytes_field(1, piece.as_bytes(), &mut out);
        float_field(2, score, &mut out);
        varint_field(3, kind, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::encode::*;
    use super::*;

    #[test]
    fn defaults_when_fields_are_absent() {
        let mut bytes = Vec::new();
        bytes_field(1, &piece("<unk>", 0.0, 2), &mut bytes);
        let model = ModelProto::parse(&bytes).unwrap();
        assert_eq!(model.pieces.len(), 1);
        assert_eq!(model.pieces[0].kind, PieceType::Unknown);
        assert_eq!(model.trainer_spec, TrainerSpec::default());
        assert_eq!(model.trainer_spec.model_type, ModelType::Unigram);
        let spec = &model.normalizer_spec;
        assert!(spec.add_dummy_prefix && spec.remove_extra_whitespaces && spec.escape_whitespaces);
        assert!(spec.precompiled_charsmap.is_empty());
    }

    #[test]
    fn reads_pieces_and_specs_and_skips_other_fields() {
        let mut trainer = Vec::new();
        bytes_field(1, b"input.txt", &mut trainer); // repeated string input: skipped
        varint_field(3, 2, &mut trainer); // BPE
        varint_field(4, 8000, &mut trainer); // vocab_size: skipped
        varint_field(35, 1, &mut trainer);
        varint_field(24, 1, &mut trainer);
        let mut normalizer = Vec::new();
        bytes_field(1, b"nmt_nfkc", &mut normalizer);
        bytes_field(2, &[1, 2, 3, 4, 5], &mut normalizer);
        varint_field(3, 0, &mut normalizer);
        varint_field(5, 0, &mut normalizer);
        let mut bytes = Vec::new();
        bytes_field(1, &piece("▁a", -1.5, 1), &mut bytes);
        bytes_field(2, &trainer, &mut bytes);
        bytes_field(1, &piece("b", -2.25, 5), &mut bytes);
        bytes_field(3, &normalizer, &mut bytes);
        // fixed64 and unknown length-delimited fields (self_test_data, denormalizer_spec)
        varint((9 << 3) | 1, &mut bytes);
        bytes.extend_from_slice(&[0; 8]);
        bytes_field(4, b"\x0a\x00", &mut bytes);

        let model = ModelProto::parse(&bytes).unwrap();
        assert_eq!(model.pieces[0].piece, "▁a".as_bytes());
        assert_eq!(model.pieces[0].score, -1.5);
        assert_eq!(model.pieces[1].kind, PieceType::Unused);
        assert_eq!(model.trainer_spec.model_type, ModelType::Bpe);
        assert!(model.trainer_spec.byte_fallback);
        assert!(model.trainer_spec.treat_whitespace_as_suffix);
        let spec = &model.normalizer_spec;
        assert_eq!(spec.name, "nmt_nfkc");
        assert_eq!(spec.precompiled_charsmap, vec![1, 2, 3, 4, 5]);
        assert!(!spec.add_dummy_prefix);
        assert!(spec.remove_extra_whitespaces);
        assert!(!spec.escape_whitespaces);
    }

    #[test]
    fn repeated_message_fields_merge_and_last_scalar_wins() {
        let mut bytes = Vec::new();
        let mut first = Vec::new();
        varint_field(3, 0, &mut first);
        bytes_field(1, b"first", &mut first);
        let mut second = Vec::new();
        varint_field(4, 0, &mut second);
        bytes_field(1, b"second", &mut second);
        bytes_field(3, &first, &mut bytes);
        bytes_field(3, &second, &mut bytes);
        let spec = ModelProto::parse(&bytes).unwrap().normalizer_spec;
        assert!(!spec.add_dummy_prefix, "kept from the first occurrence");
        assert!(!spec.remove_extra_whitespaces);
        assert_eq!(spec.name, "second");
    }

    #[test]
    fn unknown_enum_values_keep_the_default() {
        let mut trainer = Vec::new();
        varint_field(3, 9, &mut trainer);
        let mut bytes = Vec::new();
        bytes_field(1, &piece("x", 0.0, 7), &mut bytes);
        bytes_field(2, &trainer, &mut bytes);
        let model = ModelProto::parse(&bytes).unwrap();
        assert_eq!(model.pieces[0].kind, PieceType::Normal);
        assert_eq!(model.trainer_spec.model_type, ModelType::Unigram);
    }

    #[test]
    fn multi_byte_varints_and_negative_scores() {
        let mut bytes = Vec::new();
        let mut p = Vec::new();
        bytes_field(1, "é".repeat(100).as_bytes(), &mut p); // length 200: a two-byte varint
        float_field(2, -1e-30, &mut p);
        bytes_field(1, &p, &mut bytes);
        let model = ModelProto::parse(&bytes).unwrap();
        assert_eq!(model.pieces[0].piece.len(), 200);
        assert_eq!(model.pieces[0].score, -1e-30);
    }

    #[test]
    fn broken_input_is_an_error() {
        let mut bytes = Vec::new();
        bytes_field(1, &piece("abc", 0.0, 1), &mut bytes);
        let cut = &bytes[..bytes.len() - 3];
        assert!(ModelProto::parse(cut).unwrap_err().contains("truncated"));
        assert!(
            ModelProto::parse(b"{\"model\": 1}").is_err(),
            "JSON is not a model"
        );
        assert!(
            ModelProto::parse(&[0x80; 11])
                .unwrap_err()
                .contains("varint"),
            "an endless varint"
        );
        assert!(
            ModelProto::parse(&[0x0b])
                .unwrap_err()
                .contains("wire type 3")
        );
        assert!(
            ModelProto::parse(&[0x00, 0x00])
                .unwrap_err()
                .contains("field number 0")
        );
    }
}
