//! transformers 4.57.1's slow `T5Tokenizer` (models/t5/tokenization_t5.py) with the parts of
//! `PreTrainedTokenizer` (tokenization_utils.py) and `PreTrainedTokenizerBase`
//! (tokenization_utils_base.py) that `from_pretrained(folder)` and
//! `tokenizer(text, padding="max_length", max_length=L, truncation=True)` run.
//!
//! Loading follows `_from_pretrained` and the constructors: `tokenizer_config.json` gives the
//! init arguments; its `added_tokens_decoder` (written by transformers >= 4.34) fixes the added
//! tokens and their flags, else (older folders) `special_tokens_map.json`, `added_tokens.json`
//! and `tokenizer.json`'s `added_tokens` do; T5's constructor adds `<extra_id_0..N>` (ids
//! counted down from the top, eating the whitespace around them) and the special tokens are
//! then added where missing.
//!
//! Encoding (`tokenize` + `convert_tokens_to_ids` + `prepare_for_model`): added tokens are cut
//! out of the text and stripped around per their flags; the rest goes through SentencePiece.
//! With `legacy=False` the model runs without its dummy prefix, the text gets a `▁` in front
//! instead, and text after an added token is encoded behind `<unk>` (then dropped) so that it
//! gets no `▁` of its own. `</s>` is appended unless the ids already end with it
//! (`_add_eos_if_not_present`), truncation keeps room for that one `</s>`, padding uses the pad
//! id. All of this is reproduced on purpose (void-inference-spec §4).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use serde_json::Value;

use crate::added::{AddedToken, SplitTrie, py_lstrip, py_rstrip};
use crate::sentencepiece::SentencePiece;
use crate::tokenizer_json::{added_token, added_tokens, model_proto, read_json};
use crate::{Error, Result};

/// `SPIECE_UNDERLINE`.
const UNDERLINE: &str = "\u{2581}";

/// The special-token attributes, in `SPECIAL_TOKENS_ATTRIBUTES` order (without
/// `additional_special_tokens`).
const SPECIAL_ATTRIBUTES: [&str; 7] = [
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
];

/// Arguments `from_pretrained` may be given besides the folder; they override
/// `tokenizer_config.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// `legacy=`: `None` keeps the folder's value (transformers' default is `true`).
    pub legacy: Option<bool>,
}

/// The side padding or truncation happens on (`padding_side`, `truncation_side`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    /// The end (transformers' default for both).
    Right,
    /// The start.
    Left,
}

/// transformers' slow `T5Tokenizer`, loaded from a tokenizer folder.
#[derive(Clone, Debug)]
pub struct T5Tokenizer {
    /// The model `_tokenize` runs (without dummy prefix when `legacy` is false).
    sp: SentencePiece,
    /// `_added_tokens_decoder`: id -> token.
    decoder: BTreeMap<u32, AddedToken>,
    /// `_added_tokens_encoder`: content -> id.
    encoder: HashMap<String, u32>,
    trie: SplitTrie,
    /// `all_special_tokens`.
    special: HashSet<String>,
    /// `str(unk_token)` and the number of pieces it encodes to (`unk_token_length`).
    unk: Option<(String, usize)>,
    eos_id: u32,
    pad_id: u32,
    legacy: bool,
    add_prefix_space: bool,
    split_special_tokens: bool,
    padding_side: Side,
    truncation_side: Side,
    vocab_len: usize,
}

/// A special-token argument: a plain string, or an `AddedToken` with its flags.
#[derive(Clone, Debug, PartialEq)]
enum TokenArg {
    Str(String),
    Added(AddedToken),
}

impl TokenArg {
    fn content(&self) -> &str {
        match self {
            Self::Str(s) => s,
            Self::Added(t) => &t.content,
        }
    }

    /// A config value: a string, an `AddedToken` dict, or `null` (`None`).
    fn from_json(value: &Value, special: bool) -> std::result::Result<Option<Self>, String> {
        Ok(match value {
            Value::Null => None,
            Value::String(s) => Some(Self::Str(s.clone())),
            Value::Object(_) => {
                let mut token = added_token(value)?;
                token.special |= special;
                Some(Self::Added(token))
            }
            other => {
                return Err(format!(
                    "a token must be a string or an object, not {other}"
                ));
            }
        })
    }
}

/// An ordered `dict[int, AddedToken]`: `update` keeps the position of existing keys.
#[derive(Default)]
struct OrderedDecoder {
    entries: Vec<(u32, AddedToken)>,
}

