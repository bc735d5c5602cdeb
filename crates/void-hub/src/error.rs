//! Errors of listing and downloading. Each names the repository, URL or file and says what is
//! wrong, and where there is one, the fix.

use std::path::PathBuf;

use crate::location::Problem;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong talking to the Hub or writing the files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The repository does not exist, or is private and no (valid) token was sent.
    #[error(
        "{repo}: repository not found at {endpoint} (HTTP {status}{detail}); if it is private or gated, set HF_TOKEN to a token that may read it"
    )]
    RepoNotFound {
        /// `owner/name`.
        repo: String,
        /// The Hub's address.
        endpoint: String,
        /// The HTTP status (404, or 401 as the Hub answers for unknown repositories).
        status: u16,
        /// The Hub's own words, if any (starting with `: `).
        detail: String,
    },
    /// The repository exists but not the revision asked for.
    #[error("{repo}: no revision `{revision}` (a branch, tag or commit id)")]
    RevisionNotFound {
        /// `owner/name`.
        repo: String,
        /// The revision asked for.
        revision: String,
    },
    /// The repository is gated or forbidden for this token.
    #[error(
        "{repo}: access denied (HTTP {status}{detail}); accept the model's conditions on its Hub page and set HF_TOKEN to a token of that account"
    )]
    AccessDenied {
        /// `owner/name`.
        repo: String,
        /// The HTTP status.
        status: u16,
        /// The Hub's own words, if any (starting with `: `).
        detail: String,
    },
    /// The Hub lists no file the pipeline needs at this path.
    #[error("{repo}@{commit}: no file `{path}` in the repository; {hint}")]
    MissingRemoteFile {
        /// `owner/name`.
        repo: String,
        /// The commit listed.
        commit: String,
        /// The path inside the repository.
        path: String,
        /// What that means.
        hint: &'static str,
    },
    /// An HTTP status that is neither success nor something to retry.
    #[error("{url}: HTTP {status}{detail}")]
    Http {
        /// The URL asked for.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The Hub's own words, if any (starting with `: `).
        detail: String,
    },
    /// The network failed and kept failing after the retries.
    #[error("{url}: {reason} (gave up after {attempts} attempts)")]
    Network {
        /// The URL asked for.
        url: String,
        /// The last failure.
        reason: String,
        /// How many attempts were made.
        attempts: u32,
    },
    /// The server answered something that does not follow the protocol.
    #[error("{url}: {reason}")]
    Protocol {
        /// The URL asked for.
        url: String,
        /// What is wrong with the answer.
        reason: String,
    },
    /// A downloaded file is not what the listing promised. The partial download was deleted.
    #[error(
        "{path}: {what} mismatch: expected {expected}, got {got}; the download was deleted, run again to fetch it anew"
    )]
    Mismatch {
        /// The file being written.
        path: PathBuf,
        /// `size`, `sha256` or `git sha1`.
        what: &'static str,
        /// What the listing says.
        expected: String,
        /// What arrived.
        got: String,
    },
    /// A file or folder could not be read or written.
    #[error("{path}: cannot {action}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What was being done (`create`, `write`, `rename into place`, ...).
        action: &'static str,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The files the Hub listed do not make a usable model folder (e.g. an index names a
    /// shard the repository lacks).
    #[error(
        "the downloaded files are not a complete model folder: {}",
        join_problems(problems)
    )]
    Incomplete {
        /// What is missing.
        problems: Vec<Problem>,
    },
    /// A file of the download record (`.void-download.json`) is unreadable.
    #[error("{path}: {reason}; delete it and download again")]
    BadRecord {
        /// The record file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub(crate) fn io(
        path: impl Into<PathBuf>,
        action: &'static str,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            path: path.into(),
            action,
            source,
        }
    }
}

/// Problems as one line, `; `-separated.
fn join_problems(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
