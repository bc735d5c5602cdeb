//! A whole download: list both repositories, pick the files, keep those already there and
//! verified, fetch the rest one after another, and check the result is a usable model
//! folder. And its offline counterpart, which only looks at the disk.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::client::Hub;
use crate::digest::file_matches;
use crate::download::{FileJob, Totals, fetch_file, part_path};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::listing::{Listing, RemoteFile};
use crate::location::{ModelLocation, Problem, ProblemKind, check_layout};
use crate::record::{FileRecord, Record, RepoRecord, Stamp};
use crate::selection::{BASE_DIR_NAME, BASE_REPO, PASS2_FILE, VOID_REPO, select_base, select_void};

/// What to download, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The download folder (see [`ModelLocation::in_dir`] for what goes where).
    pub dir: PathBuf,
    /// Revision of the base model (branch, tag or commit id).
    pub base_revision: String,
    /// Revision of the VOID checkpoints.
    pub void_revision: String,
    /// Whether to fetch the Pass 2 checkpoint too.
    pub pass2: bool,
}

impl Request {
    /// Everything, at `main`, into `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            base_revision: "main".into(),
            void_revision: "main".into(),
            pass2: true,
        }
    }

    /// Where the files of this request are on disk.
    pub fn location(&self) -> ModelLocation {
        let location = ModelLocation::in_dir(&self.dir);
        if self.pass2 {
            location
        } else {
            location.without_pass2()
        }
    }
}

/// What a download did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Files needed.
    pub files: usize,
    /// Of them, already there and verified, so not downloaded.
    pub present: usize,
    /// Of them, downloaded (or finished) by this run.
    pub downloaded: usize,
    /// Bytes received over the network by this run.
    pub received_bytes: u64,
    /// Total size of all files needed.
    pub bytes: u64,
    /// Each repository and the commit its files came from.
    pub commits: Vec<(String, String)>,
}

/// One file of the plan.
struct Planned<'a> {
    repo: &'a str,
    commit: &'a str,
    remote: &'a RemoteFile,
    /// Path relative to the download folder, `/`-separated.
    key: String,
    dest: PathBuf,
}

