//! What a download reports while it runs, for a front end to draw. Nothing here prints.

use std::time::Duration;

/// One step of [`download`](crate::download). `file` is always the path relative to the
/// download folder, with `/` separators (e.g. `CogVideoX-Fun-V1.5-5b-InP/vae/config.json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// Asking the Hub what `repo` holds at `revision`.
    Listing {
        /// `owner/name`.
        repo: &'a str,
        /// The revision asked for.
        revision: &'a str,
    },
    /// The listing arrived: `files` of it are needed, `bytes` in all.
    Listed {
        /// `owner/name`.
        repo: &'a str,
        /// The commit the revision points at; every file is fetched from it.
        commit: &'a str,
        /// Files needed.
        files: usize,
        /// Their total size.
        bytes: u64,
    },
    /// Hashing a file already on disk, of the right size but not yet verified, to know
    /// whether it can be kept.
    Checking {
        /// The file.
        file: &'a str,
        /// Bytes hashed.
        done: u64,
        /// Its size.
        size: u64,
    },
    /// What remains to do, after looking at the disk.
    Planned {
        /// Files needed in all.
        files: usize,
        /// Of them, already present and verified.
        present: usize,
        /// Of them, to download (some may resume a partial download).
        fetch: usize,
        /// The total size of those to download, partial downloads included.
        fetch_bytes: u64,
    },
    /// Hashing what an earlier, interrupted run downloaded, before resuming after it.
    Resuming {
        /// The file.
        file: &'a str,
        /// Bytes hashed.
        done: u64,
        /// Bytes already there.
        have: u64,
    },
    /// Bytes of a file were written.
    Progress {
        /// The file.
        file: &'a str,
        /// Bytes of it on disk.
        done: u64,
        /// Its size.
        size: u64,
        /// Bytes on disk of all files being downloaded.
        total_done: u64,
        /// Total size of all files being downloaded.
        total: u64,
    },
    /// A request failed in a way worth retrying; waiting `wait` before the next attempt.
    Retrying {
        /// The file, or the repository when listing.
        what: &'a str,
        /// Failures in a row so far.
        failures: u32,
        /// What went wrong.
        reason: &'a str,
        /// How long until the next attempt.
        wait: Duration,
    },
    /// A partial download had to be thrown away and the file starts over.
    Restarting {
        /// The file.
        file: &'a str,
        /// Why.
        reason: &'a str,
    },
    /// A file is complete, verified and in place.
    Done {
        /// The file.
        file: &'a str,
        /// Its size.
        size: u64,
    },
}