impl OrderedDecoder {
    fn insert(&mut self, id: u32, token: AddedToken) {
        match self.entries.iter_mut().find(|(i, _)| *i == id) {
            Some(entry) => entry.1 = token,
            None => self.entries.push((id, token)),
        }
    }
}

impl T5Tokenizer {
    /// Loads the tokenizer folder `dir` (e.g. the base model's `tokenizer/`) as
    /// `T5Tokenizer.from_pretrained(dir)` does.
    ///
    /// # Errors
    /// When the folder is missing, has neither `spiece.model` nor `tokenizer.json`, or a file
    /// in it is unreadable, broken or refused by transformers; the error names the file.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        Self::from_dir_with(dir, &LoadOptions::default())
    }

    /// [`Self::from_dir`] with `from_pretrained` arguments (`legacy=`).
    ///
    /// # Errors
    /// As [`Self::from_dir`].
    pub fn from_dir_with(dir: impl AsRef<Path>, options: &LoadOptions) -> Result<Self> {
        let dir = dir.as_ref();
        if !dir.is_dir() {
            return Err(Error::NoFolder {
                path: dir.to_path_buf(),
            });
        }
        let config_path = dir.join("tokenizer_config.json");
        let config = if config_path.is_file() {
            read_object(&config_path)?
        } else {
            serde_json::Map::new()
        };
        let bad_config = |reason: String| Error::Config {
            path: config_path.clone(),
            reason,
        };

        // The SentencePiece model: spiece.model, else the one tokenizer.json was made from.
        let spiece_path = dir.join("spiece.model");
        let json_path = dir.join("tokenizer.json");
        let mut tokenizer_json = None;
        let sp = if spiece_path.is_file() {
            SentencePiece::load(&spiece_path)?
        } else if json_path.is_file() {
            let json = read_json(&json_path)?;
            let proto = model_proto(&json).map_err(|p| p.at(&json_path))?;
            let sp = SentencePiece::from_proto(proto).map_err(|p| p.at(&json_path))?;
            tokenizer_json = Some(json);
            sp
        } else {
            return Err(Error::NoModel {
                path: dir.to_path_buf(),
            });
        };
        let sp_len = sp.len();

        // `_from_pretrained`: init kwargs and the saved added tokens.
        let mut special_args: HashMap<&str, Option<TokenArg>> = HashMap::new();
        for attr in SPECIAL_ATTRIBUTES {
            if let Some(value) = config.get(attr) {
                let arg = TokenArg::from_json(value, false)
                    .map_err(|e| bad_config(format!("{attr}: {e}")))?;
                special_args.insert(attr, arg);
            }
        }
        let mut additional: Option<Vec<TokenArg>> = match config.get("additional_special_tokens") {
            None | Some(Value::Null) => None,
            Some(Value::Array(list)) => Some(
                list.iter()
                    .filter_map(|v| TokenArg::from_json(v, false).transpose())
                    .collect::<std::result::Result<_, _>>()
                    .map_err(|e| bad_config(format!("additional_special_tokens: {e}")))?,
            ),
            Some(other) => {
                return Err(bad_config(format!(
                    "additional_special_tokens must be a list, not {other}"
                )));
            }
        };

        let saved = saved_added_tokens(
            dir,
            &config,
            &config_path,
            &mut special_args,
            &mut additional,
            tokenizer_json,
        )?;
        // Special tokens saved as added tokens are taken with the saved flags.
        let saved_by_content: HashMap<&str, &AddedToken> =
            saved.iter().map(|(_, t)| (t.content.as_str(), t)).collect();
        if !saved_by_content.is_empty() {
            for arg in special_args.values_mut().flatten() {
                if let Some(token) = saved_by_content.get(arg.content()) {
                    *arg = TokenArg::Added((*token).clone());
                }
            }
        }

        let legacy = match options.legacy {
            Some(legacy) => legacy,
            None => match config.get("legacy") {
                None | Some(Value::Null) => true,
                Some(value) => value.as_bool().ok_or_else(|| {
                    bad_config(format!("legacy must be true or false, not {value}"))
                })?,
            },
        };
        let flag = |key: &str, default: bool| match config.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(value) => value
                .as_bool()
                .ok_or_else(|| bad_config(format!("{key} must be true or false, not {value}"))),
        };
        let add_prefix_space = flag("add_prefix_space", true)?;
        let split_special_tokens = flag("split_special_tokens", false)?;
        let side = |key: &str| match config.get(key).and_then(Value::as_str) {
            None => Ok(Side::Right),
            Some("right") => Ok(Side::Right),
            Some("left") => Ok(Side::Left),
            Some(other) => Err(bad_config(format!(
                "{key} should be 'right' or 'left', not {other:?}"
            ))),
        };
        let padding_side = side("padding_side")?;
        let truncation_side = side("truncation_side")?;
        let extra_ids = match config.get("extra_ids") {
            None | Some(Value::Null) => 100,
            Some(value) => value
                .as_u64()
                .ok_or_else(|| bad_config(format!("extra_ids must be a count, not {value}")))?,
        };

        // `T5Tokenizer.__init__`.
        for (attr, default) in [
            ("eos_token", "</s>"),
            ("unk_token", "<unk>"),
            ("pad_token", "<pad>"),
        ] {
            let arg = special_args
                .entry(attr)
                .or_insert_with(|| Some(TokenArg::Str(default.into())));
            if let Some(TokenArg::Str(s)) = arg {
                *arg = Some(TokenArg::Added(AddedToken::plain(s, true)));
            }
        }
        let extra_count = match &mut additional {
            Some(list) => {
                let count = list
                    .iter()
                    .filter(|t| t.content().contains("<extra_id_"))
                    .count();
                if count < 1 {
                    list.extend((0..extra_ids).map(|i| TokenArg::Str(format!("<extra_id_{i}>"))));
                    0
                } else if extra_ids > 0 && extra_ids != count as u64 {
                    return Err(bad_config(format!(
                        "Both extra_ids ({extra_ids}) and additional_special_tokens (with {count} \
                         extra ids) are provided to T5Tokenizer; additional_special_tokens must \
                         include the extra_ids tokens"
                    )));
                } else {
                    count as u64
                }
            }
            None => {
                additional = Some(
                    (0..extra_ids)
                        .map(|i| TokenArg::Str(format!("<extra_id_{i}>")))
                        .collect(),
                );
                extra_ids
            }
        };
        let mut decoder = OrderedDecoder::default();
        for i in 0..extra_count {
            let id = (sp_len as u64 + extra_ids)
                .checked_sub(1 + i)
                .and_then(|id| u32::try_from(id).ok())
                .ok_or_else(|| bad_config(format!("extra id {i} has no valid token id")))?;
            let token = AddedToken {
                lstrip: true,
                rstrip: true,
                ..AddedToken::plain(&format!("<extra_id_{i}>"), true)
            };
            decoder.insert(id, token);
        }

        // `PreTrainedTokenizer.__init__`: saved tokens override, then missing specials are added.
        for (id, token) in saved {
            decoder.insert(id, token);
        }
        let mut encoder: HashMap<String, u32> = HashMap::new();
        for (id, token) in &decoder.entries {
            encoder.insert(token.content.clone(), *id);
        }
        let mut all_special: Vec<TokenArg> = Vec::new();
        let mut seen = HashSet::new();
        let attrs = SPECIAL_ATTRIBUTES
            .iter()
            .filter_map(|attr| special_args.get(attr).cloned().flatten());
        for token in attrs.chain(additional.into_iter().flatten()) {
            if seen.insert(token.content().to_string()) {
                all_special.push(token);
            }
        }
        let mut vocab = vocab_of(&sp, decoder.entries.iter().map(|(id, t)| (*id, t)));
        let new_index = vocab.len() as u64;
        let mut added = 0u64;
        for token in &all_special {
            let token = match token {
                TokenArg::Str(s) if encoder.contains_key(s) => continue,
                TokenArg::Str(s) => AddedToken::plain(s, true),
                // An AddedToken never compares equal to the encoder's string keys.
                TokenArg::Added(t) => AddedToken {
                    special: true,
                    ..t.clone()
                },
            };
            if token.content.is_empty() {
                continue;
            }
            let id = match vocab.get(&token.content) {
                Some(&id) => id,
                None => {
                    let id = u32::try_from(new_index + added)
                        .map_err(|_| bad_config("too many tokens".into()))?;
                    vocab.insert(token.content.clone(), id);
                    added += 1;
                    id
                }
            };
            encoder.insert(token.content.clone(), id);
            decoder.insert(id, token);
        }
        let decoder: BTreeMap<u32, AddedToken> = decoder.entries.into_iter().collect();
        let mut trie = SplitTrie::default();
        for token in decoder.values() {
            trie.add(&token.content);
        }
        let vocab_len = vocab_of(&sp, decoder.iter().map(|(id, t)| (*id, t))).len();

        let to_id = |content: &str| {
            encoder
                .get(content)
                .copied()
                .unwrap_or_else(|| sp.piece_to_id(content))
        };
        let required = |attr: &str| match special_args.get(attr).cloned().flatten() {
            Some(token) => Ok(to_id(token.content())),
            None => Err(bad_config(format!(
                "{attr} is null; a T5 tokenizer needs one to end and pad sequences"
            ))),
        };
        let eos_id = required("eos_token")?;
        let pad_id = required("pad_token")?;
        let sp = if legacy {
            sp
        } else {
            sp.with_dummy_prefix(false)
        };
        let unk = special_args
            .get("unk_token")
            .cloned()
            .flatten()
            .map(|token| {
                let content = token.content().to_string();
                let length = sp.encode_bytes(content.as_bytes()).len();
                (content, length)
            });
        if unk.is_none() && !legacy {
            return Err(bad_config(
                "unk_token is null, which legacy=False tokenization needs".into(),
            ));
        }
        Ok(Self {
            sp,
            decoder,
            encoder,
            trie,
            special: all_special
                .iter()
                .map(|t| t.content().to_string())
                .collect(),
            unk,
            eos_id,
            pad_id,
            legacy,
            add_prefix_space,
            split_special_tokens,
            padding_side,
            truncation_side,
            vocab_len,
        })
    }

    /// Whether the tokenizer runs with `legacy=True`.
    pub fn legacy(&self) -> bool {
        self.legacy
    }

    /// The id of `</s>`, appended to every sequence.
    pub fn eos_id(&self) -> u32 {
        self.eos_id
    }

    /// The id of `<pad>`, which fills sequences up to the requested length.
    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// `len(tokenizer)`: the vocabulary with the added tokens (32100 for T5).
    pub fn len(&self) -> usize {
        self.vocab_len
    }

    /// Whether the vocabulary is empty (never true for a loaded tokenizer).
    pub fn is_empty(&self) -> bool {
        self.vocab_len == 0
    }

    /// The SentencePiece model, as `_tokenize` runs it.
    pub fn sentencepiece(&self) -> &SentencePiece {
        &self.sp
    }

    /// The id of one token (`convert_tokens_to_ids`): an added token's id, else the piece's,
    /// else the unknown id.
    pub fn token_to_id(&self, token: &str) -> u32 {
        self.token_bytes_to_id(token.as_bytes())
    }

    fn token_bytes_to_id(&self, token: &[u8]) -> u32 {
        std::str::from_utf8(token)
            .ok()
            .and_then(|s| self.encoder.get(s))
            .copied()
            .unwrap_or_else(|| self.sp.piece_to_id_bytes(token))
    }

    /// The tokens of `text` (`tokenizer.tokenize(text)`): added tokens and pieces, without
    /// `</s>`.
    pub fn tokenize(&self, text: &str) -> Vec<String> {
        self.tokens(text)
            .into_iter()
            .map(|t| String::from_utf8_lossy(&t).into_owned())
            .collect()
    }

    /// The ids of `text` followed by `</s>` unless they already end with it:
    /// `tokenizer(text).input_ids`.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let ids = self.ids(text);
        self.add_eos_if_not_present(ids)
    }

    /// `tokenizer(text, padding="max_length", max_length=max_length, truncation=True,
    /// add_special_tokens=True).input_ids`: the ids truncated to leave room for `</s>`, `</s>`
    /// appended unless already last, then padded with the pad id to `max_length` (226 in the
    /// pipeline).
    ///
    /// transformers' corner cases are kept: when the text alone has no more tokens than must
    /// be removed (`max_length` 0 or 1), nothing is truncated and the result is longer than
    /// `max_length`; with `max_length` 0 nothing is truncated or padded.
    pub fn encode_padded(&self, text: &str, max_length: usize) -> Vec<u32> {
        let mut ids = self.ids(text);
        let total = ids.len() + 1; // num_special_tokens_to_add(): one `</s>`
        if max_length > 0 && total > max_length {
            let remove = total - max_length;
            if ids.len() > remove {
                match self.truncation_side {
                    Side::Right => ids.truncate(ids.len() - remove),
                    Side::Left => {
                        ids.drain(..remove);
                    }
                }
            }
        }
        let mut ids = self.add_eos_if_not_present(ids);
        if ids.len() < max_length {
            let pads = std::iter::repeat_n(self.pad_id, max_length - ids.len());
            match self.padding_side {
                Side::Right => ids.extend(pads),
                Side::Left => {
                    ids.splice(..0, pads);
                }
            }
        }
        ids
    }

    fn add_eos_if_not_present(&self, mut ids: Vec<u32>) -> Vec<u32> {
        if ids.last() != Some(&self.eos_id) {
            ids.push(self.eos_id);
        }
        ids
    }

    fn ids(&self, text: &str) -> Vec<u32> {
        self.tokens(text)
            .iter()
            .map(|t| self.token_bytes_to_id(t))
            .collect()
    }

    /// `T5Tokenizer.tokenize`.
    fn tokens(&self, text: &str) -> Vec<Vec<u8>> {
        if self.legacy || text.is_empty() {
            return self.split_and_tokenize(text);
        }
        let mut text = text.replace(UNDERLINE, " ");
        if self.add_prefix_space {
            text.insert_str(0, UNDERLINE);
        }
        let mut tokens = self.split_and_tokenize(&text);
        if tokens.len() > 1
            && tokens[0] == UNDERLINE.as_bytes()
            && std::str::from_utf8(&tokens[1]).is_ok_and(|t| self.special.contains(t))
        {
            tokens.remove(0);
        }
        tokens
    }

    /// `PreTrainedTokenizer.tokenize`: added tokens out, whitespace stripped around them per
    /// their flags, the rest through `_tokenize`.
    fn split_and_tokenize(&self, text: &str) -> Vec<Vec<u8>> {
        let mut chunks: Vec<String> = if self.split_special_tokens {
            vec![text.to_string()]
        } else {
            self.trie
                .split(text)
                .into_iter()
                .map(String::from)
                .collect()
        };
        let added = |chunk: &str| -> Option<&AddedToken> {
            if self.split_special_tokens {
                return None;
            }
            self.decoder.get(self.encoder.get(chunk)?)
        };
        for i in 0..chunks.len() {
            let token = chunks[i].clone();
            let Some(flags) = added(&token) else {
                continue;
            };
            let left = (i > 0)
                .then(|| chunks[i - 1].clone())
                .filter(|s| !s.is_empty());
            let right = chunks.get(i + 1).cloned().filter(|s| !s.is_empty());
            if flags.rstrip
                && let Some(right) = &right
            {
                chunks[i + 1] = py_lstrip(right).to_string();
            }
            if flags.lstrip
                && let Some(left) = &left
            {
                chunks[i - 1] = py_rstrip(left).to_string();
            }
            if flags.single_word && left.as_ref().is_some_and(|l| !l.ends_with(' ')) {
                chunks[i - 1].push_str(&token);
                chunks[i].clear();
            } else if flags.single_word && right.as_ref().is_some_and(|r| !r.starts_with(' ')) {
                chunks[i + 1].insert_str(0, &token);
                chunks[i].clear();
            }
        }
        let mut tokens = Vec::new();
        for chunk in &chunks {
            if chunk.is_empty() {
                continue;
            }
            if added(chunk).is_some() {
                tokens.push(chunk.as_bytes().to_vec());
            } else {
                tokens.extend(self.sp_tokenize(chunk));
            }
        }
        tokens
    }

    /// `T5Tokenizer._tokenize`.
    fn sp_tokenize(&self, text: &str) -> Vec<Vec<u8>> {
        let pieces = |t: &[u8]| self.sp.encode_bytes(t).into_iter().map(|(p, _)| p);
        match &self.unk {
            Some((unk, unk_length))
                if !self.legacy && (text.starts_with(UNDERLINE) || text.starts_with(' ')) =>
            {
                let mut behind_unk = unk.clone().into_bytes();
                behind_unk.extend_from_slice(text.as_bytes());
                let tokens: Vec<Vec<u8>> = pieces(&behind_unk).collect();
                if tokens.len() >= *unk_length {
                    tokens[*unk_length..].to_vec()
                } else {
                    tokens
                }
            }
            _ => pieces(text.as_bytes()).collect(),
        }
    }
}

