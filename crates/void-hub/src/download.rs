//! Downloading one file: into `<file>.part`, resuming what is already there with a `Range`
//! request, hashing while the bytes arrive, and renaming into place only once the size and
//! hash match the listing. A mismatch deletes the `.part`; an interruption keeps it for the
//! next attempt or the next run.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::client::{Failure, Hub, Purpose};
use crate::digest::{Hasher, hash_prefix};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::listing::RemoteFile;

/// Bytes read from the connection at a time.
const CHUNK: usize = 256 << 10;

/// `<path>.part`: where a file is written until it is complete and verified.
pub fn part_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".part");
    PathBuf::from(name)
}

/// One file to fetch.
pub(crate) struct FileJob<'a> {
    /// `owner/name`.
    pub repo: &'a str,
    /// The commit to fetch it from.
    pub commit: &'a str,
    /// What the listing says about it.
    pub remote: &'a RemoteFile,
    /// Where it goes.
    pub dest: &'a Path,
    /// Its name in events (path relative to the download folder).
    pub label: &'a str,
}

/// Byte counts across all files of a run, for the overall progress.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Totals {
    /// Bytes on disk of the files being downloaded.
    pub done: u64,
    /// Their total size.
    pub total: u64,
    /// Bytes received over the network.
    pub received: u64,
}

/// The `.part` file being written, with its running hash.
struct Partial {
    file: File,
    path: PathBuf,
    hasher: Hasher,
    done: u64,
}

impl Partial {
    /// Empties the file and the hash, to start over.
    fn restart(&mut self, job: &FileJob<'_>, totals: &mut Totals) -> Result<()> {
        self.file
            .set_len(0)
            .and_then(|()| self.file.seek(SeekFrom::Start(0)).map(|_| ()))
            .map_err(|e| Error::io(&self.path, "truncate", e))?;
        self.hasher = Hasher::new(job.remote.digest.as_ref(), job.remote.size);
        totals.done -= self.done;
        self.done = 0;
        Ok(())
    }

    /// Returns `error`, deleting the file first if it is empty (nothing to resume).
    fn keep_if_started(self, error: Error) -> Error {
        if self.done == 0 {
            self.discard(error)
        } else {
            error
        }
    }

    /// Deletes the file and returns `error`.
    fn discard(self, error: Error) -> Error {
        drop(self.file);
        if let Err(e) = std::fs::remove_file(&self.path) {
            tracing::warn!(path = %self.path.display(), "cannot delete: {e}");
        }
        error
    }
}

/// Downloads `job` into place, resuming a `.part` left by an earlier run.
///
/// # Errors
/// [`Error::Mismatch`] when the bytes are not the listed ones (the `.part` is deleted);
/// [`Error::Network`] after the retries; the Hub's refusals; [`Error::Io`] on the disk.
pub(crate) fn fetch_file(
    hub: &Hub,
    job: &FileJob<'_>,
    totals: &mut Totals,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<()> {
    let size = job.remote.size;
    let mut part = open_partial(job, totals, on_event)?;
    let progress = |part: &Partial, totals: &Totals| Event::Progress {
        file: job.label,
        done: part.done,
        size,
        total_done: totals.done,
        total: totals.total,
    };
    on_event(progress(&part, totals));

    let url = hub.file_url(job.repo, job.commit, &job.remote.path);
    let purpose = Purpose::File {
        repo: job.repo,
        commit: job.commit,
        path: &job.remote.path,
    };
    let mut failures = 0;
    while part.done < size {
        let before = part.done;
        let attempt = fetch_rest(hub, &url, &purpose, job, &mut part, totals, &mut *on_event);
        match attempt {
            Ok(()) => {}
            Err(Failure::Fatal(e @ Error::Mismatch { .. })) => return Err(part.discard(e)),
            Err(Failure::Fatal(e)) => return Err(part.keep_if_started(e)),
            Err(Failure::Transient {
                reason,
                retry_after,
            }) => {
                if part.done > before {
                    failures = 0;
                }
                failures += 1;
                let Some(wait) = hub.config().retry.delay(failures, retry_after) else {
                    return Err(part.keep_if_started(Error::Network {
                        url,
                        reason,
                        attempts: failures,
                    }));
                };
                on_event(Event::Retrying {
                    what: job.label,
                    failures,
                    reason: &reason,
                    wait,
                });
                std::thread::sleep(wait);
            }
        }
    }

    if let Err(e) = part.file.sync_all() {
        return Err(Error::io(&part.path, "write", e));
    }
    let hasher = std::mem::replace(&mut part.hasher, Hasher::None);
    if let (Some(got), Some(expected)) = (hasher.finish(), &job.remote.digest)
        && got != expected.hex()
    {
        let error = Error::Mismatch {
            path: job.dest.to_path_buf(),
            what: expected.kind(),
            expected: expected.hex().to_string(),
            got,
        };
        return Err(part.discard(error));
    }
    drop(part.file);
    std::fs::rename(&part.path, job.dest).map_err(|e| Error::io(job.dest, "move into place", e))?;
    on_event(Event::Done {
        file: job.label,
        size,
    });
    Ok(())
}

/// Opens (or creates) the `.part` of `job` and hashes what it already holds.
fn open_partial(
    job: &FileJob<'_>,
    totals: &mut Totals,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<Partial> {
    if let Some(parent) = job.dest.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, "create folder", e))?;
    }
    let path = part_path(job.dest);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| Error::io(&path, "create", e))?;
    let have = file
        .metadata()
        .map_err(|e| Error::io(&path, "read", e))?
        .len();
    let mut part = Partial {
        file,
        path,
        hasher: Hasher::new(job.remote.digest.as_ref(), job.remote.size),
        done: 0,
    };
    if have > job.remote.size {
        on_event(Event::Restarting {
            file: job.label,
            reason: "the partial download is larger than the file",
        });
        part.restart(job, totals)?;
        return Ok(part);
    }
    if have > 0 {
        let mut report = |done| {
            on_event(Event::Resuming {
                file: job.label,
                done,
                have,
            });
        };
        hash_prefix(&mut part.file, have, &mut part.hasher, &mut report)
            .map_err(|e| Error::io(&part.path, "read", e))?;
        part.done = have;
        totals.done += have;
    }
    part.file
        .seek(SeekFrom::Start(have))
        .map_err(|e| Error::io(&part.path, "seek", e))?;
    Ok(part)
}

