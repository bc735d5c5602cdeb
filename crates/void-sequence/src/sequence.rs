//! Finding a sequence's files.
//!
//! The reference reads `input_video.mp4`, `prompt.json` and the first of the sorted
//! `quadmask_*.mp4` (`utils.py:get_video_mask_input`). It cannot find `trimask_quadmask.mp4`,
//! the name four of its own samples use (spec §11 item 9); void accepts it too.

use std::path::{Path, PathBuf};

use crate::{Error, Result, Selection, Warning};

/// The video file of every sequence.
pub const VIDEO_FILE: &str = "input_video.mp4";
/// The prompt file of every sequence.
pub const PROMPT_FILE: &str = "prompt.json";
/// The mask name the reference's own samples use but its loader does not find.
const TRIMASK_QUADMASK_FILE: &str = "trimask_quadmask.mp4";

/// The files of one sequence folder (located, not yet read).
#[derive(Clone, Debug, PartialEq)]
pub struct Sequence {
    /// Folder name, used to name outputs.
    pub name: String,
    /// The folder.
    pub dir: PathBuf,
    /// `input_video.mp4`.
    pub video: PathBuf,
    /// The quadmask used.
    pub mask: PathBuf,
    /// `prompt.json`.
    pub prompt: PathBuf,
    /// Anything worth knowing about the folder's layout (e.g. ignored extra masks).
    pub warnings: Vec<Warning>,
}

/// Whether `dir` looks like a sequence folder (it holds `input_video.mp4`).
pub fn is_sequence_dir(dir: &Path) -> bool {
    dir.join(VIDEO_FILE).is_file()
}

impl Sequence {
    /// Locates the files of the sequence in `dir`. Checks that they exist, not what they hold.
    ///
    /// # Errors
    /// [`Error::NotASequence`] if `dir` is not a folder or has no `input_video.mp4`,
    /// [`Error::NoMask`] if no quadmask is there.
    pub fn open(dir: &Path) -> Result<Self> {
        let not_seq = |reason: &str| Error::NotASequence {
            path: dir.to_path_buf(),
            reason: reason.to_string(),
        };
        if !dir.is_dir() {
            return Err(not_seq(if dir.exists() {
                "not a folder"
            } else {
                "no such folder"
            }));
        }
        let video = dir.join(VIDEO_FILE);
        if !video.is_file() {
            return Err(not_seq("it has no input_video.mp4"));
        }
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .map_err(|e| not_seq(&e.to_string()))?
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        files.sort();
        let quadmasks: Vec<&String> = files
            .iter()
            .filter(|f| f.starts_with("quadmask_") && f.ends_with(".mp4"))
            .collect();
        let mut warnings = Vec::new();
        let mask = match quadmasks.split_first() {
            Some((first, rest)) => {
                if !rest.is_empty() {
                    warnings.push(Warning::ExtraMasks {
                        ignored: rest.iter().map(|s| s.to_string()).collect(),
                    });
                }
                dir.join(first)
            }
            None if files.iter().any(|f| f == TRIMASK_QUADMASK_FILE) => {
                dir.join(TRIMASK_QUADMASK_FILE)
            }
            None => {
                let binary = files
                    .iter()
                    .any(|f| f.starts_with("mask") && f.ends_with(".mp4"));
                let hint = if binary {
                    "; binary per-object masks (mask_*.mp4) are not supported: make a quadmask with the VOID mask pipeline".into()
                } else {
                    String::new()
                };
                return Err(Error::NoMask {
                    dir: dir.to_path_buf(),
                    hint,
                });
            }
        };
        let name = dir
            .canonicalize()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| dir.display().to_string());
        Ok(Self {
            name,
            dir: dir.to_path_buf(),
            video,
            mask,
            prompt: dir.join(PROMPT_FILE),
            warnings,
        })
    }
}

/// The sequences of a data root, in sorted order, narrowed by `selection`.
///
/// # Errors
/// [`Error::NotASequence`] if `root` cannot be listed, [`Error::UnknownSequences`] for names
/// that are not there, and the errors of [`Sequence::open`].
pub fn discover(root: &Path, selection: &Selection) -> Result<Vec<Sequence>> {
    let entries = std::fs::read_dir(root).map_err(|e| Error::NotASequence {
        path: root.to_path_buf(),
        reason: format!("cannot list it: {e}"),
    })?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| is_sequence_dir(&e.path()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    let picked = selection
        .pick(&names)
        .map_err(|missing| Error::UnknownSequences {
            root: root.to_path_buf(),
            missing: missing.join(", "),
        })?;
    picked
        .iter()
        .map(|n| Sequence::open(&root.join(n)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(dir: &Path, name: &str) {
        std::fs::write(dir.join(name), b"").unwrap();
    }

    #[test]
    fn finds_masks_by_the_accepted_names() {
        let root = tempfile::tempdir().unwrap();
        for (seq, masks) in [
            ("a", &["quadmask_1.mp4", "quadmask_0.mp4"][..]),
            ("b", &["trimask_quadmask.mp4"][..]),
            ("c", &["mask_0.mp4"][..]),
        ] {
            let dir = root.path().join(seq);
            std::fs::create_dir(&dir).unwrap();
            touch(&dir, VIDEO_FILE);
            for m in masks {
                touch(&dir, m);
            }
        }
        let a = Sequence::open(&root.path().join("a")).unwrap();
        assert!(a.mask.ends_with("quadmask_0.mp4"));
        assert_eq!(
            a.warnings,
            vec![Warning::ExtraMasks {
                ignored: vec!["quadmask_1.mp4".into()]
            }]
        );
        assert!(
            Sequence::open(&root.path().join("b"))
                .unwrap()
                .mask
                .ends_with("trimask_quadmask.mp4")
        );
        let err = Sequence::open(&root.path().join("c"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("binary per-object masks"), "{err}");

        touch(root.path(), "LICENSE");
        let names: Vec<String> = discover(root.path(), &"a,b".parse().unwrap())
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["a", "b"]);
        let err = discover(root.path(), &"a,zz".parse().unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("no sequence named zz"), "{err}");
    }

    #[test]
    fn refuses_non_sequences() {
        let root = tempfile::tempdir().unwrap();
        let err = Sequence::open(&root.path().join("nope"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no such folder"), "{err}");
        let err = Sequence::open(root.path()).unwrap_err().to_string();
        assert!(err.contains("no input_video.mp4"), "{err}");
    }
}
