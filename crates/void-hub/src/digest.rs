//! Content hashes the Hub lists, and computing them while bytes stream past.
//!
//! Large (LFS) files are listed with the SHA-256 of their content. Small files kept in git are
//! listed with their git blob id, the SHA-1 of `"blob <size>\0"` followed by the content (what
//! `git hash-object` prints), so every file can be checked, not only the large ones.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha1::Sha1;
use sha2::{Digest as _, Sha256};

/// The expected hash of a file's content, as lowercase hex.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Digest {
    /// SHA-256 of the content (LFS files).
    Sha256(String),
    /// Git blob id: SHA-1 of `"blob <size>\0" + content` (files kept in git).
    GitSha1(String),
}

impl Digest {
    /// A digest from a hex string, checked for the right length and lowercased; `None` when it
    /// is not hex of that length.
    pub fn parse_sha256(hex: &str) -> Option<Self> {
        is_hex(hex, 64).then(|| Self::Sha256(hex.to_ascii_lowercase()))
    }

    /// As [`Digest::parse_sha256`], for a git blob id.
    pub fn parse_git_sha1(hex: &str) -> Option<Self> {
        is_hex(hex, 40).then(|| Self::GitSha1(hex.to_ascii_lowercase()))
    }

    /// What kind of hash this is, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Sha256(_) => "sha256",
            Self::GitSha1(_) => "git sha1",
        }
    }

    /// The hash, lowercase hex.
    pub fn hex(&self) -> &str {
        match self {
            Self::Sha256(h) | Self::GitSha1(h) => h,
        }
    }
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A running hash of the kind a [`Digest`] expects (or none, when nothing is expected).
pub(crate) enum Hasher {
    /// Nothing to check.
    None,
    /// SHA-256.
    Sha256(Box<Sha256>),
    /// Git blob SHA-1, header already fed.
    GitSha1(Box<Sha1>),
}

impl Hasher {
    /// A hasher for a file of `size` bytes expected to match `digest`.
    pub fn new(digest: Option<&Digest>, size: u64) -> Self {
        match digest {
            None => Self::None,
            Some(Digest::Sha256(_)) => Self::Sha256(Box::default()),
            Some(Digest::GitSha1(_)) => {
                let mut h = Sha1::new();
                h.update(format!("blob {size}\0").as_bytes());
                Self::GitSha1(Box::new(h))
            }
        }
    }

    /// Feeds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Self::None => {}
            Self::Sha256(h) => h.update(bytes),
            Self::GitSha1(h) => h.update(bytes),
        }
    }

    /// The hash of everything fed, lowercase hex (`None` when nothing is checked).
    pub fn finish(self) -> Option<String> {
        let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
        match self {
            Self::None => None,
            Self::Sha256(h) => Some(hex(&h.finalize())),
            Self::GitSha1(h) => Some(hex(&h.finalize())),
        }
    }
}

/// Feeds the first `len` bytes of `file` (read from where it stands) to `hasher`, calling
/// `progress` with the bytes done so far after each chunk.
///
/// # Errors
/// When reading fails or the file is shorter than `len`.
pub(crate) fn hash_prefix(
    file: &mut File,
    len: u64,
    hasher: &mut Hasher,
    progress: &mut dyn FnMut(u64),
) -> io::Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    while done < len {
        let want = usize::try_from(len - done).map_or(buf.len(), |r| r.min(buf.len()));
        let n = file.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("file ended after {done} of {len} bytes"),
            ));
        }
        hasher.update(&buf[..n]);
        done += n as u64;
        progress(done);
    }
    Ok(())
}

/// Whether the file at `path` (of `size` bytes) matches `digest`, hashing all of it.
///
/// # Errors
/// When the file cannot be read.
pub(crate) fn file_matches(
    path: &Path,
    size: u64,
    digest: &Digest,
    progress: &mut dyn FnMut(u64),
) -> io::Result<bool> {
    let mut file = File::open(path)?;
    let mut hasher = Hasher::new(Some(digest), size);
    hash_prefix(&mut file, size, &mut hasher, progress)?;
    Ok(hasher.finish().as_deref() == Some(digest.hex()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::Write;

    use super::*;

    fn hash(digest: &Digest, bytes: &[u8]) -> String {
        let mut h = Hasher::new(Some(digest), bytes.len() as u64);
        h.update(bytes);
        h.finish().unwrap()
    }

    #[test]
    fn git_blob_id_matches_git_hash_object() {
        // `printf 'hello\n' | git hash-object --stdin`
        let d = Digest::parse_git_sha1("ce013625030ba8dba906f756967f9e9ca394464a").unwrap();
        assert_eq!(hash(&d, b"hello\n"), d.hex());
    }

    #[test]
    fn sha256_matches_the_standard_vector() {
        let d = Digest::parse_sha256(
            "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
        )
        .unwrap();
        assert_eq!(hash(&d, b"abc"), d.hex());
    }

    #[test]
    fn refuses_malformed_hex() {
        assert_eq!(Digest::parse_sha256("abc"), None);
        assert_eq!(Digest::parse_git_sha1(&"g".repeat(40)), None);
        assert_eq!(
            Digest::parse_sha256(&"0".repeat(64)).unwrap().kind(),
            "sha256"
        );
    }

    #[test]
    fn hashes_a_file_prefix_in_chunks() {
        let mut tmp = tempfile::tempfile().unwrap();
        tmp.write_all(b"hello\nand more").unwrap();
        std::io::Seek::rewind(&mut tmp).unwrap();
        let d = Digest::parse_git_sha1("ce013625030ba8dba906f756967f9e9ca394464a").unwrap();
        let mut h = Hasher::new(Some(&d), 6);
        let mut seen = Vec::new();
        hash_prefix(&mut tmp, 6, &mut h, &mut |n| seen.push(n)).unwrap();
        assert_eq!(seen, [6]);
        assert_eq!(h.finish().unwrap(), d.hex());
        let mut short = Hasher::new(None, 0);
        assert!(hash_prefix(&mut tmp, 100, &mut short, &mut |_| ()).is_err());
    }
}
