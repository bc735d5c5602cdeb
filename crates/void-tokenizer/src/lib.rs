//! The T5 tokenizer of void (void-inference-spec §4): text to the 226 token ids the T5 encoder
//! reads, exactly as the reference computes them.
//!
//! Two layers, each a port of the code the reference runs:
//!
//! * [`SentencePiece`]: a SentencePiece unigram model (`spiece.model`) and its encoder, as the
//!   sentencepiece 0.2.1 C++ library does it: the normaliser (precompiled charsmap, whitespace
//!   rules, dummy prefix), user-defined symbols, the Viterbi search with its unknown-character
//!   nodes and tie-breaking, the merging of unknown runs and byte fallback. The protobuf and the
//!   charsmap's Darts double array are read by this crate; no other library is involved.
//! * [`T5Tokenizer`]: transformers 4.57.1's slow `T5Tokenizer` around it, loaded from a
//!   tokenizer folder as `from_pretrained` loads it: added and special tokens (`</s>`, `<pad>`,
//!   `<unk>`, `<extra_id_N>`) split out of the text with their `lstrip`/`rstrip` flags,
//!   `legacy` true or false, `</s>` appended unless already last, truncation counting that
//!   `</s>`, and padding with the pad id.
//!
//! ```no_run
//! # fn main() -> void_tokenizer::Result<()> {
//! let tokenizer = void_tokenizer::T5Tokenizer::from_dir("CogVideoX-Fun-V1.5-5b-InP/tokenizer")?;
//! let ids = tokenizer.encode_padded("A lime falls on the table.", 226);
//! assert_eq!(ids.len(), 226);
//! # Ok(())
//! # }
//! ```
//!
//! Files only: this crate reads a tokenizer folder and nothing else (no network, no tensors).

mod added;
mod darts;
mod error;
mod normalizer;
mod proto;
mod sentencepiece;
mod t5;
mod tokenizer_json;
mod trie;

pub use error::{Error, Result};
pub use sentencepiece::SentencePiece;
pub use t5::{LoadOptions, T5Tokenizer};