/// Downloads what `request` asks for into `request.dir`, reporting each step to `on_event`.
/// Files already there and verified are kept; interrupted downloads are resumed.
///
/// # Errors
/// The first failure that retries could not overcome: the Hub's refusals, network failures,
/// a file not matching its listing (its partial download is deleted), disk errors, or
/// [`Error::Incomplete`] when the files listed do not make a usable model folder.
pub fn download(
    hub: &Hub,
    request: &Request,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<Summary> {
    let dir = &request.dir;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create folder", e))?;

    let base = list(hub, BASE_REPO, &request.base_revision, on_event)?;
    let base_files = select_base(&base)?;
    report_listed(&base, &base_files, on_event);
    let void = list(hub, VOID_REPO, &request.void_revision, on_event)?;
    let void_files = select_void(&void, request.pass2)?;
    report_listed(&void, &void_files, on_event);

    let mut planned = Vec::new();
    for (listing, files, prefix) in [
        (&base, base_files, Some(BASE_DIR_NAME)),
        (&void, void_files, None),
    ] {
        for remote in files {
            let key = match prefix {
                Some(p) => format!("{p}/{}", remote.path),
                None => remote.path.clone(),
            };
            planned.push(Planned {
                repo: &listing.repo,
                commit: &listing.commit,
                remote,
                dest: dir.join(&key),
                key,
            });
        }
    }

    let mut record = Record::load(dir)?;
    update_record(&mut record, &[&base, &void], &planned, request.pass2);
    record.save(dir)?;

    let mut fetch = Vec::new();
    for p in &planned {
        if is_complete(p, &mut record, on_event)? {
            continue;
        }
        fetch.push(p);
    }
    record.save(dir)?;

    let fetch_bytes = fetch.iter().map(|p| p.remote.size).sum();
    on_event(Event::Planned {
        files: planned.len(),
        present: planned.len() - fetch.len(),
        fetch: fetch.len(),
        fetch_bytes,
    });
    let mut totals = Totals {
        total: fetch_bytes,
        ..Totals::default()
    };
    for p in &fetch {
        let job = FileJob {
            repo: p.repo,
            commit: p.commit,
            remote: p.remote,
            dest: &p.dest,
            label: &p.key,
        };
        fetch_file(hub, &job, &mut totals, on_event)?;
        if let Some(entry) = record.files.get_mut(&p.key) {
            entry.verified = Stamp::of(&p.dest);
        }
        record.save(dir)?;
    }

    let (_, problems) = check_layout(&request.location());
    if !problems.is_empty() {
        return Err(Error::Incomplete { problems });
    }
    Ok(Summary {
        files: planned.len(),
        present: planned.len() - fetch.len(),
        downloaded: fetch.len(),
        received_bytes: totals.received,
        bytes: planned.iter().map(|p| p.remote.size).sum(),
        commits: [&base, &void]
            .iter()
            .map(|l| (l.repo.clone(), l.commit.clone()))
            .collect(),
    })
}

/// Lists `repo`, reporting it.
fn list(
    hub: &Hub,
    repo: &str,
    revision: &str,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<Listing> {
    on_event(Event::Listing { repo, revision });
    hub.listing(repo, revision, on_event)
}

fn report_listed(listing: &Listing, files: &[&RemoteFile], on_event: &mut dyn FnMut(Event<'_>)) {
    on_event(Event::Listed {
        repo: &listing.repo,
        commit: &listing.commit,
        files: files.len(),
        bytes: files.iter().map(|f| f.size).sum(),
    });
}

/// Brings the record in line with the listings: the repositories' commits, an entry per
/// planned file (its stamp kept only if the file's size and hash are unchanged), and no
/// entries for files the listed repositories no longer need (the Pass 2 checkpoint stays
/// recorded when this run leaves it out).
fn update_record(record: &mut Record, listings: &[&Listing], planned: &[Planned<'_>], pass2: bool) {
    for l in listings {
        record.repos.insert(
            l.repo.clone(),
            RepoRecord {
                revision: l.revision.clone(),
                commit: l.commit.clone(),
            },
        );
    }
    let keys: BTreeSet<&str> = planned.iter().map(|p| p.key.as_str()).collect();
    record.files.retain(|key, f| {
        keys.contains(key.as_str())
            || (!pass2 && key == PASS2_FILE)
            || !listings.iter().any(|l| l.repo == f.repo)
    });
    for p in planned {
        let fresh = FileRecord {
            repo: p.repo.to_string(),
            path: p.remote.path.clone(),
            size: p.remote.size,
            digest: p.remote.digest.clone(),
            verified: None,
        };
        let entry = record
            .files
            .entry(p.key.clone())
            .or_insert_with(|| fresh.clone());
        if (&entry.repo, &entry.path, entry.size, &entry.digest)
            != (&fresh.repo, &fresh.path, fresh.size, &fresh.digest)
        {
            *entry = fresh;
        }
    }
}

/// Whether the planned file is already in place: the right size and either stamped as
/// verified and unchanged since, or hashed now and matching (then stamped).
fn is_complete(
    p: &Planned<'_>,
    record: &mut Record,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<bool> {
    let size = p.remote.size;
    let on_disk = std::fs::metadata(&p.dest).ok().filter(|m| m.is_file());
    if on_disk.is_none_or(|m| m.len() != size) {
        return Ok(false);
    }
    let Some(entry) = record.files.get_mut(&p.key) else {
        return Ok(false);
    };
    if entry.still_verified(&p.dest) {
        return Ok(true);
    }
    let matches = match &p.remote.digest {
        None => true,
        Some(digest) => {
            let mut report = |done| {
                on_event(Event::Checking {
                    file: &p.key,
                    done,
                    size,
                });
            };
            file_matches(&p.dest, size, digest, &mut report)
                .map_err(|e| Error::io(&p.dest, "read", e))?
        }
    };
    if matches {
        entry.verified = Stamp::of(&p.dest);
    }
    Ok(matches)
}

/// A repository as the record of an earlier download has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRepo {
    /// `owner/name`.
    pub repo: String,
    /// The revision that was asked for.
    pub revision: String,
    /// The commit it pointed at.
    pub commit: String,
}

/// What [`check_offline`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfflineReport {
    /// Files found as they should be.
    pub files: usize,
    /// Their total size on disk.
    pub bytes: u64,
    /// The repositories of the earlier download, from its record; empty when the folder has
    /// no record (then only presence could be checked, not sizes).
    pub recorded: Vec<RecordedRepo>,
    /// Every file missing or not as recorded, sorted by path.
    pub problems: Vec<Problem>,
}

impl OfflineReport {
    /// Whether every file is there.
    pub fn is_complete(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks, without any network, that the files `request` would download are in
/// `request.dir`: every file [`verify_present`](crate::verify_present) needs and, when the folder has a
/// download record, every file recorded (with its recorded size). Hashes are not recomputed.
///
/// # Errors
/// [`Error::BadRecord`] when the folder's record is unreadable.
pub fn check_offline(request: &Request) -> Result<OfflineReport> {
    let (present, layout_problems) = check_layout(&request.location());
    let record = Record::load(&request.dir)?;
    let mut found: BTreeMap<PathBuf, u64> = BTreeMap::new();
    let mut problems: BTreeMap<PathBuf, ProblemKind> = layout_problems
        .into_iter()
        .map(|p| (p.path, p.kind))
        .collect();
    for path in present {
        let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        found.insert(path, len);
    }
    for (key, entry) in &record.files {
        if !request.pass2 && key == PASS2_FILE {
            continue;
        }
        let path = request.dir.join(key);
        match std::fs::metadata(&path) {
            Ok(m) if m.is_file() && m.len() == entry.size => {
                found.insert(path, m.len());
            }
            Ok(m) if m.is_file() => {
                found.remove(&path);
                problems.insert(
                    path,
                    ProblemKind::WrongSize {
                        expected: entry.size,
                        found: m.len(),
                    },
                );
            }
            _ => {
                let kind = partial_len(&path)
                    .map_or(ProblemKind::Missing, |have| ProblemKind::Partial { have });
                problems.entry(path).or_insert(kind);
            }
        }
    }
    Ok(OfflineReport {
        files: found.len(),
        bytes: found.values().sum(),
        recorded: record
            .repos
            .iter()
            .map(|(repo, r)| RecordedRepo {
                repo: repo.clone(),
                revision: r.revision.clone(),
                commit: r.commit.clone(),
            })
            .collect(),
        problems: problems
            .into_iter()
            .map(|(path, kind)| Problem { path, kind })
            .collect(),
    })
}

/// The size of `<path>.part`, if there is one.
fn partial_len(path: &Path) -> Option<u64> {
    std::fs::metadata(part_path(path))
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len())
}
