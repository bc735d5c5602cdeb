//! A repository's file listing at one revision: `GET /api/models/{repo}/revision/{rev}?blobs=true`
//! answers the commit id (`sha`) and every file (`siblings`) with its size, its git blob id
//! and, for LFS files, the SHA-256 of its content.

use std::path::{Component, Path};

use serde::Deserialize;

use crate::client::{Failure, Hub, Purpose};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::event::Event;

/// The longest listing accepted (the largest repositories list a few MB).
const LISTING_LIMIT: u64 = 64 << 20;

/// One file of a repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteFile {
    /// Its path in the repository, `/`-separated (`vae/config.json`).
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// The hash to check it against: SHA-256 for LFS files, else the git blob id when listed.
    pub digest: Option<Digest>,
}

/// What a repository holds at one revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    /// `owner/name`.
    pub repo: String,
    /// The revision asked for (`main`, a tag, a commit id).
    pub revision: String,
    /// The commit it points at (the revision itself if the server did not say).
    pub commit: String,
    /// Every file, in the server's order.
    pub files: Vec<RemoteFile>,
}

#[derive(Deserialize)]
struct RawListing {
    sha: Option<String>,
    siblings: Option<Vec<RawSibling>>,
}

#[derive(Deserialize)]
struct RawSibling {
    rfilename: String,
    size: Option<u64>,
    #[serde(rename = "blobId")]
    blob_id: Option<String>,
    lfs: Option<RawLfs>,
}

#[derive(Deserialize)]
struct RawLfs {
    sha256: String,
    size: Option<u64>,
}

impl Listing {
    /// Reads the JSON the listing endpoint answers (`url` is named in errors).
    ///
    /// # Errors
    /// [`Error::Protocol`] when it is not such JSON, lacks sizes (the server ignored
    /// `blobs=true`), has a malformed hash or a path that could leave the download folder.
    pub fn parse(repo: &str, revision: &str, url: &str, json: &str) -> Result<Self> {
        let bad = |reason: String| Error::Protocol {
            url: url.to_string(),
            reason,
        };
        let raw: RawListing = serde_json::from_str(json)
            .map_err(|e| bad(format!("not a repository listing: {e}")))?;
        let siblings = raw
            .siblings
            .ok_or_else(|| bad("the listing has no `siblings` (files)".into()))?;
        let mut files = Vec::with_capacity(siblings.len());
        for s in siblings {
            if !is_safe_relative(&s.rfilename) {
                return Err(bad(format!(
                    "refusing file name {:?}: not a plain relative path",
                    s.rfilename
                )));
            }
            let (size, digest) = match s.lfs {
                Some(lfs) => {
                    let digest = Digest::parse_sha256(&lfs.sha256).ok_or_else(|| {
                        bad(format!(
                            "{}: malformed sha256 {:?}",
                            s.rfilename, lfs.sha256
                        ))
                    })?;
                    (lfs.size.or(s.size), Some(digest))
                }
                None => (
                    s.size,
                    s.blob_id.as_deref().and_then(Digest::parse_git_sha1),
                ),
            };
            let size = size.ok_or_else(|| {
                bad(format!(
                    "{}: no size in the listing (the server ignored `blobs=true`)",
                    s.rfilename
                ))
            })?;
            files.push(RemoteFile {
                path: s.rfilename,
                size,
                digest,
            });
        }
        Ok(Self {
            repo: repo.to_string(),
            revision: revision.to_string(),
            commit: raw
                .sha
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| revision.to_string()),
            files,
        })
    }

    /// The file at `path`, if listed.
    pub fn get(&self, path: &str) -> Option<&RemoteFile> {
        self.files.iter().find(|f| f.path == path)
    }
}

/// Whether `path` is relative and made of plain names only (no `..`, no root, no `\`).
fn is_safe_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\\')
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

