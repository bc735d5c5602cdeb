//! Fetching void's model files from the Hugging Face Hub.
//!
//! void needs the CogVideoX-Fun-V1.5-5b-InP base model (without its transformer weights,
//! which the VOID checkpoints replace) and the VOID checkpoints. This crate lists both
//! repositories ([`Hub::listing`]), picks the files void reads ([`select_base`],
//! [`select_void`]), downloads them with resume, retries and size/hash verification
//! ([`download`]), checks a folder without the network ([`check_offline`]) and tells the
//! pipeline where the files are and whether they are all there ([`ModelLocation`],
//! [`default_dir`], [`verify_present`]).
//!
//! The Hub protocol used: `GET {endpoint}/api/models/{repo}/revision/{rev}?blobs=true` for the
//! commit and file list with sizes and hashes, and `GET {endpoint}/{repo}/resolve/{commit}/{path}`
//! (redirects followed, `Range: bytes=N-` to resume) for each file. Nothing here prints or draws:
//! progress goes to a callback as [`Event`]s.

mod client;
mod digest;
mod download;
mod error;
mod event;
mod fetch;
mod listing;
mod location;
mod record;
mod retry;
mod selection;

pub use client::{DEFAULT_ENDPOINT, Hub, HubConfig};
pub use digest::Digest;
pub use download::part_path;
pub use error::{Error, Result};
pub use event::Event;
pub use fetch::{OfflineReport, RecordedRepo, Request, Summary, check_offline, download};
pub use listing::{Listing, RemoteFile};
pub use location::{
    MissingFiles, ModelLocation, Problem, ProblemKind, default_dir, verify_present,
};
pub use record::RECORD_FILE;
pub use retry::RetryPolicy;
pub use selection::{
    BASE_DIR_NAME, BASE_REPO, PASS1_FILE, PASS2_FILE, VOID_REPO, is_needed_base_file, select_base,
    select_void,
};
