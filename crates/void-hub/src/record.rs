//! The download record, `<dir>/.void-download.json`: for each repository the revision and
//! commit last listed, and for each file its size, its expected hash and, once it has been
//! verified, the size and modification time it had then.
//!
//! The record lets a later run skip a complete file without hashing it again (10 GB of shards
//! take a while): a file whose size and modification time still match its stamp is taken as
//! verified. A file that is there without a stamp, or whose stamp no longer matches (copied in
//! by hand, touched), is hashed once and stamped if it matches. The record also tells
//! `--offline` which files a previous download needed and their sizes. Deleting it is safe:
//! the next run hashes what is there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::{Error, Result};

/// The record's file name inside the download folder.
pub const RECORD_FILE: &str = ".void-download.json";

/// The record format written.
const VERSION: u32 = 1;

/// Everything recorded about one download folder.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Record {
    /// Format version.
    pub version: u32,
    /// `owner/name` -> what was listed.
    pub repos: BTreeMap<String, RepoRecord>,
    /// Path relative to the folder (`/`-separated) -> the file.
    pub files: BTreeMap<String, FileRecord>,
}

/// One repository as last listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RepoRecord {
    /// The revision asked for.
    pub revision: String,
    /// The commit it pointed at.
    pub commit: String,
}

/// One file as the listing described it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileRecord {
    /// `owner/name` of its repository.
    pub repo: String,
    /// Its path in the repository.
    pub path: String,
    /// Its size.
    pub size: u64,
    /// Its expected hash.
    pub digest: Option<Digest>,
    /// The file on disk when it was last verified against `size` and `digest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<Stamp>,
}

/// Size and modification time of a file on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Stamp {
    /// Bytes.
    pub size: u64,
    /// Modification time, nanoseconds since 1970.
    pub mtime_ns: u64,
}

impl Stamp {
    /// The stamp of the file at `path`, if it is a file with a readable modification time.
    pub fn of(path: &Path) -> Option<Self> {
        let meta = std::fs::metadata(path).ok().filter(|m| m.is_file())?;
        let mtime = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
        Some(Self {
            size: meta.len(),
            mtime_ns: u64::try_from(mtime.as_nanos()).ok()?,
        })
    }
}

impl FileRecord {
    /// Whether the file at `path` is the one verified earlier: stamped, with the recorded
    /// size, and unchanged since.
    pub fn still_verified(&self, path: &Path) -> bool {
        self.verified
            .is_some_and(|s| s.size == self.size && Stamp::of(path) == Some(s))
    }
}

impl Record {
    /// The record of `dir`; an empty one when there is none.
    ///
    /// # Errors
    /// [`Error::BadRecord`] when it cannot be read or understood.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(RECORD_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => {
                return Err(Error::BadRecord {
                    path,
                    reason: format!("cannot read: {e}"),
                });
            }
        };
        let record: Self = serde_json::from_str(&text).map_err(|e| Error::BadRecord {
            path: path.clone(),
            reason: format!("not a download record: {e}"),
        })?;
        if record.version != VERSION {
            return Err(Error::BadRecord {
                path,
                reason: format!(
                    "record version {} (this void writes {VERSION})",
                    record.version
                ),
            });
        }
        Ok(record)
    }

    /// Writes the record into `dir`, replacing the old one in one step.
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be written.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(RECORD_FILE);
        let temp = temp_path(&path);
        let record = Self {
            version: VERSION,
            ..self.clone()
        };
        let json = serde_json::to_string_pretty(&record).map_err(|e| Error::BadRecord {
            path: path.clone(),
            reason: format!("cannot serialise: {e}"),
        })?;
        std::fs::write(&temp, json + "\n").map_err(|e| Error::io(&temp, "write", e))?;
        std::fs::rename(&temp, &path).map_err(|e| Error::io(&path, "replace", e))
    }
}

/// `<path>.tmp`.
fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn round_trips_and_tolerates_absence() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(Record::load(tmp.path()).unwrap(), Record::default());
        let file = tmp.path().join("f");
        std::fs::write(&file, b"abc").unwrap();
        let mut record = Record::default();
        record.files.insert(
            "f".into(),
            FileRecord {
                repo: "a/b".into(),
                path: "f".into(),
                size: 3,
                digest: Digest::parse_git_sha1(&"a".repeat(40)),
                verified: Stamp::of(&file),
            },
        );
        record.save(tmp.path()).unwrap();
        let back = Record::load(tmp.path()).unwrap();
        assert_eq!(back.version, VERSION);
        assert!(back.files["f"].still_verified(&file));
        let text = std::fs::read_to_string(tmp.path().join(RECORD_FILE)).unwrap();
        assert!(text.contains("\"git_sha1\""), "{text}");
    }

    #[test]
    fn a_changed_file_is_no_longer_verified() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("f");
        std::fs::write(&file, b"abc").unwrap();
        let rec = FileRecord {
            repo: "a/b".into(),
            path: "f".into(),
            size: 3,
            digest: None,
            verified: Stamp::of(&file),
        };
        std::fs::write(&file, b"abcd").unwrap();
        assert!(!rec.still_verified(&file));
        assert!(!rec.still_verified(&tmp.path().join("gone")));
    }

    #[test]
    fn refuses_a_broken_record() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join(RECORD_FILE), "{").unwrap();
        let err = Record::load(tmp.path()).unwrap_err();
        assert!(err.to_string().contains(RECORD_FILE), "{err}");
    }
}