impl Hub {
    /// Lists `repo` at `revision`, retrying transient failures as the configuration says.
    ///
    /// # Errors
    /// [`Error::RepoNotFound`], [`Error::RevisionNotFound`], [`Error::AccessDenied`] when the
    /// Hub refuses; [`Error::Network`] when it cannot be reached; [`Error::Protocol`] when the
    /// answer is not a listing.
    pub fn listing(
        &self,
        repo: &str,
        revision: &str,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<Listing> {
        let url = self.listing_url(repo, revision);
        let purpose = Purpose::Listing { repo, revision };
        let mut failures = 0;
        loop {
            let attempt = self.get(&url, 0).and_then(|reply| {
                if reply.status == 200 {
                    reply.text(LISTING_LIMIT)
                } else {
                    Err(reply.refusal(&purpose))
                }
            });
            match attempt {
                Ok(json) => return Listing::parse(repo, revision, &url, &json),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Transient {
                    reason,
                    retry_after,
                }) => {
                    failures += 1;
                    let Some(wait) = self.config().retry.delay(failures, retry_after) else {
                        return Err(Error::Network {
                            url,
                            reason,
                            attempts: failures,
                        });
                    };
                    on_event(Event::Retrying {
                        what: repo,
                        failures,
                        reason: &reason,
                        wait,
                    });
                    std::thread::sleep(wait);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const SHA: &str = "5f3ab1c8e94e4b4bd1f1d7e6f6c1f9c3d3f1a1b1c1d1e1f1a2b2c2d2e2f2a3b3";

    #[test]
    fn reads_the_hub_listing() {
        let json = format!(
            r#"{{"_id":"x","id":"a/b","sha":"0123abcd","siblings":[
                {{"rfilename":".gitattributes","blobId":"ce013625030ba8dba906f756967f9e9ca394464a","size":1519}},
                {{"rfilename":"vae/diffusion_pytorch_model.safetensors","blobId":"9999999999999999999999999999999999999999","size":862388596,
                  "lfs":{{"sha256":"{SHA}","size":862388596,"pointerSize":135}}}}
            ]}}"#
        );
        let listing = Listing::parse("a/b", "main", "u", &json).unwrap();
        assert_eq!(listing.commit, "0123abcd");
        assert_eq!(
            listing.files[0],
            RemoteFile {
                path: ".gitattributes".into(),
                size: 1519,
                digest: Digest::parse_git_sha1("ce013625030ba8dba906f756967f9e9ca394464a"),
            }
        );
        let vae = listing
            .get("vae/diffusion_pytorch_model.safetensors")
            .unwrap();
        assert_eq!(vae.size, 862_388_596);
        assert_eq!(vae.digest, Digest::parse_sha256(SHA));
    }

    #[test]
    fn refuses_listings_without_sizes_or_with_escaping_paths() {
        let no_size = r#"{"sha":"c","siblings":[{"rfilename":"a.json"}]}"#;
        let err = Listing::parse("a/b", "main", "u", no_size).unwrap_err();
        assert!(err.to_string().contains("blobs=true"), "{err}");
        for path in ["../x", "/etc/passwd", "a/../../b", "a\\b", ""] {
            let json = format!(r#"{{"sha":"c","siblings":[{{"rfilename":{path:?},"size":1}}]}}"#);
            assert!(Listing::parse("a/b", "main", "u", &json).is_err(), "{path}");
        }
        let bad_hash = r#"{"sha":"c","siblings":[{"rfilename":"w","size":1,"lfs":{"sha256":"xyz","size":1}}]}"#;
        assert!(Listing::parse("a/b", "main", "u", bad_hash).is_err());
        assert!(Listing::parse("a/b", "main", "u", "<html>").is_err());
    }

    #[test]
    fn falls_back_to_the_revision_without_a_commit() {
        let json = r#"{"siblings":[]}"#;
        assert_eq!(Listing::parse("a/b", "v1", "u", json).unwrap().commit, "v1");
    }
}