/// One request for the bytes `part` lacks, written as they arrive.
fn fetch_rest(
    hub: &Hub,
    url: &str,
    purpose: &Purpose<'_>,
    job: &FileJob<'_>,
    part: &mut Partial,
    totals: &mut Totals,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<(), Failure> {
    let size = job.remote.size;
    let reply = hub.get(url, part.done)?;
    let mismatch = |got: u64| Error::Mismatch {
        path: job.dest.to_path_buf(),
        what: "size",
        expected: size.to_string(),
        got: got.to_string(),
    };
    match reply.status {
        206 => {
            let range = reply.header("content-range").and_then(parse_content_range);
            match range {
                Some((start, _)) if start != part.done => {
                    return Err(Failure::Fatal(Error::Protocol {
                        url: reply.url,
                        reason: format!(
                            "asked for bytes from {} on, got a range starting at {start}",
                            part.done
                        ),
                    }));
                }
                Some((_, Some(total))) if total != size => {
                    return Err(Failure::Fatal(mismatch(total)));
                }
                _ => {}
            }
        }
        200 => {
            if part.done > 0 {
                on_event(Event::Restarting {
                    file: job.label,
                    reason: "the server cannot resume downloads (it ignored the Range request)",
                });
                part.restart(job, totals)?;
            }
            let length = reply
                .header("content-length")
                .and_then(|v| v.trim().parse::<u64>().ok());
            if let Some(length) = length
                && length != size
            {
                return Err(Failure::Fatal(mismatch(length)));
            }
        }
        416 if part.done > 0 => {
            on_event(Event::Restarting {
                file: job.label,
                reason: "the server refused to resume (HTTP 416)",
            });
            part.restart(job, totals)?;
            return Err(Failure::Transient {
                reason: "HTTP 416 on resume".into(),
                retry_after: None,
            });
        }
        _ => return Err(reply.refusal(purpose)),
    }

    let mut body = reply.into_reader();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(Failure::Transient {
                    reason: format!("connection lost after {} of {size} bytes: {e}", part.done),
                    retry_after: None,
                });
            }
        };
        if part.done + n as u64 > size {
            return Err(Failure::Fatal(mismatch(part.done + n as u64)));
        }
        part.file
            .write_all(&buf[..n])
            .map_err(|e| Error::io(&part.path, "write", e))?;
        part.hasher.update(&buf[..n]);
        part.done += n as u64;
        totals.done += n as u64;
        totals.received += n as u64;
        on_event(Event::Progress {
            file: job.label,
            done: part.done,
            size,
            total_done: totals.done,
            total: totals.total,
        });
    }
    if part.done < size {
        return Err(Failure::Transient {
            reason: format!("connection closed after {} of {size} bytes", part.done),
            retry_after: None,
        });
    }
    Ok(())
}

/// `bytes START-END/TOTAL` -> (START, TOTAL unless `*`).
fn parse_content_range(value: &str) -> Option<(u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let (start, _) = range.split_once('-')?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    Some((start.trim().parse().ok()?, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_content_range() {
        assert_eq!(
            parse_content_range("bytes 100-199/200"),
            Some((100, Some(200)))
        );
        assert_eq!(parse_content_range("bytes 5-9/*"), Some((5, None)));
        assert_eq!(parse_content_range("items 1-2/3"), None);
        assert_eq!(parse_content_range("bytes x-2/3"), None);
    }

    #[test]
    fn part_files_sit_beside_their_file() {
        assert_eq!(
            part_path(Path::new("/m/vae/config.json")),
            Path::new("/m/vae/config.json.part")
        );
    }
}
