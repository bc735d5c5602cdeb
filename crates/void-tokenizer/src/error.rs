//! What can go wrong when loading a tokenizer. Encoding itself cannot fail.

use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A tokenizer that cannot be loaded, with the file at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The tokenizer folder does not exist or is not a folder.
    #[error(
        "{}: no such folder; pass the base model's tokenizer/ folder (it holds spiece.model)",
        path.display()
    )]
    NoFolder {
        /// The path given.
        path: PathBuf,
    },
    /// The folder holds neither `spiece.model` nor `tokenizer.json`.
    #[error(
        "{}: neither spiece.model nor tokenizer.json here; pass the base model's tokenizer/ folder",
        path.display()
    )]
    NoModel {
        /// The folder.
        path: PathBuf,
    },
    /// A file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid SentencePiece model (or tokenizer.json model).
    #[error("{}: not a usable SentencePiece model: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong, in the sentencepiece library's words where it has them.
        reason: String,
    },
    /// A valid model of a kind this crate does not implement (BPE, word, character).
    #[error(
        "{}: {what} is not supported; void reads SentencePiece unigram models (T5's)",
        path.display()
    )]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What it is.
        what: String,
    },
    /// A JSON file that cannot be parsed, or values transformers would refuse too.
    #[error("{}: {reason}", path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}