/// The added tokens a folder saved, as `_from_pretrained` reads them:
/// `tokenizer_config.json`'s `added_tokens_decoder`; else (older folders)
/// `special_tokens_map.json` (which also updates the special-token arguments),
/// `added_tokens.json` (all flags off) and `tokenizer.json`'s `added_tokens`.
fn saved_added_tokens(
    dir: &Path,
    config: &serde_json::Map<String, Value>,
    config_path: &Path,
    special_args: &mut HashMap<&'static str, Option<TokenArg>>,
    additional: &mut Option<Vec<TokenArg>>,
    tokenizer_json: Option<Value>,
) -> Result<Vec<(u32, AddedToken)>> {
    let bad_config = |reason: String| Error::Config {
        path: config_path.to_path_buf(),
        reason,
    };
    let mut saved: Vec<(u32, AddedToken)> = Vec::new();
    if let Some(decoder) = config.get("added_tokens_decoder") {
        let decoder = decoder
            .as_object()
            .ok_or_else(|| bad_config("added_tokens_decoder is not an object".into()))?;
        for (id, token) in decoder {
            let id: u32 = id
                .parse()
                .map_err(|_| bad_config(format!("added_tokens_decoder key {id:?}")))?;
            let token =
                added_token(token).map_err(|e| bad_config(format!("added_tokens_decoder: {e}")))?;
            saved.push((id, token));
        }
        saved.sort_by_key(|(id, _)| *id);
        return Ok(saved);
    }
    // Older folders.
    let map_path = dir.join("special_tokens_map.json");
    if map_path.is_file() {
        let map = read_object(&map_path)?;
        let bad_map = |reason: String| Error::Config {
            path: map_path.clone(),
            reason,
        };
        for (key, value) in &map {
            if key == "additional_special_tokens" && value.is_array() {
                let mut list = additional.take().unwrap_or_default();
                for token in value.as_array().into_iter().flatten() {
                    let Some(token) = TokenArg::from_json(token, true)
                        .map_err(|e| bad_map(format!("{key}: {e}")))?
                    else {
                        continue;
                    };
                    if !list.iter().any(|t| t.content() == token.content()) {
                        list.push(token);
                    }
                }
                *additional = Some(list);
            } else if let Some(attr) = SPECIAL_ATTRIBUTES.iter().find(|a| **a == key) {
                let arg =
                    TokenArg::from_json(value, true).map_err(|e| bad_map(format!("{key}: {e}")))?;
                special_args.insert(attr, arg);
            }
        }
    }
    let added_path = dir.join("added_tokens.json");
    if added_path.is_file() {
        let mut special_names: HashSet<String> = special_args
            .values()
            .flatten()
            .map(|t| t.content().to_string())
            .collect();
        special_names.extend(additional.iter().flatten().map(|t| t.content().to_string()));
        for (content, id) in read_object(&added_path)? {
            let id = id
                .as_u64()
                .and_then(|id| u32::try_from(id).ok())
                .ok_or_else(|| Error::Config {
                    path: added_path.clone(),
                    reason: format!("{content:?}: {id} is not a token id"),
                })?;
            let special = special_names.contains(&content);
            saved.push((id, AddedToken::plain(&content, special)));
        }
    }
    let json_path = dir.join("tokenizer.json");
    if json_path.is_file() {
        let json = match tokenizer_json {
            Some(json) => json,
            None => read_json(&json_path)?,
        };
        let tokens = added_tokens(&json).map_err(|reason| Error::Config {
            path: json_path.clone(),
            reason,
        })?;
        saved.extend(tokens);
    }
    Ok(saved)
}

/// `get_vocab()`: every piece (an added token in place of the piece whose id it has), then the
/// added tokens by id.
fn vocab_of<'a>(
    sp: &SentencePiece,
    added: impl Iterator<Item = (u32, &'a AddedToken)>,
) -> HashMap<String, u32> {
    let by_id: BTreeMap<u32, &AddedToken> = added.collect();
    let mut vocab = HashMap::new();
    for id in 0..sp.len() as u32 {
        let name = match by_id.get(&id) {
            Some(token) => token.content.clone(),
            None => sp.id_to_piece(id).unwrap_or_default(),
        };
        vocab.insert(name, id);
    }
    for (id, token) in by_id {
        vocab.insert(token.content.clone(), id);
    }
    vocab
}

/// A JSON file holding an object.
fn read_object(path: &Path) -> Result<serde_json::Map<String, Value>> {
    match read_json(path)? {
        Value::Object(map) => Ok(map),
        other => Err(Error::Config {
            path: path.to_path_buf(),
            reason: format!("expected a JSON object, found {other}"),
        }),
    }
}
